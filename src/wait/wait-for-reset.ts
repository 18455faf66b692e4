// The wait-reset loop, pure: time, sleeping and sending are injected, so the same code runs for real
// and on simulated time in tests. Part of the public API (`waitForReset`).
//
// Rule: send; while limited, test again at the moment the server named (plus a small margin), and
// only when it named none, back off from --interval, doubling up to --max-interval. Never test
// sooner than the server asked; never poll a reset that falls after --max-wait.
import { parseRateLimitHeaders } from '../ratelimit/parse.js';
import type { Outcome, RateLimitInfo, RateLimitPolicy } from '../types.js';

export const DEFAULT_INTERVAL_MS = 5_000;
export const DEFAULT_MAX_INTERVAL_MS = 60_000;
export const DEFAULT_MAX_WAIT_MS = 600_000;
/** Added to a hinted reset: clocks and whole-second rounding make "exactly then" a coin toss. */
export const DEFAULT_MARGIN_MS = 250;

/** ok: the limit is gone; limited: still refused (429, 402, capacity); error: anything else, which ends the wait. */
export type WaitState = 'ok' | 'limited' | 'error';

/** One response, reduced to what the loop needs; `data` carries the caller's own record along. */
export interface WaitObservation<T = unknown> {
  state: WaitState;
  /** Epoch ms when the request was sent. */
  sentAt: number;
  /** Epoch ms when the response (or the failure) arrived; every relative hint counts from here. */
  receivedAt: number;
  /** Retry-After / retry-after-ms, seconds from receivedAt. */
  retryAfterSeconds: number | null;
  policies: readonly RateLimitPolicy[];
  /** A Chutes 402's `quota_reset_timestamp`, epoch ms. */
  quotaResetAt: number | null;
  /** Response headers (lower-case names): only to name the header a hint came from and its precision. */
  headers: Readonly<Record<string, string>>;
  data: T;
}

export type ResetHintSource = 'retry-after' | 'reset-header' | 'quota-reset-timestamp' | 'policy-reset' | 'backoff';

/** What a limited response says about when it will pass. */
export interface ResetHint {
  source: Exclude<ResetHintSource, 'backoff'>;
  /** The header or body field that said it, e.g. "retry-after", "x-ratelimit-reset", "quota_reset_timestamp". */
  origin: string | null;
  /** Epoch ms from which the server says a request will pass. */
  atMs: number;
  /**
   * The server asked us not to come back before atMs: Retry-After, an exhausted policy's reset, a 402
   * timestamp. A non-binding hint (the reset of the policy with the least left, none at 0) is a guess.
   */
  binding: boolean;
  /** Precision of atMs: 1000 for whole-second values (the reset fell within the second before), 1 for ms. */
  resolutionMs: number;
}

export interface BackoffOptions {
  intervalMs: number;
  maxIntervalMs: number;
  marginMs: number;
}

/** When to test next, and why. */
export interface NextTest {
  atMs: number;
  delayMs: number;
  source: ResetHintSource;
  origin: string | null;
  /** The hint the plan follows; null for plain backoff. */
  hint: ResetHint | null;
}

export interface NextTestInput {
  now: number;
  hint: ResetHint | null;
  /** Backoff waits taken so far: the exponent of the next one. */
  backoffStep: number;
  /** Tests made at a hinted time that were still limited: the server's hints are not to be trusted alone. */
  missedHints: number;
}

// ---------------------------------------------------------------------------------------------
// Reading one response

export function stateForOutcome(outcome: Outcome): WaitState {
  if (outcome === 'ok') return 'ok';
  if (outcome === 'rate_limited' || outcome === 'quota_exceeded' || outcome === 'capacity') return 'limited';
  return 'error';
}

/** Status-only fallback for library callers without the verdict engine: 2xx ok, 429 and 402 limited. */
export function stateForStatus(status: number | null): WaitState {
  if (status !== null && status >= 200 && status < 300) return 'ok';
  return status === 429 || status === 402 ? 'limited' : 'error';
}

export interface HttpResponseLike {
  status: number | null;
  headers: Record<string, string>;
  body?: string | null;
  sentAt: number;
  receivedAt: number;
}

/**
 * A response → WaitObservation. Pass `rateLimit` when the headers are already parsed and `outcome`
 * when the verdict engine classified the response; otherwise the headers are parsed here and the
 * state comes from the status alone.
 */
export function observeResponse<T>(
  response: HttpResponseLike,
  data: T,
  known: { rateLimit?: Pick<RateLimitInfo, 'policies' | 'retryAfterSeconds'>; outcome?: Outcome } = {},
): WaitObservation<T> {
  const headers = Object.fromEntries(Object.entries(response.headers).map(([name, value]) => [name.toLowerCase(), value]));
  const rateLimit = known.rateLimit ?? parseRateLimitHeaders(headers, { receivedAt: response.receivedAt });
  return {
    state: known.outcome === undefined ? stateForStatus(response.status) : stateForOutcome(known.outcome),
    sentAt: response.sentAt,
    receivedAt: response.receivedAt,
    retryAfterSeconds: rateLimit.retryAfterSeconds,
    policies: rateLimit.policies,
    quotaResetAt: response.status === 402 ? readQuotaResetTimestamp(response.body ?? null) : null,
    headers,
    data,
  };
}

