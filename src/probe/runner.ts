// Drives a ProbeStrategy: asks it what to do, waits until the planned instant, sends, feeds answers
// back. The clock, the sleep and the send are injected, so the same loop runs on simulated time in the
// unit tests and for real in `chutes-diag probe`.
//
// Open loop: a planned send goes out at its time whether or not earlier requests have answered (no
// coordinated omission). Waiting is a timer up to `spinMs` before the instant (libuv's timers step in whole
// milliseconds), then naps of at most NAP_MS (Atomics.wait: the kernel's fine-grained timer, no CPU used) with
// a turn of the event loop between them, then a busy wait for the last BUSY_WAIT_MS, so sends land within a
// fraction of a millisecond of their schedule. With `reportsWire`, a request
// counts from when it really went out: the next decision waits until the HTTP client has written it
// (a new connection may take a while to set up), so no send is timed from an instant that was not real.
// With `stagesSends`, a request is handed to the HTTP client a stage lead before its instant and held until
// then (its SendGate opens at the instant): building it (0.5-3 ms of undici and our own code) happens before
// the instant instead of between the instant and the wire, where it delayed every send and, since no send
// goes out less than an interval after the last one really went out, added up over a run. A send the
// strategy plans for "now" (a burst that begins when an answer came, a retest) is moved one stage lead
// ahead, plan and all, so it is staged like the others.
import type { Observation } from './estimate-rate.js';
import type { ProbeAction, ProbeStrategy, SendPurpose } from './strategy.js';

export interface SendTicket {
  seq: number;
  /** Epoch ms the send was planned for (before any push for our own lateness: pacing error counts it). */
  scheduledAt: number;
  /** Our requests in flight when this one went out, itself included. */
  inFlight: number;
  purpose: SendPurpose;
  /** With `stagesSends`: the request must not go out before this opens (at its instant). */
  gate?: SendGate;
}

/** Opens once, at a staged send's instant; what waits for it runs then, synchronously. */
export class SendGate {
  private waiting: (() => void)[] = [];
  private opened = false;

  get open(): boolean {
    return this.opened;
  }

  /** Runs `fn` when the gate opens (at once when it is open). */
  onOpen(fn: () => void): void {
    if (this.opened) fn();
    else this.waiting.push(fn);
  }

  openNow(): void {
    if (this.opened) return;
    this.opened = true;
    for (const fn of this.waiting.splice(0)) fn();
  }
}

export interface RunnerOptions {
  strategy: ProbeStrategy;
  now: () => number;
  /** Resolves after `ms`, or early (never rejecting) when `signal` aborts. */
  sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  /**
   * Sends one request; should never reject (a rejection is recorded as a network error). With
   * `reportsWire`, calls `wentOut(at, newConnection)` once, when the request really goes out (its head is
   * written to the socket); `at` defaults to now; `newConnection`: on a connection opened for it, so it
   * waited for the set-up (TCP, TLS, a proxy).
   */
  sendOne: (ticket: SendTicket, wentOut: (at?: number, newConnection?: boolean) => void) => Promise<Observation>;
  /** sendOne reports when each request really goes out (see sendOne); otherwise it goes out as it is handed over. */
  reportsWire?: boolean;
  /**
   * sendOne can prepare a request and hold it until `ticket.gate` opens: the runner hands each send over
   * a stage lead before its instant (stageLeadMs, the first one startLeadMs) and opens the gate at the instant.
   */
  stagesSends?: boolean;
  /** How long before its instant a staged send is handed over (default STAGE_LEAD_MS; never more than a quarter interval, never less than spinMs). */
  stageLeadMs?: number;
  /**
   * Opens the connection before the first send so it is as punctual as the rest; never counted. It gets
   * at most min(warmUpMaxMs, time left before the deadline): the deadline starts before it, so
   * --max-duration counts it. `signal` aborts when that time is up or on Ctrl-C.
   */
  warmUp?: (signal: AbortSignal) => Promise<void>;
  /** Longest warm-up, ms (default WARM_UP_MAX_MS). */
  warmUpMaxMs?: number;
  /** Lead between the end of warm-up and the first slot, so the first send is timed like the others. */
  startLeadMs?: number;
  /** Ctrl-C: stop sending, wait up to drainTimeoutMs for requests in flight. */
  signal?: AbortSignal;
  drainTimeoutMs?: number;
  /** Wait the last `spinMs` before a send in naps and a busy wait instead of a timer (whole ms). 0 on simulated time. */
  spinMs?: number;
  yieldToLoop?: () => Promise<void>;
  /** Blocks the thread for about `ms` (< 1) without using the CPU; default napFor (Atomics.wait). Only with spinMs > 0. */
  nap?: (ms: number) => void;
  onSend?: (ticket: SendTicket) => void;
  onObservation?: (observation: Observation) => void;
}

