// The wait-reset loop, pure: time, sleeping and sending are injected, so the same code runs for real
// and on simulated time in tests. Part of the public API (`waitForReset`).
//
// Rule: send; while limited, test again at the moment the server named (plus a small margin), and
// only when it named none, back off from --interval, doubling up to --max-interval. Never test
// sooner than the server asked; never poll a reset that falls after --max-wait.
// A refusal that lengthens itself (Chutes' edge ban: an authenticated request refused by the edge's
// HTML 429, no hint) is retested ban-safe instead: ×8 per refused retest, not capped by
// --max-interval, and never a shortened last test at --max-wait (next-test.ts derives the rule).
// Chosen by the answer's shape, from the first refusal, rather than by detecting the escalation:
// seeing it takes refused retests, each of which doubles the ban, and a doubling backoff never
// catches up with a doubling ban. Other header-less limits keep the doubling backoff.
//
// Its parts: hints.ts (reading one response), next-test.ts (when to test next), window.ts (how long
// the window took); all re-exported here, the module of the public API.
import { readResetHint, type ResetHint, type WaitObservation } from './hints.js';
import { nextTestDelay, type BackoffOptions, type NextTest } from './next-test.js';
import { estimateResetWindow, type ResetWindow } from './window.js';

export * from './hints.js';
export * from './next-test.js';
export * from './window.js';

export const DEFAULT_INTERVAL_MS = 5_000;
export const DEFAULT_MAX_INTERVAL_MS = 60_000;
export const DEFAULT_MAX_WAIT_MS = 600_000;
/** Added to a hinted reset: clocks and whole-second rounding make "exactly then" a coin toss. */
export const DEFAULT_MARGIN_MS = 250;

export type WaitStop =
  /** The first response was not limited: nothing to wait for. */
  | 'not-limited'
  | 'reset'
  /** The next test would fall after --max-wait. */
  | 'max-wait'
  /** The server named a reset after --max-wait (a daily quota): not polled at all. */
  | 'reset-beyond-max-wait'
  /** A response that is neither OK nor limited (auth, other HTTP, network). */
  | 'error'
  | 'aborted';

export interface WaitProgress {
  attempts: number;
  startedAt: number;
  waitedMs: number;
}

export interface WaitForResetOptions<T> {
  /** Sends one request; `attempt` counts from 1. Should not throw: report failures as state 'error'. */
  sendOne: (attempt: number) => Promise<WaitObservation<T>>;
  intervalMs?: number;
  maxIntervalMs?: number;
  maxWaitMs?: number;
  marginMs?: number;
  /** The shortest ban-safe wait (BackoffOptions.banWindowMs); default 0: intervalMs alone. */
  banWindowMs?: number;
  /** Epoch ms; default Date.now. */
  now?: () => number;
  /** Resolves after ms, or early when the signal aborts; default: a timer. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  signal?: AbortSignal;
  /** After each kept response. */
  onResponse?: (observation: WaitObservation<T>, progress: WaitProgress) => void;
  /** Before each wait: for a countdown. */
  onWait?: (next: NextTest, progress: WaitProgress) => void;
}

export interface WaitForResetResult<T> {
  /** True when a request passed (also when the first one did: nothing was limited). */
  reset: boolean;
  stop: WaitStop;
  /** Requests sent and answered. */
  attempts: number;
  startedAt: number;
  /** From the first send to the last response, or to the give-up. */
  waitedMs: number;
  observations: WaitObservation<T>[];
  final: WaitObservation<T> | null;
  /** When it reset: how long it took and how precisely we know. */
  window: ResetWindow | null;
  /** When still limited: the server's last word on when it resets (the reason for 'reset-beyond-max-wait'). */
  pendingHint: ResetHint | null;
  /** The test that was planned when the wait stopped (max-wait, abort), if any. */
  nextTest: NextTest | null;
  /** The refusals could lengthen themselves (an edge ban with no hint): the retests were spaced ban-safe. */
  banSafe: boolean;
}

/** A timer that resolves early (never rejects) when the signal aborts. */
export function sleepUnlessAborted(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) {
      resolve();
      return;
    }
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, Math.max(0, ms));
    signal?.addEventListener('abort', done, { once: true });
  });
}

