// The rate estimate, assembled: the public entry that the probe, the library index and the bench import.
// The estimators are pure (no clock, no I/O): they take observations (send and arrival times in epoch
// ms, outcome, parsed policies) and return figures with a reason; this module picks the estimator and
// has src/render/probe-explain.ts write the reason as the `explanation` sentence.
//
// Two sources, used in this order:
//  1. Headers (estimate-headers.ts). A policy with a limit and a window (IETF `w`) answers at once. A
//     policy with limit, remaining and reset but no window is read as a series (header-series.ts):
//     constant reset instants mean a window, instants moving later by 1/ρ per request (or `remaining`
//     not falling although we spent one) mean a token bucket; one request sent just after the reset
//     tells a fixed window from a sliding log (reset-check.ts).
//  2. Behaviour ("cycles", estimate-cycles.ts), when headers say too little: burst until the first 429,
//     retest sparsely until a success (a window boundary or a refill), burst again, and time the second
//     recovery (cycles.ts, window-timing.ts, refill.ts).
// The parts' functions are re-exported here under their old names: callers import from this module.
import { explainForeignUsage, explainRate } from '../render/probe-explain.js';
import { estimateFromCycles } from './estimate-cycles.js';
import { estimateFromExactHeaders, estimateFromHeaderSeries } from './estimate-headers.js';
import type { RateContext, RateEstimate, RateFinding } from './estimate-types.js';
import { foreignUsage } from './foreign.js';
import { detectDelayQueue } from './delay-queue.js';
import { detectPenalty } from './penalty.js';
import { headerModeOf } from './header-mode.js';
import { attributeRefusals, isAccepted, isRateLimited, suspectedGate, type Observation } from './observation.js';

export type { Bound, Confidence, EstimateSource, RateAlgorithmName, RateContext, RateEstimate } from './estimate-types.js';
export { attributeRefusals, bySendTime, concurrencyRefusals, isAccepted, isRateLimited, maxSurelyAcceptedInFlight, rateGateEvidence, selectRatePolicy, suspectedGate, type Observation } from './observation.js';
export { headerModeOf, type HeaderMode } from './header-mode.js';
export {
  bucketFromHeaders,
  classifyHeaderSeries,
  headerPoints,
  jitterToleranceMs,
  resetClockOf,
  resetInstant,
  type BucketFromHeaders,
  type HeaderPoint,
  type ResetClock,
  type SeriesKind,
} from './header-series.js';
export {
  findResetCheck,
  resetCheckTime,
  windowFromCheck,
  windowResetBounds,
  type ResetBounds,
  type ResetCheck,
  type WindowFromCheck,
} from './reset-check.js';
export { policyResetBinds, retryFloor, retryHint, type RetryHint } from './retry-hint.js';
export {
  burstsSayWindow,
  cyclesSayWindow,
  namedCycles,
  narrowRecovery,
  nextRetestAt,
  rateRuns,
  recoveryBracket,
  RETEST_GROWTH,
  type Cycles,
  type ResetReading,
  type Run,
} from './cycles.js';
export { slidingRefusalDeadline, windowTiming } from './window-timing.js';
export { behaviourRateInterval, bucketCapacity, refillRateInterval, resetRateInterval, tokenRate, tokenRateInterval, type RateInterval } from './refill.js';

/** The figures and reason of an estimator, as the public result: the reason written out, the requests counted. */
function toEstimate({ reason, ...figures }: RateFinding, requests: number, penalty: RateEstimate['penalty']): RateEstimate {
  return { ...figures, explanation: explainRate(reason), requests, penalty };
}

/** What the rate part can say: headers first (a stated window, then a series), behaviour when they say too little. */
function findRate(observations: readonly Observation[], ctx: RateContext): RateFinding {
  const counted = observations.filter((o) => isAccepted(o) || isRateLimited(o));
  if (counted.length === 0) {
    return {
      limit: null,
      windowSeconds: null,
      perMinute: null,
      burst: null,
      algorithm: 'unknown',
      bound: 'unknown',
      source: 'observed',
      confidence: 'low',
      reason: { code: 'nothing-counted', stop: ctx.stoppedBy ?? null },
    };
  }
  const mode = headerModeOf(observations);
  if (mode.kind === 'exact') return estimateFromExactHeaders(observations, mode, ctx);
  if (mode.kind === 'series') {
    const fromSeries = estimateFromHeaderSeries(observations, mode, ctx);
    if (fromSeries) return fromSeries;
  }
  return estimateFromCycles(observations, mode, ctx);
}

/** Everything the rate part can say from these observations (rate-phase sends only). */
export function estimateRateLimit(sent: readonly Observation[], ctx: RateContext): RateEstimate {
  const attributed = attributeRefusals(sent);
  const found = findRate(attributed, { heldInFlight: suspectedGate(sent), ...ctx });
  return toEstimate(readDelayQueue(found, attributed), sent.length, detectPenalty(attributed));
}

/**
 * When the answers came back evenly from a queue (delay-queue.ts), their spacing is the sustainable rate:
 * it replaces a behavioural estimate it contradicts (a lower bound above it, or a figure off by more than
 * 15 %). Never a header's figure.
 */
function readDelayQueue(found: RateFinding, observations: readonly Observation[]): RateFinding {
  if (found.source !== 'observed') return found;
  const queue = detectDelayQueue(observations);
  if (queue === null) return found;
  const perMinute = Math.round((600_000 / queue.spacingMs)) / 10;
  const contradicted = found.perMinute === null
    ? found.bound === 'at-least' || found.bound === 'unknown'
    : found.bound === 'at-least' ? found.perMinute > perMinute * 1.05 : Math.abs(found.perMinute - perMinute) > perMinute * 0.15;
  if (!contradicted) return found;
  return {
    limit: null,
    windowSeconds: null,
    perMinute,
    burst: queue.depth,
    algorithm: 'token-bucket',
    bound: 'approx',
    source: 'observed',
    confidence: 'medium',
    reason: { code: 'delay-queue', perMinute, ...queue, counted: { perMinute: found.perMinute, bound: found.bound } },
  };
}

/**
 * `remaining` that falls by more than our own accepted requests explain means someone else spends the
 * same allowance: one warning, or none (see foreign.ts).
 */
export function detectForeignUsage(observations: readonly Observation[]): string[] {
  const found = foreignUsage(observations);
  return found ? [explainForeignUsage(found)] : [];
}
