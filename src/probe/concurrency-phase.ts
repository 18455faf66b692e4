// The probe's concurrency phase, after the rate phase: batches of 2, 4, 8 … simultaneous requests, each
// only when the rate allowance covers it (batch-allowance.ts), and a lone request after a batch with 429s
// to tell the concurrency gate from the rate limit (estimate-concurrency.ts reads the answers). Batches
// go out on a quiet line (nothing of ours in flight). Pure and clock-free: `step(now)` is given the time.
import {
  batchSizes,
  estimateConcurrency,
  judgeBatch,
  skippedConcurrency,
  type ConcurrencyEstimate,
  type ConcurrencyTrial,
  type RatePartEvidence,
} from './estimate-concurrency.js';
import { isAccepted, isRateLimited, maxSurelyAcceptedInFlight, rateGateEvidence, type Observation, type RateEstimate } from './estimate-rate.js';
import { allowanceModel, allowanceTime, headerAllowanceTime } from './batch-allowance.js';
import { detectDelayQueue } from './delay-queue.js';
import { isRatePurpose, type PhaseStep, type SendAction, type SendLedger, type SendPurpose, type SentEntry, type StrategyConfig } from './ledger.js';

/** What the concurrency phase needs to know of the rate phase (rate-phase.ts's RatePhase has it). */
export interface RateSide {
  /** The rate estimate so far. */
  estimate(): RateEstimate;
  /** The rate part's answers with concurrency-gate refusals re-attributed. */
  attributed(): readonly Observation[];
  /** The earliest instant the latest rate-phase refusals allow, or null. */
  retryFloor(): number | null;
  /** Refusals the probe may still provoke (--allow-refusals; Infinity: no limit). */
  refusalsLeft(): number;
}

/** The largest batch: the --concurrency number, or --max-concurrency with auto. */
export function concurrencyCap(config: StrategyConfig): number {
  const mode = config.concurrency;
  return typeof mode === 'number' ? mode : config.maxConcurrency;
}

/** Requests kept for the concurrency test: its batches and one lone retry, at most a quarter of the budget. */
export function concurrencyReserve(config: StrategyConfig): number {
  if (config.concurrency === 'off') return 0;
  const needed = batchSizes(concurrencyCap(config)).reduce((a, b) => a + b, 0) + 1;
  return Math.min(needed, Math.floor(config.maxRequests / 4));
}

/** Why the test did not run when the rate part stopped to spare a ban or the quota. */
const SPARED_BY = {
  refusals: 'the refusal budget (--allow-refusals) was spent: a batch could be refused and lengthen a ban',
  penalty: 'retries lengthen the block (a penalty box): a batch would make it longer',
  'quota-share': "the plan was stopped to spare today's quota (--max-quota-share)",
} as const;

export class ConcurrencyPhase {
  readonly trials: ConcurrencyTrial[] = [];
  done = false;
  private stopped: string | null = null;
  private skipped: string | null = null;

  constructor(
    private readonly ledger: SendLedger,
    private readonly config: StrategyConfig,
    private readonly rate: RateSide,
  ) {}

  /** The trial a send handed over now belongs to: the latest, for batch and lone sends. */
  trialOf(purpose: SendPurpose): number | null {
    return purpose === 'batch' || purpose === 'lone' ? this.trials.length - 1 : null;
  }

  /** A send decision is about to go out: a batch opens a trial. */
  onDispatch(action: SendAction): void {
    if (action.purpose === 'batch') this.trials.push({ size: action.count, responses: [], lone: null });
  }

  /** An answer to a batch or lone send joins its trial. */
  onAnswer(entry: SentEntry, observation: Observation): void {
    if (entry.trial === null) return;
    const trial = this.trials[entry.trial];
    if (trial && entry.purpose === 'batch') trial.responses.push(observation);
    if (trial && entry.purpose === 'lone') trial.lone = observation;
  }

  /** `skipped`: the test did not run (the estimate says "not tested" and why). */
  finish(stopped: string | null, skipped = false): void {
    this.done = true;
    if (skipped) this.skipped = stopped;
    else this.stopped = stopped;
  }

  /** The concurrency estimate from the trials so far, and what the rate part saw of a gate. */
  estimate(): ConcurrencyEstimate {
    const untested = this.config.concurrency === 'off' || this.ledger.stopReason === 'interrupted' || this.ledger.stopReason === 'errors';
    const concurrency = this.skipped !== null && (untested || this.trials.length > 0)
      ? skippedConcurrency(this.skipped, this.trials)
      : estimateConcurrency(this.trials, concurrencyCap(this.config), this.skipped ?? this.stopped, this.ratePartEvidence());
    concurrency.requests = [...this.ledger.sent.values()].filter((e) => !isRatePurpose(e.purpose)).length;
    return concurrency;
  }

