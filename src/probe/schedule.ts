// Open-loop send times and the hard rate cap. Pure: callers pass every time in epoch ms.

export const MINUTE_MS = 60_000;

/** The pace interval for a send rate: 60 000 / rpm ms. */
export function paceIntervalMs(rpm: number): number {
  if (!(rpm > 0) || !Number.isFinite(rpm)) throw new RangeError(`rpm must be a positive number, got ${rpm}`);
  return MINUTE_MS / rpm;
}

/**
 * Absolute send times `start + i·60000/rpm`, i = 0…count−1. Absolute (not "previous + interval"),
 * so a late send never delays the ones after it: the schedule is open loop.
 */
export function schedulePacedSends({ start, rpm, count }: { start: number; rpm: number; count: number }): number[] {
  paceIntervalMs(rpm);
  // i·60000/rpm rather than i·(60000/rpm): the rounding of the interval would otherwise put slot rpm
  // a hair under 60 s after slot 0, i.e. rpm + 1 sends in one minute.
  return Array.from({ length: Math.max(0, Math.floor(count)) }, (_, i) => start + (i * MINUTE_MS) / rpm);
}

/**
 * Guarantees no more than `rpm` sends in any 60-s window, counting every send (probes, retests,
 * batches, lone retries). Send times are recorded as they happen; `earliest()` says when a group of
 * sends may go out. A window is half-open, and a 1-ms guard absorbs the clock's millisecond rounding.
 */
export class RateCap {
  private readonly sends: number[] = [];

  constructor(
    readonly rpm: number,
    readonly windowMs: number = MINUTE_MS,
    private readonly guardMs: number = 1,
  ) {
    if (!Number.isInteger(rpm) || rpm < 1) throw new RangeError(`rpm must be a positive integer, got ${rpm}`);
  }

  /** How many sends this cap has recorded. */
  get count(): number {
    return this.sends.length;
  }

  /** Send times so far, oldest first. */
  get history(): readonly number[] {
    return this.sends;
  }

  /** Sends recorded in the window of length windowMs that ends at `at` (inclusive). */
  inWindowEndingAt(at: number): number {
    const from = at - this.windowMs - this.guardMs;
    let n = 0;
    for (let i = this.sends.length - 1; i >= 0; i--) {
      const t = this.sends[i] as number;
      if (t <= from) break;
      if (t <= at) n++;
    }
    return n;
  }

  /**
   * The earliest time ≥ `at` at which `count` more sends may go out together; null if `count` alone is
   * more than the cap allows (a batch larger than rpm can never be sent).
   */
  earliest(at: number, count = 1): number | null {
    if (count > this.rpm) return null;
    if (count <= 0) return at;
    // Sends at or after `at` (none, in practice: time moves forward) all count against the new group.
    const relevant = this.sends.filter((t) => t > at - this.windowMs - this.guardMs);
    const excess = relevant.length + count - this.rpm;
    if (excess <= 0) return at;
    // The `excess` oldest relevant sends must leave the window first.
    const leaving = relevant[excess - 1] as number;
    return Math.max(at, leaving + this.windowMs + this.guardMs);
  }

  /** Would `count` sends at `at` respect the cap? */
  allows(at: number, count = 1): boolean {
    return this.earliest(at, count) === at;
  }

  record(at: number, count = 1): void {
    for (let i = 0; i < count; i++) {
      // Kept sorted: a recorded time is never earlier than the ones before it in practice, but be safe.
      let index = this.sends.length;
      while (index > 0 && (this.sends[index - 1] as number) > at) index--;
      this.sends.splice(index, 0, at);
    }
  }
}

/**
 * The largest number of sends found in any window [t, t + windowMs) over a list of times (for tests and
 * checks). Times a floating-point hair (1e-6 ms) short of a window apart count as a window apart.
 */
export function maxInAnyWindow(times: readonly number[], windowMs: number = MINUTE_MS): number {
  const sorted = [...times].sort((a, b) => a - b);
  let best = 0;
  let lo = 0;
  for (let hi = 0; hi < sorted.length; hi++) {
    while ((sorted[hi] as number) - (sorted[lo] as number) >= windowMs - 1e-6) lo++;
    best = Math.max(best, hi - lo + 1);
  }
  return best;
}
