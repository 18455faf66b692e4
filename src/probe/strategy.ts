// The adaptive probe plan: a state machine fed with sends and observations that decides the next send
// time, batch or stop. Pure and clock-free: `next(now)` is given the time, the runner does the waiting.
//
// Rate part (see estimate-rate.ts for the reading of the answers):
//   burst 1 at the pace until the first 429 (or until headers answer the question)
//   → sparse retests until a success → burst 2 at the pace until a 429
//   → window: sparse retests until the second recovery;  token bucket: a silent gap, then burst 3.
// Concurrency part: batches of 2, 4, 8 … simultaneous requests, each only when the rate allowance
// covers it, and a lone request after a batch with 429s to tell the concurrency gate from the rate limit.
//
// Hard guarantees, whatever the server answers: never more than maxRequests sends, never more than rpm
// sends in any 60 s (RateCap), rate-phase sends at least 60 000/rpm ms apart as they went out (our own
// lateness is never caught up on: CATCH_UP_MS is 0), nothing after maxDuration, and
// no rate-phase send before the latest refusal's Retry-After (or its exhausted policy's reset).
// Sends count from when they really went out (on the wire, after any connection set-up, when the runner
// reports it), not from when they were planned or handed to the HTTP client.
import {
  batchSizes,
  estimateConcurrency,
  judgeBatch,
  skippedConcurrency,
  type ConcurrencyEstimate,
  type ConcurrencyTrial,
} from './estimate-concurrency.js';
import {
  attributeRefusals,
  cyclesSayWindow,
  concurrencyRefusals,
  bySendTime,
  classifyHeaderSeries,
  detectForeignUsage,
  estimateRateLimit,
  findResetCheck,
  headerModeOf,
  headerPoints,
  isAccepted,
  isRateLimited,
  jitterToleranceMs,
  namedCycles,
  nextRetestAt,
  policyResetBinds,
  rateRuns,
  refillRateInterval,
  resetClockOf,
  resetCheckTime,
  retryFloor,
  RETEST_GROWTH,
  selectRatePolicy,
  slidingRefusalDeadline,
  tokenRateInterval,
  windowResetBounds,
  type Observation,
  type RateContext,
  type RateEstimate,
} from './estimate-rate.js';
import { paceIntervalMs, RateCap } from './schedule.js';

/**
 * How much of a rate-phase send's own lateness (timer jitter, a busy event loop, the HTTP client's write)
 * the next send may catch up: none. No two rate-phase sends go out closer than 60 000/rpm ms (issue #12:
 * a limiter such as nginx's limit_req without burst refuses a request that comes early by a millisecond).
 * The cost: every send inherits the lateness of the ones before it, so the rate falls a little short of
 * --rpm (0.97 of 6000 rpm at load 3 in the bench; 37 ms behind the grid after 40 sends at 600 rpm), and
 * the pacing figures show that lateness. Short of the rate is safe; over it is not.
 */
export const CATCH_UP_MS = 0;

export type ConcurrencyMode = 'auto' | 'off' | number;

export interface StrategyConfig {
  /** Epoch ms of the first paced slot. */
  start: number;
  rpm: number;
  maxRequests: number;
  maxDurationMs: number;
  concurrency: ConcurrencyMode;
  maxConcurrency: number;
}

export type SendPurpose = 'burst' | 'retest' | 'check' | 'batch' | 'lone';

export type ProbeAction =
  /** `slot`: the planned instant when `at` was pushed later (our own lateness); pacing is measured against it. */
  | { kind: 'send'; at: number; count: number; purpose: SendPurpose; slot?: number }
  /** Wait for a response, or until `until` (then ask again). */
  | { kind: 'await'; until: number | null }
  | { kind: 'done' };

export type StopReason = 'complete' | 'budget' | 'duration' | 'interrupted' | 'errors' | 'quota';

export interface ProbeResult {
  rate: RateEstimate;
  concurrency: ConcurrencyEstimate;
  warnings: string[];
  stopReason: StopReason;
}

interface SentEntry {
  seq: number;
  /** When it actually went out (what the rate cap counts); when it was handed over while `goingOut`. */
  at: number;
  /** When the runner handed it to the HTTP client. */
  handedAt: number;
  /** The instant it was planned to go out (after any push for the previous send's lateness). */
  scheduledAt: number;
  /** Its slot in the plan (before any such push): what lateness is caught up against. */
  slot: number;
  purpose: SendPurpose;
  /** Index into trials for batch and lone sends. */
  trial: number | null;
  /** Handed to the HTTP client, not yet on the wire (a connection being set up). */
  goingOut: boolean;
  /** It went out on a connection opened for it: it waited for the network, not for this process. */
  newConnection: boolean;
}

/** Consecutive failures (neither accepted nor rate limited) after which sending stops. */
const ERROR_STOP_NO_SUCCESS = 3;
const AUTH_STOP_NO_SUCCESS = 2;
const ERROR_STOP_AFTER_SUCCESS = 5;
const MAX_RESET_CHECKS = 3;
/** Tokens a token bucket may refill during the silent gap, at most: enough for ±10 % on the rate. */
const GAP_TOKENS_MAX = 12;
const MAX_BUCKET_GAPS = 4;
/** Relative width of the refill-rate interval that ends the token-bucket stage (±7.5 % at worst, the middle is used: margin within the ±10 % target). */
const TIGHT_RATE_WIDTH = 0.15;
/** Burst 2's pause after its recovering request, as a share of the time burst 1 took to recover. */
const BURST2_PAUSE = 0.15;
/**
 * The first request goes alone: its headers may answer the rate question (IETF `w`) before a second one is
 * spent. The rest of burst 1 waits for its answer, but never longer than this many pace intervals (and
 * PREFLIGHT_MAX_MS), so a slow server still gets an open-loop burst.
 */
