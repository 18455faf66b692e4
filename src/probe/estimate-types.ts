// The vocabulary of the rate estimate: what it says (figures, algorithm, how sure) and what it is told
// about the probe. Types only; the estimators live in their own modules, estimate-rate.ts assembles them.
import type { Penalty } from './penalty.js';
import type { RateReason, StopCause } from './reasons.js';

export type RateAlgorithmName = 'fixed-window' | 'sliding-window' | 'token-bucket' | 'unknown';
export type Bound = 'exact' | 'approx' | 'at-least' | 'unknown';
export type EstimateSource = 'headers' | 'observed' | 'both';
export type Confidence = 'high' | 'medium' | 'low';

/** The figures of a rate estimate and how sure they are. */
export interface RateFigures {
  limit: number | null;
  windowSeconds: number | null;
  perMinute: number | null;
  burst: number | null;
  algorithm: RateAlgorithmName;
  bound: Bound;
  source: EstimateSource;
  confidence: Confidence;
}

export interface RateEstimate extends RateFigures {
  explanation: string;
  /** Requests this probe spent on the rate part. */
  requests: number;
  /** Refusals were seen to lengthen the block (a penalty box, see penalty.ts), else null. */
  penalty: Penalty | null;
}

export interface RateContext {
  /** The pace interval, 60 000 / rpm. */
  intervalMs: number;
  /** Why sending stopped, when it stopped before the estimate was complete. */
  stoppedBy?: StopCause;
  /** A concurrency gate held the rate part's sends to this many in flight (suspectedGate), else null. */
  heldInFlight?: number | null;
}

/**
 * What one estimator found: the figures of a RateEstimate (in its field order) and the reason for them,
 * before any sentence is written. estimate-rate.ts turns it into a RateEstimate.
 */
export interface RateFinding extends RateFigures {
  reason: RateReason;
}
