// `chutes-diag probe`: a paced, open-loop burst that estimates the per-window rate limit and the
// concurrency limit. The plan goes out first; the strategy (probe/strategy.ts) decides every send, the
// runner (probe/runner.ts) times them; this file wires the real clock and HTTP, and renders.
import { createInterface } from 'node:readline/promises';
import type { Redactor } from '../http/redact.js';
import { ExitCode, UsageError } from '../errors.js';
import { preciseNow, type HttpClient } from '../http/client.js';
import type { ConcurrencyEstimate } from '../probe/estimate-concurrency.js';
import type { Observation, RateEstimate } from '../probe/estimate-rate.js';
import { driveProbe, WARM_UP_MAX_MS, type SendTicket } from '../probe/runner.js';
import { paceIntervalMs } from '../probe/schedule.js';
import { ProbeStrategy, type ConcurrencyMode, type ProbeResult } from '../probe/strategy.js';
import { trackWire } from '../probe/wire.js';
import { buildRecord } from '../record.js';
import { buildTimeline, renderTimelineChart, type Timeline } from '../render/chart.js';
import { emitGithubReport, type CiReport } from '../render/github.js';
import type { Io } from '../render/io.js';
import { jsonDocument } from '../render/json.js';
import { openJsonlWriter, type JsonlWriter } from '../render/jsonl.js';
import { formatSeconds, makeTable } from '../render/table.js';
import type { Outcome, ResponseRecord, Target } from '../types.js';
import { exitCodeForOutcome } from '../verdict/classify.js';
import { sleepUnlessAborted } from '../wait/wait-for-reset.js';
import { resolveNetwork, type CommandContext, type CommonOptions } from './common.js';

export interface ProbeOptions extends CommonOptions {
  rpm?: number;
  maxRequests?: number;
  /** ms */
  maxDuration?: number;
  concurrency?: ConcurrencyMode;
  maxConcurrency?: number;
  dryRun?: boolean;
  yes?: boolean;
}

/** The `plan` object of the JSON document (cli-contract.md). */
export interface ProbePlan {
  rpm: number;
  intervalMs: number;
  maxRequests: number;
  maxDurationSeconds: number;
  maxConcurrency: number;
}

/** Plans above this many requests need --yes or a confirmation on a TTY. */
export const CONFIRM_ABOVE_REQUESTS = 100;
/** After Ctrl-C, how long requests in flight may take to come back. */
const DRAIN_MS = 3000;
/** First slot this long after the warm-up, so the first send is timed like the others. */
const START_LEAD_MS = 20;

export function probePlan(opts: ProbeOptions): ProbePlan {
  const rpm = opts.rpm ?? 20;
  const concurrency = opts.concurrency ?? 'auto';
  return {
    rpm,
    intervalMs: Math.round(paceIntervalMs(rpm) * 1000) / 1000,
    maxRequests: opts.maxRequests ?? 60,
    maxDurationSeconds: (opts.maxDuration ?? 300_000) / 1000,
    maxConcurrency: concurrency === 'off' ? 0 : typeof concurrency === 'number' ? concurrency : opts.maxConcurrency ?? 8,
  };
}

export function renderPlan(plan: ProbePlan, target: Target, io: Io): string {
  const paced = formatSeconds(plan.intervalMs / 1000);
  const fullPace = (plan.maxRequests * plan.intervalMs) / 1000;
  const longest = Math.min(plan.maxDurationSeconds, Math.max(fullPace, 0));
  const concurrency = plan.maxConcurrency === 0 ? 'no concurrency test' : `a concurrency test of up to ${plan.maxConcurrency} at once`;
  const warmUp = formatSeconds(Math.min(WARM_UP_MAX_MS / 1000, plan.maxDurationSeconds));
  return [
    `${io.color.bold('Plan')}  ${target.method} ${target.url.href}`,
    `  up to ${plan.maxRequests} requests at ${plan.rpm}/min (one every ${paced}), then ${concurrency};`,
    `  stops sending after ${formatSeconds(plan.maxDurationSeconds)} at the latest, a connection warm-up of up to ${warmUp} included (sending at full pace for the whole budget would take ${formatSeconds(longest)});`,
    `  answers still in flight after the last send are awaited up to the request timeout (${formatSeconds(target.timeoutMs / 1000)}).`,
    `  Worst case: ${plan.maxRequests} requests count against your quota (429s usually do not).`,
  ].join('\n');
}