const PREFLIGHT_INTERVALS = 3;
const PREFLIGHT_MAX_MS = 1000;

type RateStep = ProbeAction | 'finished';

interface RateView {
  /** responses.size when computed. */
  size: number;
  raw: Observation[];
  /** raw with concurrency-gate refusals re-attributed (attributeRefusals). */
  obs: Observation[];
  mode: ReturnType<typeof headerModeOf>;
  cycles: ReturnType<typeof namedCycles>;
  resetBinds: boolean | null;
  tight: boolean | null;
  /** retryFloor per cycle kind (it decides whether an exhausted policy's reset binds). */
  floor: Map<string, number | null>;
}

export class ProbeStrategy {
  readonly intervalMs: number;
  readonly cap: RateCap;
  private readonly sent = new Map<number, SentEntry>();
  private readonly responses = new Map<number, Observation>();
  /** Every answer, in send order: kept sorted on insertion (answers mostly come in order, so O(1) each). */
  private readonly sortedObservations: Observation[] = [];
  /** What the rate part derives from its answers, recomputed once per new response (not per decision). */
  private view: RateView | null = null;
  private nextSeq = 1;

  private rateDone = false;
  private rateStopped: RateContext['stoppedBy'] = null;
  private stopReason: StopReason = 'complete';
  /** The slot of the last rate-phase send: bursts continue one pace interval after it. */
  private lastRateSlot: number | null = null;
  /** Rate-phase requests sent, and the seq of the latest (seqs grow with each send). */
  private rateSends = 0;
  private lastRateSeq = 0;
  /** The last rate-phase send to go out: its slot, when it was handed over and really went out, and how. */
  private lastRateOut: { slot: number; handedAt: number; at: number; newConnection: boolean } | null = null;
  /** Sends not yet on the wire: nothing else is planned until they are (their time is not known yet). */
  private goingOut = 0;
  /** The current burst's grid: slot i at origin + i·60000/rpm (no rounding drift), `sends` slots used. */
  private grid: { origin: number; sends: number } | null = null;
  private cycleKind: 'window' | 'bucket' | null = null;
  /** Silent gaps of the token-bucket stage, oldest first. */
  private gaps: Array<{ from: number; until: number }> = [];
  private checks = 0;

  private readonly trials: ConcurrencyTrial[] = [];
  private concurrencyDone = false;
  private concurrencyStopped: string | null = null;
  private concurrencySkipped: string | null = null;

  private start: number;
  /** No send after this: config.start + maxDurationMs, fixed, so a warm-up before the first slot counts. */
  readonly deadline: number;

  constructor(readonly config: StrategyConfig) {
    this.intervalMs = paceIntervalMs(config.rpm);
    this.cap = new RateCap(config.rpm);
    this.start = config.start;
    this.deadline = config.start + config.maxDurationMs;
  }

  /** Moves the first slot to `start` (the deadline stays); only before anything was sent. */
  startAt(start: number): void {
    if (this.sent.size > 0) return;
    this.start = start;
  }

  get startedAt(): number {
    return this.start;
  }

  get sentCount(): number {
    return this.sent.size;
  }

  get pendingCount(): number {
    return this.sent.size - this.responses.size;
  }

  /** Observations so far, in send order (the live list: read it, do not change it). */
  observations(): readonly Observation[] {
    return this.sortedObservations;
  }

  /**
   * Called by the runner for each request as it is handed to the HTTP client (after onDispatch); returns
   * its seq. `awaitWire`: the runner will report when it really goes out (onWire); until then it counts as
   * still going out. Otherwise it went out at `at`.
   */
  onSent(send: { at: number; scheduledAt: number; purpose: SendPurpose; awaitWire?: boolean }): number {
    const seq = this.nextSeq++;
    const trial = send.purpose === 'batch' || send.purpose === 'lone' ? this.trials.length - 1 : null;
    const slot = isRatePurpose(send.purpose) ? this.lastRateSlot ?? send.scheduledAt : send.scheduledAt;
    const entry: SentEntry = { seq, at: send.at, handedAt: send.at, scheduledAt: send.scheduledAt, slot, purpose: send.purpose, trial, goingOut: Boolean(send.awaitWire), newConnection: false };
    this.sent.set(seq, entry);
    if (isRatePurpose(send.purpose)) {
      this.rateSends += 1;
      this.lastRateSeq = seq;
    }
    if (entry.goingOut) this.goingOut += 1;
    else this.wentOut(entry, send.at);
    return seq;
  }

  /**
   * Request `seq` went on the wire at `at`; `newConnection`: on a connection opened for it (it waited for
   * the set-up). True when that is news.
   */
  onWire(seq: number, at: number, newConnection = false): boolean {
    const entry = this.sent.get(seq);
    if (!entry?.goingOut) return false;
    entry.goingOut = false;
    entry.newConnection = newConnection;
    this.goingOut -= 1;
    this.wentOut(entry, Math.max(entry.at, at));
    return true;
  }

  /** From here on the send counts at `at`: for the rate cap and for the spacing of rate-phase sends. */
  private wentOut(entry: SentEntry, at: number): void {
    entry.at = at;
    this.cap.record(at);
    if (isRatePurpose(entry.purpose) && (this.lastRateOut === null || at >= this.lastRateOut.at)) {
      this.lastRateOut = { slot: entry.slot, handedAt: entry.handedAt, at, newConnection: entry.newConnection };
    }
  }

