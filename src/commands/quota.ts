// `chutes-diag quota`: the account's daily quota, usage and subscription caps from the Chutes
// management API. Three free GETs; no inference request is spent.
import type { HttpClient } from '../http/client.js';
import { ExitCode } from '../errors.js';
import { nextUtcMidnight as nextUtcMidnightDate } from '../format.js';
import { buildRecord } from '../record.js';
import { emitGithubReport, type CiReport } from '../render/github.js';
import type { Io } from '../render/io.js';
import { jsonDocument } from '../render/json.js';
import { renderStatusLine } from '../render/record.js';
import { formatLocalTime, formatNumber, formatSeconds, makeTable } from '../render/table.js';
import { buildTarget, readApiKey } from '../target.js';
import type { AuthScheme, ResponseRecord, Target, Verdict } from '../types.js';
import { failureLine, requireKey, resolveNetwork, type CommandContext, type CommonOptions } from './common.js';

export const QUOTA_USAGE_PATH = '/users/me/quota_usage/me';
export const QUOTAS_PATH = '/users/me/quotas';
export const SUBSCRIPTION_USAGE_PATH = '/users/me/subscription_usage';
export const USER_PATH = '/users/me';

/** Below this share of the daily quota left, warn: a busy client runs out within the hour. */
export const LOW_QUOTA_SHARE = 0.1;

export type QuotaOptions = CommonOptions;

// ---------------------------------------------------------------------------------------------
// Pure: the management API's bodies → numbers

export interface QuotaUsage {
  /** Requests per day; null when unlimited. */
  daily: number | null;
  unlimited: boolean;
  used: number | null;
}

export interface ChuteQuota {
  chuteId: string;
  quota: number | null;
  isDefault: boolean;
}

export interface QuotaTable {
  /** The account-wide ("*") daily quota; null when unlimited or not listed. */
  daily: number | null;
  unlimited: boolean;
  perChute: ChuteQuota[];
}

export interface Meter {
  usage: number | null;
  cap: number | null;
  remaining: number | null;
}

export interface SubscriptionSummary {
  monthlyPrice: number | null;
  monthly: Meter | null;
  fourHour: Meter | null;
}

export interface QuotaSummary {
  daily: number | null;
  used: number | null;
  remaining: number | null;
  /** The next 00:00 UTC, ISO; null when unlimited. */
  resetsAt: string | null;
  unlimited: boolean;
  /** Which endpoint the daily figure came from. */
  source: 'quota_usage' | 'quotas' | null;
}

function asObject(value: unknown): Record<string, unknown> | null {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
}

/** A count as Chutes sends it: a number, or a numeric string. */
function count(value: unknown): number | null {
  const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  return typeof n === 'number' && Number.isFinite(n) && n >= 0 ? n : null;
}

const isUnlimited = (value: unknown) => typeof value === 'string' && /^(unlimited|inf|infinity)$/i.test(value.trim());

/** `{"quota": N, "used": X}` or `{"quota": "unlimited", "used": 0}`; null when the body is neither. */
export function parseQuotaUsage(json: unknown): QuotaUsage | null {
  const body = asObject(json);
  if (body === null || !('quota' in body)) return null;
  if (isUnlimited(body.quota)) return { daily: null, unlimited: true, used: count(body.used) };
  const daily = count(body.quota);
  return daily === null ? null : { daily, unlimited: false, used: count(body.used) };
}

/**
 * GET /users/me/quotas: a list of `{chute_id, quota, is_default}` rows, the default `{"*": N}`, or
 * `{}` for an unlimited account (chutesai/chutes-api api/user/router.py my_quotas).
 */
export function parseQuotas(json: unknown): QuotaTable | null {
  if (Array.isArray(json)) {
    const perChute = json.map(asObject).filter((row): row is Record<string, unknown> => row !== null).map((row) => ({
      chuteId: typeof row.chute_id === 'string' ? row.chute_id : '*',
      quota: count(row.quota),
      isDefault: row.is_default === true,
    }));
    const global = perChute.find((q) => q.chuteId === '*') ?? perChute.find((q) => q.isDefault) ?? null;
    return { daily: global?.quota ?? null, unlimited: perChute.length === 0, perChute };
  }
  const body = asObject(json);
  if (body === null) return null;
  const entries = Object.entries(body);
  if (entries.length === 0) return { daily: null, unlimited: true, perChute: [] };
  const perChute = entries.map(([chuteId, quota]) => ({ chuteId, quota: count(quota), isDefault: chuteId === '*' }));
  return { daily: count(body['*']), unlimited: isUnlimited(body['*']), perChute };
}

