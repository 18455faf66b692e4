// Window timing from two recoveries: fixed or sliding, and how long, from when allowance came back after
// burst 1 and after burst 2, and from the request sent right after the second recovery.
import { firstOf, type Cycles, type Recovery } from './cycles.js';
import { jitterToleranceMs } from './header-series.js';

/**
 * Fixed or sliding, and the window, from the two recoveries. A sliding log recovers one window after its
 * oldest entry: the first accepted request of burst 1, then the first of burst 2 (the one that recovered),
 * so each bracket bounds W on its own. A fixed window recovers at boundaries one window apart, somewhere
 * in each bracket. The request sent just after the second recovery settles which: refused, the allowance
 * came back one request at a time (a fixed window never refuses right after its boundary); accepted after
 * a pause in burst 2 longer than the recovery's bracket, it came back all at once. Without that answer the
 * log is taken as sliding when the two bounds genuinely overlap (the retest ladders repeat, so a fixed
 * window lands on neighbouring rungs that merely touch) — a fixed window that began with the probe looks
 * the same.
 */
export function windowTiming(
  cycles: Cycles,
  recovery1: Recovery,
  recovery2: Recovery,
  intervalMs = 0,
): { algorithm: 'fixed-window' | 'sliding-window' | 'unknown'; windowMs: number; loMs: number; hiMs: number; settled: boolean } {
  const fixedMs = recovery2.mid - recovery1.mid;
  // A fixed window's boundaries lie somewhere in each bracket.
  const fixed = { windowMs: fixedMs, loMs: recovery2.lastFail - recovery1.firstOk, hiMs: recovery2.firstOk - recovery1.lastFail };
  const evidence = afterSecondRecovery(cycles, intervalMs);
  if (evidence === 'fixed') return { algorithm: 'fixed-window', ...fixed, settled: true };
  const s1 = firstOf(cycles.burst1);
  // The recovering request itself (a bracket narrowed by reset values may end before it was sent).
  const x1 = firstOf(cycles.burst2)?.sentAt ?? recovery1.firstOk;
  const lo2 = recovery2.lastFail - x1;
  const hi2 = recovery2.firstOk - x1;
  const lo1 = s1 ? recovery1.lastFail - s1.sentAt : -Infinity;
  const hi1 = s1 ? recovery1.firstOk - s1.sentAt : Infinity;
  const overlap = Math.min(hi1, hi2) - Math.max(lo1, lo2);
  if (evidence === 'sliding') {
    // Burst 2's own first request dates the log exactly; burst 1's only without older entries.
    const [loMs, hiMs] = overlap >= 0 ? [Math.max(lo1, lo2), Math.min(hi1, hi2)] : [lo2, hi2];
    return { algorithm: 'sliding-window', windowMs: (hiMs + loMs) / 2, loMs, hiMs, settled: true };
  }
  if (!s1) return { algorithm: 'unknown', ...fixed, settled: false };
  if (overlap >= 0.25 * Math.min(hi1 - lo1, hi2 - lo2)) {
    // Both readings fit: a sliding window, or a fixed one that began with the probe. Not guessed: unknown,
    // and the window between the two readings, with a range that holds both.
    const loMs = Math.max(lo1, lo2);
    const hiMs = Math.min(hi1, hi2);
    return { algorithm: 'unknown', windowMs: ((hiMs + loMs) / 2 + fixed.windowMs) / 2, loMs: Math.min(loMs, fixed.loMs), hiMs: Math.max(hiMs, fixed.hiMs), settled: false };
  }
  return { algorithm: 'fixed-window', ...fixed, settled: false };
}

/**
 * The latest send time at which a sliding log must still refuse a request made after the second recovery:
 * burst 2's second request stays in the log until it + W, and W > lastFail2 − x1 (the log still held x1
 * when lastFail2 was refused), less a tolerance for when the server decided. A fixed window accepts
 * anything then (its whole allowance is back). Null without a pause in burst 2 to make that gap.
 */
export function slidingRefusalDeadline(cycles: Cycles, intervalMs: number): number | null {
  const [x1, next] = cycles.burst2 ?? [];
  const lastFail2 = cycles.limited2?.at(-1);
  if (!x1 || !next || !lastFail2) return null;
  return next.sentAt + (lastFail2.sentAt - x1.sentAt) - jitterToleranceMs(intervalMs);
}

/** What the request right after the second recovery said about fixed or sliding (see windowTiming). */
function afterSecondRecovery(cycles: Cycles, intervalMs: number): 'fixed' | 'sliding' | null {
  const burst3 = cycles.burst3;
  if (!burst3) return null;
  // A fixed window never refuses right after its boundary: the whole allowance is back.
  if (burst3.length === 1 && cycles.limited3) return 'sliding';
  const deadline = slidingRefusalDeadline(cycles, intervalMs);
  const after = burst3[1];
  return after && deadline !== null && after.sentAt < deadline ? 'fixed' : null;
}