  /**
   * Called once per send decision, just before its requests go out. `next()` only plans (the runner may
   * ask several times while it waits); every change of plan state happens here or in onResponse.
   */
  onDispatch(action: Extract<ProbeAction, { kind: 'send' }>): void {
    if (action.purpose === 'batch') this.trials.push({ size: action.count, responses: [], lone: null });
    if (isRatePurpose(action.purpose)) {
      // The slot, not the (possibly pushed) send time: a send that went out a little late must not
      // start a new grid, or every small lateness would shift all later slots (drift).
      const slot = action.slot ?? action.at;
      if (action.purpose === 'burst') {
        if (this.grid && slot === this.gridSlot(this.grid.sends)) this.grid.sends += 1;
        else this.grid = { origin: slot, sends: 1 };
      }
      this.lastRateSlot = slot;
      if (action.purpose === 'check') this.checks += 1;
    }
  }

  onResponse(observation: Observation): void {
    const entry = this.sent.get(observation.seq);
    if (!entry || this.responses.has(observation.seq)) return;
    // An answer without a report of going out: if the server answered, the request reached it by then at
    // the latest (counted then, as if it had waited for a connection, to be safe); if nothing came back,
    // it most likely never left.
    if (entry.goingOut) this.onWire(observation.seq, observation.status !== null ? observation.receivedAt : entry.at, observation.status !== null);
    this.responses.set(observation.seq, observation);
    let i = this.sortedObservations.length;
    while (i > 0 && bySendTime(this.sortedObservations[i - 1] as Observation, observation) > 0) i--;
    this.sortedObservations.splice(i, 0, observation);
    if (entry.trial !== null) {
      const trial = this.trials[entry.trial];
      if (trial && entry.purpose === 'batch') trial.responses.push(observation);
      if (trial && entry.purpose === 'lone') trial.lone = observation;
    }
  }

  /** Stop everything now (Ctrl-C). */
  interrupt(): void {
    if (!this.rateDone) this.finishRate('interrupted');
    if (!this.concurrencyDone) this.finishConcurrency('the probe was interrupted');
    this.stopReason = 'interrupted';
  }

  next(now: number): ProbeAction {
    // When a send still on its way out goes out is not known: every later send is timed from it.
    if (this.goingOut > 0) return { kind: 'await', until: null };
    if (!this.rateDone) {
      const step = this.rateStep(now);
      if (step !== 'finished') return step;
    }
    if (!this.concurrencyDone) {
      const step = this.concurrencyStep(now);
      if (step !== 'finished') return step;
    }
    return { kind: 'done' };
  }

  result(): ProbeResult {
    const all = this.observations();
    const rateObs = all.filter((o) => isRatePurpose(this.sent.get(o.seq)?.purpose));
    const rate = estimateRateLimit(rateObs, { intervalMs: this.intervalMs, stoppedBy: this.rateStopped });
    rate.requests = this.rateSends;
    const cap = this.concurrencyCap();
    const concurrency = this.concurrencySkipped !== null
      ? skippedConcurrency(this.concurrencySkipped, this.trials)
      : estimateConcurrency(this.trials, cap, this.concurrencyStopped);
    concurrency.requests = [...this.sent.values()].filter((e) => !isRatePurpose(e.purpose)).length;
    const warnings = detectForeignUsage(rateObs);
    const gated = concurrencyRefusals(rateObs);
    if (gated > 0) {
      warnings.push(`${gated} 429${gated === 1 ? '' : 's'} during the rate part came from too many requests in flight (a concurrency limit), not the rate limit, and ${gated === 1 ? 'was' : 'were'} left out of the rate estimate; a lower --rpm keeps fewer requests in flight.`);
    }
    return { rate, concurrency, warnings, stopReason: this.stopReason };
  }

  // ------------------------------------------------------------------ guards

  /** A send `count` at ≥ `at`, within budget, rate cap and deadline; null when none of those allow it. */
  private guardedSend(at: number, count: number, purpose: SendPurpose): Extract<ProbeAction, { kind: 'send' }> | 'budget' | 'duration' {
    if (this.sent.size + count > this.config.maxRequests) return 'budget';
    const allowed = this.cap.earliest(at, count);
    if (allowed === null) return 'budget';
    if (allowed > this.deadline) return 'duration';
    return { kind: 'send', at: allowed, count, purpose };
  }

  private pendingOf(filter: (e: SentEntry) => boolean): number {
    let n = 0;
    for (const entry of this.sent.values()) if (filter(entry) && !this.responses.has(entry.seq)) n++;
    return n;
  }

  // ------------------------------------------------------------------ rate part

  private finishRate(stoppedBy: RateContext['stoppedBy']): void {
    this.rateDone = true;
    this.rateStopped = stoppedBy;
    if (stoppedBy && this.stopReason === 'complete') this.stopReason = stoppedBy;
  }

  private ratePending(): number {
    return this.pendingOf((e) => isRatePurpose(e.purpose));
  }

  /** Wait for in-flight rate sends, then finish the rate part. */
  private finishWhenSettled(stoppedBy: RateContext['stoppedBy']): RateStep {
    if (this.ratePending() > 0) return { kind: 'await', until: null };
    this.finishRate(stoppedBy);
    return 'finished';
  }

