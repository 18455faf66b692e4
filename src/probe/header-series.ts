// Header series: the chosen policy's limit, remaining and reset, response by response, and what they
// say over time: how reset values are written (which decides how their instants compare), window or
// token bucket, and a token bucket's refill and size from "time until full" resets.
import type { RateLimitPolicy } from '../types.js';
import { headerModeOf } from './header-mode.js';
import { bySendTime, isAccepted, isRateLimited, policyKey, samePolicy, type Observation } from './observation.js';

export interface HeaderPoint {
  seq: number;
  sentAt: number;
  receivedAt: number;
  accepted: boolean;
  limit: number;
  remaining: number;
  resetSeconds: number;
  dialect: RateLimitPolicy['dialect'];
}

/** Points of the chosen policy with limit, remaining and reset, in send order. */
export function headerPoints(observations: readonly Observation[], policy: RateLimitPolicy): HeaderPoint[] {
  const key = policyKey(policy);
  const points: HeaderPoint[] = [];
  for (const o of [...observations].sort(bySendTime)) {
    const p = samePolicy(o, key);
    if (!p || p.limit === null || p.remaining === null || p.resetSeconds === null) continue;
    if (!isAccepted(o) && !isRateLimited(o)) continue;
    points.push({ seq: o.seq, sentAt: o.sentAt, receivedAt: o.receivedAt, accepted: isAccepted(o), limit: p.limit, remaining: p.remaining, resetSeconds: p.resetSeconds, dialect: p.dialect });
  }
  return points;
}

/**
 * How reset values are written, which decides how their instants are compared.
 * - `absolute-seconds`: an instant rounded to the second (RFC 3339, epoch seconds): instant = arrival + reset.
 * - `delta-seconds`: whole seconds counted from the server's decision (rounded up): instant = send + reset.
 * - `fine`: milliseconds (Go durations, epoch ms): instant = send + reset, quantum 0.
 */
export interface ResetClock {
  format: 'absolute-seconds' | 'delta-seconds' | 'fine';
  quantumMs: number;
}

export function resetClockOf(points: readonly HeaderPoint[]): ResetClock {
  if (points.length === 0) return { format: 'fine', quantumMs: 0 };
  if (points.every((p) => Number.isInteger(p.resetSeconds))) return { format: 'delta-seconds', quantumMs: 1000 };
  // Anthropic sends RFC 3339 at whole seconds; OpenAI sends Go durations (ms). Others: look at the values
  // (an instant that always falls on a whole second is a rounded timestamp).
  const dialect = points[0]?.dialect;
  if (dialect === 'anthropic') return { format: 'absolute-seconds', quantumMs: 1000 };
  if (dialect === 'openai') return { format: 'fine', quantumMs: 0 };
  const nearWhole = (ms: number) => Math.abs(ms - Math.round(ms / 1000) * 1000) <= 2;
  if (points.length >= 2 && points.every((p) => nearWhole(p.receivedAt + p.resetSeconds * 1000))) return { format: 'absolute-seconds', quantumMs: 1000 };
  return { format: 'fine', quantumMs: 0 };
}

/** When the policy resets, on our clock. Delta values count from the server's decision, which is close to the send. */
export function resetInstant(p: HeaderPoint, clock: ResetClock): number {
  const base = clock.format === 'absolute-seconds' ? p.receivedAt : p.sentAt;
  return base + p.resetSeconds * 1000;
}

/** Allowance for clock jitter between our send time and the server's decision. */
export function jitterToleranceMs(intervalMs: number): number {
  return Math.min(100, Math.max(10, intervalMs * 0.1));
}

/** `outpaced`: the allowance is back in full before each of our sends, so this pace cannot reach the limit. */
export type SeriesKind = 'window' | 'token-bucket' | 'outpaced' | 'undecided';

const OUTPACED_POINTS = 5;

/**
 * Window or token bucket, from accepted points before any reset check. A window gives allowance back
 * only all at once (fixed) or when an old request leaves (sliding), and keeps its reset instant; a token
 * bucket refills continuously, so `remaining` sometimes fails to fall and the instant moves later by 1/ρ.
 */
