// The figures of a finished probe run, from its completed requests: counts and latency percentiles, how
// punctually the sends went out, a warning when this machine was too busy to keep the pace, and the exit
// code. Pure: every time is given in epoch ms.
import { ExitCode } from '../errors.js';
import type { Outcome, ResponseRecord } from '../types.js';
import { exitCodeForOutcome } from '../verdict/classify.js';

/** What one completed request contributes: the record, and its times in epoch ms. */
export interface Completed {
  record: ResponseRecord;
  sentAt: number;
  /** What pacing measures when it is not sentAt: a request that waited for a new connection counts from when it was ready to go (the set-up is the network's delay, not this machine's lateness). */
  pacedAt?: number;
  receivedAt: number;
  scheduledAt: number;
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

/** The nearest-rank percentile `p` of an ascending list; null when it is empty. */
export function percentile(sorted: readonly number[], p: number): number | null {
  if (sorted.length === 0) return null;
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1] as number;
}

function round1(n: number | null): number | null {
  return n === null ? null : Math.round(n * 10) / 10;
}

/** Counts by outcome, the run's length and the latency percentiles (the `summary` of the JSON document). */
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
  const errors = completed.map((c) => Math.abs((c.pacedAt ?? c.sentAt) - c.scheduledAt)).sort((a, b) => a - b);
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