/** y/N on the terminal; anything but y/yes is no. */
async function confirmOnTty(question: string, io: Io): Promise<boolean> {
  const rl = createInterface({ input: process.stdin, output: io.stderr as NodeJS.WritableStream });
  try {
    const answer = await rl.question(question);
    return /^y(es)?$/i.test(answer.trim());
  } finally {
    rl.close();
  }
}

/**
 * Opens the connection and runs the send-and-record path once, so the first probe request is as punctual
 * as the rest (cold code costs milliseconds): a HEAD to the origin's root, without the key or a body — a
 * HEAD never starts an inference, whatever the server does with paths. The runner bounds it
 * (WARM_UP_MAX_MS, inside --max-duration) and aborts it through `signal`.
 */
async function preconnect(http: HttpClient, target: Target, redactor: Redactor, signal: AbortSignal): Promise<void> {
  const warm: Target = {
    ...target,
    url: new URL('/', target.url.origin),
    method: 'HEAD',
    headers: {},
    body: null,
    auth: 'none',
    keyFingerprint: null,
    timeoutMs: Math.min(target.timeoutMs, WARM_UP_MAX_MS),
  };
  // send() never throws; whatever went wrong, the first real request will say it better.
  const raw = await http.send(warm, { signal });
  buildRecord(raw, { seq: 0, target: warm, redactor, scheduledAt: null, inFlight: 1 });
}

// ---------------------------------------------------------------------------------------------
// Summary figures (pure)

export function percentile(sorted: readonly number[], p: number): number | null {
  if (sorted.length === 0) return null;
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1] as number;
}

function round1(n: number | null): number | null {
  return n === null ? null : Math.round(n * 10) / 10;
}

export interface ProbeSummary {
  sent: number;
  ok: number;
  rateLimited: number;
  errors: number;
  durationSeconds: number;
  latencyMs: { p50: number | null; p90: number | null; p99: number | null; max: number | null };
}

export interface Pacing {
  intervalMs: number;
  p50ErrorMs: number | null;
  p99ErrorMs: number | null;
  maxErrorMs: number | null;
}

/** What one completed request contributes: the record, and its times in epoch ms. */
interface Completed {
  record: ResponseRecord;
  sentAt: number;
  receivedAt: number;
  scheduledAt: number;
}

export function summarize(completed: readonly Completed[], sent: number, startMs: number, endMs: number): ProbeSummary {
  const latencies = completed.map((c) => c.record.latencyMs).filter((l): l is number => l !== null).sort((a, b) => a - b);
  const count = (outcome: Outcome) => completed.filter((c) => c.record.outcome === outcome).length;
  const ok = count('ok');
  const rateLimited = count('rate_limited');
  return {
    sent,
    ok,
    rateLimited,
    errors: completed.length - ok - rateLimited,
    durationSeconds: Math.round(Math.max(0, endMs - startMs)) / 1000,
    latencyMs: {
      p50: round1(percentile(latencies, 50)),
      p90: round1(percentile(latencies, 90)),
      p99: round1(percentile(latencies, 99)),
      max: round1(latencies.at(-1) ?? null),
    },
  };
}

/** How far each send was from its planned instant (|sentAt − scheduledAt|). */
export function pacingOf(completed: readonly Completed[], intervalMs: number): Pacing {
  const errors = completed.map((c) => Math.abs(c.sentAt - c.scheduledAt)).sort((a, b) => a - b);
  return {
    intervalMs: Math.round(intervalMs * 1000) / 1000,
    p50ErrorMs: round1(percentile(errors, 50)),
    p99ErrorMs: round1(percentile(errors, 99)),
    maxErrorMs: round1(errors.at(-1) ?? null),
  };
}

