// The probe's output as text, from its plan and its report (probe/run.ts): the plan, the live progress
// line, the human report (summary table, timeline, estimate, warnings), the JSON document's fields and the
// GitHub Actions report. Pure: (report, style) → text; the command writes it.
import type { ChalkInstance } from 'chalk';
import { ExitCode } from '../errors.js';
import type { ConcurrencyEstimate } from '../probe/estimate-concurrency.js';
import type { RateEstimate } from '../probe/estimate-rate.js';
import type { ProbePlan, ProbeReport, ProgressState } from '../probe/run.js';
import type { Pacing, ProbeSummary } from '../probe/run-summary.js';
import { WARM_UP_MAX_MS } from '../probe/runner.js';
import type { ProbeResult } from '../probe/strategy.js';
import type { ResponseRecord, Target } from '../types.js';
import { renderTimelineChart } from './chart.js';
import { explainBanRisk } from './probe-explain.js';
import { isChutesHost } from '../target.js';
import type { CiReport } from './github.js';
import { formatSeconds, makeTable } from './table.js';

/** How the human report is written: colours for stdout, and whether the parser's warnings are shown. */
export interface ProbeStyle {
  color: ChalkInstance;
  verbose: boolean;
}

/** The human report as its writes, in order: to stdout (a newline is added) or to stderr (as is). */
export type ProbeOutput = Array<{ stream: 'stdout' | 'stderr'; text: string }>;

/** The refusal budget and, on Chutes, the ban risk and the quota check: said before the first send. */
function banLines(allowRefusals: number | null, target: Target): string[] {
  if (isChutesHost(target.url.hostname)) {
    return [
      `  ${explainBanRisk(allowRefusals ?? 1)}`,
      "  The first answer tells how much of today's quota is left; a plan over --max-quota-share of it needs --yes (otherwise the probe stops there).",
    ];
  }
  if (allowRefusals !== null) return [`  The probe stops provoking after ${allowRefusals} refusal${allowRefusals === 1 ? '' : 's'} (--allow-refusals).`];
  return [];
}

/** What the plan promises, before anything is sent. */
export function renderPlan(plan: ProbePlan, target: Target, color: ChalkInstance, allowRefusals: number | null = null): string {
  const paced = formatSeconds(plan.intervalMs / 1000);
  const fullPace = (plan.maxRequests * plan.intervalMs) / 1000;
  const longest = Math.min(plan.maxDurationSeconds, Math.max(fullPace, 0));
  const concurrency = plan.maxConcurrency === 0 ? 'no concurrency test' : `a concurrency test of up to ${plan.maxConcurrency} at once`;
  const warmUp = formatSeconds(Math.min(WARM_UP_MAX_MS / 1000, plan.maxDurationSeconds));
  return [
    `${color.bold('Plan')}  ${target.method} ${target.url.href}`,
    `  up to ${plan.maxRequests} requests at ${plan.rpm}/min (one every ${paced}), then ${concurrency};`,
    `  stops sending after ${formatSeconds(plan.maxDurationSeconds)} at the latest, a connection warm-up of up to ${warmUp} included (sending at full pace for the whole budget would take ${formatSeconds(longest)});`,
    `  answers still in flight after the last send are awaited up to the request timeout (${formatSeconds(target.timeoutMs / 1000)}).`,
    `  Worst case: ${plan.maxRequests} requests count against your quota (429s usually do not).`,
    ...banLines(allowRefusals, target),
  ].join('\n');
}

/**
 * The spinner's line. The time is the plan's: what the rest of the budget takes at the --rpm pace, never
 * past --max-duration ("at full pace": the probe often stops well before, once the estimate is done).
 * Counting down --max-duration itself would show minutes for a run that ends in seconds. Nothing left to
 * send: no time, only the answers still awaited.
 */
export function progressText(state: ProgressState): string {
  const head = `probe: sent ${state.sent}/${state.maxRequests} · ok ${state.ok} · 429 ${state.limited}`;
  const budgetLeft = Math.max(0, state.maxRequests - state.sent);
  const plannedMs = Math.min(budgetLeft * state.intervalMs, Math.max(0, state.deadline - state.nowMs));
  if (budgetLeft > 0 && plannedMs > 0) return `${head} · ${formatSeconds(plannedMs / 1000)} left at full pace`;
  if (state.inFlight > 0) return `${head} · waiting for ${state.inFlight} answer${state.inFlight === 1 ? '' : 's'}`;
  return head;
}

/** The warnings the human and CI reports show: the estimate's (and pacing's), the parser's only with --verbose. */
export function shownWarnings(report: ProbeReport, verbose: boolean): string[] {
  return [...report.result.warnings, ...(verbose ? report.parserWarnings : [])];
}

