// Pure concurrency estimate from simultaneous batches. A batch of m requests that the server holds at
// once comes back with C successes when the in-flight limit is C < m. A 429 in a batch is only counted
// against concurrency when it is not the rate limit: a rate policy at remaining 0 says "rate", and a lone
// request sent right after the batch settles it (success: concurrency; 429: rate).
import { isAccepted, isRateLimited, selectRatePolicy, type Bound, type Observation } from './estimate-rate.js';

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
  | { kind: 'rate'; accepted: number; why: string }
  | { kind: 'errors'; accepted: number };

/** A 429 whose rate policy says nothing is left: the rate limit answered, not the concurrency gate. */
function rateExhausted(o: Observation): boolean {
  const policy = selectRatePolicy(o.policies);
  return policy !== null && policy.remaining === 0;
}

export function judgeBatch(trial: ConcurrencyTrial): BatchJudgement {
  const accepted = trial.responses.filter(isAccepted).length;
  const limited = trial.responses.filter(isRateLimited);
  if (accepted === trial.size) return { kind: 'all-accepted' };
  if (limited.length === 0) return { kind: 'errors', accepted };
  if (limited.some(rateExhausted)) return { kind: 'rate', accepted, why: 'its 429s carried a rate policy at remaining 0' };
  if (trial.lone === null) return { kind: 'needs-lone', accepted };
  if (isAccepted(trial.lone)) return { kind: 'concurrency', accepted };
  return { kind: 'rate', accepted, why: 'a lone request right after it was refused too' };
}

/** Batch sizes 2, 4, 8 … up to the cap (the last one is the cap itself). */
export function batchSizes(cap: number): number[] {
  const sizes: number[] = [];
  for (let m = 2; m < cap; m *= 2) sizes.push(m);
  if (cap >= 1) sizes.push(cap);
  return sizes.filter((m, i) => i === 0 || m > (sizes[i - 1] as number));
}

/** Shortest response time in a batch: with answers faster than a few ms, "simultaneous" requests may not overlap. */
function overlapDoubt(trial: ConcurrencyTrial): string {
  const latencies = trial.responses.map((o) => o.receivedAt - o.sentAt);
  const slowest = Math.max(0, ...latencies);
  return slowest < 20 ? ` (responses took at most ${Math.round(slowest)} ms, so the requests may not have overlapped on the server)` : '';
}

/** The test stopped at a batch of `size` for a reason other than the gate: what fully passed is a lower bound. */
function atLeast(fullyAccepted: number, size: number, why: string, requests: number): ConcurrencyEstimate {
  return {
    limit: fullyAccepted > 0 ? fullyAccepted : null,
    bound: fullyAccepted > 0 ? 'at-least' : 'unknown',
    testedUpTo: size,
    explanation: `${why}${fullyAccepted > 0 ? `; ${fullyAccepted} at once were fine` : ''}.`,
    requests,
  };
}

function requestsOf(trials: readonly ConcurrencyTrial[]): number {
  return trials.reduce((n, t) => n + t.responses.length + (t.lone ? 1 : 0), 0);
}

export function skippedConcurrency(reason: string, trials: readonly ConcurrencyTrial[] = []): ConcurrencyEstimate {
  return { limit: null, bound: 'unknown', testedUpTo: null, explanation: `Not tested: ${reason}.`, requests: requestsOf(trials) };
}

/**
 * The limit from the trials so far. `cap` is the largest batch the user allowed; `stopped` says why the
 * test ended early (budget, time, rate allowance) when it did.
 */
export function estimateConcurrency(trials: readonly ConcurrencyTrial[], cap: number, stopped: string | null = null): ConcurrencyEstimate {
  const requests = requestsOf(trials);
  if (trials.length === 0) return skippedConcurrency(stopped ?? 'no batch was sent');
  let fullyAccepted = 0;
  for (const trial of trials) {
    const judgement = judgeBatch(trial);
    switch (judgement.kind) {
      case 'all-accepted':
        fullyAccepted = Math.max(fullyAccepted, trial.size);
        continue;
      case 'concurrency':
        return {
          limit: judgement.accepted,
          bound: 'exact',
          testedUpTo: trial.size,
          explanation: `${trial.size} simultaneous requests got ${judgement.accepted} successes and a lone request right after succeeded, so at most ${judgement.accepted} may be in flight at once.`,
          requests,
        };
      case 'rate':
        return atLeast(fullyAccepted, trial.size, `A batch of ${trial.size} was refused by the rate limit, not the concurrency limit (${judgement.why})`, requests);
      case 'needs-lone':
        return {
          limit: judgement.accepted,
          bound: 'approx',
          testedUpTo: trial.size,
          explanation: `${trial.size} simultaneous requests got ${judgement.accepted} successes, but no lone retry confirmed that the 429s were the concurrency limit${stopped ? ` (${stopped})` : ''}.`,
          requests,
        };
      case 'errors':
        return atLeast(fullyAccepted, trial.size, `A batch of ${trial.size} failed with errors other than 429 (${judgement.accepted} succeeded), so the test stopped`, requests);
    }
  }
  const lastTrial = trials.at(-1) as ConcurrencyTrial;
  const reachedCap = fullyAccepted >= cap;
  return {
    limit: fullyAccepted,
    bound: 'at-least',
    testedUpTo: fullyAccepted,
    explanation: reachedCap
      ? `${fullyAccepted} simultaneous requests all succeeded, the most --max-concurrency allows; raise it to test further${overlapDoubt(lastTrial)}.`
      : `${fullyAccepted} simultaneous requests all succeeded; larger batches were not sent${stopped ? ` (${stopped})` : ''}${overlapDoubt(lastTrial)}.`,
    requests,
  };
}
