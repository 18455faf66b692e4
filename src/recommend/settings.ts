// The numbers of a recommendation, from the estimate's figures: a sustained pace a stated margin under the
// measured limit, a concurrency cap, and a retry policy matched to the window or refill (or none at all
// against a penalty box). Pure; the sentences are written by basis.ts, the code by snippets.ts.
import type { ConcurrencyInput, RateInput, RecommendContext } from './types.js';

/**
 * How far under the measured sustained rate the pace goes. Tighter when the figures are the server's own
 * word (exact, from headers); wider when they were timed or are only a lower bound. Every margin stays
 * under 20 %, so the pace keeps at least 80 % of the limit's throughput. An approximate rate is within
 * ±10 % of the truth (the probe's target, issue #15): a margin m keeps the pace under the limit when the
 * estimate is 10 % high only if m ≥ 1 − 1/1.1 (9.1 %), and at 80 % of it when 10 % low only if
 * m ≤ 1 − 0.8/0.9 (11.1 %): 11 %. (15 % gave 77.7 % against a window measured 9.4 % long, in the bench.)
 */
export const MARGINS = { exactHeaders: 0.1, exactObserved: 0.12, approx: 0.11, atLeast: 0.15 } as const;

export function marginOf(rate: Pick<RateInput, 'bound' | 'source'>): number {
  if (rate.bound === 'exact') return rate.source === 'observed' ? MARGINS.exactObserved : MARGINS.exactHeaders;
  return rate.bound === 'at-least' ? MARGINS.atLeast : MARGINS.approx;
}

export interface Pace {
  /** The measured sustained rate the pace is derived from, requests per minute. */
  measuredPerMinute: number;
  margin: number;
  /** One start at most every this many ms (integer, rounded up). */
  minIntervalMs: number;
  /** 60 000 / minIntervalMs, rounded down to 0.1. */
  requestsPerMinute: number;
  /** The limit's window in ms when it is known (a token bucket's: limit / refill), else null. */
  windowMs: number | null;
}

/** The measured sustained rate per minute: limit per window when both are known (unrounded), else perMinute. */
function measuredPerMinute(rate: RateInput): number | null {
  if (rate.limit !== null && rate.windowSeconds !== null && rate.limit > 0 && rate.windowSeconds > 0) return (rate.limit * 60) / rate.windowSeconds;
  return rate.perMinute !== null && rate.perMinute > 0 ? rate.perMinute : null;
}

/**
 * The pace, or null when the limit is unknown (no sustained rate was measured). Starts spaced by
 * minIntervalMs put at most floor(W / interval) + 1 requests in any span of W, so for a window of L
 * per W the interval also satisfies floor(W / interval) + 1 ≤ L (rounding never breaks it for small L).
 */
export function paceOf(rate: RateInput): Pace | null {
  if (rate.bound === 'unknown') return null;
  const measured = measuredPerMinute(rate);
  if (measured === null) return null;
  const margin = marginOf(rate);
  let minIntervalMs = Math.ceil(60_000 / (measured * (1 - margin)));
  const windowMs = rate.windowSeconds !== null && rate.windowSeconds > 0 ? Math.round(rate.windowSeconds * 1000) : null;
  if (windowMs !== null && rate.limit !== null && rate.algorithm !== 'token-bucket') {
    const limit = Math.floor(rate.limit);
    const fits = (interval: number) => Math.floor(windowMs / interval) + 1 <= limit;
    if (!fits(minIntervalMs)) minIntervalMs = limit <= 1 ? windowMs + 1 : Math.floor(windowMs / (limit - 1)) + 1;
  }
  return {
    measuredPerMinute: measured,
    margin,
    minIntervalMs,
    requestsPerMinute: Math.floor((60_000 / minIntervalMs) * 10) / 10,
    windowMs,
  };
}

export interface ConcurrencyCap {
  value: number | null;
  kind: 'measured' | 'lower-bound' | 'approx' | 'not-measured';
}

/** The measured limit (exact), the most that was tested and accepted (at-least), one under an approximate one; null when not measured. */
export function concurrencyCapOf(concurrency: ConcurrencyInput): ConcurrencyCap {
  const { limit, bound } = concurrency;
  if (limit === null || limit < 1 || bound === 'unknown') return { value: null, kind: 'not-measured' };
  if (bound === 'exact') return { value: Math.floor(limit), kind: 'measured' };
  if (bound === 'at-least') return { value: Math.floor(limit), kind: 'lower-bound' };
  return { value: Math.max(1, Math.floor(limit) - 1), kind: 'approx' };
}

export interface Backoff {
  baseDelayMs: number;
  maxDelayMs: number;
  maxRetries: number;
  /** What the cap is matched to. */
  matchedTo: 'window' | 'refill';
}

/** Retries at most this many times, however short the base delay. */
const MAX_RETRIES_CAP = 10;

/** Doubling from base, capped at cap: the fewest retries whose waits add up to at least `cover` ms. */
export function retriesToCover(baseMs: number, capMs: number, coverMs: number): number {
  let total = 0;
  for (let n = 1; n <= MAX_RETRIES_CAP; n++) {
    total += Math.min(baseMs * 2 ** (n - 1), capMs);
    if (total >= coverMs) return n;
  }
  return MAX_RETRIES_CAP;
}

/**
 * Backoff matched to how the allowance comes back. A window gives it back within one window: the waits
 * start at an eighth of it (never under the pace) and double up to the whole window, enough of them to
 * span one window. A token bucket gives one request back per refill interval: the waits start there and
 * double up to the time to refill the bucket.
 */
export function backoffOf(rate: RateInput, pace: Pace): Backoff {
  if (rate.algorithm === 'token-bucket') {
    const tokenMs = 60_000 / pace.measuredPerMinute;
    const base = Math.max(pace.minIntervalMs, Math.ceil(tokenMs));
    const capacity = rate.burst ?? rate.limit ?? 1;
    const cap = Math.max(2 * base, Math.ceil(capacity * tokenMs));
    return { baseDelayMs: base, maxDelayMs: cap, maxRetries: retriesToCover(base, cap, cap), matchedTo: 'refill' };
  }
  // An unknown window length: perMinute is the allowance normalised to a minute, so a minute covers it.
  const windowMs = pace.windowMs ?? 60_000;
  const base = Math.max(pace.minIntervalMs, Math.ceil(windowMs / 8));
  const cap = Math.max(base, windowMs);
  return { baseDelayMs: base, maxDelayMs: cap, maxRetries: retriesToCover(base, cap, cap), matchedTo: 'window' };
}

/** A penalty box or the edge's ban page was seen: refusals lengthen the block, so nothing may retry on its own. */
export function banSeen(rate: RateInput, context: Pick<RecommendContext, 'edgeBanSeen'>): boolean {
  return rate.penalty !== null || context.edgeBanSeen;
}

/** The longest ban seen, in seconds; null when none was timed. */
export function longestBanSeconds(rate: RateInput): number | null {
  const bans = rate.penalty?.observedBanSeconds ?? [];
  return bans.length === 0 ? null : Math.max(...bans);
}
