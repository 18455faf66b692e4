// When a concurrency batch fits the rate limit: a cautious model of the rate allowance from the rate
// estimate (a window read as a sliding log, a token bucket refilling at 90 % of its rate), and the
// headers' own count when they have one. The concurrency phase (concurrency-phase.ts) sends a batch only
// once it is clear of the rate limit, so its 429s speak of the concurrency gate. Pure.
import { isAccepted, isRateLimited, selectRatePolicy, type Observation, type RateEstimate } from './estimate-rate.js';

export type AllowanceModel =
  | { kind: 'unlimited' }
  | { kind: 'window'; limit: number; windowMs: number }
  | { kind: 'bucket'; capacity: number; ratePerSecond: number; emptyAt: number; holds: number }
  | { kind: 'unknown' };

/** How much the rate limiter will accept, from the rate estimate. Deliberately cautious (window × 1.1). */
export function allowanceModel(rate: RateEstimate, rateObs: readonly Observation[]): AllowanceModel {
  if (rate.bound === 'at-least' && rate.algorithm === 'unknown' && !rateObs.some(isRateLimited)) return { kind: 'unlimited' };
  if (rate.algorithm === 'token-bucket' && rate.perMinute !== null && rate.burst !== null) {
    const lastLimited = [...rateObs].filter(isRateLimited).at(-1);
    const ratePerSecond = rate.perMinute / 60;
    return { kind: 'bucket', capacity: rate.burst, ratePerSecond, emptyAt: lastLimited?.sentAt ?? 0, holds: firstBurstHeld(rateObs, ratePerSecond) };
  }
  if (rate.limit !== null && rate.windowSeconds !== null) return { kind: 'window', limit: rate.limit, windowMs: rate.windowSeconds * 1000 * 1.1 };
  return { kind: 'unknown' };
}

/**
 * What a full bucket surely held: the requests the first burst had accepted before the first 429, less
 * what refilled while it ran (0 without a 429). The capacity estimate is the middle of a range rounded to
 * a whole request; this is the range's low end (issue #15: nginx 30 r/m burst 5, the range 4.13-4.87 came
 * out "room for 4", and a batch of 4 was "larger than the rate limit allows at once").
 */
function firstBurstHeld(rateObs: readonly Observation[], ratePerSecond: number): number {
  const sorted = [...rateObs].sort((a, b) => a.sentAt - b.sentAt || a.seq - b.seq);
  const firstLimited = sorted.findIndex(isRateLimited);
  if (firstLimited < 0) return 0;
  const accepted = sorted.slice(0, firstLimited).filter(isAccepted);
  if (accepted.length === 0) return 0;
  const spanMs = (accepted.at(-1) as Observation).sentAt - (accepted[0] as Observation).sentAt;
  return accepted.length - (ratePerSecond * spanMs) / 1000;
}

/**
 * When the latest answer's rate policy says fewer than `size` requests are left: the instant of its reset
 * (a window's or a bucket's "until full"), when the allowance is back. Null without such a count.
 */
export function headerAllowanceTime(observations: readonly Observation[], size: number): number | null {
  let latest: Observation | null = null;
  for (const o of observations) {
    if ((isAccepted(o) || isRateLimited(o)) && (latest === null || o.receivedAt > latest.receivedAt)) latest = o;
  }
  const policy = latest ? selectRatePolicy(latest.policies) : null;
  if (!latest || !policy || policy.remaining === null || policy.resetSeconds === null || policy.remaining >= size) return null;
  return latest.receivedAt + policy.resetSeconds * 1000;
}

/** The earliest time ≥ now at which `size` requests at once fit the allowance; null if they never can. */
export function allowanceTime(model: AllowanceModel, ownAccepted: readonly number[], now: number, size: number): number | null {
  switch (model.kind) {
    case 'unlimited':
      return now;
    case 'unknown':
      return null;
    case 'window': {
      // Treated as a sliding log (the cautious reading of any window): our requests of the last window count.
      if (size > model.limit) return null;
      const recent = ownAccepted.filter((t) => t > now - model.windowMs).sort((a, b) => a - b);
      const excess = recent.length + size - model.limit;
      if (excess <= 0) return now;
      return (recent[excess - 1] as number) + model.windowMs + 1;
    }
    case 'bucket': {
      // Half a request to spare under the estimated capacity; or, for a batch no larger than a full
      // bucket surely held, the modelled bucket full.
      const want = size + 0.5 <= model.capacity ? size + 0.5 : size <= model.holds && size <= model.capacity ? model.capacity : null;
      if (want === null) return null;
      // Replay our accepted requests since the bucket was last seen empty, refilling at 90 % of the rate.
      const rate = model.ratePerSecond * 0.9;
      let tokens = 0;
      let at = model.emptyAt;
      for (const t of [...ownAccepted].filter((x) => x > model.emptyAt).sort((a, b) => a - b)) {
        tokens = Math.min(model.capacity, tokens + (rate * (t - at)) / 1000) - 1;
        at = t;
      }
      const need = want - Math.min(model.capacity, tokens + (rate * (now - at)) / 1000);
      return need <= 0 ? now : now + (need / rate) * 1000;
    }
  }
}
