// Pure concurrency estimate from simultaneous batches. A batch of m requests that the server holds at
// once comes back with C successes when the in-flight limit is C < m. A 429 in a batch is only counted
// against concurrency when it is not the rate limit: a rate policy at remaining 0 says "rate", and a lone
// request sent right after the batch settles it (success: concurrency; 429: rate).
// The estimate carries a reason; src/render/probe-explain.ts writes it as the `explanation` sentence.
import { explainConcurrency } from '../render/probe-explain.js';
import type { Bound } from './estimate-types.js';
import { isAccepted, isRateLimited, selectRatePolicy, type Observation } from './observation.js';
import type { ConcurrencyReason, RateRefusalEvidence } from './reasons.js';

export interface ConcurrencyEstimate {
  limit: number | null;
  bound: Bound;
  testedUpTo: number | null;
  explanation: string;
  /** Requests spent on the concurrency test (batches and lone retries). */
  requests: number;
}

export interface ConcurrencyTrial {
  size: number;
  responses: Observation[];
  /** The lone request sent after a batch with 429s, once it came back. */
  lone: Observation | null;
}

export type BatchJudgement =
  | { kind: 'all-accepted' }
  | { kind: 'needs-lone'; accepted: number }
  | { kind: 'concurrency'; accepted: number }
  | { kind: 'late-lone'; accepted: number; lateMs: number }
  | { kind: 'rate'; accepted: number; why: RateRefusalEvidence }
  | { kind: 'errors'; accepted: number };

/** A 429 whose rate policy says nothing is left: the rate limit answered, not the concurrency gate. */
function rateExhausted(o: Observation): boolean {
  const policy = selectRatePolicy(o.policies);
  return policy !== null && policy.remaining === 0;
}

/**
 * What one batch (and its lone retry, if any) says about the concurrency gate. `refillMs`: the rate
 * limit's spacing (one request back every refillMs), when known; `ratePartInFlight`: the most requests
 * the rate part had surely in flight, all accepted. A batch that got fewer than the rate part already had
 * accepted at once, with a lone retry that went out after it (when the rate limit may have given one
 * back), does not tell the gate from the rate limit (issue #15: a batch of 2 met one token of nginx's
 * bucket, the lone retry 1.5 s later a refilled one, and the probe said "at most 1 in flight" where the
 * rate part had had 3 in flight accepted).
 */
export function judgeBatch(trial: ConcurrencyTrial, refillMs: number | null = null, ratePartInFlight = 0): BatchJudgement {
  const accepted = trial.responses.filter(isAccepted).length;
  const limited = trial.responses.filter(isRateLimited);
  if (accepted === trial.size) return { kind: 'all-accepted' };
  if (limited.length === 0) return { kind: 'errors', accepted };
  if (limited.some(rateExhausted)) return { kind: 'rate', accepted, why: 'exhausted-policy' };
  if (trial.lone === null) return { kind: 'needs-lone', accepted };
  if (isAccepted(trial.lone)) {
    const batchSentAt = Math.min(...trial.responses.map((o) => o.sentAt));
    const lateMs = trial.lone.sentAt - batchSentAt;
    // A leaky bucket gives one back at any moment of its period (it was part-full after the batch), so
    // any delay can let the lone retry in: only the rate part's own count contradicts the gate reading.
    const doubtful = refillMs !== null && lateMs > 0 && ratePartInFlight > accepted;
    return doubtful ? { kind: 'late-lone', accepted, lateMs } : { kind: 'concurrency', accepted };
  }
  return { kind: 'rate', accepted, why: 'lone-refused' };
}

/** Batch sizes 2, 4, 8 … up to the cap (the last one is the cap itself). */
export function batchSizes(cap: number): number[] {
  const sizes: number[] = [];
  for (let m = 2; m < cap; m *= 2) sizes.push(m);
  if (cap >= 1) sizes.push(cap);
  return sizes.filter((m, i) => i === 0 || m > (sizes[i - 1] as number));
}

/** Answers faster than this may come from requests that never overlapped on the server. */
const OVERLAP_DOUBT_MS = 20;

/** The slowest response time in a batch when it is under OVERLAP_DOUBT_MS ("simultaneous" requests may not overlap), else null. */
function overlapDoubtMs(trial: ConcurrencyTrial): number | null {
  const latencies = trial.responses.map((o) => o.receivedAt - o.sentAt);
  const slowest = Math.max(0, ...latencies);
  return slowest < OVERLAP_DOUBT_MS ? slowest : null;
}

/** A limit, its bound and how far it was tested, with the reason written out. */
function estimate(limit: number | null, bound: Bound, testedUpTo: number | null, reason: ConcurrencyReason, requests: number): ConcurrencyEstimate {
  return { limit, bound, testedUpTo, explanation: explainConcurrency(reason), requests };
}

