// The probe plan's shared record: the words its parts speak (config, actions, send purposes, stop
// reasons) and the ledger of what was sent and what came back, which the rate phase (rate-phase.ts), the
// concurrency phase (concurrency-phase.ts) and their coordinator (strategy.ts) all read. The ledger also
// holds the guards every send passes: the budget (--max-requests), the rate cap and the deadline.
// Pure and clock-free like the rest of the plan: every time is given in epoch ms.
import { bySendTime, type Observation } from './estimate-rate.js';
import { RateCap } from './schedule.js';

export type ConcurrencyMode = 'auto' | 'off' | number;

export interface StrategyConfig {
  /** Epoch ms of the first paced slot. */
  start: number;
  rpm: number;
  maxRequests: number;
  maxDurationMs: number;
  concurrency: ConcurrencyMode;
  maxConcurrency: number;
  /**
   * How many refusals (rate-limit 429s, the edge's HTML 429 among them) the probe may provoke; after that
   * it provokes none. Unset: 1 in Chutes mode (each can lengthen an edge ban), else unlimited.
   */
  allowRefusals?: number;
  /** The target is Chutes by its host (*.chutes.ai); answers with X-Chutes-* headers say so too. */
  chutes?: boolean;
  /** Chutes mode: the most of today's remaining quota (percent) the plan may spend without `yes`; default 10. */
  maxQuotaShare?: number;
  /** --yes: the plan was confirmed, whatever share of the quota it may spend. */
  yes?: boolean;
}

export type SendPurpose = 'burst' | 'retest' | 'check' | 'batch' | 'lone';

export type ProbeAction =
  /** `slot`: the planned instant when `at` was pushed later (our own lateness); pacing is measured against it. */
  | { kind: 'send'; at: number; count: number; purpose: SendPurpose; slot?: number }
  /** Wait for a response, or until `until` (then ask again). */
  | { kind: 'await'; until: number | null }
  | { kind: 'done' };

export type SendAction = Extract<ProbeAction, { kind: 'send' }>;

/** What one phase asks for next, or 'finished' when it has nothing more to send. */
export type PhaseStep = ProbeAction | 'finished';

export type StopReason = 'complete' | 'budget' | 'duration' | 'interrupted' | 'errors' | 'quota' | 'refusals' | 'penalty' | 'quota-share';

export interface SentEntry {
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
  /** Index into the concurrency trials for batch and lone sends. */
  trial: number | null;
  /** Handed to the HTTP client, not yet on the wire (a connection being set up). */
  goingOut: boolean;
  /** It went out on a connection opened for it: it waited for the network, not for this process. */
  newConnection: boolean;
}

/** Bursts, retests and reset checks belong to the rate part; batches and lone retries to the concurrency part. */
export function isRatePurpose(purpose: SendPurpose | undefined): boolean {
  return purpose === 'burst' || purpose === 'retest' || purpose === 'check';
}

/** Every send and answer of one probe, the hard guards on the next send, and why sending stopped. */
export class SendLedger {
  readonly sent = new Map<number, SentEntry>();
  readonly responses = new Map<number, Observation>();
  /** Every answer, in send order: kept sorted on insertion (answers mostly come in order, so O(1) each). */
  readonly observations: Observation[] = [];
  readonly cap: RateCap;
  /** Sends not yet on the wire: nothing else is planned until they are (their time is not known yet). */
  goingOut = 0;
  /** Why sending stopped; both phases and an interrupt write it, 'complete' until one does. */
  stopReason: StopReason = 'complete';
  private nextSeq = 1;

  constructor(
    private readonly maxRequests: number,
    rpm: number,
    /** No send after this. */
    readonly deadline: number,
  ) {
    this.cap = new RateCap(rpm);
  }

  /** Sends not answered yet. */
  get pending(): number {
    return this.sent.size - this.responses.size;
  }

  /** Records a send as it is handed to the HTTP client, under the next seq. */
  add(send: Omit<SentEntry, 'seq'>): SentEntry {
    const entry: SentEntry = { seq: this.nextSeq++, ...send };
    this.sent.set(entry.seq, entry);
    if (entry.goingOut) this.goingOut += 1;
    return entry;
  }

  /** A send still going out is on the wire now: the entry, or null when that is no news. */
  onWire(seq: number, newConnection: boolean): SentEntry | null {
    const entry = this.sent.get(seq);
    if (!entry?.goingOut) return null;
    entry.goingOut = false;
    entry.newConnection = newConnection;
    this.goingOut -= 1;
    return entry;
  }

  /** From here on the send counts at `at`, for the rate cap. */
  wentOut(entry: SentEntry, at: number): void {
    entry.at = at;
    this.cap.record(at);
  }

  /** Files an answer in send order. */
  answer(observation: Observation): void {
    this.responses.set(observation.seq, observation);
    let i = this.observations.length;
    while (i > 0 && bySendTime(this.observations[i - 1] as Observation, observation) > 0) i--;
    this.observations.splice(i, 0, observation);
  }

  /** Sends of a kind still unanswered. */
  pendingOf(filter: (e: SentEntry) => boolean): number {
    let n = 0;
    for (const entry of this.sent.values()) if (filter(entry) && !this.responses.has(entry.seq)) n++;
    return n;
  }

  /** A send `count` at ≥ `at`, within budget, rate cap and deadline; else which of those forbids it. */
  guardedSend(at: number, count: number, purpose: SendPurpose): SendAction | 'budget' | 'duration' {
    if (this.sent.size + count > this.maxRequests) return 'budget';
    const allowed = this.cap.earliest(at, count);
    if (allowed === null) return 'budget';
    if (allowed > this.deadline) return 'duration';
    return { kind: 'send', at: allowed, count, purpose };
  }
}
