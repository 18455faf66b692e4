// Why the estimators said what they said, as data: one code per kind of finding, with the numbers its
// sentence needs (raw, in ms or per second; rounding is the renderer's). src/render/probe-explain.ts is
// the only place that turns these into words. Types only.
/** Why sending stopped, when it stopped before the estimate was complete. */
export type StopCause = 'budget' | 'duration' | 'interrupted' | 'errors' | 'refusals' | 'penalty' | 'quota-share' | null;

/** A header's own figure, quoted beside a measured one: "(the NAME header says LIMIT)". */
export interface StatedLimit {
  name: string;
  limit: number;
}

/** Why the first bursts of a window probe got a different count from the limit. */
export type FirstBurstNote =
  /** The second burst got more than the stated limit: it ran through a window boundary. */
  | { code: 'second-straddled'; got: number; stated: number }
  /** The first burst got fewer: the window had begun before the probe, or others used part of it. */
  | { code: 'began-earlier'; got: number }
  /** The first burst got more: it ran through a window boundary. */
  | { code: 'first-straddled'; got: number };

/** How allowance came back in a window timed from two recoveries (see windowTiming). */
export type WindowReturn =
  /** One window after the first accepted request: sliding, or a fixed window that began with the probe. */
  | 'ambiguous'
  /** One request at a time (a request right after the second recovery was refused). */
  | 'one-at-a-time'
  /** All at once at boundaries, and a request right after the second recovery was accepted too. */
  | 'all-at-once-confirmed'
  | 'all-at-once';

/** A recovery timed only loosely: the window lies in [loMs, hiMs]; `hinted` when retests obeyed the server's hints. */
export interface LooseTiming {
  loMs: number;
  hiMs: number;
  hinted: boolean;
}

/**
 * Both recoveries came where a round window predicted them (round-windows.ts): `family` 'clock' at the
 * clock's whole multiples of the window, 'first-request' one window after the request that began it (or
 * a sliding log's oldest entry), null when both fit.
 */
export interface RoundWindowNote {
  windowMs: number;
  family: 'clock' | 'first-request' | null;
}

export type RateReason =
  /** Nothing accepted or rate limited. */
  | { code: 'nothing-counted'; stop: StopCause }
  /** A header states limit and window; `seen` is what its series showed of the algorithm. */
  | { code: 'stated-window'; header: string; limit: number; windowMs: number; seen: 'token-bucket' | 'window' | null; burst: number | null }
  /** A request just after the reset found all (fixed) or only the oldest (sliding) allowance back. */
  | { code: 'reset-check'; header: string; limit: number; algorithm: 'fixed-window' | 'sliding-window'; windowMs: number }
  /** The reset moved 1/ρ later per request: a token bucket. */
  | { code: 'reset-drift'; header: string; limit: number; ratePerSecond: number; capacity: number | null }
  /** A window by its header series, but no request went out after its reset. */
  | { code: 'window-untimed'; header: string; limit: number; stop: StopCause }
  /** Every request found all but one left, full again after the same time: a bucket faster than the pace. */
  | { code: 'outpaced-bucket'; header: string; limit: number; fullAfterSeconds: number; ratePerSecond: number; paceRpm: number; higherRpm: number }
  /** The allowance was back in full before every request: the pace is below the limit. */
  | { code: 'outpaced'; header: string; limit: number; count: number; paceRpm: number; higherRpm: number }
  /**
   * No 429 at all: every figure is a lower bound. `stated`: a header's limit that was never reached.
   * `heldInFlight`: a concurrency gate held the sends to that many in flight (a higher --rpm cannot help).
   */
  | { code: 'never-limited'; accepted: number; spanMs: number; perMinute: number | null; stop: StopCause; stated: StatedLimit | null; paceRpm: number; suggestedRpm: number; heldInFlight: number | null }
  /** A 429, and no retest succeeded. */
  | { code: 'no-recovery'; accepted: number; header: StatedLimit | null; waitedMs: number; stop: StopCause }
  /** A recovery, and the next burst was never limited. */
  | { code: 'not-limited-again'; accepted: number; recoveredAfterMs: number; stop: StopCause }
  /** A window's limit from a burst, but the second recovery did not come. `sharedWith`: a larger stated limit. */
  | { code: 'window-second-recovery-missing'; limit: number; header: StatedLimit | null; firstBurst: FirstBurstNote | null; waitedMs: number; stop: StopCause; sharedWith: number | null }
  /** A window timed from two recoveries. */
  | { code: 'window-from-cycles'; limit: number; windowMs: number; header: StatedLimit | null; firstBurst: FirstBurstNote | null; returned: WindowReturn; loose: LooseTiming | null; sharedWith: number | null; round: RoundWindowNote | null }
  /**
   * Every answer fits a sliding window that counts refused requests too, and none fits one that counts
   * only accepted ones (a penalty box): `limit` per a window in [loMs, hiMs]; `timed` when that range is
   * narrow enough (±15 %) to state the rate; `fixedFitsToo` when a fixed window fits as well (then
   * neither is stated).
   */
  | { code: 'refusals-count'; limit: number; loMs: number; hiMs: number; timed: boolean; fixedFitsToo: boolean; header: StatedLimit | null }
  /**
   * A fixed window whose first refusal costs a block (refusals-count.ts BlockFit), and no ordinary reading
   * fits: `restart`, each refusal restarts the window (retries push the recovery later); `block`, a block
   * of (blockLoMs, blockHiMs] longer than the window. `limit` per a window in [loMs, hiMs]; `timed` when
   * that range is narrow enough (±15 %) to state the sustainable rate.
   */
  | { code: 'block-after-limit'; model: 'restart' | 'block'; limit: number; loMs: number; hiMs: number; blockLoMs: number | null; blockHiMs: number | null; timed: boolean; header: StatedLimit | null; stop: StopCause }
  /** A token bucket whose refill was not seen often enough to time. */
  | { code: 'bucket-untimed'; header: StatedLimit | null; stop: StopCause }
  /**
   * Answers waited in a queue and came back evenly, one every `spacingMs` (delay-queue.ts): a limiter that
   * delays rather than refuses. `counted`: what counting accepted requests by send time had said instead.
   */
  | { code: 'delay-queue'; perMinute: number; spacingMs: number; held: number; depth: number; baseMs: number; counted: { perMinute: number | null; bound: 'exact' | 'approx' | 'at-least' | 'unknown' } }
  /** A token bucket timed from the refills after the first 429; `complete` when the refill was timed on a long enough span. */
  | { code: 'bucket-from-cycles'; perMinute: number; ratePerSecond: number; capacity: number | null; header: StatedLimit | null; complete: boolean; stop: StopCause };