  /**
   * Turn a guarded send into a step, finishing the rate part when budget or time ran out. One interval
   * after the previous rate send actually went out (spacingFloor), a full one if that send waited for a new
   * connection, less at most CATCH_UP_MS of this process's own lateness otherwise: catching up on a stall
   * or on a slow connection would hand the server two requests at once, faster than --rpm, and skew the
   * estimate. Slow answers never delay a send; only the lateness of our own sends shifts the schedule.
   */
  private rateSend(planned: number, purpose: SendPurpose): RateStep {
    // The server's word first: nothing before the latest refusal's Retry-After (or its exhausted
    // policy's reset). A retest before it is a certain 429, spent budget and a rude client. The slot
    // itself moves (it is the plan, not our lateness), so pacing figures do not count the wait.
    const floor = this.retryFloor();
    // A slot closer than one interval to the last one's is no slot: it moves too (its plan, not lateness).
    // Within a microsecond it stays put: float rounding must not restart a burst's grid.
    const base = floor !== null && floor > planned ? floor : planned;
    const slotFloor = this.slotFloor();
    const slot = slotFloor > base + 1e-3 ? slotFloor : base;
    const at = Math.max(slot, this.spacingFloor());
    const action = this.guardedSend(at, 1, purpose);
    if (typeof action !== 'string') return action.at > slot ? { ...action, slot } : action;
    return this.finishWhenSettled(action === 'budget' ? 'budget' : 'duration');
  }

  /**
   * The next paced slot: one interval after the previous rate send's slot (the first at the start), so
   * the grid never drifts with late sends, and open loop: whatever is still in flight.
   */
  private burstSend(now: number): RateStep {
    // Within a running burst a slot already past (this process was late) is still the slot: it goes out
    // at once and the pacing figures show the lateness. A burst that begins (first send, or after a retest
    // whose answer took its time) begins now.
    // A held pre-flight's answer may come after slot 1: then burst 1 goes on from when it came, not late on
    // its old grid.
    const heldPreflight = this.grid?.sends === 1 && now > this.gridSlot(1) && this.rateSends === 1;
    if (this.grid && !heldPreflight && this.lastRateSlot !== null && this.gridSlot(this.grid.sends - 1) === this.lastRateSlot) {
      return this.rateSend(this.gridSlot(this.grid.sends), 'burst');
    }
    // A burst that begins, begins when the previous send allows: a later start is its plan, not lateness.
    const next = this.lastRateSlot === null ? this.start : this.lastRateSlot + this.intervalMs;
    return this.rateSend(Math.max(next, now, this.spacingFloor()), 'burst');
  }

  /**
   * The earliest instant the next rate-phase send may go out: a full interval after the last one really
   * went out if it waited for a new connection, else an interval after it went out less CATCH_UP_MS of
   * this process's own lateness (never before its slot + one interval).
   */
  private spacingFloor(): number {
    const last = this.lastRateOut;
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
    const last = this.lastRateOut;
    if (last === null) return -Infinity;
    return last.slot + (last.newConnection ? last.at - last.handedAt : 0) + this.intervalMs;
  }

  /** While the first (pre-flight) request is unanswered, and not for longer than its bounded wait: wait for it. */
  private preflightWait(answered: number, now: number): RateStep | null {
    if (answered > 0 || this.lastRateSlot === null || this.rateSends !== 1) return null;
    const until = this.lastRateSlot + Math.max(this.intervalMs, Math.min(PREFLIGHT_INTERVALS * this.intervalMs, PREFLIGHT_MAX_MS));
    return now < until ? { kind: 'await', until } : null;
  }

  /** The rate part's answers and what follows from them, memoised per response count. */
  private rateView(): RateView {
    if (this.view?.size !== this.responses.size) {
      const raw = this.observations().filter((o) => isRatePurpose(this.sent.get(o.seq)?.purpose));
      const obs = attributeRefusals(raw);
      this.view = { size: this.responses.size, raw, obs, mode: headerModeOf(obs), cycles: namedCycles(rateRuns(obs)), resetBinds: null, tight: null, floor: new Map() };
    }
    return this.view;
  }

  /** refillRateIsTight on the current answers, once per response (its reset-pair bounds are quadratic). */
  private refillTight(): boolean {
    const view = this.rateView();
    view.tight ??= refillRateIsTight(view.obs, this.intervalMs);
    return view.tight;
  }

  /** The earliest instant the latest rate-phase refusals allow (see retryFloor), or null. */
  private retryFloor(): number | null {
    const view = this.rateView();
    const key = this.cycleKind ?? 'unknown';
    if (!view.floor.has(key)) {
      // A token bucket's reset is the time until full: it binds nothing once the bucket is known.
      view.resetBinds ??= policyResetBinds(view.obs, this.intervalMs);
      view.floor.set(key, retryFloor(view.raw, this.cycleKind !== 'bucket' && view.resetBinds));
    }
    return view.floor.get(key) as number | null;
  }

  private gridSlot(index: number): number {
    const grid = this.grid as { origin: number };
    return grid.origin + (index * 60_000) / this.config.rpm;
  }

  private ratePendingOf(purpose: SendPurpose): number {
    return this.pendingOf((e) => e.purpose === purpose);
  }

