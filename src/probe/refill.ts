// A token bucket's refill rate and size from behaviour and from reset values: bounds on the rate from
// the 429s and successes after the first 429, bounds from "time until full" resets, the two narrowed
// together, the rate itself, and the capacity burst 1 showed.
import { headerModeOf } from './header-mode.js';
import { classifyHeaderSeries, headerPoints, jitterToleranceMs, pointsBeforeFirstLimit, resetClockOf, resetInstant } from './header-series.js';
import { bySendTime, isAccepted, isRateLimited, type Observation } from './observation.js';

export interface RateInterval {
  lo: number;
  hi: number;
}

/** What is known of the bucket besides the pairs: used to tell which pairs may have seen it full. */
export interface BucketBounds {
  capacityAtLeast: number;
  /** The refill rate the fill is reckoned with (tokens per second). */
  rateAtMost: number;
}

/** A 429 that attributeRefusals gave to a concurrency gate (relabelled `capacity`). */
function isGateRefusal(o: Observation): boolean {
  return o.outcome === 'capacity' && o.status === 429;
}

/**
 * Bounds on a token bucket's refill rate (tokens per second) from everything after the first 429.
 * A 429 at a means < 1 token then; a success at s means ≥ 1 token; between them K successes were spent.
 * So for two 429s a, c: ρ·(c − a) ∈ (K − 1, K + 1); for a 429 a then a success s: ρ·(s − a) > K.
 * The upper bound holds only if the bucket was never full between a and c: a full bucket drops what it
 * refills, so the count is censored (issue #15). Before the j-th success after a the bucket held less
 * than 1 + ρ·(s_j − a) − (j − 1) tokens; while that stays under the capacity it cannot have been full.
 * Without `bucket` every pair counts (the capacity is taken as unbounded).
 */
export function tokenRateInterval(observations: readonly Observation[], bucket: BucketBounds | null = null): RateInterval | null {
  const seq = [...observations].sort(bySendTime).filter((o) => isAccepted(o) || isRateLimited(o) || isGateRefusal(o));
  let lo = 0;
  let hi = Infinity;
  let pairs = 0;
  for (let i = 0; i < seq.length; i++) {
    const a = seq[i] as Observation;
    if (!isRateLimited(a)) continue;
    let spent = 0;
    // Requests a concurrency gate refused in between may have spent a token too (nginx runs limit_req
    // before limit_conn, issue #15): they widen the upper bound only.
    let gated = 0;
    let fill = 1;
    for (let j = i + 1; j < seq.length; j++) {
      const o = seq[j] as Observation;
      if (isGateRefusal(o)) {
        gated++;
        continue;
      }
      const dt = (o.sentAt - a.sentAt) / 1000;
      if (dt <= 0) {
        if (isAccepted(o)) spent++;
        continue;
      }
      if (isAccepted(o)) {
        lo = Math.max(lo, spent / dt);
        if (bucket) fill = Math.max(fill, 1 + bucket.rateAtMost * dt - spent);
        spent++;
      } else {
        lo = Math.max(lo, (spent - 1) / dt);
        if (bucket === null || fill < bucket.capacityAtLeast) {
          hi = Math.min(hi, (spent + gated + 1) / dt);
          pairs++;
        }
      }
    }
  }
  if (pairs === 0 || !Number.isFinite(hi)) return null;
  return { lo, hi };
}

/**
 * Bounds on a token bucket's refill rate from reset values read as "time until full", whole seconds
 * included. The instant F at which the bucket is full stays put while nothing is spent (429s too) and
 * moves 1/ρ later per accepted request, so with k accepted so far F = F₁ + (k − 1)/ρ, and each answer
 * puts F in (instant − quantum, instant + tol]. Eliminating F₁ pair by pair gives the exact feasible 1/ρ.
 * A bucket that may have filled up restarts F, so pairs are taken only within a stretch where it cannot
 * have. Null unless the header series before the first 429 read as a bucket (its reset then is "until full").
 */
export function resetRateInterval(observations: readonly Observation[], intervalMs: number): RateInterval | null {
  const mode = headerModeOf(observations);
  if (mode.kind !== 'series') return null;
  const points = headerPoints(observations, mode.policy);
  const clock = resetClockOf(points);
  if (classifyHeaderSeries(pointsBeforeFirstLimit(points), mode.limit, clock, intervalMs) !== 'token-bucket') return null;
  const tol = jitterToleranceMs(intervalMs);
  const marks: Array<{ k: number; stretch: number; lo: number; hi: number }> = [];
  let k = 0;
  let stretch = 0;
  let fullNotBefore = -Infinity;
  for (const p of points) {
    const instant = resetInstant(p, clock);
    if (p.accepted) {
      // Not full before this request only if the previous answer's full instant was surely later.
      if (!(fullNotBefore > p.sentAt)) stretch++;
      k++;
    }
    if (p.resetSeconds <= 0) {
      fullNotBefore = -Infinity;
      continue;
    }
    marks.push({ k, stretch, lo: instant - clock.quantumMs, hi: instant + tol });
    fullNotBefore = instant - clock.quantumMs;
  }
  let lo = 0;
  let hi = Infinity;
  for (const a of marks) {
    for (const b of marks) {
      const dk = b.k - a.k;
      if (dk <= 0 || a.stretch !== b.stretch) continue;
      lo = Math.max(lo, (b.lo - a.hi) / dk);
      hi = Math.min(hi, (b.hi - a.lo) / dk);
    }
  }
  // lo, hi bound the ms per token; as a rate, tokens per second.
  if (!(lo > 0) || !Number.isFinite(hi) || hi < lo) return null;
  return { lo: 1000 / hi, hi: 1000 / lo };
}