/** Why a batch's 429s were the rate limit's. */
export type RateRefusalEvidence = 'exhausted-policy' | 'lone-refused';

export type ConcurrencyReason =
  /** Not tested; `why` is the probe's own note (from the strategy). */
  | { code: 'skipped'; why: string }
  /** A batch got `accepted` successes and a lone request right after succeeded: the gate. */
  | { code: 'gate'; size: number; accepted: number }
  /**
   * The rate part saw `inFlight` in flight all accepted and one more refused while the rate limit had room
   * (rateGateEvidence). `batch`: what the concurrency batches said, when they could not say it themselves
   * (null: no batch was sent; `why`: why the batches stopped short).
   */
  | { code: 'rate-part-gate'; inFlight: number; batch: { size: number; accepted: number; late: boolean } | null; why: string | null }
  /**
   * A batch got `accepted` successes and a lone retry succeeded, but the lone went out `lateMs` after the
   * batch, long enough for the rate limit to give one back (every `refillMs`): its 429s may have been the rate limit's.
   */
  | { code: 'late-lone'; size: number; accepted: number; lateMs: number; refillMs: number; fine: number }
  /** The batch's 429s were the rate limit's; `fine` batches of that many fully passed. */
  | { code: 'rate-refused'; size: number; evidence: RateRefusalEvidence; fine: number }
  /** A batch failed with errors other than 429. */
  | { code: 'errors'; size: number; accepted: number; fine: number }
  /** 429s in a batch, but no lone retry told the gate from the rate limit. `stopped`: the probe's note. */
  | { code: 'unconfirmed'; size: number; accepted: number; stopped: string | null }
  /**
   * Every batch fully passed. `reachedCap`: the largest --max-concurrency allows was sent. `fastMs`: the
   * slowest answer of the last batch when it was so fast that the requests may not have overlapped.
   */
  | { code: 'all-accepted'; count: number; reachedCap: boolean; stopped: string | null; fastMs: number | null };

/** `remaining` fell by more than our own requests between two answers: someone else spends the same allowance. */
export interface ForeignUsage {
  drop: number;
  fromSeq: number;
  toSeq: number;
  own: number;
}
