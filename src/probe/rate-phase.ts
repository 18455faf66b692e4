// The probe's rate phase: which rate-part request goes next, and when (see estimate-rate.ts for the
// reading of the answers, rate-stages.ts for the arithmetic of each stage):
//   burst 1 at the pace until the first 429 (or until headers answer the question)
//   → sparse retests until a success → burst 2 at the pace until a 429
//   → window: sparse retests until the second recovery;  token bucket: a silent gap, then burst 3.
// Where each send sits on the plan and when it may go out is rate-pacing.ts's; this adds that no send goes
// before the latest refusal's Retry-After (or its exhausted policy's reset). Budget, rate cap and
// deadline are the ledger's guards. Pure and clock-free: `step(now)` is given the time.
import {
  attributeRefusals,
  classifyHeaderSeries,
  cyclesSayWindow,
  estimateRateLimit,
  findResetCheck,
  headerModeOf,
  headerPoints,
  isAccepted,
  isRateLimited,
  jitterToleranceMs,
  maxSurelyAcceptedInFlight,
  namedCycles,
  nextRetestAt,
  policyResetBinds,
  rateRuns,
  resetCheckTime,
  resetClockOf,
  retryFloor,
  slidingRefusalDeadline,
  suspectedGate,
  windowResetBounds,
  type Observation,
  type RateContext,
  type RateEstimate,
} from './estimate-rate.js';
import { chutesAnswered, quotaRemaining, quotaShare, refusalBudget, refusalsSeen, type QuotaShare } from './ban-guard.js';
import { detectPenalty, lockoutRetestAt, restartSafeFloor } from './penalty.js';
import { explainBanRisk, explainQuotaShare } from '../render/probe-explain.js';
import { isRatePurpose, type PhaseStep, type SendAction, type SendLedger, type SendPurpose, type StrategyConfig } from './ledger.js';
import type { RatePacer } from './rate-pacing.js';
import { bucketGap, burst2PauseUntil, refillRateIsTight, secondLadderGrowth, secondRecoveryFloor, type Cycles } from './rate-stages.js';
import { confirmedRoundWindow, heldRequestAt, predictedRetestAt, readRoundWindow, roundMarginMs, roundPlanApplies, secondPredictions } from './round-windows.js';

/** Consecutive failures (neither accepted nor rate limited) after which sending stops. */
const ERROR_STOP_NO_SUCCESS = 3;
const AUTH_STOP_NO_SUCCESS = 2;
const ERROR_STOP_AFTER_SUCCESS = 5;
const MAX_RESET_CHECKS = 3;
const MAX_BUCKET_GAPS = 4;
interface RateView {
  /** responses.size when computed. */
  size: number;
  raw: Observation[];
  /** raw with concurrency-gate refusals re-attributed (attributeRefusals). */
  obs: Observation[];
  mode: ReturnType<typeof headerModeOf>;
  cycles: Cycles;
  resetBinds: boolean | null;
  tight: boolean | null;
  /** retryFloor per cycle kind (it decides whether an exhausted policy's reset binds). */
  floor: Map<string, number | null>;
  /** The ban guard's readings of these answers (banGuard), once per response: refusals, penalty, Chutes. */
  guard: { refused: number; penalty: boolean; chutes: boolean } | null;
  /** suspectedGate(raw): the most requests in flight a suspected concurrency gate let through, or null. */
  gate: number | null;
}

export class RatePhase {
  done = false;
  private stoppedBy: RateContext['stoppedBy'] = null;
  /** What the rate part derives from its answers, recomputed once per new response (not per decision). */
  private view: RateView | null = null;
  private cycleKind: 'window' | 'bucket' | null = null;
  /** Silent gaps of the token-bucket stage, oldest first. */
  private gaps: Array<{ from: number; until: number }> = [];
  private checks = 0;
  /** Chutes mode: the host said so, or an answer did (X-Chutes-Quota-*, see ban-guard.ts). */
  private chutes: boolean;
  /** Chutes mode: the plan's worst case against the quota the first answer reported (once known). */
  quota: QuotaShare | null = null;
  /** A burst send was held for an answer (the refusal budget): it is planned from then, not late on its grid. */
  private heldForAnswer = false;
  /** What the user must hear while the probe runs (Chutes mode found from headers, the quota share); the run drains it. */
  readonly notices: string[] = [];

