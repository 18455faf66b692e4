// The reset check of a header series: where the current window's reset lies, when to send the request
// that tells a fixed window from a sliding log, finding that request among the answers, and the window
// it times.
import { classifyHeaderSeries, jitterToleranceMs, resetInstant, type HeaderPoint, type ResetClock } from './header-series.js';

/**
 * Accepted points of the current window, before `uptoIndex`: a new window begins where `remaining` rose,
 * or where the previous point's reset had already come (a window that rolled over right after the first
 * request looks the same by `remaining`).
 */
function currentWindowPoints(points: readonly HeaderPoint[], clock: ResetClock, uptoIndex: number): HeaderPoint[] {
  return points.slice(windowStart(points, clock, uptoIndex), uptoIndex).filter((p) => p.accepted);
}

/** Where the last window before `uptoIndex` began: the last point whose `remaining` rose, or that came after the previous point's reset. */
export function windowStart(points: readonly HeaderPoint[], clock: ResetClock, uptoIndex: number): number {
  let start = 0;
  for (let i = 1; i < uptoIndex; i++) {
    const p = points[i - 1] as HeaderPoint;
    const c = points[i] as HeaderPoint;
    if (c.remaining > p.remaining || c.sentAt >= resetInstant(p, clock)) start = i;
  }
  return start;
}

export interface ResetBounds {
  /** The reset is after this instant (our clock, ms)… */
  lo: number;
  /** …and at or before this one. */
  hi: number;
  /** From the first to the last accepted request of the current window, ms. */
  span: number;
}

/**
 * Where the current window's reset lies. Each point says "reset ∈ (instant − quantum, instant]" (the
 * value is rounded up), and the window had not reset yet when its last request went out.
 */
export function windowResetBounds(points: readonly HeaderPoint[], clock: ResetClock, uptoIndex = points.length): ResetBounds | null {
  const window = currentWindowPoints(points, clock, uptoIndex);
  if (window.length === 0) return null;
  const instants = window.map((p) => resetInstant(p, clock));
  const first = window[0] as HeaderPoint;
  const last = window.at(-1) as HeaderPoint;
  return {
    lo: Math.max(Math.max(...instants) - clock.quantumMs, last.sentAt),
    hi: Math.min(...instants),
    span: last.sentAt - first.sentAt,
  };
}

/**
 * When to send the check. It must come after the reset, and for a sliding log before all our requests of
 * the window have left it, i.e. within `span` of the reset. When the reset is known that precisely, just
 * after it; otherwise as late as is safe for the sliding case, accepting that it may be early (the answer
 * then says so: `remaining` keeps falling, and the next check is timed from tighter bounds).
 */
export function resetCheckTime(bounds: ResetBounds, marginMs: number): number {
  if (bounds.hi - bounds.lo <= bounds.span - 2 * marginMs) return bounds.hi + marginMs;
  return Math.max(bounds.lo + marginMs, bounds.lo + bounds.span - marginMs);
}

export interface ResetCheck {
  /** The accepted point just before the check. */
  before: HeaderPoint;
  check: HeaderPoint;
  index: number;
}

/**
 * The check: the first accepted point (before any 429) that got allowance back after the window's reset.
 * Either `remaining` rose (a fixed window rolled over, even mid-burst), or it did not fall although the
 * request came after a pause and after the earliest possible reset (a sliding log let an old request go).
 * A token bucket also gives allowance back; a series already read as a bucket has no check, and after a
 * single answer nothing can tell the two apart yet.
 */
export function findResetCheck(points: readonly HeaderPoint[], clock: ResetClock, intervalMs: number): ResetCheck | null {
  const tol = jitterToleranceMs(intervalMs);
  for (let i = 1; i < points.length; i++) {
    const before = points[i - 1] as HeaderPoint;
    const check = points[i] as HeaderPoint;
    if (!check.accepted || !before.accepted) return null;
    if (check.remaining < before.remaining) continue;
    // After a single answer, allowance back is as much a bucket that refilled (the pre-flight's answer
    // can take longer than a token) as a window that reset: a check needs two answers before it.
    if (i < 2) continue;
    const head = points.slice(0, i);
    if (classifyHeaderSeries(head, check.limit, clock, intervalMs) === 'token-bucket') return null;
    if (check.remaining > before.remaining) return { before, check, index: i };
    const bounds = windowResetBounds(points, clock, i);
    const paused = check.sentAt - before.sentAt >= 1.5 * intervalMs;
    if (bounds && paused && check.sentAt + tol >= bounds.lo) return { before, check, index: i };
  }
  return null;
}

export interface WindowFromCheck {
  algorithm: 'fixed-window' | 'sliding-window';
  windowMs: number | null;
}

/** The middle of (lo, hi]; at whole-second quantum, the whole second nearest to it. */
function pickWindowMs(lo: number, hi: number, clock: ResetClock): number | null {
  if (!Number.isFinite(lo) && !Number.isFinite(hi)) return null;
  const mid = !Number.isFinite(hi) ? lo : !Number.isFinite(lo) ? hi : (lo + hi) / 2;
  if (clock.quantumMs < 1000) return Math.round(mid / 10) * 10;
  return Math.max(1000, Math.round(mid / 1000) * 1000);
}

/**
 * Fixed or sliding, and the window, from the check. A fixed window is fresh then (remaining = limit − 1)
 * and its next reset is one window after the previous one. A sliding log still holds our later requests;
 * the count left says which one is now the oldest, and the check's reset dates it.
 */
export function windowFromCheck(points: readonly HeaderPoint[], at: ResetCheck, limit: number, clock: ResetClock): WindowFromCheck {
  const { check } = at;
  const q = clock.quantumMs;
  const next = resetInstant(check, clock);
  if (check.remaining >= limit - 1) {
    const bounds = windowResetBounds(points, clock, at.index);
    if (!bounds) return { algorithm: 'fixed-window', windowMs: null };
    // old reset ∈ (lo, min(hi, check)], new reset ∈ (next − q, next] and after the check.
    const oldHi = Math.min(bounds.hi, check.sentAt);
    const lo = Math.max(next - q, check.sentAt) - oldHi;
    const hi = next - bounds.lo;
    return { algorithm: 'fixed-window', windowMs: pickWindowMs(lo, hi, clock) };
  }
  const live = limit - 1 - check.remaining;
  const ownBefore = points.slice(0, at.index).filter((p) => p.accepted);
  const oldestLive = ownBefore[ownBefore.length - live];
  if (!oldestLive) return { algorithm: 'sliding-window', windowMs: null };
  const expired = ownBefore[ownBefore.length - live - 1];
  // W ∈ (check − oldestLive, check − expired], and the check's reset is oldestLive + W.
  let lo = Math.max(check.sentAt - oldestLive.sentAt, next - q - oldestLive.sentAt);
  let hi = Math.min(expired ? check.sentAt - expired.sentAt : Infinity, next - oldestLive.sentAt);
  // The first request, alone in the log, dated the window too: its reset was itself + W.
  const firstPoint = points[0] as HeaderPoint;
  if (firstPoint.accepted && firstPoint.remaining === limit - 1) {
    const firstReset = resetInstant(firstPoint, clock);
    lo = Math.max(lo, firstReset - q - firstPoint.sentAt);
    hi = Math.min(hi, firstReset - firstPoint.sentAt);
  }
  if (hi < lo) [lo, hi] = [hi, lo];
  return { algorithm: 'sliding-window', windowMs: pickWindowMs(lo, hi, clock) };
}
