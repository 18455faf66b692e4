// Small facts about one observation, the unit every estimator reads: accepted or rate limited, send
// order, which of its policies is the request-rate one, and which 429s were not the rate limiter's.
import type { Outcome, RateLimitPolicy } from '../types.js';

/** One response, as the estimators see it. Times are epoch ms. */
export interface Observation {
  seq: number;
  sentAt: number;
  receivedAt: number;
  status: number | null;
  outcome: Outcome;
  policies: RateLimitPolicy[];
  retryAfterSeconds: number | null;
  inFlight: number;
}

/** A success: the only answer that spent allowance for sure. */
export function isAccepted(o: Observation): boolean {
  return o.outcome === 'ok';
}

/** A 429 from the rate limiter (not capacity, not quota): the only rejection the estimators count. */
export function isRateLimited(o: Observation): boolean {
  return o.outcome === 'rate_limited';
}

/** Sort order: by send time, then by sequence number. */
export function bySendTime(a: Observation, b: Observation): number {
  return a.sentAt - b.sentAt || a.seq - b.seq;
}

/**
 * 429s that the rate limiter did not send, relabelled `capacity` so the rate estimate ignores them. A
 * concurrency gate answers 429 too (Chutes and the emulator with the same body), and an open-loop burst
 * with slow answers has several requests in flight. Not a rate refusal: a 429 whose rate policy still
 * shows allowance; or, without a policy at remaining 0, one sent with more requests in flight than any
 * accepted request had, when the very next request was accepted (a gate frees up at once, an exhausted
 * window does not).
 * Dropping a real refusal only loses information; counting a gate's refusal would mislead.
 */
export function attributeRefusals(observations: readonly Observation[]): Observation[] {
  const sorted = [...observations].sort(bySendTime);
  const maxAcceptedInFlight = maxSurelyAcceptedInFlight(sorted);
  const relabel = new Set<number>();
  sorted.forEach((o, i) => {
    if (!isRateLimited(o)) return;
    const policy = selectRatePolicy(o.policies);
    const roomLeft = policy !== null && policy.remaining !== null && policy.remaining > 0;
    const next = sorted[i + 1];
    // A policy at remaining 0 says the rate limit refused it, however crowded the line was.
    const exhausted = policy !== null && policy.remaining === 0;
    // The last answer has no next to tell: a crowded refusal there is set aside too, as a count cut by a
    // concurrency refusal is only a lower bound on the allowance (issue #15: nginx limit_conn cutting
    // limit_req's refill bursts was read as the whole refill).
    const crowded = !exhausted && isCrowded(o, maxAcceptedInFlight) && (next === undefined || isAccepted(next));
    if (roomLeft || crowded) relabel.add(o.seq);
  });
  return observations.map((o) => (relabel.has(o.seq) ? { ...o, outcome: 'capacity' as const } : o));
}

/**
 * An answer that reaches us this soon after one of our sends may have left the server before that send
 * arrived (nginx freed the connection, the answer was still on its way): the send then counted it in
 * flight, the server did not. Issue #15: a request nginx accepted with 3 in flight was counted as 4, so
 * the 4th-in-flight refusal after it looked like the rate limit.
 */
const IN_FLIGHT_RACE_MS = 20;

/**
 * The most of a request's slower-than-usual time (its latency above the accepted answers' median) that
 * may have been spent in transit rather than on the server. Beyond it, a slow answer is the backend's.
 * (A loaded bench run had a send reach nginx 96 ms after its stamp and an answer the client 100 ms after
 * it left: main at 039c714, 10 r/s with limit_conn 3 at 100 ms.)
 */
const TRANSIT_EXCESS_CAP_MS = 100;

/** The median latency of the accepted answers (0 without any). */
function medianAcceptedLatency(observations: readonly Observation[]): number {
  const latencies = observations.filter(isAccepted).map((o) => o.receivedAt - o.sentAt).sort((a, b) => a - b);
  return latencies.length === 0 ? 0 : (latencies[Math.floor((latencies.length - 1) / 2)] as number);
}

/**
 * The most requests of ours an accepted request surely had on the server with it: itself and those whose
 * answer came after it was sent by more than IN_FLIGHT_RACE_MS plus both requests' slower-than-usual
 * time (each capped at TRANSIT_EXCESS_CAP_MS; never more than its own in-flight count). A slow answer may
 * have spent the extra on its way back (it left the server that much earlier), a slow send on its way
 * there (it arrived that much later). Issue #15, the bench's final run #1: nginx ended request 2 and
 * started request 5 in the same millisecond, the client had stamped request 5 7 ms before it arrived and
 * read request 2's answer 14.5 ms after it left (21.5 ms: over 20), so it counted 4 in flight where nginx
 * held 3; request 2's answer had come 36 ms slower than the median. Checked against nginx's own count on
 * every recorded bench run (2538 accepted rate-part requests): the plain 20 ms over-counted 5, this none
 * (at the price of 24 more under-counts). Not widened by the latencies' spread as a whole: with a backend
 * whose time varies by 300 ms that spread is the backend's, and counting too few in flight makes a rate
 * limit's refusals look like a gate's (the noisy-latency probe tests).
 */