  constructor(
    private readonly ledger: SendLedger,
    /** Where each rate-phase send sits and when it may go out; the coordinator reports sends to it. */
    private readonly pacer: RatePacer,
    private readonly config: StrategyConfig,
    readonly intervalMs: number,
    /** Requests kept for the concurrency test until the first 429 (concurrencyReserve). */
    private readonly reserve: number,
  ) {
    this.chutes = Boolean(config.chutes);
  }

  /** Whether the probe knows it talks to Chutes. */
  get chutesMode(): boolean {
    return this.chutes;
  }

  /** Refusals the probe may still provoke (Infinity: no limit). */
  refusalsLeft(): number {
    const budget = this.refusalBudget;
    return Number.isFinite(budget) ? Math.max(0, budget - refusalsSeen(this.rateView().obs)) : Infinity;
  }

  /** How many refusals the probe may provoke (Infinity: no limit). */
  get refusalBudget(): number {
    return refusalBudget(this.config, this.chutes);
  }

  // ------------------------------------------------------------------ what the coordinator reports

  /** A rate-phase send decision is about to go out (the pacer places it on the plan). */
  onDispatch(action: SendAction): void {
    this.pacer.onDispatch(action);
    if (action.purpose === 'check') this.checks += 1;
  }

  /** The rate part is over; `stoppedBy`: why, when before the estimate was complete. */
  finish(stoppedBy: RateContext['stoppedBy']): void {
    this.done = true;
    this.stoppedBy = stoppedBy;
    if (stoppedBy && this.ledger.stopReason === 'complete') this.ledger.stopReason = stoppedBy;
  }

  // ------------------------------------------------------------------ what it tells

  /** The rate part's answers, in send order. */
  answers(): Observation[] {
    return this.ledger.observations.filter((o) => isRatePurpose(this.ledger.sent.get(o.seq)?.purpose));
  }

  /** The rate estimate from those answers (`answers()` unless given). */
  estimate(answers: readonly Observation[] = this.answers()): RateEstimate {
    const rate = estimateRateLimit(answers, { intervalMs: this.intervalMs, stoppedBy: this.stoppedBy });
    rate.requests = this.pacer.sends;
    return rate;
  }

  /** The rate part's answers with concurrency-gate refusals re-attributed (attributeRefusals). */
  attributed(): readonly Observation[] {
    return this.rateView().obs;
  }

  /** The earliest instant the latest rate-phase refusals allow (see estimate-rate's retryFloor), or null. */
  retryFloor(): number | null {
    const view = this.rateView();
    const key = this.cycleKind ?? 'unknown';
    if (!view.floor.has(key)) {
      // A token bucket's reset is the time until full: it binds nothing once the bucket is known.
      view.resetBinds ??= policyResetBinds(view.obs, this.intervalMs);
      view.floor.set(key, retryFloor(view.raw, this.cycleKind !== 'bucket' && view.resetBinds));
    }
    return view.floor.get(key) as number | null;
  }

  // ------------------------------------------------------------------ the next step