  private rateStep(now: number): RateStep {
    const { raw, obs, mode, cycles } = this.rateView();
    if (this.errorStop(raw)) return this.finishWhenSettled('errors');
    // Limit and window in the headers (IETF `w`): nothing left to measure, whatever the status.
    if (mode.kind === 'exact') return this.finishWhenSettled(null);

    if (!cycles.limited1) {
      const headerStep = this.headerStep(obs, mode, now);
      if (headerStep !== null) return headerStep;
      // Not limited yet: leave the concurrency test its share of the budget. Once limited, the rate
      // estimate comes first and may use all of it.
      if (this.sent.size >= this.config.maxRequests - this.concurrencyReserve()) return this.finishWhenSettled('budget');
      const preflight = this.preflightWait(raw.length, now);
      if (preflight !== null) return preflight;
      return this.burstSend(now);
    }
    return this.cycleStep(obs, now);
  }

  /** Stops on a dead server, a rejected key, or a spent daily quota. */
  private errorStop(obs: readonly Observation[]): 'errors' | 'quota' | null {
    if (obs.some((o) => o.outcome === 'quota_exceeded')) {
      this.stopReason = 'quota';
      return 'quota';
    }
    const useful = obs.some((o) => isAccepted(o) || isRateLimited(o));
    let trailing = 0;
    let auth = 0;
    for (let i = obs.length - 1; i >= 0; i--) {
      const o = obs[i] as Observation;
      if (isAccepted(o) || isRateLimited(o)) break;
      trailing++;
      if (o.outcome === 'auth_error') auth++;
    }
    if (!useful && auth >= AUTH_STOP_NO_SUCCESS && auth === trailing) return 'errors';
    if (trailing >= (useful ? ERROR_STOP_AFTER_SUCCESS : ERROR_STOP_NO_SUCCESS)) return 'errors';
    return null;
  }

  /** Before the first 429: headers may answer the rate question without reaching the limit. Null: keep bursting. */
  private headerStep(obs: readonly Observation[], mode: ReturnType<typeof headerModeOf>, now: number): RateStep | null {
    if (mode.kind !== 'series') return null;
    const points = headerPoints(obs, mode.policy);
    const clock = resetClockOf(points);
    if (findResetCheck(points, clock, this.intervalMs)) return this.finishWhenSettled(null);
    const kind = this.checks > 0 ? 'window' : classifyHeaderSeries(points, mode.limit, clock, this.intervalMs);
    if (kind === 'undecided') return null;
    if (kind === 'outpaced') return this.finishWhenSettled(null);
    if (kind === 'token-bucket') {
      // Millisecond resets time the refill exactly; whole-second ones need the behaviour (cycles).
      return clock.quantumMs === 0 ? this.finishWhenSettled(null) : null;
    }
    // A window: one request just after the reset instant tells fixed from sliding and gives the length.
    if (this.ratePending() > 0) return { kind: 'await', until: null };
    if (this.checks >= MAX_RESET_CHECKS) {
      this.finishRate(null);
      return 'finished';
    }
    const bounds = windowResetBounds(points, clock);
    if (!bounds) return null;
    // Just after the reset, well within one pace interval of it (a sliding log must still hold our later
    // requests), and a pause after the burst so the check reads as one.
    const margin = Math.min(this.intervalMs / 4, 2 * jitterToleranceMs(this.intervalMs));
    const paused = (this.lastRateSlot ?? now) + 1.5 * this.intervalMs;
    const at = Math.max(resetCheckTime(bounds, margin), now, paused);
    return this.rateSend(at, 'check');
  }

  /**
   * The cycles, by explicit stage rather than by the shape of the answers: with slow answers an open-loop
   * burst overshoots its first 429, and a token bucket then answers ok/429/ok…, which must not be taken
   * for the later stages. Each stage ends on an answer to a request sent within it.
   */
  private cycleStep(obs: readonly Observation[], now: number): RateStep {
    const lastSlot = this.lastRateSlot ?? now;
    const firstAfter = (t: number, accepted: boolean) =>
      obs.find((o) => o.sentAt > t && (accepted ? isAccepted(o) : isRateLimited(o))) ?? null;
    const firstLimited = obs.find(isRateLimited) as Observation;
    // Burst requests still in flight may have been accepted (answers overtake each other), so a burst is
    // only counted once they are all back. Retests stay open loop, on their ladder whatever is in flight.
    const settled = this.ratePendingOf('burst') === 0;
    const recovery1 = firstAfter(firstLimited.sentAt, true);
    if (!recovery1) {
      if (!settled) return { kind: 'await', until: null };
      const anchor = (obs.find(isAccepted) ?? firstLimited).sentAt;
      return this.rateSend(Math.max(nextRetestAt(anchor, lastSlot, this.intervalMs), now), 'retest');
    }
    const limited2 = firstAfter(recovery1.sentAt, false);
    if (!limited2) {
      // A pause right after the recovering request: a sliding log then frees its next entry that much
      // after the second recovery, so one request just after that recovery tells fixed from sliding.
      const pause = this.burst2Pause(recovery1);
      if (pause !== null) return this.rateSend(Math.max(pause, now), 'burst');
      return this.burstSend(now);
    }
    const cycles = this.rateView().cycles;
    if (this.cycleKind === null) {
      // A window is certain once burst 2's answered head is long enough with nothing of it still in flight
      // (later answers can only lengthen it): then its second recovery's retests need not wait for slow
      // answers, which would leave that recovery timed only to within the wait.
      const early = this.burst2HeadSettled(cycles) && cyclesSayWindow(obs, cycles, this.intervalMs);
      if (!settled && !early) return { kind: 'await', until: null };
      this.cycleKind = early || cyclesSayWindow(obs, cycles, this.intervalMs) ? 'window' : 'bucket';
    }
    if (this.cycleKind === 'window') {
      const recovery2 = firstAfter(limited2.sentAt, true);
      if (recovery2) {
        // One request right after the second recovery: refused, the allowance came back one request at a
        // time (sliding); accepted, all at once (fixed), if burst 2's pause outlasted this recovery's bracket.
        const at = Math.max(recovery2.sentAt + this.intervalMs, now);
        const deadline = slidingRefusalDeadline(cycles, this.intervalMs);
        if (this.lastRateSeq <= recovery2.seq && deadline !== null && at < deadline) return this.rateSend(at, 'retest');
        return this.finishWhenSettled(null);
      }
      const ladder = nextRetestAt(recovery1.sentAt, lastSlot, this.intervalMs, secondLadderGrowth(cycles, recovery1, lastSlot));
      return this.rateSend(Math.max(ladder, secondRecoveryFloor(cycles, this.intervalMs), now), 'retest');
    }
    if (this.gaps.length === 0) {
      // Reset values read as the time until full may already time the refill closely enough.
      if (this.refillTight()) return this.finishWhenSettled(null);
      this.gaps.push(this.bucketGap(obs, lastSlot));
    }
    const gap = this.gaps.at(-1) as { from: number; until: number };
    if (lastSlot < gap.until) return this.rateSend(Math.max(gap.until, now), 'burst');
    // Each burst after a gap runs until its first 429; then the refill rate is known well enough, or
    // another gap sized from the better estimate follows (a slow bucket makes the first guess poor).
    if (!obs.some((o) => o.sentAt >= gap.until - 1 && isRateLimited(o))) return this.burstSend(now);
    if (!settled) return { kind: 'await', until: null };
    if (this.gaps.length >= MAX_BUCKET_GAPS || this.refillTight()) return this.finishWhenSettled(null);
    this.gaps.push(this.bucketGap(obs, lastSlot));
    return this.rateSend(Math.max((this.gaps.at(-1) as { until: number }).until, now), 'burst');
  }

