// The adaptive probe plan: a state machine fed with sends and observations that decides the next send
// time, batch or stop. Pure and clock-free: `next(now)` is given the time, the runner does the waiting.
// This file is the coordinator: it keeps the ledger (ledger.ts) and the rate pacing (rate-pacing.ts) up
// to date with what the runner reports, and asks the rate phase (rate-phase.ts: bursts, retests and reset
// checks until the rate limit is known) and then the concurrency phase (concurrency-phase.ts: batches of
// 2, 4, 8 … clear of the rate allowance, and a lone request after a batch with 429s) for the next step.
//
// Hard guarantees, whatever the server answers: never more than maxRequests sends, never more than rpm
// sends in any 60 s (RateCap), rate-phase sends at least 60 000/rpm ms apart as they went out (our own
// lateness is never caught up on: CATCH_UP_MS is 0), nothing after maxDuration, and
// no rate-phase send before the latest refusal's Retry-After (or its exhausted policy's reset).
// Sends count from when they really went out (on the wire, after any connection set-up, when the runner
// reports it), not from when they were planned or handed to the HTTP client.
import { ConcurrencyPhase, concurrencyReserve } from './concurrency-phase.js';
import type { ConcurrencyEstimate } from './estimate-concurrency.js';
import { concurrencyRefusals, detectForeignUsage, type Observation, type RateEstimate } from './estimate-rate.js';
import { isRatePurpose, SendLedger, type ProbeAction, type SendAction, type SendPurpose, type SentEntry, type StopReason, type StrategyConfig } from './ledger.js';
import { RatePacer } from './rate-pacing.js';
import { RatePhase } from './rate-phase.js';
import { paceIntervalMs, type RateCap } from './schedule.js';
import { explainBanRisk, explainPenalty, explainQuotaShare } from '../render/probe-explain.js';
import type { QuotaShare } from './ban-guard.js';

export { CATCH_UP_MS } from './rate-pacing.js';
export type { ConcurrencyMode, ProbeAction, SendPurpose, StopReason, StrategyConfig } from './ledger.js';

export interface ProbeResult {
  rate: RateEstimate;
  concurrency: ConcurrencyEstimate;
  warnings: string[];
  stopReason: StopReason;
}

export class ProbeStrategy {
  readonly intervalMs: number;
  readonly cap: RateCap;
  /** No send after this: config.start + maxDurationMs, fixed, so a warm-up before the first slot counts. */
  readonly deadline: number;
  private readonly ledger: SendLedger;
  private readonly pacer: RatePacer;
  private readonly rate: RatePhase;
  private readonly concurrency: ConcurrencyPhase;

  constructor(readonly config: StrategyConfig) {
    this.intervalMs = paceIntervalMs(config.rpm);
    this.deadline = config.start + config.maxDurationMs;
    this.ledger = new SendLedger(config.maxRequests, config.rpm, this.deadline);
    this.cap = this.ledger.cap;
    this.pacer = new RatePacer(config.start, this.intervalMs, config.rpm);
    this.rate = new RatePhase(this.ledger, this.pacer, config, this.intervalMs, concurrencyReserve(config));
    this.concurrency = new ConcurrencyPhase(this.ledger, config, this.rate);
  }

  /** Moves the first slot to `start` (the deadline stays); only before anything was sent. */
  startAt(start: number): void {
    if (this.ledger.sent.size > 0) return;
    this.pacer.start = start;
  }

  get startedAt(): number {
    return this.pacer.start;
  }

  get sentCount(): number {
    return this.ledger.sent.size;
  }

  get pendingCount(): number {
    return this.ledger.pending;
  }

  /** The probe knows it talks to Chutes (by host, or an answer's X-Chutes-Quota-* headers). */
  get chutesMode(): boolean {
    return this.rate.chutesMode;
  }

  /** Chutes mode: the plan's worst case against the quota left today, once the first answer told it. */
  get quota(): QuotaShare | null {
    return this.rate.quota;
  }

  /** Notices for the user since the last call (Chutes mode found from headers, the quota share). */
  takeNotices(): string[] {
    return this.rate.notices.splice(0);
  }

  /** Observations so far, in send order (the live list: read it, do not change it). */
  observations(): readonly Observation[] {
    return this.ledger.observations;
  }