function meter(value: unknown): Meter | null {
  const m = asObject(value);
  if (m === null) return null;
  const usage = count(m.usage);
  const cap = count(m.cap);
  const remaining = count(m.remaining) ?? (usage !== null && cap !== null ? Math.max(0, cap - usage) : null);
  return { usage, cap, remaining };
}

/** `{"subscription": false}` → null; `{"subscription": true, "monthly_price", "monthly": {…}, "four_hour": {…}}`. */
export function parseSubscriptionUsage(json: unknown): SubscriptionSummary | null {
  const body = asObject(json);
  if (body === null || body.subscription !== true) return null;
  return { monthlyPrice: count(body.monthly_price), monthly: meter(body.monthly), fourHour: meter(body.four_hour) };
}

/** The daily counter resets at 00:00 UTC; computed in one place, format.ts. */
export function nextUtcMidnight(nowMs: number): number {
  return nextUtcMidnightDate(nowMs).getTime();
}

/** quota_usage first (it has `used`); the quotas table fills in the daily figure when it is missing. */
export function summariseQuota(usage: QuotaUsage | null, table: QuotaTable | null, nowMs: number): QuotaSummary {
  const unlimited = usage?.unlimited ?? table?.unlimited ?? false;
  const daily = usage?.daily ?? table?.daily ?? null;
  const used = usage?.used ?? null;
  const source = usage !== null ? 'quota_usage' : table !== null ? 'quotas' : null;
  return {
    daily: unlimited ? null : daily,
    used,
    remaining: unlimited || daily === null || used === null ? null : Math.max(0, daily - used),
    resetsAt: unlimited || source === null ? null : new Date(nextUtcMidnight(nowMs)).toISOString(),
    unlimited,
    source,
  };
}

export function exhaustedMeters(subscription: SubscriptionSummary | null): string[] {
  if (subscription === null) return [];
  const names: string[] = [];
  if (subscription.monthly?.remaining === 0) names.push('monthly');
  if (subscription.fourHour?.remaining === 0) names.push('4-hour');
  return names;
}

/** "00:00 UTC (01:00:00 local, in 5h12m)". */
export function describeReset(resetsAtIso: string, nowMs: number): string {
  const at = Date.parse(resetsAtIso);
  return `${resetsAtIso} (00:00 UTC; ${formatLocalTime(at)} local time, in ${formatSeconds(Math.max(0, at - nowMs) / 1000)})`;
}

export function quotaExhaustedVerdict(summary: QuotaSummary, nowMs: number): Verdict {
  const until = summary.resetsAt === null ? 'the next 00:00 UTC' : describeReset(summary.resetsAt, nowMs);
  return {
    code: 'daily-quota-exhausted',
    message: `The daily quota of ${summary.daily ?? '?'} requests is used up (${summary.used ?? '?'} used); requests fail with 402 until ${until}, unless the account has balance.`,
    hint: 'Wait for the reset, or add balance to continue pay-as-you-go.',
  };
}

// ---------------------------------------------------------------------------------------------
// I/O: the management requests

/** The management API reads only Authorization: X-API-Key is sent as Bearer instead. */
export function managementAuth(auth: AuthScheme): AuthScheme {
  return auth === 'x-api-key' ? 'bearer' : auth;
}

export interface ManagementContext {
  apiBase: URL;
  auth: AuthScheme;
  key: string | null;
  opts: CommonOptions;
  io: Io;
  signal: AbortSignal;
  http: HttpClient;
}

export interface ManagementAnswer {
  path: string;
  target: Target;
  record: ResponseRecord;
  /** The parsed body of a 200; null otherwise or when it is not JSON. */
  json: unknown;
}

export function managementTarget(ctx: ManagementContext, path: string): Target {
  return buildTarget({
    base: ctx.apiBase, path, auth: managementAuth(ctx.auth), key: ctx.key, body: null,
    extraHeaders: ctx.opts.header ?? [], timeoutMs: ctx.opts.timeout, redactor: ctx.io.redactor,
  });
}

function parseJson(text: string | null): unknown {
  if (text === null) return null;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return null;
  }
}

/** One GET on the management host, recorded and classified like any other response. */
export async function getManagement(ctx: ManagementContext, path: string, seq: number): Promise<ManagementAnswer> {
  const target = managementTarget(ctx, path);
  const raw = await ctx.http.send(target, { signal: ctx.signal });
  const { record } = buildRecord(raw, { seq, target, redactor: ctx.io.redactor, urlOption: '--api-base-url' });
  return { path, target, record, json: raw.status !== null && raw.status >= 200 && raw.status < 300 ? parseJson(raw.body) : null };
}

export type EndpointState = 'ok' | 'missing' | 'invalid' | 'limited' | 'auth_error' | 'http_error' | 'network_error';