  /**
   * When burst 2 goes on after its first (recovering) request: BURST2_PAUSE of the recovery time later
   * (plus two intervals and the slowest answer so far), or null when it needs no pause (requests already went out after the recovery,
   * as open-loop retests do with slow answers). Kept short enough that burst 2 still ends well within the
   * window burst 1 suggests, so a fixed window's burst 2 does not run into its next boundary.
   */
  private burst2Pause(recovery1: Observation): number | null {
    if (this.lastRateSeq > recovery1.seq) return null;
    const cycles = this.rateView().cycles;
    const burst1 = cycles.burst1 ?? [];
    const s1 = (burst1[0] ?? (cycles.limited1 as Observation[])[0]) as Observation;
    const recoveryMs = recovery1.sentAt - s1.sentAt;
    // Burst 2 must end before a fixed window's next boundary could come: not after 70 % of the recovery
    // time, nor after the second recovery's floor (a retest held back by a whole-second Retry-After may
    // have recovered long after the boundary, leaving less of that window).
    const lastFail1 = (cycles.limited1 as Observation[]).at(-1) as Observation;
    const burstMs = Math.max(0, burst1.length - 1) * this.intervalMs;
    const floor2 = 2 * lastFail1.sentAt - s1.sentAt - this.intervalMs;
    const room = Math.min(0.7 * recoveryMs - burstMs, floor2 - recovery1.sentAt - burstMs);
    // The request after the second recovery can only go once that recovery's answer is back: the pause
    // covers the slowest answer so far too.
    let latency = 0;
    for (const o of this.rateView().raw) if (isAccepted(o)) latency = Math.max(latency, o.receivedAt - o.sentAt);
    const pause = Math.min(BURST2_PAUSE * recoveryMs + 2 * this.intervalMs + latency, room);
    return pause > this.intervalMs ? recovery1.sentAt + pause : null;
  }

  /** Burst 2's first accepted answers, as many as burstsSayWindow asks for, with no send among them unanswered. */
  private burst2HeadSettled(cycles: ReturnType<typeof namedCycles>): boolean {
    const burst2 = cycles.burst2;
    const n1 = cycles.burst1?.length ?? 0;
    const need = Math.ceil(n1 === 0 ? 3 : Math.max(2, n1 / 2));
    if (!burst2 || burst2.length < need) return false;
    const from = (burst2[0] as Observation).seq;
    const upTo = (burst2[need - 1] as Observation).seq;
    for (const entry of this.sent.values()) {
      if (entry.seq > from && entry.seq < upTo && isRatePurpose(entry.purpose) && !this.responses.has(entry.seq)) return false;
    }
    return true;
  }

  /**
   * A silent gap after burst 2's 429 (bucket ≈ empty) long enough to refill about min(burst/2, 12) tokens
   * at the rough rate seen so far, but short enough not to fill the bucket (which would hide the rate).
   */
  private bucketGap(obs: readonly Observation[], from: number): { from: number; until: number } {
    const cycles = namedCycles(rateRuns(obs));
    const firstLimited = (cycles.limited1 as Observation[])[0] as Observation;
    const interval = tokenRateInterval(obs.filter((o) => o.sentAt >= firstLimited.sentAt));
    const burst1 = cycles.burst1 ?? [];
    const recovery = (cycles.burst2?.[0] as Observation).sentAt - firstLimited.sentAt;
    const rough = interval && Number.isFinite(interval.hi) ? (interval.lo + interval.hi) / 2 : 1000 / Math.max(recovery, this.intervalMs);
    const high = interval && Number.isFinite(interval.hi) ? interval.hi : rough * 2;
    const span1 = burst1.length > 0 ? (firstLimited.sentAt - (burst1[0] as Observation).sentAt) / 1000 : 0;
    const roughBurst = Math.max(1, burst1.length - rough * span1);
    const target = Math.max(2, Math.min(GAP_TOKENS_MAX, Math.floor(roughBurst * 0.6)));
    // At the highest plausible rate the bucket must stay below full.
    const safeSeconds = Math.max(0, roughBurst - 1) / high;
    const seconds = Math.max(Math.min(target / rough, Math.max(safeSeconds, 1 / rough)), this.intervalMs / 1000);
    return { from, until: from + seconds * 1000 };
  }