  step(now: number): PhaseStep {
    const { raw, obs, mode, cycles } = this.rateView();
    if (this.errorStop(raw)) return this.finishWhenSettled('errors');
    const guarded = this.banGuard(raw, obs);
    if (guarded !== null) return guarded;
    // Limit and window in the headers (IETF `w`): nothing left to measure, whatever the status.
    if (mode.kind === 'exact') return this.finishWhenSettled(null);
    // A concurrency gate refused a crowded request: keep below it, or it cuts bursts short and a cut
    // burst reads as a smaller allowance (issue #15). The wait is for an answer, never a faster send.
    const gate = this.rateView().gate;
    if (gate !== null && this.pending() >= gate) {
      this.heldForAnswer = true;
      return { kind: 'await', until: null };
    }

    // Leave the concurrency test its share of the budget, once limited too, when our requests overlapped
    // on the server (a gate can matter) and the rate is estimated (issue #15: nginx 10r/s with limit_conn
    // 3 at 100 ms, the refill bursts spent 78 of 80 and the cap was never tested).
    if (cycles.limited1 && this.ledger.sent.size >= this.config.maxRequests - this.reserve && maxSurelyAcceptedInFlight(raw) >= 2 && this.estimate().perMinute !== null) return this.finishWhenSettled('budget');
    if (!cycles.limited1) {
      const headerStep = this.headerStep(obs, mode, now);
      if (headerStep !== null) return headerStep;
      // Not limited yet: leave the concurrency test its share of the budget.
      if (this.ledger.sent.size >= this.config.maxRequests - this.reserve) return this.finishWhenSettled('budget');
      // The pre-flight request goes alone: wait for its answer (bounded).
      const preflight = this.pacer.preflightUntil(raw.length, now);
      if (preflight !== null) return { kind: 'await', until: preflight };
      return this.burstSend(now);
    }
    return this.cycleStep(obs, now);
  }