/**
 * Sends well behind schedule mean this machine (not the server) was busy: the timing-based figures
 * (windows, refill rates) then lose precision, and the user should know.
 */
export function latenessWarning(pacing: Pacing): string | null {
  const limit = Math.max(10, pacing.intervalMs * 0.1);
  if (pacing.p99ErrorMs === null || pacing.p99ErrorMs <= limit) return null;
  return `sends went out up to ${pacing.maxErrorMs} ms late (p99 ${pacing.p99ErrorMs} ms against a ${pacing.intervalMs} ms pace): this machine was busy, so timing-based figures are less precise; rerun on a quieter machine or with a lower --rpm.`;
}

/** 0 when the estimate is complete; else what every answer says (all network errors: 6, all auth: 4). */
export function probeExitCode(records: readonly ResponseRecord[], interrupted: boolean): number {
  if (interrupted) return ExitCode.interrupted;
  if (records.length === 0) return ExitCode.network;
  if (records.some((r) => r.outcome === 'ok' || r.outcome === 'rate_limited')) return ExitCode.ok;
  if (records.every((r) => r.outcome === 'network_error' || r.outcome === 'timeout')) return ExitCode.network;
  if (records.every((r) => r.outcome === 'auth_error')) return ExitCode.auth;
  return exitCodeForOutcome((records.at(-1) as ResponseRecord).outcome);
}

// ---------------------------------------------------------------------------------------------
// GitHub Actions report (pure)

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
// Human output

function show(value: number | string | null, unit = ''): string {
  return value === null ? '—' : `${value}${unit}`;
}