  // ------------------------------------------------------------------ concurrency part

  /** Requests kept for the concurrency test: its batches and one lone retry, at most a quarter of the budget. */
  private concurrencyReserve(): number {
    if (this.config.concurrency === 'off') return 0;
    const needed = batchSizes(this.concurrencyCap()).reduce((a, b) => a + b, 0) + 1;
    return Math.min(needed, Math.floor(this.config.maxRequests / 4));
  }

  private concurrencyCap(): number {
    const mode = this.config.concurrency;
    return typeof mode === 'number' ? mode : this.config.maxConcurrency;
  }

  private finishConcurrency(stopped: string | null, skipped = false): void {
    this.concurrencyDone = true;
    if (skipped) this.concurrencySkipped = stopped;
    else this.concurrencyStopped = stopped;
  }

  private concurrencyStep(now: number): RateStep {
    if (this.config.concurrency === 'off') {
      this.finishConcurrency('--concurrency off', true);
      return 'finished';
    }
    if (this.stopReason === 'interrupted' || this.stopReason === 'errors' || this.stopReason === 'quota') {
      this.finishConcurrency(this.stopReason === 'interrupted' ? 'the probe was interrupted' : 'the rate part ended on errors', true);
      return 'finished';
    }
    // Batches need the line to be quiet: nothing of ours in flight.
    if (this.pendingCount > 0) return { kind: 'await', until: null };
    const cap = this.concurrencyCap();
    const sizes = batchSizes(cap);
    const lastTrial = this.trials.at(-1);
    if (lastTrial) {
      const judgement = judgeBatch(lastTrial);
      if (judgement.kind === 'needs-lone') {
        return this.concurrencySend(now, 1, 'lone', 'no budget or time was left for the lone retry');
      }
      if (judgement.kind !== 'all-accepted' || lastTrial.size >= cap) {
        this.finishConcurrency(null);
        return 'finished';
      }
    }
    const size = sizes[this.trials.length];
    if (size === undefined) {
      this.finishConcurrency(null);
      return 'finished';
    }
    const rate = this.result().rate;
    const model = allowanceModel(rate, this.rateView().obs);
    if (model.kind === 'unknown') {
      const reason = this.trials.length === 0 ? `the rate limit is not known well enough to keep a batch of ${size} clear of it` : `the rate allowance for a batch of ${size} is unknown`;
      this.finishConcurrency(reason, this.trials.length === 0);
      return 'finished';
    }
    const own = this.observations().filter(isAccepted).map((o) => o.sentAt);
    const modelled = allowanceTime(model, own, now, size);
    // The headers' own count comes first when they have one: nothing of ours is in flight, so the latest
    // answer's `remaining` is current. Too few left for the batch: wait for that policy's reset.
    const clearAt = modelled === null ? null : Math.max(modelled, headerAllowanceTime(this.observations(), size) ?? modelled);
    if (clearAt === null) {
      const reason = `a batch of ${size} is larger than the rate limit allows at once`;
      this.finishConcurrency(reason, this.trials.length === 0);
      return 'finished';
    }
    // Reserve one request for the lone retry that may follow this batch.
    if (this.sent.size + size + 1 > this.config.maxRequests) {
      this.finishConcurrency('--max-requests leaves no room for a larger batch', this.trials.length === 0);
      return 'finished';
    }
    // Nor before a Retry-After the rate part ended on (the lone retry stays immediate: it tells a gate
    // from the rate limit only by going out at once).
    const floor = this.retryFloor();
    return this.concurrencySend(floor !== null ? Math.max(clearAt, floor) : clearAt, size, 'batch', '--max-duration leaves no time for a larger batch');
  }

  private concurrencySend(at: number, count: number, purpose: SendPurpose, whyNot: string): RateStep {
    const action = this.guardedSend(at, count, purpose);
    if (typeof action === 'string') {
      this.finishConcurrency(action === 'budget' ? '--max-requests ran out' : whyNot, this.trials.length === 0);
      if (this.stopReason === 'complete') this.stopReason = action === 'budget' ? 'budget' : 'duration';
      return 'finished';
    }
    return action;
  }
}

/**
 * The second recovery cannot come before lastFail1 + (lastFail1 − s1): a sliding log holds a request
 * longer than lastFail1 − s1, and a fixed window is at least as long as the part of it burst 1 saw
 * (b1 − s1 > lastFail1 − s1), so b2 = b1 + W > 2·lastFail1 − s1. Retests before that are certain 429s,
 * and in a sliding log a success there would only be one more old request expiring, not the recovery.
 * If burst 1 straddled a boundary it got more than a window's worth (n1 > n2): by one request, the floor
 * can be late by one interval at most (so it is lowered by one); by more, the window still holds the
 * first 429 (f1) and the last (lastFail1), so W > lastFail1 − f1 and the floor is 2·lastFail1 − f1.
 */