export function endpointState(answer: ManagementAnswer, parsed: unknown): EndpointState {
  const { record } = answer;
  if (record.status === 404) return 'missing';
  if (record.outcome === 'ok') return parsed === null ? 'invalid' : 'ok';
  if (record.outcome === 'auth_error') return 'auth_error';
  if (record.outcome === 'network_error' || record.outcome === 'timeout') return 'network_error';
  if (record.outcome === 'rate_limited' || record.outcome === 'quota_exceeded' || record.outcome === 'capacity') return 'limited';
  return 'http_error';
}

/** Auth beats network beats other HTTP (on quota_usage, or no figure at all); then an exhausted quota is exit 3. */
export function quotaExitCode(states: EndpointState[], summary: QuotaSummary, subscription: SubscriptionSummary | null, aborted: boolean): number {
  if (aborted) return ExitCode.interrupted;
  if (states.includes('auth_error')) return ExitCode.auth;
  if (states[0] === 'network_error') return ExitCode.network;
  // The management API itself limiting us is a rate limit too (exit 3, per the contract).
  if (states[0] === 'limited') return ExitCode.rateLimited;
  // A missing endpoint is skipped; a failing or garbled quota_usage leaves the main figure unknown.
  if (summary.source === null || states[0] === 'http_error' || states[0] === 'invalid') return ExitCode.http;
  if (summary.remaining === 0 || exhaustedMeters(subscription).length > 0) return ExitCode.rateLimited;
  return ExitCode.ok;
}

const ENDPOINT_MEANING: Record<string, string> = {
  [QUOTA_USAGE_PATH]: 'daily usage',
  [QUOTAS_PATH]: 'quota table',
  [SUBSCRIPTION_USAGE_PATH]: 'subscription usage',
};

