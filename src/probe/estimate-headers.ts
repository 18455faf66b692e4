// The estimate from headers alone: a stated window (exact), or a series of reset values read over time
// (a reset check, a reset that drifts like a token bucket's, or a pace the allowance always outran).
// Returns figures and a reason; the sentence is written by src/render/probe-explain.ts.
import type { EstimateSource, RateAlgorithmName, RateContext, RateFinding } from './estimate-types.js';
import { perMinuteOf, round, seconds } from './figures.js';
import type { HeaderMode } from './header-mode.js';
import {
  bucketFromHeaders,
  classifyHeaderSeries,
  headerPoints,
  pointsBeforeFirstLimit,
  resetClockOf,
  type HeaderPoint,
  type ResetClock,
} from './header-series.js';
import type { Observation } from './observation.js';
import type { RateReason } from './reasons.js';
import { findResetCheck, windowFromCheck } from './reset-check.js';

/** A limit known per window, the window itself not timed: no per-minute figure, and nothing exact about it. */
export function untimedWindow(limit: number, source: EstimateSource, reason: RateReason): RateFinding {
  return { limit, windowSeconds: null, perMinute: null, burst: limit, algorithm: 'unknown', bound: 'approx', source, confidence: 'medium', reason };
}

/** A policy with limit and window: the figures are the header's word; its series may show a token bucket. */
export function estimateFromExactHeaders(observations: readonly Observation[], mode: Extract<HeaderMode, { kind: 'exact' }>, ctx: RateContext): RateFinding {
  const windowMs = mode.windowSeconds * 1000;
  const points = headerPoints(observations, mode.policy);
  const kind = points.length >= 2 ? classifyHeaderSeries(points, mode.limit, resetClockOf(points), ctx.intervalMs) : 'undecided';
  const algorithm: RateAlgorithmName = kind === 'token-bucket' ? 'token-bucket' : 'unknown';
  // The policy states the refill (q per w), not the bucket's size: that shows only in the first
  // accepted answer's remaining (+1 for the request itself), and only if the bucket was full then.
  const first = points.find((p) => p.accepted);
  const burst = kind === 'token-bucket' && first ? first.remaining + 1 : null;
  return {
    limit: mode.limit,
    windowSeconds: mode.windowSeconds,
    perMinute: perMinuteOf(mode.limit, windowMs),
    burst,
    algorithm,
    bound: 'exact',
    source: 'headers',
    confidence: 'high',
    reason: {
      code: 'stated-window',
      header: mode.policy.sources[0] ?? 'rate-limit',
      limit: mode.limit,
      windowMs,
      seen: kind === 'token-bucket' || kind === 'window' ? kind : null,
      burst,
    },
  };
}

/** A policy with limit, remaining and reset but no window. Null when the series did not settle the question (then the cycles decide). */
export function estimateFromHeaderSeries(observations: readonly Observation[], mode: Extract<HeaderMode, { kind: 'series' }>, ctx: RateContext): RateFinding | null {
  const points = headerPoints(observations, mode.policy);
  const clock = resetClockOf(points);
  const limit = mode.limit;
  const header = mode.policy.sources[0] ?? 'rate-limit';
  const check = findResetCheck(points, clock, ctx.intervalMs);
  if (check) {
    const window = windowFromCheck(points, check, limit, clock);
    if (window.windowMs === null) return null;
    return {
      limit,
      windowSeconds: seconds(window.windowMs),
      perMinute: perMinuteOf(limit, window.windowMs),
      burst: limit,
      algorithm: window.algorithm,
      // The limit is stated, the window only measured (from reset values): not exact, not high.
      bound: 'approx',
      source: 'headers',
      confidence: 'medium',
      reason: { code: 'reset-check', header, limit, algorithm: window.algorithm, windowMs: window.windowMs },
    };
  }
  const before = pointsBeforeFirstLimit(points);
  const kind = classifyHeaderSeries(before, limit, clock, ctx.intervalMs);
  if (kind === 'outpaced') return estimateOutpaced(before, limit, header, clock, ctx);
  if (kind === 'token-bucket' && clock.quantumMs === 0) {
    const bucket = bucketFromHeaders(before, clock);
    if (bucket) {
      const windowMs = (limit / bucket.ratePerSecond) * 1000;
      return {
        limit,
        windowSeconds: seconds(windowMs),
        perMinute: round(bucket.ratePerSecond * 60, 1),
        burst: bucket.capacity,
        algorithm: 'token-bucket',
        bound: 'approx',
        source: 'headers',
        // The refill is timed from reset values, not stated.
        confidence: 'medium',
        reason: { code: 'reset-drift', header, limit, ratePerSecond: bucket.ratePerSecond, capacity: bucket.capacity },
      };
    }
  }
  if (kind === 'window' && !points.some((p) => !p.accepted)) {
    // Decided, but the check request after the reset never went out (budget or --max-duration).
    return untimedWindow(limit, 'headers', { code: 'window-untimed', header, limit, stop: ctx.stoppedBy ?? null });
  }
  return null;
}

/**
 * Every request found the allowance back in full. With millisecond resets that stay put, it is a token
 * bucket refilling one request per reset time (OpenAI's "time until full": one token was missing);
 * otherwise only a lower bound: this pace is below the limit.
 */
function estimateOutpaced(points: readonly HeaderPoint[], limit: number, header: string, clock: ResetClock, ctx: RateContext): RateFinding {
  const resets = points.map((p) => p.resetSeconds);
  const mean = resets.reduce((a, b) => a + b, 0) / resets.length;
  const steady = clock.quantumMs === 0 && mean > 0 && Math.max(...resets) - Math.min(...resets) <= Math.max(0.1 * mean, 0.01);
  const paceRpm = Math.round(60_000 / ctx.intervalMs);
  const higherRpm = Math.min(60_000, paceRpm * 4);
  if (steady) {
    const ratePerSecond = 1 / mean;
    return {
      limit,
      windowSeconds: seconds((limit / ratePerSecond) * 1000),
      perMinute: round(ratePerSecond * 60, 1),
      burst: limit,
      algorithm: 'token-bucket',
      bound: 'approx',
      source: 'headers',
      confidence: 'medium',
      reason: { code: 'outpaced-bucket', header, limit, fullAfterSeconds: mean, ratePerSecond, paceRpm, higherRpm },
    };
  }
  // Never limited: what was sent is a lower bound; the header's limit is its word, said apart.
  const several = points.length >= 2;
  const spanMs = several ? (points.at(-1) as HeaderPoint).sentAt - (points[0] as HeaderPoint).sentAt + ctx.intervalMs : ctx.intervalMs;
  const sustained = several ? round((points.length * 60_000) / spanMs, 1) : null;
  return {
    limit: points.length,
    windowSeconds: several ? seconds(spanMs) : null,
    perMinute: sustained,
    burst: null,
    algorithm: 'unknown',
    bound: 'at-least',
    source: 'both',
    confidence: 'medium',
    reason: { code: 'outpaced', header, limit, count: points.length, paceRpm, higherRpm },
  };
}