export interface RunOutcome {
  interrupted: boolean;
  /** Requests still in flight when the run returned (only after an interrupt's drain timeout). */
  abandoned: number;
}

/**
 * The last part of the wait before a send, in ms, is a busy wait (without yielding to the event loop). A nap
 * wakes ~0.1 ms late on an idle core, but on a busy one the wake-up may wait for the running task's time
 * slice; waking a millisecond ahead absorbs most of that, and a busy wait that short stays within the slice
 * the wake-up gave (it is not preempted at a tick). Measured with a bare sender, 10 interleaved pairs at load
 * 1.3-1.6: arrival p99 lower with 1.0 ms than with 0.2 ms in 9 of 10 pairs (median 3.6 against 6.5 ms).
 */
const BUSY_WAIT_MS = 1;

/**
 * The longest nap (and so the longest the event loop is held) while a send's instant approaches. Naps, not a
 * busy spin: a process that keeps the CPU for the whole spin (2 ms) outlives its scheduler time slice on a
 * busy machine and is preempted at a tick (4 ms steps here), so its send goes out 3-4 ms late, and with no
 * catch-up every later send with it. Napping leaves it a fresh slice at each wake-up. Measured on this 2-core
 * machine, a bare sender 10 runs each, interleaved (load 0.2-0.4): arrival p99 of 40 sends at 600 rpm
 * 1.9-6.8 ms (median 4.4) with the spin, 1.5-3.9 ms (median 2.7) with naps.
 */
const NAP_MS = 0.5;

const napCell = new Int32Array(new SharedArrayBuffer(4));

/** How long the busy wait runs (in 1-ms calls) before anything is sent, so it is compiled before the first send. */
const WARM_BUSY_WAIT_MS = 10;

/**
 * Busy-waits until `instant`. A function of its own, small for V8's optimizing compiler (inside the async
 * wait it made the compiler rebuild the whole async function, 5-11 ms of CPU each time, several times).
 */
export function busyWaitUntil(now: () => number, instant: number): void {
  while (now() < instant) { /* busy wait */ }
}

/** Blocks this thread for about `ms` (Atomics.wait on a cell nobody notifies: the kernel's timer, no CPU). */
export function napFor(ms: number): void {
  if (ms > 0) Atomics.wait(napCell, 0, 0, ms);
}

/**
 * How long before its instant a staged send is handed to the HTTP client. It must cover the timer waking
 * late (libuv's timers have whole-millisecond steps: up to ~1.5 ms late on a quiet machine) plus building the
 * request until undici writes (and the gate holds) it: 0.4-0.8 ms, more while code is cold. With the old lead
 * of spinMs (2 ms) a per-send trace found a send in four handed over less than 0.3 ms before its instant,
 * and some after it: those went out late by their build time, and every later send inherited it.
 */
export const STAGE_LEAD_MS = 5;

/** One turn of the event loop: I/O callbacks run, so responses keep arriving while we spin. */
export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