/**
 * Retests until the limit resets, with as few requests as the server's hints allow.
 *
 *   const result = await waitForReset({ sendOne: async () => observeResponse(await myRequest(), null) });
 *   if (result.reset) console.log(`reset after ${result.window?.resetAfterMs} ms`);
 */
export async function waitForReset<T>(options: WaitForResetOptions<T>): Promise<WaitForResetResult<T>> {
  const now = options.now ?? Date.now;
  const sleep = options.sleep ?? sleepUnlessAborted;
  const backoff: BackoffOptions = {
    intervalMs: options.intervalMs ?? DEFAULT_INTERVAL_MS,
    maxIntervalMs: options.maxIntervalMs ?? DEFAULT_MAX_INTERVAL_MS,
    marginMs: options.marginMs ?? DEFAULT_MARGIN_MS,
    banWindowMs: options.banWindowMs ?? 0,
  };
  const { signal } = options;
  const startedAt = now();
  const deadline = startedAt + (options.maxWaitMs ?? DEFAULT_MAX_WAIT_MS);
  const observations: WaitObservation<T>[] = [];
  const progress = (): WaitProgress => ({ attempts: observations.length, startedAt, waitedMs: now() - startedAt });
  let backoffStep = 0;
  let missedHints = 0;
  let planned: NextTest | null = null;
  let pendingHint: ResetHint | null = null;
  let banSafe = false;

  const finish = (stop: WaitStop): WaitForResetResult<T> => {
    const final = observations.at(-1) ?? null;
    const reset = stop === 'reset' || stop === 'not-limited';
    return {
      reset,
      stop,
      attempts: observations.length,
      startedAt,
      waitedMs: (stop === 'reset' || stop === 'not-limited' || stop === 'error' ? final?.receivedAt ?? now() : now()) - startedAt,
      observations,
      final,
      window: stop === 'reset' ? estimateResetWindow(observations) : null,
      pendingHint: reset ? null : pendingHint,
      nextTest: stop === 'max-wait' || stop === 'aborted' ? planned : null,
      banSafe,
    };
  };

  for (;;) {
    if (signal?.aborted) return finish('aborted');
    const obs = await options.sendOne(observations.length + 1);
    // A request cut short by the abort says nothing about the limit.
    if (signal?.aborted && obs.state === 'error') return finish('aborted');
    observations.push(obs);
    planned = null;
    options.onResponse?.(obs, progress());
    if (obs.state === 'ok') return finish(observations.length === 1 ? 'not-limited' : 'reset');
    if (obs.state === 'error') return finish('error');
    if (signal?.aborted) return finish('aborted');

    const previous = pendingHint;
    pendingHint = readResetHint(obs);
    if (previous !== null && obs.sentAt >= previous.atMs) missedHints += 1;
    // Once a refusal is seen to lengthen itself, every later wait must outgrow the ban: it stays on.
    if (obs.escalating === true && pendingHint === null) banSafe = true;
    const t = now();
    let next = nextTestDelay({ now: t, hint: pendingHint, backoffStep, missedHints, banSafe }, backoff);
    if (deadline - t < backoff.marginMs) {
      planned = next;
      return finish('max-wait');
    }
    if (pendingHint?.binding && pendingHint.atMs + backoff.marginMs > deadline) return finish('reset-beyond-max-wait');
    if (next.source === 'backoff' || next.source === 'ban-backoff') backoffStep += 1;
    if (next.atMs > deadline && next.source === 'ban-backoff') {
      // A retest before the ban-safe time would most likely be refused and lengthen the ban: give up
      // instead, and report the safe time.
      planned = next;
      return finish('max-wait');
    }
    if (next.atMs > deadline) {
      // A binding hint is known to fit (checked above), so a last look at the deadline is never too early;
      // giving up at the previous test instead would end the wait long before --max-wait.
      next = { ...next, atMs: deadline, delayMs: deadline - t };
    }
    planned = next;
    options.onWait?.(next, progress());
    await sleep(next.delayMs, signal);
  }
}