/** `{"detail": {"quota_reset_timestamp": "<ISO>"}}` from a Chutes 402 (a regex, so a clipped body still works). */
export function readQuotaResetTimestamp(body: string | null): number | null {
  const value = body === null ? undefined : /"quota_reset_timestamp"\s*:\s*"([^"]+)"/.exec(body)?.[1];
  if (value === undefined) return null;
  const ms = Date.parse(value);
  return Number.isFinite(ms) ? ms : null;
}

const RETRY_AFTER_HEADERS = ['retry-after-ms', 'x-ms-retry-after-ms', 'retry-after'];

/** Whole seconds unless the value shows finer precision: a decimal point, an epoch in ms, an -ms header. */
export function hintResolutionMs(header: string | null, value: string | undefined): number {
  if (header !== null && header.endsWith('-ms')) return 1;
  if (value !== undefined && (/\d\.\d/.test(value) || /\b\d{12,}\b/.test(value))) return 1;
  return 1000;
}

function policyResetHeader(policy: RateLimitPolicy): string | null {
  return policy.sources.find((s) => s.includes('reset')) ?? policy.sources.find((s) => s === 'ratelimit') ?? policy.sources[0] ?? null;
}

function policyHint(obs: WaitObservation, policy: RateLimitPolicy & { resetSeconds: number }, binding: boolean): ResetHint {
  const origin = policyResetHeader(policy);
  return {
    source: binding ? 'reset-header' : 'policy-reset',
    origin,
    atMs: obs.receivedAt + policy.resetSeconds * 1000,
    binding,
    resolutionMs: hintResolutionMs(origin, origin === null ? undefined : obs.headers[origin]),
  };
}

function hasReset(policy: RateLimitPolicy): policy is RateLimitPolicy & { resetSeconds: number } {
  return policy.resetSeconds !== null && Number.isFinite(policy.resetSeconds);
}

/**
 * Everything the response binds us to: Retry-After, every exhausted policy's reset, a 402 timestamp.
 * All of them must have passed before a request can succeed, so the latest one wins.
 */
function bindingHints(obs: WaitObservation): ResetHint[] {
  const hints: ResetHint[] = [];
  if (obs.retryAfterSeconds !== null) {
    const origin = RETRY_AFTER_HEADERS.find((name) => obs.headers[name] !== undefined) ?? 'retry-after';
    hints.push({
      source: 'retry-after',
      origin,
      atMs: obs.receivedAt + obs.retryAfterSeconds * 1000,
      binding: true,
      resolutionMs: hintResolutionMs(origin, obs.headers[origin]),
    });
  }
  for (const policy of obs.policies) {
    if (policy.remaining === 0 && hasReset(policy)) hints.push(policyHint(obs, policy, true));
  }
  if (obs.quotaResetAt !== null) {
    hints.push({ source: 'quota-reset-timestamp', origin: 'quota_reset_timestamp', atMs: obs.quotaResetAt, binding: true, resolutionMs: 1 });
  }
  return hints;
}

/** No policy at 0: the reset of the one with the smallest share left, as a guess. */
function guessedHint(obs: WaitObservation): ResetHint | null {
  const candidates = obs.policies.filter((p): p is RateLimitPolicy & { resetSeconds: number } => p.remaining !== null && hasReset(p));
  const share = (p: RateLimitPolicy) => (p.limit !== null && p.limit > 0 ? (p.remaining ?? 0) / p.limit : (p.remaining ?? 0));
  const tightest = candidates.reduce<(typeof candidates)[number] | null>((best, p) => (best === null || share(p) < share(best) ? p : best), null);
  return tightest === null ? null : policyHint(obs, tightest, false);
}

/** When the response says the limit will pass, or null when it says nothing. */
export function readResetHint(obs: WaitObservation): ResetHint | null {
  const binding = bindingHints(obs);
  // Latest first; on a tie the earlier entry (Retry-After before headers before the body) names the source.
  const latest = binding.reduce<ResetHint | null>((best, h) => (best === null || h.atMs > best.atMs ? h : best), null);
  return latest ?? guessedHint(obs);
}

// ---------------------------------------------------------------------------------------------
// Scheduling

/** interval · 2^step, capped at maxInterval. */
export function backoffDelayMs(step: number, options: Pick<BackoffOptions, 'intervalMs' | 'maxIntervalMs'>): number {
  return Math.min(options.intervalMs * 2 ** Math.max(0, step), Math.max(options.intervalMs, options.maxIntervalMs));
}

