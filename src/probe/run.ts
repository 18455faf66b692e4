// One real probe run, from the plan to the report: builds the strategy (strategy.ts decides every send),
// warms the connection up, drives it with the runner (runner.ts times the sends) on the precise clock and
// the real HTTP client, records every answer (and writes it to --out as it comes), drains on Ctrl-C, and
// assembles what the command renders. It never prints: progress goes through the `progress` hook.
import type { Redactor } from '../redact.js';
import { preciseNow, type HttpClient, type RawResponse } from '../http/client.js';
import { buildRecord } from '../record.js';
import { buildTimeline, type Timeline } from './timeline.js';
import type { JsonlWriter } from '../render/jsonl.js';
import type { ResponseRecord, Target } from '../types.js';
import { sleepUnlessAborted } from '../wait/wait-for-reset.js';
import type { Observation } from './estimate-rate.js';
import { latenessWarning, pacingOf, probeExitCode, summarize, type Completed, type Pacing, type ProbeSummary } from './run-summary.js';
import { driveProbe, type SendTicket } from './runner.js';
import { paceIntervalMs } from './schedule.js';
import { ProbeStrategy, type ConcurrencyMode, type ProbeResult } from './strategy.js';
import { trackWire } from './wire.js';
import { isChutesHost } from '../target.js';
import { contextFromRecords } from '../recommend/context.js';
import { recommend } from '../recommend/recommend.js';
import type { Recommendation } from '../recommend/types.js';

