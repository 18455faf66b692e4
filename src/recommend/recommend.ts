// recommend(estimate, context): client settings that hold the measured limit (cli-contract.md,
// "recommendation"). Pure: the same estimate and context always give the same recommendation, so probe,
// tap, analyze and `recommend <file>` agree.
import { basisSentence, concurrencyReason, paceReason, retryReason } from './basis.js';
import { backoffOf, banSeen, concurrencyCapOf, longestBanSeconds, paceOf, type Pace } from './settings.js';
import { contextFromRecords, type RecordFacts, type TargetFacts } from './context.js';
import { renderSnippets } from './snippets.js';
import type { BanAdvice, EstimateInput, RateInput, Recommendation, RecommendContext, RetryAdvice } from './types.js';

const BAN_ADVICE = 'Stop all traffic from this key and address: every refused request lengthens the ban; wait, then send one request (`chutes-diag wait-reset` does it without lengthening the ban), never a burst of retries.';
const CHUTES_BAN_ADVICE = "Chutes' edge bans grow with each refused request (up to a day): on an HTML 429 with no Retry-After, stop all traffic from this key and address instead of retrying; `chutes-diag wait-reset` waits without lengthening the ban.";

function banAdvice(rate: RateInput, context: RecommendContext): BanAdvice | null {
  if (banSeen(rate, context)) return { observed: true, waitAtLeastSeconds: longestBanSeconds(rate), advice: BAN_ADVICE };
  return context.chutes ? { observed: false, waitAtLeastSeconds: null, advice: CHUTES_BAN_ADVICE } : null;
}

function retryOf(rate: RateInput, pace: Pace | null, context: RecommendContext): { retry: RetryAdvice; matchedTo: 'window' | 'refill' | null } {
  const onBan = banAdvice(rate, context);
  const honourRetryAfter = context.retryAfterSeen;
  if (onBan?.observed) {
    const wait = onBan.waitAtLeastSeconds;
    return { retry: { honourRetryAfter, baseDelayMs: wait === null ? null : Math.ceil(wait * 1000), maxDelayMs: null, maxRetries: 0, onBan }, matchedTo: null };
  }
  if (pace === null) return { retry: { honourRetryAfter, baseDelayMs: null, maxDelayMs: null, maxRetries: null, onBan }, matchedTo: null };
  const backoff = backoffOf(rate, pace);
  return {
    retry: { honourRetryAfter, baseDelayMs: backoff.baseDelayMs, maxDelayMs: backoff.maxDelayMs, maxRetries: backoff.maxRetries, onBan },
    matchedTo: backoff.matchedTo,
  };
}

export function recommend(estimate: EstimateInput, context: RecommendContext): Recommendation {
  const { rate, concurrency } = estimate;
  const pace = paceOf(rate);
  const cap = concurrencyCapOf(concurrency);
  const { retry, matchedTo } = retryOf(rate, pace, context);
  const numbers = {
    requestsPerMinute: pace?.requestsPerMinute ?? null,
    minIntervalMs: pace?.minIntervalMs ?? null,
    maxConcurrency: cap.value,
    retry,
  };
  return {
    ...numbers,
    basis: basisSentence(rate, pace, cap, retry),
    reasons: { pace: paceReason(rate, pace), concurrency: concurrencyReason(concurrency, cap), retry: retryReason(retry, matchedTo) },
    snippets: pace === null ? {} : renderSnippets({ ...numbers, pace, context }),
  };
}

/** The recommendation from an estimate and the records it came from (tap, analyze, recommend of a recording). */
export function recommendFromRecords(estimate: EstimateInput, records: readonly RecordFacts[], target: TargetFacts): Recommendation {
  return recommend(estimate, contextFromRecords(records, target));
}