function describeEndpointProblem(answer: ManagementAnswer, state: EndpointState): string | null {
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

function renderQuotaTable(summary: QuotaSummary, io: Io, nowMs: number): string {
  const table = makeTable(['quota', 'value'], io.color);
  const remaining = summary.remaining === 0 ? io.color.red('0') : formatNumber(summary.remaining);
  table.push(
    ['daily limit', summary.unlimited ? 'unlimited' : summary.daily === null ? '—' : `${summary.daily} requests`],
    ['used today', formatNumber(summary.used)],
    ['remaining', summary.unlimited ? 'unlimited' : remaining],
    ['resets at', summary.resetsAt === null ? '—' : describeReset(summary.resetsAt, nowMs)],
  );
  return table.toString();
}

function renderSubscription(subscription: SubscriptionSummary, io: Io): string {
  const table = makeTable(['subscription cap', 'usage', 'cap', 'remaining'], io.color);
  for (const [name, m] of [['monthly', subscription.monthly], ['4-hour', subscription.fourHour]] as const) {
    if (m !== null) table.push([name, formatNumber(m.usage), formatNumber(m.cap), m.remaining === 0 ? io.color.red('0') : formatNumber(m.remaining)]);
  }
  const price = subscription.monthlyPrice === null ? '' : ` ($${subscription.monthlyPrice}/month)`;
  return `Subscription${price}:\n${table.toString()}`;
}

function subscriptionJson(subscription: SubscriptionSummary | null) {
  return subscription && {
    active: true,
    monthlyPrice: subscription.monthlyPrice,
    monthly: subscription.monthly,
    fourHour: subscription.fourHour,
  };
}

/** True when some of the daily quota is left, but less than LOW_QUOTA_SHARE of it. */
export function quotaLow(summary: QuotaSummary): boolean {
  return !summary.unlimited && summary.daily !== null && summary.remaining !== null && summary.remaining > 0
    && summary.remaining < summary.daily * LOW_QUOTA_SHARE;
}

function describeMeter(name: string, m: Meter | null): string | null {
  return m === null ? null : `${name} ${m.usage ?? '?'} of ${m.cap ?? '?'} used (${m.remaining ?? '?'} left)`;
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

/** A `-H 'Authorization: …'` stands in for the key. */
export function hasAuthorizationHeader(headers: Array<[string, string]> | undefined): boolean {
  return (headers ?? []).some(([name]) => /^authorization$/i.test(name));
}

export async function runQuota(opts: QuotaOptions, ctx: CommandContext): Promise<number> {
  const { io, signal } = ctx;
  const auth = opts.auth ?? 'bearer';
  // The management API answers nothing useful without a key: say so before sending anything.
  if (auth !== 'none' && !hasAuthorizationHeader(opts.header)) requireKey(readApiKey(opts, io.env).key, 'quota');
  if (auth === 'x-api-key') {
    io.warn('Chutes never reads X-API-Key (the management API answers 401 to it); sending it in the Authorization header (Bearer scheme) instead.');
  }
  const { key, apiBase, out } = resolveNetwork(opts, io);
  const mctx: ManagementContext = { apiBase, auth, key, opts, io, signal, http: ctx.http };
  let answers: ManagementAnswer[];
  try {
    answers = await Promise.all([QUOTA_USAGE_PATH, QUOTAS_PATH, SUBSCRIPTION_USAGE_PATH].map((path, i) => getManagement(mctx, path, i + 1)));
  } finally {
    await ctx.http.close();
  }
  for (const answer of answers) out?.write(answer.record);
  out?.close();

  const [usageAnswer, quotasAnswer, subscriptionAnswer] = answers as [ManagementAnswer, ManagementAnswer, ManagementAnswer];
  const usage = parseQuotaUsage(usageAnswer.json);
  const table = parseQuotas(quotasAnswer.json);
  const subscriptionParsed = subscriptionAnswer.json === null ? null : asObject(subscriptionAnswer.json);
  const subscription = parseSubscriptionUsage(subscriptionAnswer.json);
  const states = [endpointState(usageAnswer, usage), endpointState(quotasAnswer, table), endpointState(subscriptionAnswer, subscriptionParsed)];
  const nowMs = Date.now();
  const summary = summariseQuota(usage, table, nowMs);
  const exitCode = quotaExitCode(states, summary, subscription, signal.aborted);
  const failed = answers.find((_, i) => states[i] === 'auth_error') ?? answers.find((a, i) => states[i] !== 'ok' && states[i] !== 'missing' && a.record.verdict);
  const verdict: Verdict | null =
    exitCode === ExitCode.rateLimited && summary.remaining === 0 ? quotaExhaustedVerdict(summary, nowMs)
      : exitCode !== ExitCode.ok ? failed?.record.verdict ?? null
        : null;
  // A failure the verdict names (a rejected key, a refused connection) is said once, not once per endpoint.
  const saidByVerdict = (state: EndpointState) => verdict !== null && state !== 'missing' && state !== 'invalid';
  const problems = answers
    .map((a, i) => (saidByVerdict(states[i] ?? 'ok') ? null : describeEndpointProblem(a, states[i] ?? 'ok')))
    .filter((p): p is string => p !== null);

  // Last on stderr for a failing run: the exhausted quota in words (its responses were all 200), else the failed response.
  const failure = exitCode === ExitCode.rateLimited && verdict !== null
    ? `error: ${verdict.message}`
    : failureLine((failed ?? usageAnswer).record, exitCode);
  emitGithubReport(io, quotaCiReport({
    summary, subscription, subscriptionState: states[2] ?? 'ok', verdict, exitCode, failure, apiHost: apiBase.host,
  }));
  if (io.json) {
    io.print(jsonDocument('quota', usageAnswer.target, exitCode, {
      quota: summary,
      perChute: table?.perChute ?? [],
      subscription: subscriptionJson(subscription),
      endpoints: Object.fromEntries(answers.map((a, i) => [a.path, { status: a.record.status, state: states[i] }])),
      verdict,
      notes: problems,
      responses: answers.map((a) => a.record),
    }).trimEnd());
    if (failure) io.printErr(`${failure}\n`);
    return exitCode;
  }

  if (io.verbose) for (const answer of answers) io.print(`${answer.path}: ${renderStatusLine(answer.record, io.color)}`);
  if (summary.source !== null) {
    io.print(renderQuotaTable(summary, io, nowMs));
    const special = table?.perChute.filter((q) => q.chuteId !== '*') ?? [];
    if (special.length > 0) io.print(`Per-chute quotas: ${special.map((q) => `${q.chuteId}: ${q.quota ?? 'unlimited'}/day`).join(', ')}`);
    if (summary.used === null) io.print(io.color.dim('Usage today is unknown: /users/me/quota_usage/me did not answer.'));
  }
  if (subscription !== null) io.print(renderSubscription(subscription, io));
  else if (states[2] === 'ok') io.print('Subscription: none.');
  for (const problem of problems) io.print(io.color.yellow(`! ${problem}`));
  const exhausted = exhaustedMeters(subscription);
  if (exhausted.length > 0) io.print(io.color.yellow(`The subscription's ${exhausted.join(' and ')} cap is used up: with a $0 balance requests fail with 402.`));
  if (verdict !== null) io.print(`${io.color.bold('Verdict')} [${verdict.code}] ${verdict.message}\n${io.color.bold('Fix')}     ${verdict.hint}`);
  else if (summary.source === null && exitCode === ExitCode.http) {
    io.print(`No quota endpoint answered on ${apiBase.host}: is --api-base-url the Chutes management host (https://api.chutes.ai)?`);
  }
  if (failure) io.printErr(`${failure}\n`);
  return exitCode;
}