function secondRecoveryFloor(cycles: ReturnType<typeof namedCycles>, intervalMs: number): number {
  const burst1 = cycles.burst1;
  const firstFail1 = cycles.limited1?.[0];
  const lastFail1 = cycles.limited1?.at(-1);
  if (!firstFail1 || !lastFail1) return -Infinity;
  const straddled = !burst1 || burst1.length > (cycles.burst2?.length ?? 0) + 1;
  const first = straddled ? firstFail1 : (burst1[0] as Observation);
  return lastFail1.sentAt + (lastFail1.sentAt - first.sentAt) - intervalMs;
}

/**
 * The growth of the second recovery's retest ladder. A fixed window's estimate is off by at most half of
 * each recovery bracket, so ±10 % leaves the second bracket 20 % of the window less the first bracket's
 * width: when the first recovery was timed closely, the second ladder may take longer steps (fewer
 * requests), from RETEST_GROWTH up to 1.2 (with a tenth kept in reserve).
 */
function secondLadderGrowth(cycles: ReturnType<typeof namedCycles>, recovery1: Observation, lastSlot: number): number {
  const lastFail1 = cycles.limited1?.at(-1);
  const tau = lastSlot - recovery1.sentAt;
  if (!lastFail1 || !(tau > 0)) return RETEST_GROWTH;
  const firstBracket = recovery1.sentAt - lastFail1.sentAt;
  const room = (0.9 * (0.2 * tau - firstBracket)) / tau;
  return 1 + Math.min(0.2, Math.max(RETEST_GROWTH - 1, room));
}

/** The feasible refill-rate interval (from the first 429 on, narrowed by reset values) is narrow enough to stop. */
function refillRateIsTight(obs: readonly Observation[], intervalMs: number): boolean {
  const interval = refillRateInterval(obs, intervalMs);
  if (!interval || !(interval.hi >= interval.lo) || interval.hi <= 0) return false;
  return (interval.hi - interval.lo) / ((interval.hi + interval.lo) / 2) <= TIGHT_RATE_WIDTH;
}

function isRatePurpose(purpose: SendPurpose | undefined): boolean {
  return purpose === 'burst' || purpose === 'retest' || purpose === 'check';
}

// ------------------------------------------------------------------ rate allowance for batches

type AllowanceModel =
  | { kind: 'unlimited' }
  | { kind: 'window'; limit: number; windowMs: number }
  | { kind: 'bucket'; capacity: number; ratePerSecond: number; emptyAt: number }
  | { kind: 'unknown' };

/** How much the rate limiter will accept, from the rate estimate. Deliberately cautious (window × 1.1). */
function allowanceModel(rate: RateEstimate, rateObs: readonly Observation[]): AllowanceModel {
  if (rate.bound === 'at-least' && rate.algorithm === 'unknown' && !rateObs.some(isRateLimited)) return { kind: 'unlimited' };
  if (rate.algorithm === 'token-bucket' && rate.perMinute !== null && rate.burst !== null) {
    const lastLimited = [...rateObs].filter(isRateLimited).at(-1);
    return { kind: 'bucket', capacity: rate.burst, ratePerSecond: rate.perMinute / 60, emptyAt: lastLimited?.sentAt ?? 0 };
  }
  if (rate.limit !== null && rate.windowSeconds !== null) return { kind: 'window', limit: rate.limit, windowMs: rate.windowSeconds * 1000 * 1.1 };
  return { kind: 'unknown' };
}

/**
 * When the latest answer's rate policy says fewer than `size` requests are left: the instant of its reset
 * (a window's or a bucket's "until full"), when the allowance is back. Null without such a count.
 */
function headerAllowanceTime(observations: readonly Observation[], size: number): number | null {
  let latest: Observation | null = null;
  for (const o of observations) {
    if ((isAccepted(o) || isRateLimited(o)) && (latest === null || o.receivedAt > latest.receivedAt)) latest = o;
  }
  const policy = latest ? selectRatePolicy(latest.policies) : null;
  if (!latest || !policy || policy.remaining === null || policy.resetSeconds === null || policy.remaining >= size) return null;
  return latest.receivedAt + policy.resetSeconds * 1000;
}

/** The earliest time ≥ now at which `size` requests at once fit the allowance; null if they never can. */
function allowanceTime(model: AllowanceModel, ownAccepted: readonly number[], now: number, size: number): number | null {
  switch (model.kind) {
    case 'unlimited':
      return now;
    case 'unknown':
      return null;
    case 'window': {
      // Treated as a sliding log (the cautious reading of any window): our requests of the last window count.
      if (size > model.limit) return null;
      const recent = ownAccepted.filter((t) => t > now - model.windowMs).sort((a, b) => a - b);
      const excess = recent.length + size - model.limit;
      if (excess <= 0) return now;
      return (recent[excess - 1] as number) + model.windowMs + 1;
    }
    case 'bucket': {
      if (size + 0.5 > model.capacity) return null;
      // Replay our accepted requests since the bucket was last seen empty, refilling at 90 % of the rate.
      const rate = model.ratePerSecond * 0.9;
      let tokens = 0;
      let at = model.emptyAt;
      for (const t of [...ownAccepted].filter((x) => x > model.emptyAt).sort((a, b) => a - b)) {
        tokens = Math.min(model.capacity, tokens + (rate * (t - at)) / 1000) - 1;
        at = t;
      }
      const need = size + 0.5 - Math.min(model.capacity, tokens + (rate * (now - at)) / 1000);
      return need <= 0 ? now : now + (need / rate) * 1000;
    }
  }
}