export async function driveProbe(options: RunnerOptions): Promise<RunOutcome> {
  const { strategy, now, sleep, signal } = options;
  const spinMs = options.spinMs ?? 2;
  const yieldToLoop = options.yieldToLoop ?? yieldToEventLoop;
  const inFlight = new Set<Promise<void>>();
  // Aborted whenever a response arrives, so a wait ends and the strategy is asked again.
  let wake = new AbortController();
  const wakeUp = () => wake.abort();
  signal?.addEventListener('abort', wakeUp);

  const waitFor = async (ms: number | null): Promise<void> => {
    wake = new AbortController();
    const combined = signal ? AbortSignal.any([wake.signal, signal]) : wake.signal;
    if (ms === null) {
      if (combined.aborted) return;
      await new Promise<void>((resolve) => combined.addEventListener('abort', () => resolve(), { once: true }));
    } else {
      await sleep(ms, combined);
    }
  };

  // Naps with turns of the event loop between them (answers keep arriving) until BUSY_WAIT_MS before the
  // instant, then a busy wait: every send's lateness carries forward. No turn when less than a nap would be
  // left after it (a turn can take longer than the busy wait). Without a spin (simulated time): turns only.
  const nap = options.nap ?? napFor;
  // `atInstant` runs as the busy wait ends, in the same turn (an await between them cost ~10 µs a send, which
  // the no-catch-up rule carried forward: 0.4 ms over 40 sends).
  const spinUntil = async (instant: number, atInstant?: () => void): Promise<void> => {
    if (!(spinMs > 0)) {
      while (now() < instant) await yieldToLoop();
      atInstant?.();
      return;
    }
    for (;;) {
      const left = instant - BUSY_WAIT_MS - now();
      if (left <= 0) break;
      nap(Math.min(NAP_MS, left));
      if (instant - BUSY_WAIT_MS - now() > NAP_MS) await yieldToLoop();
    }
    busyWaitUntil(now, instant);
    atInstant?.();
  };

  const dispatch = (action: Extract<ProbeAction, { kind: 'send' }>, gate?: SendGate): void => {
    strategy.onDispatch(action);
    for (let i = 0; i < action.count; i++) {
      // A staged send is handed over at its instant: the gate keeps it until then.
      const at = gate ? Math.max(now(), action.at) : now();
      const seq = strategy.onSent({ at, scheduledAt: action.at, purpose: action.purpose, awaitWire: options.reportsWire === true });
      const ticket: SendTicket = { seq, scheduledAt: action.slot ?? action.at, inFlight: inFlight.size + 1, purpose: action.purpose, ...(gate ? { gate } : {}) };
      options.onSend?.(ticket);
      // The strategy holds every later decision until this request is on the wire: wake the loop then.
      const wentOut = (when: number = now(), newConnection = false): void => {
        if (strategy.onWire(seq, when, newConnection)) wake.abort();
      };
      const settled = options
        .sendOne(ticket, wentOut)
        .catch((error: unknown): Observation => failedObservation(ticket, at, now(), error))
        .then((observation) => {
          strategy.onResponse(observation);
          options.onObservation?.(observation);
        })
        .finally(() => {
          inFlight.delete(settled);
          wake.abort();
        });
      inFlight.add(settled);
    }
  };

  try {
    // The busy wait runs hot from the first send on: V8 then compiles it (and the clock) on a background
    // thread, for several milliseconds of CPU that on 2 cores kept the main thread from its instant at sends
    // #2-#5 (a per-send trace: the main thread waiting to run as long as the compiler threads ran). Warmed
    // here, that compiling happens during the warm-up instead.
    if (spinMs > 0) for (let i = 0; i < WARM_BUSY_WAIT_MS; i++) busyWaitUntil(now, now() + 1);
    if (options.warmUp && !signal?.aborted) await boundedWarmUp(options.warmUp, Math.min(options.warmUpMaxMs ?? WARM_UP_MAX_MS, strategy.deadline - now()), sleep, signal);
    strategy.startAt(now() + (options.startLeadMs ?? 0));
    const stageLeadMs = Math.max(spinMs, Math.min(options.stageLeadMs ?? STAGE_LEAD_MS, strategy.intervalMs / 4));
    while (!signal?.aborted) {
      const asked = now();
      const planned = strategy.next(asked);
      if (planned.kind === 'done') break;
      if (planned.kind === 'await') {
        // Nothing in flight and no time to wait for: nothing can change any more.
        if (inFlight.size === 0 && planned.until === null) break;
        await waitFor(planned.until === null ? null : Math.max(0, planned.until - now()));
        continue;
      }
      const action = options.stagesSends ? stageAhead(planned, asked, stageLeadMs, strategy.deadline) : planned;
      const lead = action.at - now();
      // The first send is staged up to startLeadMs early: its cold path (undici's first request, its
      // parser, the warm connection's hand-over: 4-9 ms measured) then runs before its instant.
      const stageMs = !options.stagesSends ? spinMs : strategy.sentCount === 0 ? Math.max(stageLeadMs, options.startLeadMs ?? 0) : stageLeadMs;
      if (lead > stageMs) {
        await waitFor(lead - stageMs);
        continue; // ask again: an answer that arrived meanwhile may change the plan
      }
      if (options.stagesSends) {
        // Handed over now, held until the instant: then only the socket write is left to do.
        const gate = new SendGate();
        dispatch(action, gate);
        while (action.at - now() > spinMs) await sleep(action.at - now() - spinMs);
        await spinUntil(action.at, () => gate.openNow());
        continue;
      }
      await spinUntil(action.at);
      if (signal?.aborted) break;
      dispatch(action);
      // Let the HTTP client write the request before the strategy's next decision runs: that work would
      // otherwise sit between our sentAt and the bytes on the wire (up to ~7 ms measured while code is cold).
      await yieldToLoop();
    }
  } finally {
    signal?.removeEventListener('abort', wakeUp);
  }

  const interrupted = Boolean(signal?.aborted);
  if (interrupted) {
    strategy.interrupt();
    // The drain timer is cancelled as soon as the drain ends: a live timer would hold the process
    // (and the user, after Ctrl-C) for the whole timeout even with nothing in flight.
    const drained = new AbortController();
    const drain = Promise.all([...inFlight]).then(() => drained.abort());
    await Promise.race([drain, sleep(options.drainTimeoutMs ?? 3000, drained.signal)]);
    drained.abort();
  } else {
    await Promise.all([...inFlight]);
  }
  return { interrupted, abandoned: inFlight.size };
}

