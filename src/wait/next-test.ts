// The wait-reset loop's schedule, pure: when to test next, from the server's hint, the backoff
// and how often the hints already proved wrong.
import type { ResetHint, ResetHintSource } from './hints.js';

export interface BackoffOptions {
  intervalMs: number;
  maxIntervalMs: number;
  marginMs: number;
  /**
   * The shortest ban-safe wait: the window the ban's limiter counts in (Chutes' edge: a minute). A
   * ban is not all that refuses: once it is over, the window it guards is still full of the requests
   * that tripped it, so a retest before the window has slid by is refused — a violation — however short
   * the ban. Default 0: --interval alone.
   */
  banWindowMs?: number;
}

/** Chutes' edge counts per minute ("60/minute peak per load balancer", chutes-facts.md). */
export const CHUTES_EDGE_WINDOW_MS = 60_000;

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
  /** The refusals can lengthen themselves (an edge ban): with no hint, back off ban-safe. */
  banSafe?: boolean;
}

/**
 * Ban-safe backoff, against a ban that every refusal restarts at base · 2^(violations − 1), up to a
 * day (Chutes' edge ban). Retest k waits interval · G^(k−1) after refusal k−1, whose ban lasts
 * B · 2^(k−1) (B: the ban armed by the first refusal seen). The retest clears once
 * interval · G^(k−1) ≥ B · 2^(k−1), i.e. (G/2)^(k−1) ≥ B / interval: the wait must grow faster than
 * the ban (G > 2), or the ban keeps pace with it for ever (today's doubling never clears a ban longer
 * than --interval). With G = 8 the wait gains ×4 on the ban per refused retest, so a ban is cleared
 * after 1 + ⌈log4(B / interval)⌉ refusals in all (B ≤ interval: 1; 4× interval: 2; 16×: 3), and it
 * still gains on a ban that triples per violation. The price: the last wait may outlast the ban by up
 * to ×4. Not capped by --max-interval (a capped wait never outgrows a doubling ban), only at a day,
 * the longest ban Chutes gives.
 */
export const BAN_SAFE_GROWTH = 8;
export const BAN_SAFE_MAX_MS = 86_400_000;

/** max(interval, the ban's window) · BAN_SAFE_GROWTH^step, capped at a day. */
export function banSafeDelayMs(step: number, intervalMs: number, banWindowMs = 0): number {
  const first = Math.max(intervalMs, banWindowMs);
  return Math.min(first * BAN_SAFE_GROWTH ** Math.max(0, step), Math.max(first, BAN_SAFE_MAX_MS));
}

/** interval · 2^step, capped at maxInterval. */
export function backoffDelayMs(step: number, options: Pick<BackoffOptions, 'intervalMs' | 'maxIntervalMs'>): number {
  return Math.min(options.intervalMs * 2 ** Math.max(0, step), Math.max(options.intervalMs, options.maxIntervalMs));
}

/**
 * The next test time. A binding hint is obeyed to the millisecond plus the margin, and once such a
 * test was still limited the backoff is added on top (a server answering "Retry-After: 0" forever
 * must not make us hammer it). A guess is used only while it is sooner than the backoff and has not
 * failed yet. No hint: backoff, ban-safe when the refusals can lengthen themselves.
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
  if (input.banSafe === true) return plan(now + banSafeDelayMs(input.backoffStep, options.intervalMs, options.banWindowMs), 'ban-backoff', null);
  return plan(backoffAt, 'backoff', null);
}