function renderSummary(summary: ProbeSummary, pacing: Pacing, io: Io): string {
  const table = makeTable(['sent', 'ok', '429', 'errors', 'duration', 'latency p50', 'p90', 'p99', 'max'], io.color, Array(9).fill('right'));
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

function renderEstimate(rate: RateEstimate, concurrency: ConcurrencyEstimate, io: Io): string {
  const { color } = io;
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

// ---------------------------------------------------------------------------------------------
// Live progress (ora on stderr, TTY only)

export interface ProgressState {
  sent: number;
  ok: number;
  limited: number;
  /** Requests sent and not answered yet. */
  inFlight: number;
  nowMs: number;
  /** No send after this (start + --max-duration). */
  deadline: number;
  maxRequests: number;
  intervalMs: number;
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

interface Progress {
  update(): void;
  stop(): void;
}

async function startProgress(io: Io, state: () => string): Promise<Progress> {
  // A terminal that reports no width (some CI pseudo-terminals) makes ora erase "infinitely many" lines.
  if (!io.interactive || !((io.stderr.columns ?? 0) > 0)) return { update() {}, stop() {} };
  const { default: ora } = await import('ora');
  const spinner = ora({ text: state(), stream: io.stderr as NodeJS.WritableStream, discardStdin: false }).start();
  let last = 0;
  return {
    update() {
      const now = Date.now();
      if (now - last < 100) return;
      last = now;
      spinner.text = state();
    },
    stop() {
      spinner.stop();
    },
  };
}

// ---------------------------------------------------------------------------------------------

export async function runProbe(opts: ProbeOptions, ctx: CommandContext): Promise<number> {
  const { io } = ctx;
  const plan = probePlan(opts);
  // --out is opened only once the plan is accepted: a dry run or a refusal leaves no file behind.
  const { target } = resolveNetwork({ ...opts, out: undefined }, io);
  if (!io.json) io.print(renderPlan(plan, target, io));

  if (opts.dryRun) {
    if (io.json) io.print(jsonDocument('probe', target, ExitCode.ok, { dryRun: true, plan }).trimEnd());
    else io.print('Dry run: nothing was sent.');
    return ExitCode.ok;
  }
  if (plan.maxRequests > CONFIRM_ABOVE_REQUESTS && !opts.yes) {
    const tty = Boolean(process.stdin.isTTY) && Boolean(io.stderr.isTTY);
    if (!tty) throw new UsageError(`this plan sends up to ${plan.maxRequests} requests (more than ${CONFIRM_ABOVE_REQUESTS}); pass --yes (-y) to confirm, or lower --max-requests.`);
    if (!(await confirmOnTty(`Send up to ${plan.maxRequests} requests? [y/N] `, io))) {
      io.printErr('Nothing was sent.\n');
      return ExitCode.usage;
    }
  }
  const out = opts.out ? openJsonlWriter(opts.out, io.redactor, (message) => io.warn(message)) : null;
  try {
    return await probeLive(opts, ctx, plan, target, out);
  } finally {
    out?.close();
    await ctx.http.close();
  }
}

async function probeLive(opts: ProbeOptions, ctx: CommandContext, plan: ProbePlan, target: Target, out: JsonlWriter | null): Promise<number> {
  const { io, signal } = ctx;
  const strategy = new ProbeStrategy({
    start: preciseNow(),
    rpm: plan.rpm,
    maxRequests: plan.maxRequests,
    maxDurationMs: opts.maxDuration ?? 300_000,
    concurrency: opts.concurrency ?? 'auto',
    maxConcurrency: opts.maxConcurrency ?? 8,
  });
  const completed: Completed[] = [];
  const parserWarnings = new Set<string>();
  // Requests in flight get DRAIN_MS after Ctrl-C to come back before they are aborted.
  const inflight = new AbortController();
  let drainTimer: NodeJS.Timeout | undefined;
  const onAbort = () => {
    drainTimer = setTimeout(() => inflight.abort(), DRAIN_MS);
  };
  signal.addEventListener('abort', onAbort, { once: true });

  const progress = await startProgress(io, () => progressText({
    sent: strategy.sentCount,
    ok: completed.filter((c) => c.record.outcome === 'ok').length,
    limited: completed.filter((c) => c.record.outcome === 'rate_limited').length,
    inFlight: strategy.pendingCount,
    nowMs: preciseNow(),
    deadline: strategy.deadline,
    maxRequests: plan.maxRequests,
    intervalMs: strategy.intervalMs,
  }));

  // Each send counts from when undici writes it to the socket (after any connection set-up), not from
  // when it is handed over: the rate cap and the spacing of sends hold for what reaches the server.
  const wire = trackWire(preciseNow);
  const sendOne = async (ticket: SendTicket, wentOut: (at?: number, newConnection?: boolean) => void): Promise<Observation> => {
    const wentOutAt: { at: number | null } = { at: null };
    const raw = await wire.track((at, newConnection) => {
      wentOutAt.at = at;
      wentOut(at, newConnection);
    }, () => ctx.http.send(target, { signal: inflight.signal }));
    const built = buildRecord(raw, { seq: ticket.seq, target, redactor: io.redactor, scheduledAt: ticket.scheduledAt, inFlight: ticket.inFlight });
    if (raw.error?.code !== 'aborted') {
      completed.push({ record: built.record, sentAt: raw.sentAt, receivedAt: raw.receivedAt, scheduledAt: ticket.scheduledAt });
      out?.write(built.record);
      for (const warning of built.warnings) parserWarnings.add(warning);
    }
    progress.update();
    return {
      seq: ticket.seq,
      // The estimate times answers from when the request went out: a first request that waited for its
      // connection (TLS, a proxy) would otherwise look as if the server's reset instant moved.
      sentAt: wentOutAt.at ?? raw.sentAt,
      receivedAt: raw.receivedAt,
      status: raw.status,
      outcome: built.record.outcome,
      policies: built.rateLimit.policies,
      retryAfterSeconds: built.rateLimit.retryAfterSeconds,
      inFlight: ticket.inFlight,
    };
  };

  let outcome;
  try {
    outcome = await driveProbe({
      strategy,
      now: preciseNow,
      sleep: sleepUnlessAborted,
      sendOne,
      reportsWire: true,
      warmUp: (stop) => preconnect(ctx.http, target, io.redactor, stop),
      startLeadMs: START_LEAD_MS,
      signal,
      drainTimeoutMs: DRAIN_MS,
      onSend: () => progress.update(),
    });
  } finally {
    progress.stop();
    wire.close();
    signal.removeEventListener('abort', onAbort);
    clearTimeout(drainTimer);
    inflight.abort();
  }

  const result = strategy.result();
  completed.sort((a, b) => a.record.seq - b.record.seq);
  const records = completed.map((c) => c.record);
  const endMs = Math.max(strategy.startedAt, ...completed.map((c) => c.receivedAt));
  const summary = summarize(completed, strategy.sentCount, strategy.startedAt, endMs);
  const pacing = pacingOf(completed, strategy.intervalMs);
  const timeline = buildTimeline(completed.map((c) => ({ sentAt: c.sentAt, outcome: c.record.outcome })), strategy.startedAt, endMs);
  const exitCode = probeExitCode(records, outcome.interrupted);
  const lateness = latenessWarning(pacing);
  if (lateness) result.warnings.push(lateness);
  const warnings = [...result.warnings, ...(io.verbose ? [...parserWarnings] : [])];
  emitGithubReport(io, probeCiReport({ result, summary, records, warnings, exitCode, interrupted: outcome.interrupted }));

  if (io.json) {
    io.print(jsonDocument('probe', target, exitCode, {
      plan,
      summary,
      pacing,
      estimate: { rate: result.rate, concurrency: result.concurrency },
      timeline: timeline.buckets,
      responses: records,
      warnings: [...result.warnings, ...parserWarnings],
      stopReason: result.stopReason,
    }).trimEnd());
  } else {
    printHuman(io, { records, summary, pacing, timeline, result, warnings, exitCode, interrupted: outcome.interrupted, abandoned: outcome.abandoned });
  }
  return exitCode;
}

interface HumanReport {
  records: ResponseRecord[];
  summary: ProbeSummary;
  pacing: Pacing;
  timeline: Timeline;
  result: ProbeResult;
  warnings: string[];
  exitCode: number;
  interrupted: boolean;
  abandoned: number;
}

function printHuman(io: Io, report: HumanReport): void {
  const { records, result, exitCode } = report;
  if (exitCode === ExitCode.network) {
    // A dead server: one line, no tables of nothing.
    const first = records.find((r) => r.error) ?? null;
    io.printErr(`error: ${first?.error?.message ?? 'no response came back'}; nothing to estimate.\n`);
    return;
  }
  io.print('');
  io.print(renderSummary(report.summary, report.pacing, io));
  io.print('');
  io.print(io.color.bold('Timeline'));
  io.print(renderTimelineChart(report.timeline, io.color));
  io.print('');
  if (exitCode === ExitCode.auth) {
    const verdict = records[0]?.verdict;
    io.print(io.color.red(`Every response was an authentication error (${records[0]?.status ?? '401/403'}), so the estimate is meaningless.`));
    if (verdict) io.print(`${io.color.bold('Hint')} ${verdict.hint}`);
    io.printErr(`error: every response was an authentication error${verdict ? `: ${verdict.message}` : ''}\n`);
    return;
  }
  if (exitCode !== ExitCode.ok && !report.interrupted) {
    // Nothing but HTTP errors (or a spent quota): the estimate is empty; one line says why, as `headers` does.
    const verdict = records.at(-1)?.verdict;
    if (verdict) io.print(io.color.red(`${verdict.message}\n${io.color.bold('Hint')} ${verdict.hint}`));
    io.printErr(`error: no response was accepted or rate limited${verdict ? `: ${verdict.message}` : ''}\n`);
  }
  io.print(renderEstimate(result.rate, result.concurrency, io));
  for (const warning of report.warnings) io.print(io.color.yellow(`! ${warning}`));
  if (report.interrupted) {
    io.print(io.color.yellow(`Interrupted: partial result${report.abandoned > 0 ? `; ${report.abandoned} request(s) still in flight were abandoned` : ''}.`));
  }
}