/**
 * tokenRateInterval from the first 429 on, with the capacity bounded below by burst 1: its n1 successes
 * over a span S took at most C + ρ·S tokens, so C ≥ n1 − ρ·S. ρ is taken at the middle of the current
 * interval (its upper end would make every pair of a small bucket look as if it might have filled, and
 * leave nothing to time it with); pairs that may have seen the bucket full are dropped and the interval
 * recomputed, a few rounds until it settles. Null when no pair bounds the rate from above.
 */
export function behaviourRateInterval(observations: readonly Observation[]): RateInterval | null {
  const sorted = [...observations].sort(bySendTime).filter((o) => isAccepted(o) || isRateLimited(o));
  const first = sorted.findIndex(isRateLimited);
  if (first < 0) return null;
  // From the first 429 on, the gate's refusals too (tokenRateInterval counts them as maybe spent).
  const firstAt = (sorted[first] as Observation).sentAt;
  const after = [...observations].sort(bySendTime).filter((o) => (isAccepted(o) || isRateLimited(o) || isGateRefusal(o)) && o.sentAt >= firstAt);
  const s0 = sorted[0] as Observation;
  const sLast = sorted[first - 1];
  let interval = tokenRateInterval(after);
  if (!sLast) return interval;
  for (let i = 0; i < 4 && interval !== null && interval.hi >= interval.lo; i++) {
    const rate = (interval.lo + interval.hi) / 2;
    const bucket = { capacityAtLeast: Math.max(1, first - (rate * (sLast.sentAt - s0.sentAt)) / 1000), rateAtMost: rate };
    const next = tokenRateInterval(after, bucket);
    if (next !== null && next.hi === interval.hi && next.lo === interval.lo) break;
    interval = next;
  }
  return interval;
}

/** The refill-rate bounds of behaviourRateInterval, narrowed by resetRateInterval when they agree. */
export function refillRateInterval(observations: readonly Observation[], intervalMs: number): RateInterval | null {
  const behaviour = behaviourRateInterval(observations);
  const headers = resetRateInterval(observations, intervalMs);
  if (!headers) return behaviour;
  if (!behaviour || !(behaviour.hi >= behaviour.lo)) return headers;
  const both = { lo: Math.max(behaviour.lo, headers.lo), hi: Math.min(behaviour.hi, headers.hi) };
  return both.hi >= both.lo ? both : behaviour;
}

/** The refill rate: the middle of the feasible interval, or the long-span average when noise makes it empty. */
export function tokenRate(observations: readonly Observation[], narrowed: RateInterval | null = null): { ratePerSecond: number; interval: RateInterval; consistent: boolean } | null {
  const interval = narrowed ?? tokenRateInterval(observations);
  if (!interval) return null;
  if (interval.hi >= interval.lo) return { ratePerSecond: (interval.lo + interval.hi) / 2, interval, consistent: true };
  // Inconsistent bounds (jitter, or the bucket filled up during a gap): use first-to-last 429.
  const seq = [...observations].sort(bySendTime);
  const limited = seq.filter(isRateLimited);
  const a = limited[0] as Observation;
  const c = limited.at(-1) as Observation;
  const spent = seq.filter((o) => isAccepted(o) && o.sentAt > a.sentAt && o.sentAt < c.sentAt).length;
  return { ratePerSecond: spent / ((c.sentAt - a.sentAt) / 1000), interval, consistent: false };
}

/**
 * The bucket's capacity from burst 1 (which began with a full bucket): n1 successes, the last at s_last,
 * the first 429 at f1, so capacity ∈ [n1 − ρ·(s_last − s0), n1 + 1 − ρ·(f1 − s0)).
 */
export function bucketCapacity(burst1: readonly Observation[], firstLimited: Observation, ratePerSecond: number): number {
  const s0 = (burst1[0] as Observation).sentAt;
  const sLast = (burst1.at(-1) as Observation).sentAt;
  const lo = burst1.length - (ratePerSecond * (sLast - s0)) / 1000;
  const hi = burst1.length + 1 - (ratePerSecond * (firstLimited.sentAt - s0)) / 1000;
  return Math.max(1, Math.round((lo + hi) / 2));
}
