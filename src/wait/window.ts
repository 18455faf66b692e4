// How long the limit window took to reset, pure: bounded by the last limited and the first OK
// request, narrowed by the server's hint when the observations agree with it.
import { readResetHint, type ResetHint, type WaitObservation } from './hints.js';

export interface ResetWindow {
  /** Epoch ms of the first limited response. */
  firstLimitedAt: number;
  /** Best estimate of the reset: the middle of [earliestAt, latestAt]. */
  resetAt: number;
  /** It had not reset when the last limited request was sent (or, by the hint's precision, before this). */
  earliestAt: number;
  /** It had reset by then: the hinted time, or the send of the first OK request. */
  latestAt: number;
  /** resetAt − firstLimitedAt. */
  resetAfterMs: number;
  /** hint: bounded by what the server said; observed: only by when we tested (no hint, or the hints proved wrong). */
  basis: 'hint' | 'observed';
  source: ResetHint['source'] | null;
  origin: string | null;
  /** Tests sent at or after a hinted reset that were still limited: when > 0, no hint narrows the window. */
  missedHints: number;
}

/**
 * Limited tests sent at or after the time the previous response named: each one proves that the
 * server's hints (for this limit) are not to be trusted. Counted as the loop counts them.
 */
export function countMissedHints(observations: readonly WaitObservation[]): number {
  let missed = 0;
  let previous: ResetHint | null = null;
  for (const obs of observations) {
    if (obs.state !== 'limited') continue;
    if (previous !== null && obs.sentAt >= previous.atMs) missed += 1;
    previous = readResetHint(obs);
  }
  return missed;
}

/**
 * Bounds the reset between the last limited and the first OK request (send times: the limiter
 * decides on arrival, long before an inference body completes), narrowed by the last hint when
 * the observations agree with it and no earlier hint was missed: a server whose Retry-After already
 * proved wrong once (still limited when tested at the hinted time) is not believed the last time
 * either, so only the tests bound the reset.
 */
export function estimateResetWindow(observations: readonly WaitObservation[]): ResetWindow | null {
  const firstLimited = observations.find((o) => o.state === 'limited');
  const okIndex = observations.findIndex((o) => o.state === 'ok');
  const ok = observations[okIndex];
  const lastLimited = observations.slice(0, okIndex).reverse().find((o) => o.state === 'limited');
  if (firstLimited === undefined || ok === undefined || lastLimited === undefined) return null;
  let earliestAt = lastLimited.sentAt;
  let latestAt = ok.sentAt;
  let basis: ResetWindow['basis'] = 'observed';
  const missedHints = countMissedHints(observations.slice(observations.indexOf(firstLimited), okIndex));
  const hint = readResetHint(lastLimited);
  if (missedHints === 0 && hint !== null && hint.atMs >= earliestAt && hint.atMs <= latestAt) {
    earliestAt = Math.max(earliestAt, hint.atMs - hint.resolutionMs);
    latestAt = hint.atMs;
    basis = 'hint';
  }
  const resetAt = (earliestAt + latestAt) / 2;
  return {
    firstLimitedAt: firstLimited.receivedAt,
    resetAt,
    earliestAt,
    latestAt,
    resetAfterMs: Math.max(0, resetAt - firstLimited.receivedAt),
    basis,
    source: basis === 'hint' && hint !== null ? hint.source : null,
    origin: basis === 'hint' && hint !== null ? hint.origin : null,
    missedHints,
  };
}