/** The probe's fields of the JSON document (cli-contract.md), in their order; every warning is in it. */
export function probeJsonFields(plan: ProbePlan, report: ProbeReport): Record<string, unknown> {
  const { result } = report;
  return {
    plan,
    summary: report.summary,
    pacing: report.pacing,
    estimate: { rate: result.rate, concurrency: result.concurrency },
    timeline: report.timeline.buckets,
    responses: report.records,
    warnings: [...result.warnings, ...report.parserWarnings],
    stopReason: result.stopReason,
    recommendation: report.recommendation,
  };
}

// ---------------------------------------------------------------------------------------------
// GitHub Actions report

export interface ProbeCiInput {
  result: ProbeResult;
  summary: ProbeSummary;
  records: readonly ResponseRecord[];
  /** Every warning the run printed (the estimate's, pacing, parser with --verbose). */
  warnings: readonly string[];
  exitCode: number;
  interrupted: boolean;
}

/** The rate estimate in a few words: "≥ 30 per 15s (≥ 120/min)", "10 per 2s (300/min)". */
export function describeRateEstimate(rate: RateEstimate): string {
  const atLeast = rate.bound === 'at-least' ? '≥ ' : rate.bound === 'approx' ? '≈ ' : '';
  if (rate.limit === null && rate.perMinute === null) return 'not measured';
  const limit = rate.limit === null ? '' : `${atLeast}${rate.limit}${rate.windowSeconds === null ? ' per window (length not measured)' : ` per ${formatSeconds(rate.windowSeconds)}`}`;
  const perMinute = rate.perMinute === null ? '' : `${atLeast}${rate.perMinute}/min`;
  return limit && perMinute ? `${limit} (${perMinute})` : limit || perMinute;
}

function describeConcurrency(concurrency: ConcurrencyEstimate): string {
  if (concurrency.limit === null) return concurrency.bound === 'unknown' ? 'not measured' : concurrency.bound;
  return `${concurrency.bound === 'at-least' ? '≥ ' : ''}${concurrency.limit} in flight (${concurrency.bound})`;
}

export function probeCiReport(input: ProbeCiInput): CiReport {
  const { result, summary, records, exitCode } = input;
  const { rate, concurrency } = result;
  const headline = exitCode === ExitCode.network && summary.ok + summary.rateLimited === 0
    ? 'no response came back: nothing to estimate'
    : `rate limit ${describeRateEstimate(rate)}, ${rate.algorithm}, ${rate.bound}, ${rate.confidence} confidence; concurrency ${describeConcurrency(concurrency)}`;
  const warnings: string[] = [];
  if (summary.rateLimited > 0) {
    warnings.push(`${summary.rateLimited} of ${summary.sent} requests were rate limited (429): the probe reached the limit it measures.`);
  }
  warnings.push(...input.warnings);
  if (rate.bound === 'at-least') warnings.push(`rate limit: only a lower bound (${describeRateEstimate(rate)}): ${rate.explanation}`);
  if (concurrency.bound === 'at-least') warnings.push(`concurrency: only a lower bound: ${concurrency.explanation}`);
  const errors: string[] = [];
  if (input.interrupted) errors.push('the probe was interrupted: the result is partial.');
  else if (exitCode !== ExitCode.ok) {
    const last = records.find((r) => r.error) ?? records.at(-1);
    const why = last?.error?.message ?? last?.verdict?.message ?? 'no response was accepted or rate limited';
    errors.push(`probe failed (exit ${exitCode}): ${why}`);
  }
  return {
    command: 'probe',
    headline,
    rows: [
      ['limit', rate.limit === null ? 'unknown' : `${rate.bound === 'at-least' ? '≥ ' : ''}${rate.limit}`],
      ['window', rate.windowSeconds === null ? 'unknown' : formatSeconds(rate.windowSeconds)],
      ['per minute', rate.perMinute === null ? 'unknown' : `${rate.bound === 'at-least' ? '≥ ' : ''}${rate.perMinute}`],
      ['burst', rate.burst === null ? 'unknown' : String(rate.burst)],
      ['algorithm', rate.algorithm],
      ['bound / source / confidence', `${rate.bound} / ${rate.source} / ${rate.confidence}`],
      ['concurrency', describeConcurrency(concurrency)],
      ['requests sent', `${summary.sent} (ok ${summary.ok}, 429 ${summary.rateLimited}, errors ${summary.errors}; ${rate.requests} on the rate part, ${concurrency.requests} on the concurrency part)`],
    ],
    warnings,
    errors,
  };
}