export function classifyHeaderSeries(points: readonly HeaderPoint[], limit: number, clock: ResetClock, intervalMs: number): SeriesKind {
  const accepted = points.filter((p) => p.accepted);
  if (accepted.length < 2) return 'undecided';
  if (accepted.length >= OUTPACED_POINTS && accepted.every((p) => p.remaining >= limit - 1)) return 'outpaced';
  const tol = jitterToleranceMs(intervalMs);
  let refill = false;
  let reset = false;
  const shifts: number[] = [];
  for (let i = 1; i < accepted.length; i++) {
    const p = accepted[i - 1] as HeaderPoint;
    const c = accepted[i] as HeaderPoint;
    if (c.remaining > p.remaining) reset = true;
    else if (c.remaining === p.remaining) {
      // Just after the first request a fresh window and a refilled bucket look alike.
      if (p.remaining < limit - 1) refill = true;
    } else shifts.push(resetInstant(c, clock) - resetInstant(p, clock));
  }
  if (refill && !reset) return 'token-bucket';
  if (reset && !refill) return 'window';
  if (refill && reset) return 'undecided';
  const first = accepted[0] as HeaderPoint;
  const last = accepted.at(-1) as HeaderPoint;
  const span = last.sentAt - first.sentAt;
  // A bucket holds at least max(remaining) + 1 tokens, so it misses more than max(R) − R_last at the last
  // point and refills ρ ≥ that / T per second: it would have given a token back within this span (once
  // ρ·span ≥ 1 some `remaining` must fail to fall; 1.2 leaves room for jitter).
  const maxRemaining = Math.max(...accepted.map((p) => p.remaining));
  const minRate = Math.max(0, maxRemaining - last.remaining) / Math.max(last.resetSeconds, 1e-3);
  if (minRate * (span / 1000) >= 1.2) return 'window';
  if (clock.quantumMs === 0) {
    if (shifts.length > 0 && shifts.every((s) => s > tol)) return 'token-bucket';
    const minBucketShift = (last.resetSeconds * 1000) / Math.max(1, limit - last.remaining);
    if (shifts.length > 0 && shifts.every((s) => Math.abs(s) <= tol) && minBucketShift > 3 * tol) return 'window';
    return 'undecided';
  }
  // Whole-second resets: a window's instants stay within one quantum; a bucket's drift beyond it.
  const drift = resetInstant(last, clock) - resetInstant(first, clock);
  if (drift > clock.quantumMs + tol) return 'token-bucket';
  // A bucket whose `remaining` fell by exactly one at every request refilled less than one token over the
  // span (ρ·span < 1), so its full instant moved more than (n − 1)·span later, and the rounded instants
  // more than that less a quantum. A window's instants move at most `span` (the reset value never grows).
  const oneByOne = accepted.every((p, i) => i === 0 || (accepted[i - 1] as HeaderPoint).remaining - p.remaining === 1);
  const bucketDriftFloor = (accepted.length - 1) * Math.max(0, span - tol) - clock.quantumMs - tol;
  if (oneByOne && drift <= bucketDriftFloor) return 'window';
  return 'undecided';
}

/** The points before the first 429 (all of them without one). */
export function pointsBeforeFirstLimit(points: readonly HeaderPoint[]): HeaderPoint[] {
  const index = points.findIndex((p) => !p.accepted);
  return index === -1 ? [...points] : points.slice(0, index);
}

/** What the header series said before the first 429 (null without a series). */
export function seriesKindBeforeLimit(observations: readonly Observation[], intervalMs: number): SeriesKind | null {
  const mode = headerModeOf(observations);
  if (mode.kind !== 'series') return null;
  const points = pointsBeforeFirstLimit(headerPoints(observations, mode.policy));
  return classifyHeaderSeries(points, mode.limit, resetClockOf(points), intervalMs);
}

export interface BucketFromHeaders {
  ratePerSecond: number;
  capacity: number | null;
}

/**
 * A token bucket's refill rate and capacity from reset values read as "time until full" (OpenAI's
 * semantics): each request moves the full instant 1/ρ later, and capacity = tokens + ρ·(time to full).
 */
export function bucketFromHeaders(points: readonly HeaderPoint[], clock: ResetClock): BucketFromHeaders | null {
  const accepted = points.filter((p) => p.accepted);
  if (accepted.length < 2) return null;
  const first = accepted[0] as HeaderPoint;
  const last = accepted.at(-1) as HeaderPoint;
  const drift = (resetInstant(last, clock) - resetInstant(first, clock)) / 1000;
  if (!(drift > 0)) return null;
  const ratePerSecond = (accepted.length - 1) / drift;
  // tokens ∈ [remaining, remaining + 1): each point bounds the capacity to an interval of width 1.
  let lo = -Infinity;
  let hi = Infinity;
  for (const p of accepted) {
    const base = p.remaining + ratePerSecond * p.resetSeconds;
    lo = Math.max(lo, base);
    hi = Math.min(hi, base + 1);
  }
  const capacity = hi > lo ? Math.ceil(lo - 0.05) : Math.round(lo);
  return { ratePerSecond, capacity: capacity > 0 ? capacity : null };
}
