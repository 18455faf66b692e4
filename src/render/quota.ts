// `quota`'s output, pure: the human text (quota table, subscription caps, notes, verdict), the
// --json fields and the GitHub Actions report, all from one QuotaAssessment.
import type { ChalkInstance } from 'chalk';
import { ExitCode } from '../errors.js';
import { QUOTA_USAGE_PATH, QUOTAS_PATH, SUBSCRIPTION_USAGE_PATH, type EndpointState, type ManagementAnswer } from '../quota/management.js';
import type { QuotaAssessment } from '../quota/lookup.js';
import {
  describeReset, exhaustedMeters, LOW_QUOTA_SHARE, quotaLow,
  type BindingLimit, type Meter, type QuotaSummary, type SubscriptionSummary,
} from '../quota/usage.js';
import type { Verdict } from '../types.js';
import { joinBlocks } from './blocks.js';
import type { CiReport } from './github.js';
import { renderStatusLine } from './record.js';
import { formatNumber, formatSeconds, makeTable } from './table.js';

export interface QuotaStyle {
  color: ChalkInstance;
  /** -v: one status line per endpoint first. */
  verbose: boolean;
}

const ENDPOINT_MEANING: Record<string, string> = {
  [QUOTA_USAGE_PATH]: 'daily usage',
  [QUOTAS_PATH]: 'quota table',
  [SUBSCRIPTION_USAGE_PATH]: 'subscription usage',
};

/** One endpoint's problem in a sentence; null when it answered. */
export function describeEndpointProblem(answer: ManagementAnswer, state: EndpointState): string | null {
  const what = `${answer.path} (${ENDPOINT_MEANING[answer.path] ?? 'lookup'})`;
  switch (state) {
    case 'ok':
      return null;
    case 'missing':
      return `${what}: not found (404) on ${answer.target.url.host}; continuing without it.`;
    case 'invalid':
      return `${what}: HTTP ${answer.record.status ?? '?'} but the body is not the expected JSON.`;
    default:
      return `${what}: ${answer.record.verdict?.message ?? answer.record.error?.message ?? `HTTP ${answer.record.status ?? '?'}`}`;
  }
}

/** The notes of a run: one sentence per endpoint problem the verdict does not name (the --json `notes`). */
export function quotaNotes(result: Pick<QuotaAssessment, 'problems'>): string[] {
  return result.problems.map((p) => describeEndpointProblem(p.answer, p.state)).filter((p): p is string => p !== null);
}

function renderQuotaTable(summary: QuotaSummary, color: ChalkInstance, nowMs: number): string {
  const table = makeTable(['quota', 'value'], color);
  const remaining = summary.remaining === 0 ? color.red('0') : formatNumber(summary.remaining);
  table.push(
    ['daily limit', summary.unlimited ? 'unlimited' : summary.daily === null ? '—' : `${summary.daily} requests`],
    ['used today', formatNumber(summary.used)],
    ['remaining', summary.unlimited ? 'unlimited' : remaining],
    ['resets at', summary.resetsAt === null ? '—' : describeReset(summary.resetsAt, nowMs)],
  );
  return table.toString();
}

/** A cap's reset_at with the time left: "2026-05-02T04:00:00.000Z (in 1h20m)", or "—". */
function describeMeterReset(resetAt: string | null, nowMs: number): string {
  if (resetAt === null) return '—';
  const at = Date.parse(resetAt);
  return Number.isNaN(at) ? resetAt : `${resetAt} (in ${formatSeconds(Math.max(0, at - nowMs) / 1000)})`;
}

/** A USD figure without float noise (8.33 - 7.5 is 0.8300000000000001): at most 4 decimals, as sent otherwise. */
function usd(n: number | null): string {
  return n === null ? '—' : String(Number(n.toFixed(4)));
}