  /**
   * Called by the runner for each request as it is handed to the HTTP client (after onDispatch); returns
   * its seq. `awaitWire`: the runner will report when it really goes out (onWire); until then it counts as
   * still going out. Otherwise it went out at `at`.
   */
  onSent(send: { at: number; scheduledAt: number; purpose: SendPurpose; awaitWire?: boolean }): number {
    const rate = isRatePurpose(send.purpose);
    const entry = this.ledger.add({
      at: send.at,
      handedAt: send.at,
      scheduledAt: send.scheduledAt,
      slot: rate ? this.pacer.slotOf(send.scheduledAt) : send.scheduledAt,
      purpose: send.purpose,
      trial: this.concurrency.trialOf(send.purpose),
      goingOut: Boolean(send.awaitWire),
      newConnection: false,
    });
    if (rate) this.pacer.onSent(entry.seq);
    if (!entry.goingOut) this.wentOut(entry, send.at);
    return entry.seq;
  }

  /**
   * Request `seq` went on the wire at `at`; `newConnection`: on a connection opened for it (it waited for
   * the set-up). True when that is news.
   */
  onWire(seq: number, at: number, newConnection = false): boolean {
    const entry = this.ledger.onWire(seq, newConnection);
    if (entry === null) return false;
    this.wentOut(entry, Math.max(entry.at, at));
    return true;
  }

  /** From here on the send counts at `at`: for the rate cap and for the spacing of rate-phase sends. */
  private wentOut(entry: SentEntry, at: number): void {
    this.ledger.wentOut(entry, at);
    this.pacer.onWentOut(entry, at);
  }

  /**
   * Called once per send decision, just before its requests go out. `next()` only plans (the runner may
   * ask several times while it waits); every change of plan state happens here or in onResponse.
   */
  onDispatch(action: SendAction): void {
    this.concurrency.onDispatch(action);
    if (isRatePurpose(action.purpose)) this.rate.onDispatch(action);
  }

  onResponse(observation: Observation): void {
    const entry = this.ledger.sent.get(observation.seq);
    if (!entry || this.ledger.responses.has(observation.seq)) return;
    // An answer without a report of going out: if the server answered, the request reached it by then at
    // the latest (counted then, as if it had waited for a connection, to be safe); if nothing came back,
    // it most likely never left.
    if (entry.goingOut) this.onWire(observation.seq, observation.status !== null ? observation.receivedAt : entry.at, observation.status !== null);
    this.ledger.answer(observation);
    this.concurrency.onAnswer(entry, observation);
  }

  /** Stop everything now (Ctrl-C). */
  interrupt(): void {
    if (!this.rate.done) this.rate.finish('interrupted');
    if (!this.concurrency.done) this.concurrency.finish('the probe was interrupted');
    this.ledger.stopReason = 'interrupted';
  }

  next(now: number): ProbeAction {
    // When a send still on its way out goes out is not known: every later send is timed from it.
    if (this.ledger.goingOut > 0) return { kind: 'await', until: null };
    if (!this.rate.done) {
      const step = this.rate.step(now);
      if (step !== 'finished') return step;
    }
    if (!this.concurrency.done) {
      const step = this.concurrency.step(now);
      if (step !== 'finished') return step;
    }
    return { kind: 'done' };
  }

  result(): ProbeResult {
    const rateObs = this.rate.answers();
    const rate = this.rate.estimate(rateObs);
    const concurrency = this.concurrency.estimate();
    const warnings = detectForeignUsage(rateObs);
    const gated = concurrencyRefusals(rateObs);
    if (gated > 0) {
      warnings.push(`${gated} 429${gated === 1 ? '' : 's'} during the rate part came from too many requests in flight (a concurrency limit), not the rate limit, and ${gated === 1 ? 'was' : 'were'} left out of the rate estimate; a lower --rpm keeps fewer requests in flight.`);
    }
    const stopReason = this.ledger.stopReason;
    if (rate.penalty) warnings.push(explainPenalty(rate.penalty.observedBanSeconds));
    const quota = this.rate.quota;
    if (stopReason === 'quota-share' && quota) warnings.push(explainQuotaShare(quota));
    // A refusal provoked on Chutes may have started an edge ban: say so, with what not to do.
    if (this.rate.chutesMode && gated < rateObs.filter((o) => o.outcome === 'rate_limited').length && !rate.penalty) {
      warnings.push(`${explainBanRisk(this.rate.refusalBudget)} The edge may block this key and address for a while now: stop all traffic from them; \`chutes-diag wait-reset\` waits without lengthening the ban.`);
    }
    return { rate, concurrency, warnings, stopReason };
  }
}