  /** Stops on a dead server, a rejected key, or a spent daily quota. */
  private errorStop(obs: readonly Observation[]): 'errors' | 'quota' | null {
    if (obs.some((o) => o.outcome === 'quota_exceeded')) {
      this.ledger.stopReason = 'quota';
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

  /**
   * Sparing bans and quota, before anything else is sent: stop provoking once the refusal budget is spent
   * or refusals are seen to lengthen the block; in Chutes mode, stop after the first answer when the plan
   * could spend more of today's quota than --max-quota-share allows (without --yes); and keep no more
   * rate sends in flight than refusals left, so answers in flight cannot overshoot the budget. Null: go on.
   */
  private banGuard(raw: readonly Observation[], obs: readonly Observation[]): PhaseStep | null {
    // Read once per response: step() runs on every decision.
    const view = this.rateView();
    view.guard ??= { refused: refusalsSeen(obs), penalty: detectPenalty(obs) !== null, chutes: this.chutes || chutesAnswered(raw) };
    const { refused, penalty, chutes } = view.guard;
    if (!this.chutes && chutes) {
      this.chutes = true;
      if (Number.isFinite(this.refusalBudget)) this.notices.push(explainBanRisk(this.refusalBudget));
    }
    const budget = this.refusalBudget;
    if (refused >= budget) return this.finishWhenSettled('refusals');
    if (penalty) return this.finishWhenSettled('penalty');
    if (this.chutes && this.quota === null) {
      const remaining = quotaRemaining(raw);
      if (remaining !== null) {
        this.quota = quotaShare(this.config, remaining);
        this.notices.push(explainQuotaShare(this.quota));
      }
    }
    if (this.quota !== null && !this.quota.proceeds) return this.finishWhenSettled('quota-share');
    if (Number.isFinite(budget) && this.pending() >= budget - refused) {
      this.heldForAnswer = true;
      return { kind: 'await', until: null };
    }
    return null;
  }

  /** Before the first 429: headers may answer the rate question without reaching the limit. Null: keep bursting. */
  private headerStep(obs: readonly Observation[], mode: ReturnType<typeof headerModeOf>, now: number): PhaseStep | null {
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
    if (this.pending() > 0) return { kind: 'await', until: null };
    if (this.checks >= MAX_RESET_CHECKS) {
      this.finish(null);
      return 'finished';
    }
    const bounds = windowResetBounds(points, clock);
    if (!bounds) return null;
    // Just after the reset, well within one pace interval of it (a sliding log must still hold our later
    // requests), and a pause after the burst so the check reads as one.
    const margin = Math.min(this.intervalMs / 4, 2 * jitterToleranceMs(this.intervalMs));
    const paused = (this.pacer.lastSlot ?? now) + 1.5 * this.intervalMs;
    const at = Math.max(resetCheckTime(bounds, margin), now, paused);
    return this.send(at, 'check');
  }

  /**
   * The cycles, by explicit stage rather than by the shape of the answers: with slow answers an open-loop
   * burst overshoots its first 429, and a token bucket then answers ok/429/ok…, which must not be taken
   * for the later stages. Each stage ends on an answer to a request sent within it.
   */
  private cycleStep(obs: readonly Observation[], now: number): PhaseStep {
    const lastSlot = this.pacer.lastSlot ?? now;
    const firstAfter = (t: number, accepted: boolean) =>
      obs.find((o) => o.sentAt > t && (accepted ? isAccepted(o) : isRateLimited(o))) ?? null;
    const firstLimited = obs.find(isRateLimited) as Observation;
    // Burst requests still in flight may have been accepted (answers overtake each other), so a burst is
    // only counted once they are all back. Retests stay open loop, on their ladder whatever is in flight.
    const settled = this.ledger.pendingOf((e) => e.purpose === 'burst') === 0;
    const recovery1 = firstAfter(firstLimited.sentAt, true);
    if (!recovery1) {
      if (!settled) return { kind: 'await', until: null };
      const anchor = (obs.find(isAccepted) ?? firstLimited).sentAt;
      // A long lockout's steps grow faster (a block that each refusal restarts, see penalty.ts).
      return this.send(Math.max(lockoutRetestAt(obs, nextRetestAt(anchor, lastSlot, this.intervalMs), lastSlot), now), 'retest');
    }
    const limited2 = firstAfter(recovery1.sentAt, false);
    if (!limited2) {
      // A pause right after the recovering request: a sliding log then frees its next entry that much
      // after the second recovery, so one request just after that recovery tells fixed from sliding.
      // No pause when requests already went out after the recovery (open-loop retests with slow answers).
      const pause = this.pacer.lastSeq > recovery1.seq ? null : burst2PauseUntil(this.rateView().cycles, this.rateView().raw, recovery1, this.intervalMs);
      if (pause !== null) return this.send(Math.max(pause, now), 'burst');
      const held = this.heldBurst2Request(obs, recovery1);
      if (held === 'await') return { kind: 'await', until: null };
      if (held !== null) return this.send(Math.max(held, this.pacer.nextBurstSlot(now)), 'burst');
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
        // A window the clock's round boundaries explain is a fixed one: nothing left to tell.
        if (this.untimed(obs) && confirmedRoundWindow(readRoundWindow(cycles, this.intervalMs), this.intervalMs)?.family === 'clock') return this.finishWhenSettled(null);
        const deadline = slidingRefusalDeadline(cycles, this.intervalMs);
        if (this.pacer.lastSeq <= recovery2.seq && deadline !== null && at < deadline) return this.send(at, 'retest');
        return this.finishWhenSettled(null);
      }
      const floor = secondRecoveryFloor(cycles, this.intervalMs);
      const predicted = this.predictedRetest(obs, cycles, Math.max(floor, lastSlot + this.intervalMs));
      if (predicted === 'await') return { kind: 'await', until: null };
      // A long first lockout: no retest sooner after the latest refusal than the step that ended it (penalty.ts).
      const ladder = lockoutRetestAt(obs, nextRetestAt(recovery1.sentAt, lastSlot, this.intervalMs, secondLadderGrowth(cycles, recovery1, lastSlot)), lastSlot);
      return this.send(Math.max(predicted ?? ladder, floor, restartSafeFloor(obs) ?? -Infinity, now), 'retest');
    }
    if (this.gaps.length === 0) {
      // A gap is sized from the refill seen so far: an unanswered retest may yet be a success, and
      // leaving it out would read the refill as slower than it is (a gap long enough to fill the bucket).
      if (this.pending() > 0) return { kind: 'await', until: null };
      // Reset values read as the time until full may already time the refill closely enough.
      if (this.refillTight()) return this.finishWhenSettled(null);
      this.gaps.push(bucketGap(obs, lastSlot, this.intervalMs));
    }
    const gap = this.gaps.at(-1) as { from: number; until: number };
    if (lastSlot < gap.until) return this.send(Math.max(gap.until, now), 'burst');
    // Each burst after a gap runs until its first 429; then the refill rate is known well enough, or
    // another gap sized from the better estimate follows (a slow bucket makes the first guess poor).
    if (!obs.some((o) => o.sentAt >= gap.until - 1 && isRateLimited(o))) return this.burstSend(now);
    if (this.pending() > 0) return { kind: 'await', until: null };
    if (this.gaps.length >= MAX_BUCKET_GAPS || this.refillTight()) return this.finishWhenSettled(null);
    this.gaps.push(bucketGap(obs, lastSlot, this.intervalMs));
    return this.send(Math.max((this.gaps.at(-1) as { until: number }).until, now), 'burst');
  }

  /** No answer so far carries a timing hint (Retry-After, a reset): the round-window plan applies (round-windows.ts). */
  private untimed(obs: readonly Observation[]): boolean {
    const mode = this.rateView().mode;
    return (mode.kind === 'none' || mode.kind === 'limit-only') && !obs.some((o) => o.retryAfterSeconds !== null) && roundPlanApplies(this.rateView().cycles);
  }

  /**
   * The second recovery's next retest: just after the earliest instant a hypothesis that explained the
   * first recovery predicts and no refusal has ruled out ('await' while a retest is unanswered: its answer
   * may settle it), or null for the fine ladder when none is left.
   */
  private predictedRetest(obs: readonly Observation[], cycles: Cycles, earliest: number): number | 'await' | null {
    if (!this.untimed(obs)) return null;
    const second = readRoundWindow(cycles, this.intervalMs).second;
    if (!second || second.length === 0) return null;
    if (this.pending() > 0) return 'await';
    return predictedRetestAt(second, (cycles.limited2?.at(-1) as Observation).sentAt, earliest, this.intervalMs);
  }

  /**
   * Burst 2's request after as many as burst 1 got, under round hypotheses: held until just before the
   * earliest second recovery they predict (round-windows.ts heldRequestAt), so that the refusal that ends
   * burst 2 also bounds that recovery from below, one request fewer than a refusal at the pace and then one
   * before the prediction; and never later than the first recovery's refused retests show every window
   * lasts (a window of no round length would otherwise have given allowance back by then, and burst 2 run
   * into the next window). 'await' while burst 2's answers are out (the count is not known); null: send at
   * the pace.
   */
  private heldBurst2Request(obs: readonly Observation[], recovery1: Observation): number | 'await' | null {
    if (!this.untimed(obs)) return null;
    const cycles = this.rateView().cycles;
    const n1 = cycles.burst1?.length ?? 0;
    const sentSince = [...this.ledger.sent.values()].filter((e) => e.seq >= recovery1.seq && isRatePurpose(e.purpose)).length;
    if (n1 < 2 || sentSince !== n1) return null;
    if (this.pending() > 0) return 'await';
    const at = heldRequestAt(secondPredictions(readRoundWindow(cycles, this.intervalMs).first, recovery1.sentAt, this.pacer.lastSlot ?? recovery1.sentAt), this.intervalMs);
    // Never later than the refused retests allow every window: one that held from the first request to the
    // last refused retest lasts at least that long from the recovery too (a window of no round length).
    const s1 = cycles.burst1?.[0];
    const lastFail1 = cycles.limited1?.at(-1);
    if (at === null || !s1 || !lastFail1) return null;
    const latest = recovery1.sentAt + (lastFail1.sentAt - s1.sentAt) - roundMarginMs(this.intervalMs);
    const held = Math.min(at, latest);
    return held > (this.pacer.lastSlot ?? recovery1.sentAt) + this.intervalMs ? held : null;
  }

  /** Burst 2's first accepted answers, as many as burstsSayWindow asks for, with no send among them unanswered. */
  private burst2HeadSettled(cycles: Cycles): boolean {
    const burst2 = cycles.burst2;
    const n1 = cycles.burst1?.length ?? 0;
    const need = Math.ceil(n1 === 0 ? 3 : Math.max(2, n1 / 2));
    if (!burst2 || burst2.length < need) return false;
    const from = (burst2[0] as Observation).seq;
    const upTo = (burst2[need - 1] as Observation).seq;
    for (const entry of this.ledger.sent.values()) {
      if (entry.seq > from && entry.seq < upTo && isRatePurpose(entry.purpose) && !this.ledger.responses.has(entry.seq)) return false;
    }
    return true;
  }

  // ------------------------------------------------------------------ sending

  /**
   * Turn a planned send into a step, finishing the rate part when budget or time ran out. The pacer
   * places it (one interval after the previous rate send's slot, and after it actually went out: catching
   * up on a stall or on a slow connection would hand the server two requests at once, faster than --rpm,
   * and skew the estimate). Slow answers never delay a send; only the lateness of our own sends shifts
   * the schedule.
   */
  private send(planned: number, purpose: SendPurpose): PhaseStep {
    // The server's word first: nothing before the latest refusal's Retry-After (or its exhausted
    // policy's reset). A retest before it is a certain 429, spent budget and a rude client. The slot
    // itself moves (it is the plan, not our lateness), so pacing figures do not count the wait.
    const floor = this.retryFloor();
    const { slot, at } = this.pacer.place(floor !== null && floor > planned ? floor : planned);
    const action = this.ledger.guardedSend(at, 1, purpose);
    if (typeof action !== 'string') return action.at > slot ? { ...action, slot } : action;
    return this.finishWhenSettled(action === 'budget' ? 'budget' : 'duration');
  }

  /** The next paced burst send (see RatePacer.nextBurstSlot). */
  private burstSend(now: number): PhaseStep {
    const slot = this.pacer.nextBurstSlot(now);
    // Held for an answer on purpose: the wait is the plan, not lateness to catch up on.
    const planned = this.heldForAnswer ? Math.max(slot, now) : slot;
    this.heldForAnswer = false;
    return this.send(planned, 'burst');
  }

  // ------------------------------------------------------------------ bookkeeping

  private pending(): number {
    return this.ledger.pendingOf((e) => isRatePurpose(e.purpose));
  }

  /** Wait for in-flight rate sends, then finish the rate part. */
  private finishWhenSettled(stoppedBy: RateContext['stoppedBy']): PhaseStep {
    if (this.pending() > 0) return { kind: 'await', until: null };
    this.finish(stoppedBy);
    return 'finished';
  }

  /** The rate part's answers and what follows from them, memoised per response count. */
  private rateView(): RateView {
    if (this.view?.size !== this.ledger.responses.size) {
      const raw = this.answers();
      const obs = attributeRefusals(raw);
      this.view = { size: this.ledger.responses.size, raw, obs, mode: headerModeOf(obs), cycles: namedCycles(rateRuns(obs)), resetBinds: null, tight: null, floor: new Map(), guard: null, gate: suspectedGate(raw) };
    }
    return this.view;
  }

  /** refillRateIsTight on the current answers, once per response (its reset-pair bounds are quadratic). */
  private refillTight(): boolean {
    const view = this.rateView();
    view.tight ??= refillRateIsTight(view.obs, this.intervalMs);
    return view.tight;
  }
}