/** The probe's own options (cli-contract.md), as the command got them; unset ones take the defaults. */
export interface ProbeSettings {
  rpm?: number;
  maxRequests?: number;
  /** ms */
  maxDuration?: number;
  concurrency?: ConcurrencyMode;
  maxConcurrency?: number;
  /** --allow-refusals: how many refusals the probe may provoke (default 1 on Chutes, else no limit). */
  allowRefusals?: number;
  /** --max-quota-share, percent (Chutes mode). */
  maxQuotaShare?: number;
  /** --yes: confirmed, whatever share of today's quota the plan may spend. */
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

/** After Ctrl-C, how long requests in flight may take to come back. */
export const DRAIN_MS = 3000;
/** First slot this long after the warm-up, so the first send is timed like the others. */
const START_LEAD_MS = 20;

/** The plan from the options, defaults filled in. */
export function probePlan(opts: ProbeSettings): ProbePlan {
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

/** Refusals the probe may provoke, as the plan can tell before the first answer: --allow-refusals, 1 on a Chutes host, else null (no limit). */
export function plannedRefusals(opts: ProbeSettings, chutesHost: boolean): number | null {
  return opts.allowRefusals ?? (chutesHost ? 1 : null);
}

/** Where the run stands, for a live progress line. */
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

/** A live progress display: told when something changed, stopped at the end. */
export interface Progress {
  update(): void;
  stop(): void;
}

export interface ProbeRunInput {
  settings: ProbeSettings;
  plan: ProbePlan;
  target: Target;
  http: HttpClient;
  redactor: Redactor;
  /** Aborted on Ctrl-C: sending stops, answers in flight get DRAIN_MS. */
  signal: AbortSignal;
  /** --out: every record as it completes. */
  out: JsonlWriter | null;
  /** Starts the progress display, given how to read the run's state (nothing shown when absent). */
  progress?: (state: () => ProgressState) => Promise<Progress>;
  /** The probe's clock, epoch ms with sub-millisecond precision. */
  clock?: () => number;
  /** Told what the user must hear while the run goes on (Chutes mode found from headers, the quota share). */
  notice?: (text: string) => void;
}

/** What the run found, for the renderers and the JSON document. */
export interface ProbeReport {
  /** In seq order. */
  records: ResponseRecord[];
  summary: ProbeSummary;
  pacing: Pacing;
  timeline: Timeline;
  /** The estimate; its warnings include the lateness warning when there is one. */
  result: ProbeResult;
  /** The header parser's warnings (shown with --verbose, always in the JSON document). */
  parserWarnings: string[];
  exitCode: number;
  interrupted: boolean;
  /** Requests still in flight when the run returned (after Ctrl-C's drain). */
  abandoned: number;
  /** Client settings that hold the estimated limit (src/recommend/); numbers null when it is unknown. */
  recommendation: Recommendation;
}

/**
 * Opens the connection before the first send and runs the record path once, so the first probe request
 * is as punctual as the rest (cold code costs milliseconds). Nothing is sent: the socket (TCP, TLS) is
 * opened and the first request goes out on it. A warm-up request would have to wait for the origin's
 * answer (seconds from a slow origin). The runner bounds the wait (WARM_UP_MAX_MS, inside
 * --max-duration); a connection still opening then is taken over by the first send.
 */
async function preconnect(http: HttpClient, target: Target, redactor: Redactor): Promise<void> {
  const now = preciseNow();
  const warm: RawResponse = { status: 200, headers: { 'content-type': 'application/json' }, body: '{}', sentAt: now, receivedAt: now, latencyMs: 0, error: null };
  buildRecord(warm, { seq: 0, target, redactor, scheduledAt: null, inFlight: 1 });
  await http.preconnect?.(target.url);
}

/** Runs the probe to its end (or Ctrl-C's drain) and reports what it found. */
export async function runProbeSession(input: ProbeRunInput): Promise<ProbeReport> {
  const { plan, settings, target, http, redactor, signal, out } = input;
  const clock = input.clock ?? preciseNow;
  const strategy = new ProbeStrategy({
    start: clock(),
    rpm: plan.rpm,
    maxRequests: plan.maxRequests,
    maxDurationMs: settings.maxDuration ?? 300_000,
    concurrency: settings.concurrency ?? 'auto',
    maxConcurrency: settings.maxConcurrency ?? 8,
    ...(settings.allowRefusals !== undefined ? { allowRefusals: settings.allowRefusals } : {}),
    chutes: isChutesHost(target.url.hostname),
    ...(settings.maxQuotaShare !== undefined ? { maxQuotaShare: settings.maxQuotaShare } : {}),
    yes: Boolean(settings.yes),
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

  const noProgress: Progress = { update() {}, stop() {} };
  const progress = input.progress ? await input.progress(() => ({
    sent: strategy.sentCount,
    ok: completed.filter((c) => c.record.outcome === 'ok').length,
    limited: completed.filter((c) => c.record.outcome === 'rate_limited').length,
    inFlight: strategy.pendingCount,
    nowMs: clock(),
    deadline: strategy.deadline,
    maxRequests: plan.maxRequests,
    intervalMs: strategy.intervalMs,
  })) : noProgress;

  // Each send counts from when undici writes it to the socket (after any connection set-up), not from
  // when it is handed over: the rate cap and the spacing of sends hold for what reaches the server. The
  // runner hands each send over a little early and the tracker holds its write until the instant
  // (stagesSends), so what is left between the instant and the wire is the socket write itself.
  const wire = trackWire(clock);
  const sendOne = async (ticket: SendTicket, wentOut: (at?: number, newConnection?: boolean) => void): Promise<Observation> => {
    const wentOutAt: { at: number | null; newConnection: boolean } = { at: null, newConnection: false };
    // When a staged send was let go (before the tracker's own handler on the gate writes it).
    let releasedAt: number | null = null;
    ticket.gate?.onOpen(() => (releasedAt = clock()));
    const answer = await wire.track((at, newConnection) => {
      wentOutAt.at = at;
      wentOutAt.newConnection = newConnection;
      wentOut(at, newConnection);
    }, () => http.send(target, { signal: inflight.signal }), ticket.gate);
    // The record's sentAt is when the request went out, where it is known; its latency counts from then.
    const raw = wentOutAt.at === null ? answer : {
      ...answer,
      sentAt: wentOutAt.at,
      latencyMs: answer.latencyMs === null ? null : Math.max(0, answer.latencyMs - (wentOutAt.at - answer.sentAt)),
    };
    const built = buildRecord(raw, { seq: ticket.seq, target, redactor, scheduledAt: ticket.scheduledAt, inFlight: ticket.inFlight });
    if (raw.error?.code !== 'aborted') {
      const pacedAt = wentOutAt.newConnection ? releasedAt ?? answer.sentAt : raw.sentAt;
      completed.push({ record: built.record, sentAt: raw.sentAt, pacedAt, receivedAt: raw.receivedAt, scheduledAt: ticket.scheduledAt });
      out?.write(built.record);
      for (const warning of built.warnings) parserWarnings.add(warning);
    }
    progress.update();
    const observation: Observation = {
      seq: ticket.seq,
      // The estimate times answers from when the request went out: a first request that waited for its
      // connection (TLS, a proxy) would otherwise look as if the server's reset instant moved.
      sentAt: raw.sentAt,
      receivedAt: raw.receivedAt,
      status: raw.status,
      outcome: built.record.outcome,
      policies: built.rateLimit.policies,
      retryAfterSeconds: built.rateLimit.retryAfterSeconds,
      inFlight: ticket.inFlight,
    };
    return observation;
  };
  // Notices come from the strategy as it plans on the answers: passed on after each decision.
  const next = strategy.next.bind(strategy);
  strategy.next = (now: number) => {
    const action = next(now);
    for (const text of strategy.takeNotices()) input.notice?.(text);
    return action;
  };

  let outcome;
  try {
    outcome = await driveProbe({
      strategy,
      now: clock,
      sleep: sleepUnlessAborted,
      sendOne,
      reportsWire: true,
      stagesSends: true,
      warmUp: () => preconnect(http, target, redactor),
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
  const pacing = pacingOf(completed, strategy.intervalMs);
  const lateness = latenessWarning(pacing);
  if (lateness) result.warnings.push(lateness);
  return {
    records,
    summary: summarize(completed, strategy.sentCount, strategy.startedAt, endMs),
    pacing,
    timeline: buildTimeline(completed.map((c) => ({ sentAt: c.sentAt, outcome: c.record.outcome })), strategy.startedAt, endMs),
    result,
    parserWarnings: [...parserWarnings],
    exitCode: probeExitCode(records, outcome.interrupted),
    interrupted: outcome.interrupted,
    abandoned: outcome.abandoned,
    recommendation: recommend(result, contextFromRecords(records, { url: target.url.href, model: target.model?.id ?? null })),
  };
}