export function maxSurelyAcceptedInFlight(observations: readonly Observation[]): number {
  const median = medianAcceptedLatency(observations);
  const slower = (p: Observation): number => Math.min(TRANSIT_EXCESS_CAP_MS, Math.max(0, p.receivedAt - p.sentAt - median));
  let max = 0;
  for (const o of observations) {
    if (!isAccepted(o) || o.inFlight <= max) continue;
    const allowance = IN_FLIGHT_RACE_MS + slower(o);
    const others = observations.filter((p) => p.seq !== o.seq && p.sentAt <= o.sentAt && p.receivedAt > o.sentAt + allowance + slower(p)).length;
    max = Math.max(max, Math.min(o.inFlight, others + 1));
  }
  return max;
}

/** Sent with more of our requests in flight than any accepted request had (at least two). */
function isCrowded(o: Observation, maxAcceptedInFlight: number): boolean {
  return maxAcceptedInFlight > 0 && o.inFlight >= 2 && o.inFlight > maxAcceptedInFlight;
}

/**
 * A concurrency gate is suspected: a 429 came with more of our requests in flight than any accepted
 * request had (and no rate policy said the allowance was spent). Then the most in flight that was ever
 * accepted, which rate-part sends keep to so that a gate cannot cut a burst short; else null.
 */
export function suspectedGate(observations: readonly Observation[]): number | null {
  const maxAcceptedInFlight = maxSurelyAcceptedInFlight(observations);
  const crowded = observations.some((o) => {
    if (!isRateLimited(o) || !isCrowded(o, maxAcceptedInFlight)) return false;
    const policy = selectRatePolicy(o.policies);
    return !(policy !== null && policy.remaining === 0);
  });
  return crowded ? maxAcceptedInFlight : null;
}

/**
 * What the rate part saw of a concurrency gate, as strong as a batch and its lone retry: `inFlight`
 * requests were surely on the server at once and all accepted, and a 429 sent with exactly one more in
 * flight (no rate policy at remaining 0) cannot have been the rate limit's, because more requests were
 * accepted right after it than the rate limit could have given back since (an empty bucket refills at
 * most `perMinute`, taken 25 % high; a request accepted just after a refusal proves nothing, the bucket
 * may have been a fraction short). When the rate limit never refused anything (`perMinute` null and no
 * 429 left to the rate limit), any such refusal counts. Issue #15: the rate part had seen 3 in flight
 * accepted and the 4th refused by nginx's limit_conn, yet the probe said "at least 2" because the
 * concurrency batch of 4 did not fit its (low) reading of the bucket. Null when there is no such refusal.
 */
export function rateGateEvidence(observations: readonly Observation[], perMinute: number | null): { inFlight: number; seq: number } | null {
  const sorted = [...observations].sort(bySendTime);
  const gate = maxSurelyAcceptedInFlight(sorted);
  if (gate < 1) return null;
  const neverLimited = !attributeRefusals(sorted).some(isRateLimited);
  if (perMinute === null && !neverLimited) return null;
  const perMs = ((perMinute ?? 0) * 1.25) / 60_000;
  for (const [i, o] of sorted.entries()) {
    if (!isRateLimited(o) || o.inFlight !== gate + 1) continue;
    const policy = selectRatePolicy(o.policies);
    if (policy !== null && policy.remaining === 0) continue;
    if (neverLimited) return { inFlight: gate, seq: o.seq };
    // Accepted requests after the refusal, counted at each one's send: more than an empty bucket allows.
    let accepted = 0;
    for (const next of sorted.slice(i + 1)) {
      if (!isAccepted(next)) continue;
      accepted += 1;
      if (accepted > 1 + perMs * (next.sentAt - o.sentAt)) return { inFlight: gate, seq: o.seq };
    }
  }
  return null;
}

/** How many 429s attributeRefusals set aside. */
export function concurrencyRefusals(observations: readonly Observation[]): number {
  const attributed = attributeRefusals(observations);
  return attributed.filter((o, i) => o.outcome !== observations[i]?.outcome).length;
}

const DAY_SECONDS = 86_400;

/** Request-rate policies worth estimating: not daily quotas (the `quota` command's business), not tokens. */
function isRequestRatePolicy(p: RateLimitPolicy): boolean {
  if (p.limit === null || isDailyQuota(p)) return false;
  return p.unit === 'requests' || p.unit === 'request' || p.unit === 'default';
}

/** A daily quota (by name or by a window of a day or more): the `quota` command's business, not the probe's. */
export function isDailyQuota(p: RateLimitPolicy): boolean {
  return p.name === 'daily-quota' || (p.windowSeconds !== null && p.windowSeconds >= DAY_SECONDS);
}

/**
 * The policy that describes the per-window request limit: one with a window first (the shortest window
 * binds a burst first), then one with remaining and reset, then one with a limit alone.
 */
export function selectRatePolicy(policies: readonly RateLimitPolicy[]): RateLimitPolicy | null {
  const candidates = policies.filter(isRequestRatePolicy);
  const withWindow = candidates.filter((p) => p.windowSeconds !== null && p.windowSeconds > 0);
  if (withWindow.length > 0) return withWindow.reduce((a, b) => ((b.windowSeconds ?? 0) < (a.windowSeconds ?? 0) ? b : a));
  return candidates.find((p) => p.remaining !== null && p.resetSeconds !== null) ?? candidates[0] ?? null;
}

/** What identifies a policy across responses: its dialect and name. */
export function policyKey(p: RateLimitPolicy): string {
  return `${p.dialect}:${p.name}`;
}

/** The same policy (dialect and name) in another response. */
export function samePolicy(o: Observation, key: string): RateLimitPolicy | null {
  return o.policies.find((p) => policyKey(p) === key) ?? null;
}
