// The wait-reset loop's schedule, pure: when to test next, from the server's hint, the backoff
// and how often the hints already proved wrong.
import type { ResetHint, ResetHintSource } from './hints.js';

export interface BackoffOptions {
  intervalMs: number;
  maxIntervalMs: number;
  marginMs: number;
}

/** When to test next, and why. */
export interface NextTest {
  atMs: number;
  delayMs: number;
  source: ResetHintSource;
  origin: string | null;
  /** The hint the plan follows; null for plain backoff. */
  hint: ResetHint | null;
}

export interface NextTestInput {
  now: number;
  hint: ResetHint | null;
  /** Backoff waits taken so far: the exponent of the next one. */
  backoffStep: number;
  /** Tests made at a hinted time that were still limited: the server's hints are not to be trusted alone. */
  missedHints: number;
}

/** interval · 2^step, capped at maxInterval. */
export function backoffDelayMs(step: number, options: Pick<BackoffOptions, 'intervalMs' | 'maxIntervalMs'>): number {
  return Math.min(options.intervalMs * 2 ** Math.max(0, step), Math.max(options.intervalMs, options.maxIntervalMs));
}

/**
 * The next test time. A binding hint is obeyed to the millisecond plus the margin, and once such a
 * test was still limited the backoff is added on top (a server answering "Retry-After: 0" forever
 * must not make us hammer it). A guess is used only while it is sooner than the backoff and has not
 * failed yet. No hint: backoff.
 */
export function nextTestDelay(input: NextTestInput, options: BackoffOptions): NextTest {
  const { now, hint } = input;
  const backoffAt = now + backoffDelayMs(input.backoffStep, options);
  const plan = (atMs: number, source: ResetHintSource, followed: ResetHint | null): NextTest => ({
    atMs, delayMs: Math.max(0, atMs - now), source, origin: followed?.origin ?? null, hint: followed,
  });
  if (hint !== null) {
    const hintedAt = Math.max(hint.atMs, now) + options.marginMs;
    if (hint.binding) {
      const floor = input.missedHints > 0 ? now + backoffDelayMs(input.missedHints - 1, options) : hintedAt;
      return plan(Math.max(hintedAt, floor), hint.source, hint);
    }
    if (input.missedHints === 0 && hintedAt < backoffAt) return plan(hintedAt, hint.source, hint);
  }
  return plan(backoffAt, 'backoff', null);
}