function renderSubscription(subscription: SubscriptionSummary, color: ChalkInstance, nowMs: number): string {
  const table = makeTable(['subscription cap', 'usage', 'cap', 'remaining', 'resets at'], color);
  for (const [name, m] of [['monthly', subscription.monthly], ['4-hour', subscription.fourHour]] as const) {
    if (m === null) continue;
    if (m.uncapped) table.push([name, usd(m.usage), 'uncapped', 'uncapped', '—']);
    else table.push([name, usd(m.usage), usd(m.cap), m.remaining === 0 ? color.red('0') : usd(m.remaining), describeMeterReset(m.resetAt, nowMs)]);
  }
  const price = subscription.monthlyPrice === null ? '' : ` ($${subscription.monthlyPrice}/month)`;
  const custom = subscription.custom === true ? ', a custom plan' : '';
  return `Subscription${price}${custom}; caps in USD of pay-as-you-go usage:\n${table.toString()}`;
}

const LIMIT_NAMES: Record<BindingLimit['limit'], string> = {
  daily: 'the daily quota',
  'four-hour': "the subscription's 4-hour cap",
  monthly: "the subscription's monthly cap",
};

const percent = (share: number) => `${Math.round(share * 100)}%`;

/**
 * Which limit binds first, and why that one (the rule of quota/usage.ts bindingLimit); null when nothing
 * is known to compare.
 */
export function describeBinding(result: Pick<QuotaAssessment, 'binding' | 'summary' | 'subscription'>): string | null {
  const { binding, summary, subscription } = result;
  if (binding === null) {
    const noCap = subscription === null || [subscription.monthly, subscription.fourHour].every((m) => m === null || m.uncapped);
    return summary.unlimited && noCap ? 'Binds first: nothing; the daily quota is unlimited and no subscription cap applies.' : null;
  }
  const figures = binding.unit === 'usd'
    ? `${usd(binding.remaining)} of ${usd(binding.cap)} USD left, ${percent(binding.remainingShare)}`
    : `${binding.remaining} of ${binding.cap} requests left, ${percent(binding.remainingShare)}`;
  const reset = binding.resetsAt === null ? '' : `; resets at ${binding.resetsAt}`;
  const others = binding.others.map((o) => `${LIMIT_NAMES[o.limit].replace(/^the (subscription's )?/, '')} ${percent(o.remainingShare)}`).join(', ');
  const why = binding.rule === 'exhausted-resets-last'
    ? binding.others.some((o) => o.remainingShare <= 0)
      ? 'it is used up and, of the used-up limits, resets last'
      : 'it is used up'
    : binding.others.length === 0
      ? 'the only capped limit'
      : `the smallest share left (others: ${others}); shares are compared rather than projected run-out times, because the limits count different units (requests, USD) and usage comes in bursts`;
  return `Binds first: ${LIMIT_NAMES[binding.limit]} (${figures}${reset}): ${why}.`;
}

/** The human output of `quota` on stdout ('' when there is nothing to say). */
export function renderQuota(result: QuotaAssessment, style: QuotaStyle, apiHost: string): string {
  const { color } = style;
  const { summary, subscription, verdict, nowMs } = result;
  const blocks: Array<string | null> = [];
  if (style.verbose) for (const answer of result.answers) blocks.push(`${answer.path}: ${renderStatusLine(answer.record, color)}`);
  if (summary.source !== null) {
    blocks.push(renderQuotaTable(summary, color, nowMs));
    const special = result.table?.perChute.filter((q) => q.chuteId !== '*') ?? [];
    if (special.length > 0) blocks.push(`Per-chute quotas: ${special.map((q) => `${q.chuteId}: ${q.quota ?? 'unlimited'}/day`).join(', ')}`);
    if (summary.used === null) blocks.push(color.dim('Usage today is unknown: /users/me/quota_usage/me did not answer.'));
  }
  if (subscription !== null) blocks.push(renderSubscription(subscription, color, nowMs));
  else if (result.states[2] === 'ok') blocks.push('Subscription: none.');
  const binding = describeBinding(result);
  if (binding !== null) blocks.push(binding);
  for (const note of quotaNotes(result)) blocks.push(color.yellow(`! ${note}`));
  const exhausted = exhaustedMeters(subscription);
  if (exhausted.length > 0) blocks.push(color.yellow(`The subscription's ${exhausted.join(' and ')} cap is used up: with a $0 balance requests fail with 402.`));
  if (verdict !== null) blocks.push(`${color.bold('Verdict')} [${verdict.code}] ${verdict.message}\n${color.bold('Fix')}     ${verdict.hint}`);
  else if (summary.source === null && result.exitCode === ExitCode.http) {
    blocks.push(`No quota endpoint answered on ${apiHost}: is --api-base-url the Chutes management host (https://api.chutes.ai)?`);
  }
  return joinBlocks(blocks);
}

