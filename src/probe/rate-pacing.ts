// The rate phase's pacing: where each rate-part send sits on the plan and when it may really go out.
// Bursts run on a grid (slot i at origin + i·60 000/rpm, so late sends never make it drift); any slot is
// at least one interval after the last one's, plus the time that one waited for a new connection; and
// no send goes out less than one interval after the last one really went out (our own lateness is never
// caught up on: CATCH_UP_MS is 0). The first request goes alone (pre-flight). rate-phase.ts decides what
// to send; this says where and when. Pure and clock-free: every time is given in epoch ms.
import { isRatePurpose, type SendAction, type SentEntry } from './ledger.js';

/**
 * How much of a rate-phase send's own lateness (timer jitter, a busy event loop, the HTTP client's write)
 * the next send may catch up: none. No two rate-phase sends go out closer than 60 000/rpm ms (issue #12:
 * a limiter such as nginx's limit_req without burst refuses a request that comes early by a millisecond).
 * The cost: every send inherits the lateness of the ones before it, so the rate falls a little short of
 * --rpm (0.97 of 6000 rpm at load 3 in the bench; 37 ms behind the grid after 40 sends at 600 rpm), and
 * the pacing figures show that lateness. Short of the rate is safe; over it is not.
 */
export const CATCH_UP_MS = 0;

/**
 * The first request goes alone: its headers may answer the rate question (IETF `w`) before a second one is
 * spent. The rest of burst 1 waits for its answer, but never longer than this many pace intervals (and
 * PREFLIGHT_MAX_MS), so a slow server still gets an open-loop burst.
 */
const PREFLIGHT_INTERVALS = 3;
const PREFLIGHT_MAX_MS = 1000;

export class RatePacer {
  /** The slot of the last rate-phase send: bursts continue one pace interval after it. */
  private last: number | null = null;
  /** Rate-phase requests sent, and the seq of the latest (seqs grow with each send). */
  private count = 0;
  private latestSeq = 0;
  /** The last rate-phase send to go out: its slot, when it was handed over and really went out, and how. */
  private lastOut: { slot: number; handedAt: number; at: number; newConnection: boolean } | null = null;
  /** The current burst's grid: slot i at origin + i·60000/rpm (no rounding drift), `sends` slots used. */
  private grid: { origin: number; sends: number } | null = null;

  constructor(
    /** The first paced slot (moved by the coordinator's startAt before anything is sent). */
    public start: number,
    private readonly intervalMs: number,
    private readonly rpm: number,
  ) {}

  /** The slot of the last rate-phase send decision, null before the first. */
  get lastSlot(): number | null {
    return this.last;
  }

  /** Rate-phase requests handed over so far. */
  get sends(): number {
    return this.count;
  }

  /** The seq of the latest rate-phase request (0 before the first). */
  get lastSeq(): number {
    return this.latestSeq;
  }

  /** The slot a rate-phase send handed over now belongs to (the last dispatched one). */
  slotOf(scheduledAt: number): number {
    return this.last ?? scheduledAt;
  }

  /** A rate-phase request was handed over under `seq`. */
  onSent(seq: number): void {
    this.count += 1;
    this.latestSeq = seq;
  }

  /** A send went out at `at`: a rate-phase one is what the next one is spaced from. */
  onWentOut(entry: SentEntry, at: number): void {
    if (isRatePurpose(entry.purpose) && (this.lastOut === null || at >= this.lastOut.at)) {
      this.lastOut = { slot: entry.slot, handedAt: entry.handedAt, at, newConnection: entry.newConnection };
    }
  }

  /** A rate-phase send decision is about to go out: its slot is the last one, a burst's on its grid. */
  onDispatch(action: SendAction): void {
    // The slot, not the (possibly pushed) send time: a send that went out a little late must not
    // start a new grid, or every small lateness would shift all later slots (drift).
    const slot = action.slot ?? action.at;
    if (action.purpose === 'burst') {
      if (this.grid && slot === this.gridSlot(this.grid.sends)) this.grid.sends += 1;
      else this.grid = { origin: slot, sends: 1 };
    }
    this.last = slot;
  }

  /**
   * The next paced burst slot: one interval after the previous rate send's slot (the first at the start),
   * so the grid never drifts with late sends, and open loop: whatever is still in flight.
   */
  nextBurstSlot(now: number): number {
    // Within a running burst a slot already past (this process was late) is still the slot: it goes out
    // at once and the pacing figures show the lateness. A burst that begins (first send, or after a retest
    // whose answer took its time) begins now.
    // A held pre-flight's answer may come after slot 1: then burst 1 goes on from when it came, not late on
    // its old grid.
    const heldPreflight = this.grid?.sends === 1 && now > this.gridSlot(1) && this.count === 1;
    if (this.grid && !heldPreflight && this.last !== null && this.gridSlot(this.grid.sends - 1) === this.last) {
      return this.gridSlot(this.grid.sends);
    }
    // A burst that begins, begins when the previous send allows: a later start is its plan, not lateness.
    const next = this.last === null ? this.start : this.last + this.intervalMs;
    return Math.max(next, now, this.spacingFloor());
  }

  /**
   * Where a send planned for `planned` sits: its slot (a slot closer than one interval to the last one's
   * is no slot: it moves, as its plan, not as lateness; within a microsecond it stays put, so float
   * rounding does not restart a burst's grid), and the earliest instant it may go out (spacingFloor).
   */
  place(planned: number): { slot: number; at: number } {
    const slotFloor = this.slotFloor();
    const slot = slotFloor > planned + 1e-3 ? slotFloor : planned;
    return { slot, at: Math.max(slot, this.spacingFloor()) };
  }

  /** While the first (pre-flight) request is unanswered, and not for longer than its bounded wait: until when to wait for it. */
  preflightUntil(answered: number, now: number): number | null {
    if (answered > 0 || this.last === null || this.count !== 1) return null;
    const until = this.last + Math.max(this.intervalMs, Math.min(PREFLIGHT_INTERVALS * this.intervalMs, PREFLIGHT_MAX_MS));
    return now < until ? until : null;
  }

  /**
   * The earliest instant the next rate-phase send may go out: a full interval after the last one really
   * went out if it waited for a new connection, else an interval after it went out less CATCH_UP_MS of
   * this process's own lateness (never before its slot + one interval).
   */
  private spacingFloor(): number {
    const last = this.lastOut;
    if (last === null) return -Infinity;
    if (last.newConnection) return last.at + this.intervalMs;
    const catchUp = Math.min(CATCH_UP_MS, this.intervalMs / 10);
    return Math.max(last.slot, last.at - catchUp) + this.intervalMs;
  }

  /**
   * The earliest slot (the plan, what pacing is measured against) for the next rate-phase send: one
   * interval after the last one's slot, plus the time it waited for a new connection (the network's
   * delay moves the plan; this process's own lateness does not, so pacing counts it).
   */
  private slotFloor(): number {
    const last = this.lastOut;
    if (last === null) return -Infinity;
    return last.slot + (last.newConnection ? last.at - last.handedAt : 0) + this.intervalMs;
  }

  private gridSlot(index: number): number {
    const grid = this.grid as { origin: number };
    return grid.origin + (index * 60_000) / this.rpm;
  }
}