  /**
   * The rate limit's spacing (one request back every refillMs, taken 20 % short to be cautious), when the
   * rate part measured it, and the gate the rate part saw (rateGateEvidence).
   */
  private ratePartEvidence(): RatePartEvidence {
    const rate = this.rate.estimate();
    const refillMs = rate.perMinute !== null && rate.perMinute > 0 && rate.bound !== 'at-least' && rate.bound !== 'unknown' ? (0.8 * 60_000) / rate.perMinute : null;
    const rateObs = this.ledger.observations.filter((o) => isRatePurpose(this.ledger.sent.get(o.seq)?.purpose));
    const perMinute = refillMs === null ? null : rate.perMinute;
    // A delaying limiter's queue refuses its overflow at a fixed depth too, and drains between a batch and
    // its lone retry: neither says anything of a concurrency gate (the bench's 30 r/m delaying row, "5 exact").
    if (detectDelayQueue(rateObs) !== null) return { gate: null, refillMs, inFlight: Number.POSITIVE_INFINITY };
    return { gate: rateGateEvidence(rateObs, perMinute)?.inFlight ?? null, refillMs, inFlight: maxSurelyAcceptedInFlight(rateObs) };
  }

  /**
   * When our requests spent rate allowance: every accepted one, and every 429 that was not the rate
   * limit's (the rate part's concurrency refusals, the batches' 429s): nginx runs limit_req before
   * limit_conn, so a request limit_conn refuses has already spent its token (issue #15, `lr=PASSED
   * lc=REJECTED`). Counting them too is the cautious side.
   */
  private spentAllowance(): number[] {
    const gateRefused = new Set(this.rate.attributed().filter((o) => o.outcome === 'capacity' && o.status === 429).map((o) => o.seq));
    return this.ledger.observations
      .filter((o) => isAccepted(o) || gateRefused.has(o.seq) || (isRateLimited(o) && !isRatePurpose(this.ledger.sent.get(o.seq)?.purpose)))
      .map((o) => o.sentAt);
  }

  step(now: number): PhaseStep {
    if (this.config.concurrency === 'off') {
      this.finish('--concurrency off', true);
      return 'finished';
    }
    const stopReason = this.ledger.stopReason;
    if (stopReason === 'interrupted' || stopReason === 'errors' || stopReason === 'quota') {
      this.finish(stopReason === 'interrupted' ? 'the probe was interrupted' : 'the rate part ended on errors', true);
      return 'finished';
    }
    // Sparing a ban or the quota: a batch could be refused (and lengthen the block) or spend the quota.
    const spared = SPARED_BY[stopReason as keyof typeof SPARED_BY];
    if (spared !== undefined) {
      this.finish(spared, true);
      return 'finished';
    }
    // Batches need the line to be quiet: nothing of ours in flight.
    if (this.ledger.pending > 0) return { kind: 'await', until: null };
    const cap = concurrencyCap(this.config);
    const sizes = batchSizes(cap);
    const lastTrial = this.trials.at(-1);
    if (lastTrial) {
      const judgement = judgeBatch(lastTrial);
      if (judgement.kind === 'needs-lone') {
        return this.send(now, 1, 'lone', 'no budget or time was left for the lone retry');
      }
      if (judgement.kind !== 'all-accepted' || lastTrial.size >= cap) {
        this.finish(null);
        return 'finished';
      }
    }
    const size = sizes[this.trials.length];
    if (size === undefined) {
      this.finish(null);
      return 'finished';
    }
    // Each request of a batch could be refused: more than the refusal budget leaves could lengthen a ban.
    if (size > this.rate.refusalsLeft()) {
      this.finish(`a batch of ${size} could be refused ${size} times, more than --allow-refusals leaves (each refusal can lengthen an edge ban)`, this.trials.length === 0);
      return 'finished';
    }
    const model = allowanceModel(this.rate.estimate(), this.rate.attributed());
    if (model.kind === 'unknown') {
      const reason = this.trials.length === 0 ? `the rate limit is not known well enough to keep a batch of ${size} clear of it` : `the rate allowance for a batch of ${size} is unknown`;
      this.finish(reason, this.trials.length === 0);
      return 'finished';
    }
    const modelled = allowanceTime(model, this.spentAllowance(), now, size);
    // The headers' own count comes first when they have one: nothing of ours is in flight, so the latest
    // answer's `remaining` is current. Too few left for the batch: wait for that policy's reset.
    const clearAt = modelled === null ? null : Math.max(modelled, headerAllowanceTime(this.ledger.observations, size) ?? modelled);
    if (clearAt === null) {
      const reason = `a batch of ${size} is larger than the rate limit allows at once`;
      this.finish(reason, this.trials.length === 0);
      return 'finished';
    }
    // Reserve one request for the lone retry that may follow this batch.
    if (this.ledger.sent.size + size + 1 > this.config.maxRequests) {
      this.finish('--max-requests leaves no room for a larger batch', this.trials.length === 0);
      return 'finished';
    }
    // Nor before a Retry-After the rate part ended on (the lone retry stays immediate: it tells a gate
    // from the rate limit only by going out at once).
    const floor = this.rate.retryFloor();
    return this.send(floor !== null ? Math.max(clearAt, floor) : clearAt, size, 'batch', '--max-duration leaves no time for a larger batch');
  }

  private send(at: number, count: number, purpose: SendPurpose, whyNot: string): PhaseStep {
    const action = this.ledger.guardedSend(at, count, purpose);
    if (typeof action === 'string') {
      this.finish(action === 'budget' ? '--max-requests ran out' : whyNot, this.trials.length === 0);
      if (this.ledger.stopReason === 'complete') this.ledger.stopReason = action === 'budget' ? 'budget' : 'duration';
      return 'finished';
    }
    return action;
  }
}