function subscriptionJson(subscription: SubscriptionSummary | null) {
  return subscription && {
    active: true,
    monthlyPrice: subscription.monthlyPrice,
    monthly: subscription.monthly,
    fourHour: subscription.fourHour,
    custom: subscription.custom,
    anchorDate: subscription.anchorDate,
    effectiveDate: subscription.effectiveDate,
    updatedAt: subscription.updatedAt,
  };
}

/** The --json fields of `quota` (beside the envelope of render/json.ts). */
export function quotaJson(result: QuotaAssessment): Record<string, unknown> {
  return {
    quota: result.summary,
    perChute: result.table?.perChute ?? [],
    subscription: subscriptionJson(result.subscription),
    bindsFirst: result.binding === null ? null : { ...result.binding, message: describeBinding(result) },
    endpoints: Object.fromEntries(result.answers.map((a, i) => [a.path, { status: a.record.status, state: result.states[i] }])),
    verdict: result.verdict,
    notes: quotaNotes(result),
    responses: result.answers.map((a) => a.record),
  };
}

function describeMeter(name: string, m: Meter | null): string | null {
  if (m === null) return null;
  if (m.uncapped) return `${name} uncapped`;
  return `${name} ${m.usage ?? '?'} of ${m.cap ?? '?'} used (${m.remaining ?? '?'} left)`;
}

/** The subscription in one line: "none", "$20/month; monthly 1200 of 5000 used (3800 left), …", or "unknown". */
export function describeSubscription(subscription: SubscriptionSummary | null, state: EndpointState): string {
  if (subscription === null) return state === 'ok' ? 'none' : `unknown (${state === 'missing' ? 'endpoint not found' : state.replace('_', ' ')})`;
  const parts = [
    subscription.monthlyPrice === null ? 'active' : `$${subscription.monthlyPrice}/month`,
    describeMeter('monthly', subscription.monthly),
    describeMeter('4-hour', subscription.fourHour),
  ].filter((p): p is string => p !== null);
  return parts.join('; ');
}

export interface QuotaCiInput {
  summary: QuotaSummary;
  subscription: SubscriptionSummary | null;
  subscriptionState: EndpointState;
  verdict: Verdict | null;
  exitCode: number;
  /** The run's last stderr line (`error: …`), or null when it succeeded. */
  failure: string | null;
  apiHost: string;
}

/** The GitHub Actions report: the daily figures as rows, under 10 % left a warning, a failing exit an error. */
export function quotaCiReport(input: QuotaCiInput): CiReport {
  const { summary, subscription, verdict, exitCode } = input;
  const daily = summary.unlimited ? 'unlimited' : summary.daily === null ? 'unknown' : `${summary.daily} requests`;
  const headline = verdict !== null ? verdict.message
    : summary.unlimited ? 'The daily quota is unlimited.'
      : summary.source !== null ? `${summary.remaining ?? '?'} of ${summary.daily ?? '?'} requests left today (${summary.used ?? '?'} used); resets at ${summary.resetsAt ?? '00:00 UTC'}.`
        : input.failure?.replace(/^error: /, '') ?? `No quota endpoint answered on ${input.apiHost}.`;
  const failed = exitCode !== ExitCode.ok && exitCode !== ExitCode.interrupted;
  return {
    command: 'quota',
    headline,
    rows: [
      ['daily', daily],
      ['used', summary.used === null ? 'unknown' : String(summary.used)],
      ['remaining', summary.unlimited ? 'unlimited' : summary.remaining === null ? 'unknown' : String(summary.remaining)],
      ['resets at', summary.resetsAt ?? '—'],
      ['subscription', describeSubscription(subscription, input.subscriptionState)],
    ],
    warnings: quotaLow(summary)
      ? [`Only ${summary.remaining} of ${summary.daily} requests left today (under ${LOW_QUOTA_SHARE * 100}%); resets at ${summary.resetsAt ?? '00:00 UTC'}.`]
      : [],
    errors: failed ? [input.failure?.replace(/^error: /, '') ?? verdict?.message ?? headline] : [],
  };
}