// ---------------------------------------------------------------------------------------------
// Human report

function show(value: number | string | null, unit = ''): string {
  return value === null ? '—' : `${value}${unit}`;
}

function renderSummary(summary: ProbeSummary, pacing: Pacing, color: ChalkInstance): string {
  const table = makeTable(['sent', 'ok', '429', 'errors', 'duration', 'latency p50', 'p90', 'p99', 'max'], color, Array(9).fill('right'));
  const ms = (v: number | null) => show(v === null ? null : Math.round(v), ' ms');
  table.push([
    summary.sent, summary.ok, summary.rateLimited, summary.errors, formatSeconds(summary.durationSeconds),
    ms(summary.latencyMs.p50), ms(summary.latencyMs.p90), ms(summary.latencyMs.p99), ms(summary.latencyMs.max),
  ].map(String));
  const pace = pacing.p50ErrorMs === null
    ? ''
    : `\nPacing: one send every ${formatSeconds(pacing.intervalMs / 1000)}; send time vs schedule p50 ${pacing.p50ErrorMs} ms, p99 ${pacing.p99ErrorMs} ms, max ${pacing.maxErrorMs} ms.`;
  return `${table.toString()}${pace}`;
}

function renderEstimate(rate: RateEstimate, concurrency: ConcurrencyEstimate, color: ChalkInstance): string {
  const table = makeTable(['rate limit', 'window', 'per minute', 'burst', 'algorithm', 'bound', 'source', 'confidence'], color);
  const atLeast = rate.bound === 'at-least' ? '≥ ' : '';
  table.push([
    `${atLeast}${show(rate.limit)}`, rate.windowSeconds === null ? '—' : formatSeconds(rate.windowSeconds), `${atLeast}${show(rate.perMinute)}`,
    show(rate.burst), rate.algorithm, rate.bound, rate.source, rate.confidence,
  ]);
  const conc = makeTable(['concurrency limit', 'bound', 'tested up to'], color);
  conc.push([`${concurrency.bound === 'at-least' ? '≥ ' : ''}${show(concurrency.limit)}`, concurrency.bound, show(concurrency.testedUpTo)]);
  return [
    color.bold('Estimate'),
    table.toString(),
    rate.explanation,
    conc.toString(),
    concurrency.explanation,
    color.dim(`(${rate.requests} requests on the rate part, ${concurrency.requests} on the concurrency part)`),
  ].join('\n');
}

/** The human report: summary, timeline, estimate and warnings on stdout; why it failed, if it did, on stderr. */
export function renderProbeReport(report: ProbeReport, style: ProbeStyle): ProbeOutput {
  const { records, result, exitCode } = report;
  const { color } = style;
  const output: ProbeOutput = [];
  const out = (text: string) => output.push({ stream: 'stdout', text });
  const err = (text: string) => output.push({ stream: 'stderr', text });
  if (exitCode === ExitCode.network) {
    // A dead server: one line, no tables of nothing.
    const first = records.find((r) => r.error) ?? null;
    err(`error: ${first?.error?.message ?? 'no response came back'}; nothing to estimate.\n`);
    return output;
  }
  out('');
  out(renderSummary(report.summary, report.pacing, color));
  out('');
  out(color.bold('Timeline'));
  out(renderTimelineChart(report.timeline, color));
  out('');
  if (exitCode === ExitCode.auth) {
    const verdict = records[0]?.verdict;
    out(color.red(`Every response was an authentication error (${records[0]?.status ?? '401/403'}), so the estimate is meaningless.`));
    if (verdict) out(`${color.bold('Hint')} ${verdict.hint}`);
    err(`error: every response was an authentication error${verdict ? `: ${verdict.message}` : ''}\n`);
    return output;
  }
  if (exitCode !== ExitCode.ok && !report.interrupted) {
    // Nothing but HTTP errors (or a spent quota): the estimate is empty; one line says why, as `headers` does.
    const verdict = records.at(-1)?.verdict;
    if (verdict) out(color.red(`${verdict.message}\n${color.bold('Hint')} ${verdict.hint}`));
    err(`error: no response was accepted or rate limited${verdict ? `: ${verdict.message}` : ''}\n`);
  }
  out(renderEstimate(result.rate, result.concurrency, color));
  for (const warning of shownWarnings(report, style.verbose)) out(color.yellow(`! ${warning}`));
  if (report.interrupted) {
    out(color.yellow(`Interrupted: partial result${report.abandoned > 0 ? `; ${report.abandoned} request(s) still in flight were abandoned` : ''}.`));
  }
  return output;
}
