// `wait-reset`'s domain call: the pure loop of wait-for-reset.ts driven by real requests, each
// recorded and classified (so the loop sees the verdict engine's outcome), and the exit code of
// the result.
import { ExitCode } from '../errors.js';
import type { HttpClient } from '../http/client.js';
import type { Redactor } from '../redact.js';
import { buildRecord } from '../record.js';
import type { ResponseRecord, Target } from '../types.js';
import { exitCodeForOutcome } from '../verdict/classify.js';
import { observeResponse, waitForReset, type WaitForResetOptions, type WaitForResetResult } from './wait-for-reset.js';

export type RetestResult = WaitForResetResult<ResponseRecord>;

export interface RetestSettings {
  intervalMs: number;
  maxIntervalMs: number;
  maxWaitMs: number;
  /** The first ban-safe wait's floor (--ban-window): the window Chutes' edge counts in. */
  banWindowMs: number;
}

export interface RetestInput extends RetestSettings, Pick<WaitForResetOptions<ResponseRecord>, 'onResponse' | 'onWait'> {
  target: Target;
  redactor: Redactor;
  signal: AbortSignal;
  http: HttpClient;
  now: () => number;
}

/** Retests `target` until the limit resets (or --max-wait, an error, an interrupt). */
export function retestUntilReset(input: RetestInput): Promise<RetestResult> {
  const { target, signal } = input;
  // A key in Authorization: an edge HTML 429 is then a ban that every refused retest lengthens.
  const authenticated = target.keyFingerprint !== null && (target.auth === 'bearer' || target.auth === 'raw');
  return waitForReset<ResponseRecord>({
    intervalMs: input.intervalMs,
    maxIntervalMs: input.maxIntervalMs,
    maxWaitMs: input.maxWaitMs,
    banWindowMs: input.banWindowMs,
    signal,
    now: input.now,
    sendOne: async (seq) => {
      const raw = await input.http.send(target, { signal });
      const built = buildRecord(raw, { seq, target, redactor: input.redactor });
      return observeResponse(raw, built.record, { rateLimit: built.rateLimit, outcome: built.record.outcome, authenticated });
    },
    onResponse: input.onResponse,
    onWait: input.onWait,
  });
}

/** Reset (or never limited) 0; still limited at --max-wait 3; interrupted 130; an error by its outcome (no response: 6). */
export function waitResetExitCode(result: RetestResult): number {
  switch (result.stop) {
    case 'reset':
    case 'not-limited':
      return ExitCode.ok;
    case 'max-wait':
    case 'reset-beyond-max-wait':
      return ExitCode.rateLimited;
    case 'aborted':
      return ExitCode.interrupted;
    case 'error':
      return result.final === null ? ExitCode.network : exitCodeForOutcome(result.final.data.outcome);
  }
}
