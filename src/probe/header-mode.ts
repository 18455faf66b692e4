// Header mode: what the first informative response says about the rate limit, which decides how the
// rest is read (a stated window answers at once, a series of reset values is read over time, a limit
// alone only gets quoted beside what behaviour shows).
import type { RateLimitPolicy } from '../types.js';
import { bySendTime, selectRatePolicy, type Observation } from './observation.js';

export type HeaderMode =
  | { kind: 'exact'; policy: RateLimitPolicy; limit: number; windowSeconds: number }
  | { kind: 'series'; policy: RateLimitPolicy; limit: number }
  | { kind: 'limit-only'; policy: RateLimitPolicy; limit: number }
  | { kind: 'none' };

/** Decided from the earliest-sent response that carries a request policy. */
export function headerModeOf(observations: readonly Observation[]): HeaderMode {
  const first = [...observations].sort(bySendTime).find((o) => selectRatePolicy(o.policies) !== null);
  const policy = first ? selectRatePolicy(first.policies) : null;
  if (!policy || policy.limit === null) return { kind: 'none' };
  if (policy.windowSeconds !== null && policy.windowSeconds > 0) {
    return { kind: 'exact', policy, limit: policy.limit, windowSeconds: policy.windowSeconds };
  }
  if (policy.remaining !== null && policy.resetSeconds !== null) return { kind: 'series', policy, limit: policy.limit };
  return { kind: 'limit-only', policy, limit: policy.limit };
}

/** The header to name in a sentence: the policy's first source header. */
export function headerName(mode: HeaderMode): string {
  return mode.kind === 'none' ? 'rate-limit' : mode.policy.sources[0] ?? 'rate-limit';
}