/**
 * The next test time. A binding hint is obeyed to the millisecond plus the margin, and once such a
 * test was still limited the backoff is added on top (a server answering "Retry-After: 0" forever
 * must not make us hammer it). A guess is used only while it is sooner than the backoff and has not
 * failed yet. No hint: backoff.
 */
export function nextTestDelay(input: NextTestInput, options: BackoffOptions): NextTest {
  const { now, hint } = input;
  const backoffAt = now + backoffDelayMs(input.backoffStep, options);
  const plan = (atMs: number, source: ResetHintSource, followed: ResetHint | null): NextTest => ({
    atMs, delayMs: Math.max(0, atMs - now), source, origin: followed?.origin ?? null, hint: followed,
  });
  if (hint !== null) {
    const hintedAt = Math.max(hint.atMs, now) + options.marginMs;
    if (hint.binding) {
      const floor = input.missedHints > 0 ? now + backoffDelayMs(input.missedHints - 1, options) : hintedAt;
      return plan(Math.max(hintedAt, floor), hint.source, hint);
    }
    if (input.missedHints === 0 && hintedAt < backoffAt) return plan(hintedAt, hint.source, hint);
  }
  return plan(backoffAt, 'backoff', null);
}

// ---------------------------------------------------------------------------------------------
// How long the window took to reset

export interface ResetWindow {
  /** Epoch ms of the first limited response. */
  firstLimitedAt: number;
  /** Best estimate of the reset: the middle of [earliestAt, latestAt]. */
  resetAt: number;
  /** It had not reset when the last limited request was sent (or, by the hint's precision, before this). */
  earliestAt: number;
  /** It had reset by then: the hinted time, or the send of the first OK request. */
  latestAt: number;
  /** resetAt − firstLimitedAt. */
  resetAfterMs: number;
  /** hint: bounded by what the server said; observed: only by when we tested (no hint, or the hints proved wrong). */
  basis: 'hint' | 'observed';
  source: ResetHint['source'] | null;
  origin: string | null;
  /** Tests sent at or after a hinted reset that were still limited: when > 0, no hint narrows the window. */
  missedHints: number;
}

/**
 * Limited tests sent at or after the time the previous response named: each one proves that the
 * server's hints (for this limit) are not to be trusted. Counted as the loop counts them.
 */
export function countMissedHints(observations: readonly WaitObservation[]): number {
  let missed = 0;
  let previous: ResetHint | null = null;
  for (const obs of observations) {
    if (obs.state !== 'limited') continue;
    if (previous !== null && obs.sentAt >= previous.atMs) missed += 1;
    previous = readResetHint(obs);
  }
  return missed;
}

/**
 * Bounds the reset between the last limited and the first OK request (send times: the limiter
 * decides on arrival, long before an inference body completes), narrowed by the last hint when
 * the observations agree with it and no earlier hint was missed: a server whose Retry-After already
 * proved wrong once (still limited when tested at the hinted time) is not believed the last time
 * either, so only the tests bound the reset.
 */
export function estimateResetWindow(observations: readonly WaitObservation[]): ResetWindow | null {
  const firstLimited = observations.find((o) => o.state === 'limited');
  const okIndex = observations.findIndex((o) => o.state === 'ok');
  const ok = observations[okIndex];
  const lastLimited = observations.slice(0, okIndex).reverse().find((o) => o.state === 'limited');
  if (firstLimited === undefined || ok === undefined || lastLimited === undefined) return null;
  let earliestAt = lastLimited.sentAt;
  let latestAt = ok.sentAt;
  let basis: ResetWindow['basis'] = 'observed';
  const missedHints = countMissedHints(observations.slice(observations.indexOf(firstLimited), okIndex));
  const hint = readResetHint(lastLimited);
  if (missedHints === 0 && hint !== null && hint.atMs >= earliestAt && hint.atMs <= latestAt) {
    earliestAt = Math.max(earliestAt, hint.atMs - hint.resolutionMs);
    latestAt = hint.atMs;
    basis = 'hint';
  }
  const resetAt = (earliestAt + latestAt) / 2;
  return {
    firstLimitedAt: firstLimited.receivedAt,
    resetAt,
    earliestAt,
    latestAt,
    resetAfterMs: Math.max(0, resetAt - firstLimited.receivedAt),
    basis,
    source: basis === 'hint' && hint !== null ? hint.source : null,
    origin: basis === 'hint' && hint !== null ? hint.origin : null,
    missedHints,
  };
}

// ---------------------------------------------------------------------------------------------
// The loop

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
    const t = now();
    let next = nextTestDelay({ now: t, hint: pendingHint, backoffStep, missedHints }, backoff);
    if (deadline - t < backoff.marginMs) {
      planned = next;
      return finish('max-wait');
    }
    if (pendingHint?.binding && pendingHint.atMs + backoff.marginMs > deadline) return finish('reset-beyond-max-wait');
    if (next.source === 'backoff') backoffStep += 1;
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
