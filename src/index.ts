// The library entry: the pure parts of chutes-diag, with their types, for Node clients that want
// to read rate-limit headers, classify responses, pace requests or wait for a reset themselves.
export { parseRateLimitHeaders, isRateLimitHeader } from './ratelimit/parse.js';
export { classifyResponse, exitCodeForOutcome } from './verdict/classify.js';
export type { ClassifyInput, ClassifyContext } from './verdict/classify.js';
export { keyFingerprint, Redactor } from './redact.js';
export type {
  Outcome, Verdict, AuthScheme, Dialect, RateLimitPolicy, RateLimitInfo, ResponseRecord, RecordError,
} from './types.js';
export { waitForReset, observeResponse, nextTestDelay, readResetHint } from './wait/wait-for-reset.js';
export type {
  WaitForResetOptions, WaitForResetResult, WaitObservation, NextTest, ResetHint, ResetWindow,
} from './wait/wait-for-reset.js';
export { estimateRateLimit } from './probe/estimate-rate.js';
export type { Observation, RateEstimate, RateContext } from './probe/estimate-rate.js';
export { estimateConcurrency } from './probe/estimate-concurrency.js';
export { schedulePacedSends, RateCap } from './probe/schedule.js';
export { loadRecording } from './analyze/load.js';
export type { Recording, RecordingFormat } from './analyze/load.js';
export { analyzeRecords } from './analyze/analyze.js';
export type { TrafficAnalysis, VerdictCount } from './analyze/analyze.js';
export { estimatePassive } from './analyze/passive-estimate.js';
