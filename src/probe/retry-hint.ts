// Retry hints: when a refusal says the next request may go (Retry-After, or an exhausted policy's reset),
// the earliest next send the latest refusals allow, and whether a policy's reset binds at all.
import { seriesKindBeforeLimit } from './header-series.js';
import { isAccepted, isDailyQuota, isRateLimited, type Observation } from './observation.js';

export interface RetryHint {
  /** No request before this instant (our clock): counted from the arrival, the latest the server can have decided. */
  at: number;
  /** The allowance was certainly not back yet at this instant: counted from the send, less the value's rounding. */
  notBackAt: number;
  source: 'retry-after' | 'reset';
}

/**
 * When a refused answer says the next request may go. Retry-After first: with both present it takes
 * precedence over the RateLimit fields (draft-ietf-httpapi-ratelimit-headers-11). Without it, on a 429,
 * the latest reset among exhausted policies (remaining 0), unless `policyReset` is false: a token bucket's
 * reset is the time until it is full again, not until its next token, so it promises nothing sooner.
 * Whole seconds may be rounded either way by the server, hence one second off the lower bound.
 */
export function retryHint(o: Observation, policyReset = true): RetryHint | null {
  if (isAccepted(o)) return null;
  const usable = (s: number | null): s is number => s !== null && Number.isFinite(s) && s >= 0;
  let seconds: number | null = null;
  let source: RetryHint['source'] = 'retry-after';
  if (usable(o.retryAfterSeconds)) seconds = o.retryAfterSeconds;
  else if (policyReset && isRateLimited(o)) {
    for (const p of o.policies) {
      if (p.remaining !== 0 || !usable(p.resetSeconds) || isDailyQuota(p)) continue;
      if (seconds === null || p.resetSeconds > seconds) seconds = p.resetSeconds;
      source = 'reset';
    }
  }
  if (seconds === null) return null;
  const quantumMs = source === 'retry-after' && !Number.isInteger(seconds) ? 1 : 1000;
  return { at: o.receivedAt + seconds * 1000, notBackAt: o.sentAt + seconds * 1000 - quantumMs, source };
}

/**
 * The earliest instant the latest refusals allow the next rate-phase send: the latest hint among the
 * answers sent after our last accepted request (a later success means the allowance came back, whatever
 * an older hint said). Null when they carry no hint.
 */
export function retryFloor(observations: readonly Observation[], policyReset = true): number | null {
  const lastAccepted = Math.max(-Infinity, ...observations.filter(isAccepted).map((o) => o.sentAt));
  let floor: number | null = null;
  for (const o of observations) {
    if (o.sentAt < lastAccepted) continue;
    const hint = retryHint(o, policyReset);
    if (hint && (floor === null || hint.at > floor)) floor = hint.at;
  }
  return floor;
}

/**
 * Whether an exhausted policy's reset binds the next request: not when the header series before the
 * first 429 reads as a token bucket (its reset is the time until full).
 */
export function policyResetBinds(observations: readonly Observation[], intervalMs: number): boolean {
  return seriesKindBeforeLimit(observations, intervalMs) !== 'token-bucket';
}