/**
 * A send planned for the very instant it was asked for (`asked`: a burst that begins when an answer came, a
 * retest, a batch) cannot be staged: it would be built between its instant and the wire. It moves one stage
 * lead ahead, its slot with it (the plan moves; that is not lateness), unless that would pass the deadline.
 * A send planned ahead keeps its instant, and a slot already past (this process was late) is still its slot.
 */
export function stageAhead(action: Extract<ProbeAction, { kind: 'send' }>, asked: number, leadMs: number, deadline: number): Extract<ProbeAction, { kind: 'send' }> {
  const plannedNow = action.at === asked && (action.slot === undefined || action.slot === asked);
  if (!plannedNow || !(leadMs > 0) || asked + leadMs > deadline) return action;
  return { ...action, at: asked + leadMs, slot: asked + leadMs };
}

/**
 * The warm-up's longest wait (issue #15: at most about one pace interval): it waits for a connection,
 * never for an answer; one still opening after this is taken over by the first send.
 */
export const WARM_UP_MAX_MS = 250;

/** Runs the warm-up for at most `ms` (nothing when ≤ 0), aborting it when the time is up or on Ctrl-C. */
async function boundedWarmUp(
  warmUp: (signal: AbortSignal) => Promise<void>,
  ms: number,
  sleep: RunnerOptions['sleep'],
  signal: AbortSignal | undefined,
): Promise<void> {
  if (!(ms > 0)) return;
  const stop = new AbortController();
  const stopOnAbort = () => stop.abort();
  signal?.addEventListener('abort', stopOnAbort, { once: true });
  try {
    const done = warmUp(stop.signal).catch(() => undefined).finally(() => stop.abort());
    await Promise.race([done, sleep(ms, stop.signal)]);
  } finally {
    stop.abort();
    signal?.removeEventListener('abort', stopOnAbort);
  }
}

/** A send function that threw (it should not): recorded as a network error so the accounting stays right. */
function failedObservation(ticket: SendTicket, sentAt: number, receivedAt: number, error: unknown): Observation {
  void error;
  return {
    seq: ticket.seq,
    sentAt,
    receivedAt,
    status: null,
    outcome: 'network_error',
    policies: [],
    retryAfterSeconds: null,
    inFlight: ticket.inFlight,
  };
}