/** The test stopped at a batch of `size` for a reason other than the gate: what fully passed is a lower bound. */
function atLeast(fullyAccepted: number, size: number, reason: ConcurrencyReason, requests: number): ConcurrencyEstimate {
  return estimate(fullyAccepted > 0 ? fullyAccepted : null, fullyAccepted > 0 ? 'at-least' : 'unknown', size, reason, requests);
}

function requestsOf(trials: readonly ConcurrencyTrial[]): number {
  return trials.reduce((n, t) => n + t.responses.length + (t.lone ? 1 : 0), 0);
}

/** Not tested, for `reason` (the probe's own words); the requests the trials so far spent still count. */
export function skippedConcurrency(reason: string, trials: readonly ConcurrencyTrial[] = []): ConcurrencyEstimate {
  return estimate(null, 'unknown', null, { code: 'skipped', why: reason }, requestsOf(trials));
}

/** What the rate part says of the gate (rateGateEvidence) and the rate limit's spacing, for estimateConcurrency. */
export interface RatePartEvidence {
  /** The most in flight the rate part saw all accepted before one more was refused with room left, or null. */
  gate: number | null;
  /** One request back every refillMs (the rate estimate), or null when not known. */
  refillMs: number | null;
  /** The most requests the rate part had surely in flight, all accepted (0: none). */
  inFlight: number;
}

/**
 * The limit from the trials so far. `cap` is the largest batch the user allowed; `stopped` says why the
 * test ended early (budget, time, rate allowance) when it did. `rate`: what the rate part saw; a gate it
 * saw stands when the batches could not say more (they stopped short of it, or their 429s may have been
 * the rate limit's), and never against a batch that fully passed above it.
 */
export function estimateConcurrency(trials: readonly ConcurrencyTrial[], cap: number, stopped: string | null = null, rate: RatePartEvidence = { gate: null, refillMs: null, inFlight: 0 }): ConcurrencyEstimate {
  const found = estimateFromTrials(trials, cap, stopped, rate);
  const gate = rate.gate;
  if (gate === null || gate > cap || found.bound === 'exact') return found;
  const fullyAccepted = trials.filter((t) => judgeBatch(t, rate.refillMs, rate.inFlight).kind === 'all-accepted').reduce((m, t) => Math.max(m, t.size), 0);
  if (fullyAccepted > gate) return found;
  const last = trials.at(-1);
  const lastJudgement = last ? judgeBatch(last, rate.refillMs, rate.inFlight) : null;
  const batch = last && lastJudgement ? { size: last.size, accepted: last.responses.filter(isAccepted).length, late: lastJudgement.kind === 'late-lone' } : null;
  const why = batch !== null && batch.accepted < batch.size ? null : trials.length === 0 ? (stopped ?? 'no batch was sent') : stopped;
  return estimate(gate, 'exact', Math.max(gate + 1, found.testedUpTo ?? 0), { code: 'rate-part-gate', inFlight: gate, batch, why }, found.requests);
}

function estimateFromTrials(trials: readonly ConcurrencyTrial[], cap: number, stopped: string | null, { refillMs, inFlight }: RatePartEvidence): ConcurrencyEstimate {
  const requests = requestsOf(trials);
  if (trials.length === 0) return skippedConcurrency(stopped ?? 'no batch was sent');
  let fullyAccepted = 0;
  for (const trial of trials) {
    const judgement = judgeBatch(trial, refillMs, inFlight);
    switch (judgement.kind) {
      case 'all-accepted':
        fullyAccepted = Math.max(fullyAccepted, trial.size);
        continue;
      case 'concurrency':
        return estimate(judgement.accepted, 'exact', trial.size, { code: 'gate', size: trial.size, accepted: judgement.accepted }, requests);
      case 'late-lone':
        return atLeast(fullyAccepted, trial.size, { code: 'late-lone', size: trial.size, accepted: judgement.accepted, lateMs: judgement.lateMs, refillMs: refillMs as number, fine: fullyAccepted }, requests);
      case 'rate':
        return atLeast(fullyAccepted, trial.size, { code: 'rate-refused', size: trial.size, evidence: judgement.why, fine: fullyAccepted }, requests);
      case 'needs-lone':
        return estimate(judgement.accepted, 'approx', trial.size, { code: 'unconfirmed', size: trial.size, accepted: judgement.accepted, stopped }, requests);
      case 'errors':
        return atLeast(fullyAccepted, trial.size, { code: 'errors', size: trial.size, accepted: judgement.accepted, fine: fullyAccepted }, requests);
    }
  }
  const lastTrial = trials.at(-1) as ConcurrencyTrial;
  const reason: ConcurrencyReason = { code: 'all-accepted', count: fullyAccepted, reachedCap: fullyAccepted >= cap, stopped, fastMs: overlapDoubtMs(lastTrial) };
  return estimate(fullyAccepted, 'at-least', fullyAccepted, reason, requests);
}
