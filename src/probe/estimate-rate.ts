// Pure estimators of a rate limit from what came back. No clock, no I/O: every function takes
// observations (send and arrival times in epoch ms, outcome, parsed policies) and returns numbers.
//
// Two sources, used in this order:
//  1. Headers. A policy with a limit and a window (IETF `w`) answers at once. A policy with limit,
//     remaining and reset but no window is read as a series: constant reset instants mean a window,
//     instants moving later by 1/ρ per request (or `remaining` not falling although we spent one) mean
//     a token bucket; one request sent just after the reset tells a fixed window from a sliding log.
//  2. Behaviour ("cycles"), when headers say too little: burst until the first 429, retest sparsely until
//     a success (a window boundary or a refill), burst again, and time the second recovery.
import type { Outcome, RateLimitPolicy } from '../types.js';

/** One response, as the estimators see it. Times are epoch ms. */
export interface Observation {
  seq: number;
  sentAt: number;
  receivedAt: number;
  status: number | null;
  outcome: Outcome;
  policies: RateLimitPolicy[];
  retryAfterSeconds: number | null;
  inFlight: number;
}

export type RateAlgorithmName = 'fixed-window' | 'sliding-window' | 'token-bucket' | 'unknown';
export type Bound = 'exact' | 'approx' | 'at-least' | 'unknown';
export type EstimateSource = 'headers' | 'observed' | 'both';
export type Confidence = 'high' | 'medium' | 'low';

export interface RateEstimate {
  limit: number | null;
  windowSeconds: number | null;
  perMinute: number | null;
  burst: number | null;
  algorithm: RateAlgorithmName;
  bound: Bound;
  source: EstimateSource;
  confidence: Confidence;
  explanation: string;
  /** Requests this probe spent on the rate part. */
  requests: number;
}

export interface RateContext {
  /** The pace interval, 60 000 / rpm. */
  intervalMs: number;
  /** Why sending stopped, when it stopped before the estimate was complete. */
  stoppedBy?: 'budget' | 'duration' | 'interrupted' | 'errors' | null;
}

// ---------------------------------------------------------------------------------------------
// Small facts about one observation

export function isAccepted(o: Observation): boolean {
  return o.outcome === 'ok';
}

/** A 429 from the rate limiter (not capacity, not quota): the only rejection the estimators count. */
export function isRateLimited(o: Observation): boolean {
  return o.outcome === 'rate_limited';
}

export function bySendTime(a: Observation, b: Observation): number {
  return a.sentAt - b.sentAt || a.seq - b.seq;
}

/**
 * 429s that the rate limiter did not send, relabelled `capacity` so the rate estimate ignores them. A
 * concurrency gate answers 429 too (Chutes and the emulator with the same body), and an open-loop burst
 * with slow answers has several requests in flight. Not a rate refusal: a 429 whose rate policy still
 * shows allowance; or, without a policy at remaining 0, one sent with more requests in flight than any
 * accepted request had, when the very next request was accepted (a gate frees up at once, an exhausted
 * window does not).
 * Dropping a real refusal only loses information; counting a gate's refusal would mislead.
 */
export function attributeRefusals(observations: readonly Observation[]): Observation[] {
  const sorted = [...observations].sort(bySendTime);
  const maxAcceptedInFlight = Math.max(0, ...sorted.filter(isAccepted).map((o) => o.inFlight));
  const relabel = new Set<number>();
  sorted.forEach((o, i) => {
    if (!isRateLimited(o)) return;
    const policy = selectRatePolicy(o.policies);
    const roomLeft = policy !== null && policy.remaining !== null && policy.remaining > 0;
    const next = sorted[i + 1];
    // A policy at remaining 0 says the rate limit refused it, however crowded the line was.
    const exhausted = policy !== null && policy.remaining === 0;
    const crowded = !exhausted && maxAcceptedInFlight > 0 && o.inFlight >= 2 && o.inFlight > maxAcceptedInFlight && next !== undefined && isAccepted(next);
    if (roomLeft || crowded) relabel.add(o.seq);
  });
  return observations.map((o) => (relabel.has(o.seq) ? { ...o, outcome: 'capacity' as const } : o));
}

/** How many 429s attributeRefusals set aside. */
export function concurrencyRefusals(observations: readonly Observation[]): number {
  const attributed = attributeRefusals(observations);
  return attributed.filter((o, i) => o.outcome !== observations[i]?.outcome).length;
}

const DAY_SECONDS = 86_400;

/** Request-rate policies worth estimating: not daily quotas (the `quota` command's business), not tokens. */
function isRequestRatePolicy(p: RateLimitPolicy): boolean {
  if (p.limit === null || isDailyQuota(p)) return false;
  return p.unit === 'requests' || p.unit === 'request' || p.unit === 'default';
}

function isDailyQuota(p: RateLimitPolicy): boolean {
  return p.name === 'daily-quota' || (p.windowSeconds !== null && p.windowSeconds >= DAY_SECONDS);
}

/**
 * The policy that describes the per-window request limit: one with a window first (the shortest window
 * binds a burst first), then one with remaining and reset, then one with a limit alone.
 */
export function selectRatePolicy(policies: readonly RateLimitPolicy[]): RateLimitPolicy | null {
  const candidates = policies.filter(isRequestRatePolicy);
  const withWindow = candidates.filter((p) => p.windowSeconds !== null && p.windowSeconds > 0);
  if (withWindow.length > 0) return withWindow.reduce((a, b) => ((b.windowSeconds ?? 0) < (a.windowSeconds ?? 0) ? b : a));
  return candidates.find((p) => p.remaining !== null && p.resetSeconds !== null) ?? candidates[0] ?? null;
}

function policyKey(p: RateLimitPolicy): string {
  return `${p.dialect}:${p.name}`;
}

/** The same policy (dialect and name) in another response. */
function samePolicy(o: Observation, key: string): RateLimitPolicy | null {
  return o.policies.find((p) => policyKey(p) === key) ?? null;
}

// ---------------------------------------------------------------------------------------------
// Header mode: what the first informative response says

export type HeaderMode =
  | { kind: 'exact'; policy: RateLimitPolicy; limit: number; windowSeconds: number }
  | { kind: 'series'; policy: RateLimitPolicy; limit: number }
  | { kind: 'limit-only'; policy: RateLimitPolicy; limit: number }
  | { kind: 'none' };

/** Decided from the earliest-sent response that carries a request policy. */
export function headerModeOf(observations: readonly Observation[]): HeaderMode {
  const first = [...observations].sort(bySendTime).find((o) => selectRatePolicy(o.policies) !== null);
  const policy = first ? selectRatePolicy(first.policies) : null;
  if (!policy || policy.limit === null) return { kind: 'none' };
  if (policy.windowSeconds !== null && policy.windowSeconds > 0) {
    return { kind: 'exact', policy, limit: policy.limit, windowSeconds: policy.windowSeconds };
  }
  if (policy.remaining !== null && policy.resetSeconds !== null) return { kind: 'series', policy, limit: policy.limit };
  return { kind: 'limit-only', policy, limit: policy.limit };
}

// ---------------------------------------------------------------------------------------------
// Header series

export interface HeaderPoint {
  seq: number;
  sentAt: number;
  receivedAt: number;
  accepted: boolean;
  limit: number;
  remaining: number;
  resetSeconds: number;
  dialect: RateLimitPolicy['dialect'];
}

/** Points of the chosen policy with limit, remaining and reset, in send order. */
export function headerPoints(observations: readonly Observation[], policy: RateLimitPolicy): HeaderPoint[] {
  const key = policyKey(policy);
  const points: HeaderPoint[] = [];
  for (const o of [...observations].sort(bySendTime)) {
    const p = samePolicy(o, key);
    if (!p || p.limit === null || p.remaining === null || p.resetSeconds === null) continue;
    if (!isAccepted(o) && !isRateLimited(o)) continue;
    points.push({ seq: o.seq, sentAt: o.sentAt, receivedAt: o.receivedAt, accepted: isAccepted(o), limit: p.limit, remaining: p.remaining, resetSeconds: p.resetSeconds, dialect: p.dialect });
  }
  return points;
}

/**
 * How reset values are written, which decides how their instants are compared.
 * - `absolute-seconds`: an instant rounded to the second (RFC 3339, epoch seconds): instant = arrival + reset.
 * - `delta-seconds`: whole seconds counted from the server's decision (rounded up): instant = send + reset.
 * - `fine`: milliseconds (Go durations, epoch ms): instant = send + reset, quantum 0.
 */
export interface ResetClock {
  format: 'absolute-seconds' | 'delta-seconds' | 'fine';
  quantumMs: number;
}

export function resetClockOf(points: readonly HeaderPoint[]): ResetClock {
  if (points.length === 0) return { format: 'fine', quantumMs: 0 };
  if (points.every((p) => Number.isInteger(p.resetSeconds))) return { format: 'delta-seconds', quantumMs: 1000 };
  // Anthropic sends RFC 3339 at whole seconds; OpenAI sends Go durations (ms). Others: look at the values
  // (an instant that always falls on a whole second is a rounded timestamp).
  const dialect = points[0]?.dialect;
  if (dialect === 'anthropic') return { format: 'absolute-seconds', quantumMs: 1000 };
  if (dialect === 'openai') return { format: 'fine', quantumMs: 0 };
  const nearWhole = (ms: number) => Math.abs(ms - Math.round(ms / 1000) * 1000) <= 2;
  if (points.length >= 2 && points.every((p) => nearWhole(p.receivedAt + p.resetSeconds * 1000))) return { format: 'absolute-seconds', quantumMs: 1000 };
  return { format: 'fine', quantumMs: 0 };
}

/** When the policy resets, on our clock. Delta values count from the server's decision, which is close to the send. */
export function resetInstant(p: HeaderPoint, clock: ResetClock): number {
  const base = clock.format === 'absolute-seconds' ? p.receivedAt : p.sentAt;
  return base + p.resetSeconds * 1000;
}

/** Allowance for clock jitter between our send time and the server's decision. */
export function jitterToleranceMs(intervalMs: number): number {
  return Math.min(100, Math.max(10, intervalMs * 0.1));
}

/** `outpaced`: the allowance is back in full before each of our sends, so this pace cannot reach the limit. */
export type SeriesKind = 'window' | 'token-bucket' | 'outpaced' | 'undecided';

const OUTPACED_POINTS = 5;

/**
 * Window or token bucket, from accepted points before any reset check. A window gives allowance back
 * only all at once (fixed) or when an old request leaves (sliding), and keeps its reset instant; a token
 * bucket refills continuously, so `remaining` sometimes fails to fall and the instant moves later by 1/ρ.
 */
export function classifyHeaderSeries(points: readonly HeaderPoint[], limit: number, clock: ResetClock, intervalMs: number): SeriesKind {
  const accepted = points.filter((p) => p.accepted);
  if (accepted.length < 2) return 'undecided';
  if (accepted.length >= OUTPACED_POINTS && accepted.every((p) => p.remaining >= limit - 1)) return 'outpaced';
  const tol = jitterToleranceMs(intervalMs);
  let refill = false;
  let reset = false;
  const shifts: number[] = [];
  for (let i = 1; i < accepted.length; i++) {
    const p = accepted[i - 1] as HeaderPoint;
    const c = accepted[i] as HeaderPoint;
    if (c.remaining > p.remaining) reset = true;
    else if (c.remaining === p.remaining) {
      // Just after the first request a fresh window and a refilled bucket look alike.
      if (p.remaining < limit - 1) refill = true;
    } else shifts.push(resetInstant(c, clock) - resetInstant(p, clock));
  }
  if (refill && !reset) return 'token-bucket';
  if (reset && !refill) return 'window';
  if (refill && reset) return 'undecided';
  const first = accepted[0] as HeaderPoint;
  const last = accepted.at(-1) as HeaderPoint;
  const span = last.sentAt - first.sentAt;
  // A bucket holds at least max(remaining) + 1 tokens, so it misses more than max(R) − R_last at the last
  // point and refills ρ ≥ that / T per second: it would have given a token back within this span (once
  // ρ·span ≥ 1 some `remaining` must fail to fall; 1.2 leaves room for jitter).
  const maxRemaining = Math.max(...accepted.map((p) => p.remaining));
  const minRate = Math.max(0, maxRemaining - last.remaining) / Math.max(last.resetSeconds, 1e-3);
  if (minRate * (span / 1000) >= 1.2) return 'window';
  if (clock.quantumMs === 0) {
    if (shifts.length > 0 && shifts.every((s) => s > tol)) return 'token-bucket';
    const minBucketShift = (last.resetSeconds * 1000) / Math.max(1, limit - last.remaining);
    if (shifts.length > 0 && shifts.every((s) => Math.abs(s) <= tol) && minBucketShift > 3 * tol) return 'window';
    return 'undecided';
  }
  // Whole-second resets: a window's instants stay within one quantum; a bucket's drift beyond it.
  const drift = resetInstant(last, clock) - resetInstant(first, clock);
  if (drift > clock.quantumMs + tol) return 'token-bucket';
  // A bucket whose `remaining` fell by exactly one at every request refilled less than one token over the
  // span (ρ·span < 1), so its full instant moved more than (n − 1)·span later, and the rounded instants
  // more than that less a quantum. A window's instants move at most `span` (the reset value never grows).
  const oneByOne = accepted.every((p, i) => i === 0 || (accepted[i - 1] as HeaderPoint).remaining - p.remaining === 1);
  const bucketDriftFloor = (accepted.length - 1) * Math.max(0, span - tol) - clock.quantumMs - tol;
  if (oneByOne && drift <= bucketDriftFloor) return 'window';
  return 'undecided';
}

/**
 * Accepted points of the current window, before `uptoIndex`: a new window begins where `remaining` rose,
 * or where the previous point's reset had already come (a window that rolled over right after the first
 * request looks the same by `remaining`).
 */
function currentWindowPoints(points: readonly HeaderPoint[], clock: ResetClock, uptoIndex: number): HeaderPoint[] {
  return points.slice(windowStart(points, clock, uptoIndex), uptoIndex).filter((p) => p.accepted);
}

/** Where the last window before `uptoIndex` began: the last point whose `remaining` rose, or that came after the previous point's reset. */
function windowStart(points: readonly HeaderPoint[], clock: ResetClock, uptoIndex: number): number {
  let start = 0;
  for (let i = 1; i < uptoIndex; i++) {
    const p = points[i - 1] as HeaderPoint;
    const c = points[i] as HeaderPoint;
    if (c.remaining > p.remaining || c.sentAt >= resetInstant(p, clock)) start = i;
  }
  return start;
}

export interface ResetBounds {
  /** The reset is after this instant (our clock, ms)… */
  lo: number;
  /** …and at or before this one. */
  hi: number;
  /** From the first to the last accepted request of the current window, ms. */
  span: number;
}

/**
 * Where the current window's reset lies. Each point says "reset ∈ (instant − quantum, instant]" (the
 * value is rounded up), and the window had not reset yet when its last request went out.
 */
export function windowResetBounds(points: readonly HeaderPoint[], clock: ResetClock, uptoIndex = points.length): ResetBounds | null {
  const window = currentWindowPoints(points, clock, uptoIndex);
  if (window.length === 0) return null;
  const instants = window.map((p) => resetInstant(p, clock));
  const first = window[0] as HeaderPoint;
  const last = window.at(-1) as HeaderPoint;
  return {
    lo: Math.max(Math.max(...instants) - clock.quantumMs, last.sentAt),
    hi: Math.min(...instants),
    span: last.sentAt - first.sentAt,
  };
}

/**
 * When to send the check. It must come after the reset, and for a sliding log before all our requests of
 * the window have left it, i.e. within `span` of the reset. When the reset is known that precisely, just
 * after it; otherwise as late as is safe for the sliding case, accepting that it may be early (the answer
 * then says so: `remaining` keeps falling, and the next check is timed from tighter bounds).
 */
export function resetCheckTime(bounds: ResetBounds, marginMs: number): number {
  if (bounds.hi - bounds.lo <= bounds.span - 2 * marginMs) return bounds.hi + marginMs;
  return Math.max(bounds.lo + marginMs, bounds.lo + bounds.span - marginMs);
}

export interface ResetCheck {
  /** The accepted point just before the check. */
  before: HeaderPoint;
  check: HeaderPoint;
  index: number;
}

/**
 * The check: the first accepted point (before any 429) that got allowance back after the window's reset.
 * Either `remaining` rose (a fixed window rolled over, even mid-burst), or it did not fall although the
 * request came after a pause and after the earliest possible reset (a sliding log let an old request go).
 * A token bucket also gives allowance back; a series already read as a bucket has no check, and after a
 * single answer nothing can tell the two apart yet.
 */
export function findResetCheck(points: readonly HeaderPoint[], clock: ResetClock, intervalMs: number): ResetCheck | null {
  const tol = jitterToleranceMs(intervalMs);
  for (let i = 1; i < points.length; i++) {
    const before = points[i - 1] as HeaderPoint;
    const check = points[i] as HeaderPoint;
    if (!check.accepted || !before.accepted) return null;
    if (check.remaining < before.remaining) continue;
    // After a single answer, allowance back is as much a bucket that refilled (the pre-flight's answer
    // can take longer than a token) as a window that reset: a check needs two answers before it.
    if (i < 2) continue;
    const head = points.slice(0, i);
    if (classifyHeaderSeries(head, check.limit, clock, intervalMs) === 'token-bucket') return null;
    if (check.remaining > before.remaining) return { before, check, index: i };
    const bounds = windowResetBounds(points, clock, i);
    const paused = check.sentAt - before.sentAt >= 1.5 * intervalMs;
    if (bounds && paused && check.sentAt + tol >= bounds.lo) return { before, check, index: i };
  }
  return null;
}

export interface WindowFromCheck {
  algorithm: 'fixed-window' | 'sliding-window';
  windowMs: number | null;
}

/** The middle of (lo, hi]; at whole-second quantum, the whole second nearest to it. */
function pickWindowMs(lo: number, hi: number, clock: ResetClock): number | null {
  if (!Number.isFinite(lo) && !Number.isFinite(hi)) return null;
  const mid = !Number.isFinite(hi) ? lo : !Number.isFinite(lo) ? hi : (lo + hi) / 2;
  if (clock.quantumMs < 1000) return Math.round(mid / 10) * 10;
  return Math.max(1000, Math.round(mid / 1000) * 1000);
}

/**
 * Fixed or sliding, and the window, from the check. A fixed window is fresh then (remaining = limit − 1)
 * and its next reset is one window after the previous one. A sliding log still holds our later requests;
 * the count left says which one is now the oldest, and the check's reset dates it.
 */
export function windowFromCheck(points: readonly HeaderPoint[], at: ResetCheck, limit: number, clock: ResetClock): WindowFromCheck {
  const { check } = at;
  const q = clock.quantumMs;
  const next = resetInstant(check, clock);
  if (check.remaining >= limit - 1) {
    const bounds = windowResetBounds(points, clock, at.index);
    if (!bounds) return { algorithm: 'fixed-window', windowMs: null };
    // old reset ∈ (lo, min(hi, check)], new reset ∈ (next − q, next] and after the check.
    const oldHi = Math.min(bounds.hi, check.sentAt);
    const lo = Math.max(next - q, check.sentAt) - oldHi;
    const hi = next - bounds.lo;
    return { algorithm: 'fixed-window', windowMs: pickWindowMs(lo, hi, clock) };
  }
  const live = limit - 1 - check.remaining;
  const ownBefore = points.slice(0, at.index).filter((p) => p.accepted);
  const oldestLive = ownBefore[ownBefore.length - live];
  if (!oldestLive) return { algorithm: 'sliding-window', windowMs: null };
  const expired = ownBefore[ownBefore.length - live - 1];
  // W ∈ (check − oldestLive, check − expired], and the check's reset is oldestLive + W.
  let lo = Math.max(check.sentAt - oldestLive.sentAt, next - q - oldestLive.sentAt);
  let hi = Math.min(expired ? check.sentAt - expired.sentAt : Infinity, next - oldestLive.sentAt);
  // The first request, alone in the log, dated the window too: its reset was itself + W.
  const firstPoint = points[0] as HeaderPoint;
  if (firstPoint.accepted && firstPoint.remaining === limit - 1) {
    const firstReset = resetInstant(firstPoint, clock);
    lo = Math.max(lo, firstReset - q - firstPoint.sentAt);
    hi = Math.min(hi, firstReset - firstPoint.sentAt);
  }
  if (hi < lo) [lo, hi] = [hi, lo];
  return { algorithm: 'sliding-window', windowMs: pickWindowMs(lo, hi, clock) };
}

export interface BucketFromHeaders {
  ratePerSecond: number;
  capacity: number | null;
}

/**
 * A token bucket's refill rate and capacity from reset values read as "time until full" (OpenAI's
 * semantics): each request moves the full instant 1/ρ later, and capacity = tokens + ρ·(time to full).
 */
export function bucketFromHeaders(points: readonly HeaderPoint[], clock: ResetClock): BucketFromHeaders | null {
  const accepted = points.filter((p) => p.accepted);
  if (accepted.length < 2) return null;
  const first = accepted[0] as HeaderPoint;
  const last = accepted.at(-1) as HeaderPoint;
  const drift = (resetInstant(last, clock) - resetInstant(first, clock)) / 1000;
  if (!(drift > 0)) return null;
  const ratePerSecond = (accepted.length - 1) / drift;
  // tokens ∈ [remaining, remaining + 1): each point bounds the capacity to an interval of width 1.
  let lo = -Infinity;
  let hi = Infinity;
  for (const p of accepted) {
    const base = p.remaining + ratePerSecond * p.resetSeconds;
    lo = Math.max(lo, base);
    hi = Math.min(hi, base + 1);
  }
  const capacity = hi > lo ? Math.ceil(lo - 0.05) : Math.round(lo);
  return { ratePerSecond, capacity: capacity > 0 ? capacity : null };
}

// ---------------------------------------------------------------------------------------------
// Cycles (behaviour): alternating runs of accepted and rate-limited responses

export interface Run {
  kind: 'ok' | 'limited';
  items: Observation[];
}

/** Accepted and rate-limited responses in send order, grouped into runs; other outcomes are skipped. */
export function rateRuns(observations: readonly Observation[]): Run[] {
  const runs: Run[] = [];
  for (const o of [...observations].sort(bySendTime)) {
    const kind = isAccepted(o) ? 'ok' : isRateLimited(o) ? 'limited' : null;
    if (kind === null) continue;
    const last = runs.at(-1);
    if (last && last.kind === kind) last.items.push(o);
    else runs.push({ kind, items: [o] });
  }
  return runs;
}

/** The runs named by their role: burst 1, its 429s, burst 2 (from the first recovery), … */
export interface Cycles {
  /** Accepted before the first 429; null when the very first answer was a 429. */
  burst1: Observation[] | null;
  limited1: Observation[] | null;
  burst2: Observation[] | null;
  limited2: Observation[] | null;
  burst3: Observation[] | null;
  limited3: Observation[] | null;
}

export function namedCycles(runs: readonly Run[]): Cycles {
  const list = runs[0]?.kind === 'limited' ? [null, ...runs] : [...runs];
  const items = (i: number) => list[i]?.items ?? null;
  return { burst1: items(0), limited1: items(1), burst2: items(2), limited2: items(3), burst3: items(4), limited3: items(5) };
}

function first(list: Observation[] | null): Observation | null {
  return list?.[0] ?? null;
}

function last(list: Observation[] | null): Observation | null {
  return list?.at(-1) ?? null;
}

/**
 * The recovery bracket: the allowance was not back at `lastFail` and was back at `firstOk`. `lastFail` is
 * the last 429 before the recovery, or later when a 429's Retry-After (or its exhausted policy's reset)
 * said the allowance could not be back before then: the retests obey those hints, so without them the
 * bracket would span the whole wait. A hint the recovery contradicts (a success before it) is ignored.
 */
export function recoveryBracket(
  limited: Observation[] | null,
  burst: Observation[] | null,
  policyReset = true,
): { lastFail: number; firstOk: number; mid: number } | null {
  const fail = last(limited);
  const ok = first(burst);
  if (!fail || !ok) return null;
  let lastFail = fail.sentAt;
  for (const o of limited ?? []) {
    const after = retryHint(o, policyReset)?.notBackAt;
    if (after !== undefined && after > lastFail && after < ok.sentAt) lastFail = after;
  }
  return { lastFail, firstOk: ok.sentAt, mid: (lastFail + ok.sentAt) / 2 };
}

/** Reset values to time the recoveries with: the chosen policy's points and how their resets are written. */
export interface ResetReading {
  points: HeaderPoint[];
  clock: ResetClock;
}

/**
 * A recovery bracket narrowed by the reset values of the burst and the 429s before it. In a window the
 * reset is the instant a request is allowed again (a fixed window's end, a sliding log's oldest entry
 * leaving), the same for every answer since the last rollover (remaining rose, or an earlier reset came),
 * so each of those says the recovery is in (instant − quantum, instant]. Retests win when they disagree.
 */
export function narrowRecovery(
  bracket: { lastFail: number; firstOk: number; mid: number },
  before: readonly Observation[],
  resets: ResetReading | null,
  intervalMs: number,
): { lastFail: number; firstOk: number; mid: number } {
  if (!resets) return bracket;
  const seqs = new Set(before.map((o) => o.seq));
  const points = resets.points.filter((p) => seqs.has(p.seq) && p.resetSeconds > 0);
  const start = windowStart(points, resets.clock, points.length);
  let lo = bracket.lastFail;
  let hi = bracket.firstOk;
  // Counted from our send, the instant may be early by however long the request took to reach the server.
  const tol = jitterToleranceMs(intervalMs);
  // Latest first, and only as far back as the answers agree: a rollover that whole seconds hid (a reset
  // of "1" just before a boundary) would otherwise empty the intersection.
  for (const p of points.slice(start).reverse()) {
    const instant = resetInstant(p, resets.clock);
    const nextLo = Math.max(lo, instant - resets.clock.quantumMs);
    const nextHi = Math.min(hi, instant + tol);
    if (nextHi < nextLo) break;
    lo = nextLo;
    hi = nextHi;
  }
  return { lastFail: lo, firstOk: hi, mid: (lo + hi) / 2 };
}

export interface RetryHint {
  /** No request before this instant (our clock): counted from the arrival, the latest the server can have decided. */
  at: number;
  /** The allowance was certainly not back yet at this instant: counted from the send, less the value's rounding. */
  notBackAt: number;
  source: 'retry-after' | 'reset';
}

/**
 * When a refused answer says the next request may go. Retry-After first: with both present it takes
 * precedence over the RateLimit fields (draft-ietf-httpapi-ratelimit-headers-11). Without it, on a 429,
 * the latest reset among exhausted policies (remaining 0), unless `policyReset` is false: a token bucket's
 * reset is the time until it is full again, not until its next token, so it promises nothing sooner.
 * Whole seconds may be rounded either way by the server, hence one second off the lower bound.
 */
export function retryHint(o: Observation, policyReset = true): RetryHint | null {
  if (isAccepted(o)) return null;
  const usable = (s: number | null): s is number => s !== null && Number.isFinite(s) && s >= 0;
  let seconds: number | null = null;
  let source: RetryHint['source'] = 'retry-after';
  if (usable(o.retryAfterSeconds)) seconds = o.retryAfterSeconds;
  else if (policyReset && isRateLimited(o)) {
    for (const p of o.policies) {
      if (p.remaining !== 0 || !usable(p.resetSeconds) || isDailyQuota(p)) continue;
      if (seconds === null || p.resetSeconds > seconds) seconds = p.resetSeconds;
      source = 'reset';
    }
  }
  if (seconds === null) return null;
  const quantumMs = source === 'retry-after' && !Number.isInteger(seconds) ? 1 : 1000;
  return { at: o.receivedAt + seconds * 1000, notBackAt: o.sentAt + seconds * 1000 - quantumMs, source };
}

/**
 * The earliest instant the latest refusals allow the next rate-phase send: the latest hint among the
 * answers sent after our last accepted request (a later success means the allowance came back, whatever
 * an older hint said). Null when they carry no hint.
 */
export function retryFloor(observations: readonly Observation[], policyReset = true): number | null {
  const lastAccepted = Math.max(-Infinity, ...observations.filter(isAccepted).map((o) => o.sentAt));
  let floor: number | null = null;
  for (const o of observations) {
    if (o.sentAt < lastAccepted) continue;
    const hint = retryHint(o, policyReset);
    if (hint && (floor === null || hint.at > floor)) floor = hint.at;
  }
  return floor;
}

/** What the header series said before the first 429 (null without a series). */
function seriesKindBeforeLimit(observations: readonly Observation[], intervalMs: number): SeriesKind | null {
  const mode = headerModeOf(observations);
  if (mode.kind !== 'series') return null;
  const points = pointsBeforeFirstLimit(headerPoints(observations, mode.policy));
  return classifyHeaderSeries(points, mode.limit, resetClockOf(points), intervalMs);
}

/**
 * Whether an exhausted policy's reset binds the next request: not when the header series before the
 * first 429 reads as a token bucket (its reset is the time until full).
 */
export function policyResetBinds(observations: readonly Observation[], intervalMs: number): boolean {
  return seriesKindBeforeLimit(observations, intervalMs) !== 'token-bucket';
}

/**
 * Window or token bucket, once burst 2 hit its 429: the header series when it read as a bucket, else the
 * bursts' lengths. A whole-second Retry-After rounds a token's 200 ms up to 1 s, and the retest that
 * obeys it finds the bucket half full again: burst 2 then looks like a window's.
 */
export function cyclesSayWindow(observations: readonly Observation[], cycles: Cycles, intervalMs: number): boolean {
  return seriesKindBeforeLimit(observations, intervalMs) !== 'token-bucket' && burstsSayWindow(cycles);
}

/** After burst 2's 429: a second burst as long as half the first means a window refilled at once; else a bucket. */
export function burstsSayWindow(cycles: Cycles): boolean {
  const n1 = cycles.burst1?.length ?? 0;
  const n2 = cycles.burst2?.length ?? 0;
  return n2 >= (n1 === 0 ? 3 : Math.max(2, n1 / 2));
}

/**
 * The next sparse retest: the gap since the anchor grows by `growth` (so the bracket around the recovery
 * is at most ~13 % of the time since the anchor), never closer than the pace interval to the last send.
 */
export function nextRetestAt(anchor: number, lastSend: number, intervalMs: number, growth = RETEST_GROWTH): number {
  return Math.max(anchor + (lastSend - anchor) * growth, lastSend + intervalMs);
}

export const RETEST_GROWTH = 1.1;

export interface RateInterval {
  lo: number;
  hi: number;
}

/**
 * Bounds on a token bucket's refill rate (tokens per second) from everything after the first 429.
 * A 429 at a means < 1 token then; a success at s means ≥ 1 token; between them K successes were spent.
 * So for two 429s a, c: ρ·(c − a) ∈ (K − 1, K + 1); for a 429 a then a success s: ρ·(s − a) > K.
 */
export function tokenRateInterval(observations: readonly Observation[]): RateInterval | null {
  const seq = [...observations].sort(bySendTime).filter((o) => isAccepted(o) || isRateLimited(o));
  let lo = 0;
  let hi = Infinity;
  let pairs = 0;
  for (let i = 0; i < seq.length; i++) {
    const a = seq[i] as Observation;
    if (!isRateLimited(a)) continue;
    let spent = 0;
    for (let j = i + 1; j < seq.length; j++) {
      const o = seq[j] as Observation;
      const dt = (o.sentAt - a.sentAt) / 1000;
      if (dt <= 0) {
        if (isAccepted(o)) spent++;
        continue;
      }
      if (isAccepted(o)) {
        lo = Math.max(lo, spent / dt);
        spent++;
      } else {
        hi = Math.min(hi, (spent + 1) / dt);
        lo = Math.max(lo, (spent - 1) / dt);
        pairs++;
      }
    }
  }
  if (pairs === 0 || !Number.isFinite(hi)) return null;
  return { lo, hi };
}

/**
 * Bounds on a token bucket's refill rate from reset values read as "time until full", whole seconds
 * included. The instant F at which the bucket is full stays put while nothing is spent (429s too) and
 * moves 1/ρ later per accepted request, so with k accepted so far F = F₁ + (k − 1)/ρ, and each answer
 * puts F in (instant − quantum, instant + tol]. Eliminating F₁ pair by pair gives the exact feasible 1/ρ.
 * A bucket that may have filled up restarts F, so pairs are taken only within a stretch where it cannot
 * have. Null unless the header series before the first 429 read as a bucket (its reset then is "until full").
 */
export function resetRateInterval(observations: readonly Observation[], intervalMs: number): RateInterval | null {
  const mode = headerModeOf(observations);
  if (mode.kind !== 'series') return null;
  const points = headerPoints(observations, mode.policy);
  const clock = resetClockOf(points);
  if (classifyHeaderSeries(pointsBeforeFirstLimit(points), mode.limit, clock, intervalMs) !== 'token-bucket') return null;
  const tol = jitterToleranceMs(intervalMs);
  const marks: Array<{ k: number; stretch: number; lo: number; hi: number }> = [];
  let k = 0;
  let stretch = 0;
  let fullNotBefore = -Infinity;
  for (const p of points) {
    const instant = resetInstant(p, clock);
    if (p.accepted) {
      // Not full before this request only if the previous answer's full instant was surely later.
      if (!(fullNotBefore > p.sentAt)) stretch++;
      k++;
    }
    if (p.resetSeconds <= 0) {
      fullNotBefore = -Infinity;
      continue;
    }
    marks.push({ k, stretch, lo: instant - clock.quantumMs, hi: instant + tol });
    fullNotBefore = instant - clock.quantumMs;
  }
  let lo = 0;
  let hi = Infinity;
  for (const a of marks) {
    for (const b of marks) {
      const dk = b.k - a.k;
      if (dk <= 0 || a.stretch !== b.stretch) continue;
      lo = Math.max(lo, (b.lo - a.hi) / dk);
      hi = Math.min(hi, (b.hi - a.lo) / dk);
    }
  }
  // lo, hi bound the ms per token; as a rate, tokens per second.
  if (!(lo > 0) || !Number.isFinite(hi) || hi < lo) return null;
  return { lo: 1000 / hi, hi: 1000 / lo };
}

/** The refill-rate bounds of tokenRateInterval (from the first 429 on), narrowed by resetRateInterval when they agree. */
export function refillRateInterval(observations: readonly Observation[], intervalMs: number): RateInterval | null {
  const firstLimited = [...observations].sort(bySendTime).find(isRateLimited);
  const behaviour = firstLimited ? tokenRateInterval(observations.filter((o) => o.sentAt >= firstLimited.sentAt)) : null;
  const headers = resetRateInterval(observations, intervalMs);
  if (!headers) return behaviour;
  if (!behaviour || !(behaviour.hi >= behaviour.lo)) return headers;
  const both = { lo: Math.max(behaviour.lo, headers.lo), hi: Math.min(behaviour.hi, headers.hi) };
  return both.hi >= both.lo ? both : behaviour;
}

/** The refill rate: the middle of the feasible interval, or the long-span average when noise makes it empty. */
export function tokenRate(observations: readonly Observation[], narrowed: RateInterval | null = null): { ratePerSecond: number; interval: RateInterval; consistent: boolean } | null {
  const interval = narrowed ?? tokenRateInterval(observations);
  if (!interval) return null;
  if (interval.hi >= interval.lo) return { ratePerSecond: (interval.lo + interval.hi) / 2, interval, consistent: true };
  // Inconsistent bounds (jitter, or the bucket filled up during a gap): use first-to-last 429.
  const seq = [...observations].sort(bySendTime);
  const limited = seq.filter(isRateLimited);
  const a = limited[0] as Observation;
  const c = limited.at(-1) as Observation;
  const spent = seq.filter((o) => isAccepted(o) && o.sentAt > a.sentAt && o.sentAt < c.sentAt).length;
  return { ratePerSecond: spent / ((c.sentAt - a.sentAt) / 1000), interval, consistent: false };
}

/**
 * The bucket's capacity from burst 1 (which began with a full bucket): n1 successes, the last at s_last,
 * the first 429 at f1, so capacity ∈ [n1 − ρ·(s_last − s0), n1 + 1 − ρ·(f1 − s0)).
 */
export function bucketCapacity(burst1: readonly Observation[], firstLimited: Observation, ratePerSecond: number): number {
  const s0 = (burst1[0] as Observation).sentAt;
  const sLast = (burst1.at(-1) as Observation).sentAt;
  const lo = burst1.length - (ratePerSecond * (sLast - s0)) / 1000;
  const hi = burst1.length + 1 - (ratePerSecond * (firstLimited.sentAt - s0)) / 1000;
  return Math.max(1, Math.round((lo + hi) / 2));
}

// ---------------------------------------------------------------------------------------------
// Foreign usage

/**
 * `remaining` that falls by more than our own accepted requests explain means someone else spends the
 * same allowance. Only pairs where every earlier request of ours had already come back are compared,
 * so the server counted them before the later point.
 */
export function detectForeignUsage(observations: readonly Observation[]): string[] {
  const mode = headerModeOf(observations);
  if (mode.kind === 'none' || mode.kind === 'limit-only') return [];
  const points = headerPoints(observations, mode.policy).filter((p) => p.accepted);
  const sorted = [...observations].sort(bySendTime);
  const warnings: string[] = [];
  for (let i = 1; i < points.length; i++) {
    const p = points[i - 1] as HeaderPoint;
    const c = points[i] as HeaderPoint;
    const settled = sorted.every((o) => o.sentAt > p.sentAt || o.receivedAt <= c.sentAt);
    if (!settled) continue;
    const own = sorted.filter((o) => isAccepted(o) && o.sentAt > p.sentAt && o.sentAt <= c.sentAt).length;
    const drop = p.remaining - c.remaining;
    if (drop > own) {
      warnings.push(
        `remaining fell by ${drop} between requests #${p.seq} and #${c.seq}, but this probe sent only ${own}: another client is using the same key or address, so the figures may be low.`,
      );
      break;
    }
  }
  return warnings;
}

// ---------------------------------------------------------------------------------------------
// The estimate

function round(value: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

function seconds(ms: number): number {
  return round(ms / 1000, ms >= 10_000 ? 1 : 2);
}

function perMinuteOf(limit: number, windowMs: number): number {
  return round((limit * 60_000) / windowMs, 1);
}

/** A limit known per window, the window itself not timed: no per-minute figure, and nothing exact about it. */
function untimedWindow(limit: number, source: EstimateSource, explanation: string, requests: number): RateEstimate {
  return { limit, windowSeconds: null, perMinute: null, burst: limit, algorithm: 'unknown', bound: 'approx', source, confidence: 'medium', explanation, requests };
}

function unknownEstimate(requests: number, explanation: string): RateEstimate {
  return { limit: null, windowSeconds: null, perMinute: null, burst: null, algorithm: 'unknown', bound: 'unknown', source: 'observed', confidence: 'low', explanation, requests };
}

function stopClause(ctx: RateContext): string {
  switch (ctx.stoppedBy) {
    case 'budget':
      return ' before --max-requests ran out';
    case 'duration':
      return ' before --max-duration ran out';
    case 'interrupted':
      return ' before the probe was interrupted';
    case 'errors':
      return ' before errors stopped the probe';
    default:
      return '';
  }
}

function describeRate(perMinute: number): string {
  return perMinute >= 10 ? `${Math.round(perMinute)}` : `${round(perMinute, 1)}`;
}

/** Everything the rate part can say from these observations (rate-phase sends only). */
export function estimateRateLimit(sent: readonly Observation[], ctx: RateContext): RateEstimate {
  const requests = sent.length;
  const observations = attributeRefusals(sent);
  const counted = observations.filter((o) => isAccepted(o) || isRateLimited(o));
  if (counted.length === 0) {
    return unknownEstimate(requests, `No request was accepted or rate limited${stopClause(ctx)}, so there is nothing to estimate from.`);
  }
  const mode = headerModeOf(observations);
  if (mode.kind === 'exact') return estimateFromExactHeaders(observations, mode, ctx, requests);
  if (mode.kind === 'series') {
    const fromSeries = estimateFromHeaderSeries(observations, mode, ctx, requests);
    if (fromSeries) return fromSeries;
  }
  return estimateFromCycles(observations, mode, ctx, requests);
}

function estimateFromExactHeaders(observations: readonly Observation[], mode: Extract<HeaderMode, { kind: 'exact' }>, ctx: RateContext, requests: number): RateEstimate {
  const windowMs = mode.windowSeconds * 1000;
  const points = headerPoints(observations, mode.policy);
  const kind = points.length >= 2 ? classifyHeaderSeries(points, mode.limit, resetClockOf(points), ctx.intervalMs) : 'undecided';
  const algorithm: RateAlgorithmName = kind === 'token-bucket' ? 'token-bucket' : 'unknown';
  // The policy states the refill (q per w), not the bucket's size: that shows only in the first
  // accepted answer's remaining (+1 for the request itself), and only if the bucket was full then.
  const first = points.find((p) => p.accepted);
  const burst = kind === 'token-bucket' && first ? first.remaining + 1 : null;
  return {
    limit: mode.limit,
    windowSeconds: mode.windowSeconds,
    perMinute: perMinuteOf(mode.limit, windowMs),
    burst,
    algorithm,
    bound: 'exact',
    source: 'headers',
    confidence: 'high',
    explanation:
      `The ${mode.policy.sources[0] ?? 'rate-limit'} header states ${mode.limit} requests per ${seconds(windowMs)} s` +
      (kind === 'token-bucket' ? `, refilled continuously (the reset moved later with each request); the first answer left ${burst === null ? '?' : burst - 1}, so the bucket holds about ${burst ?? '?'} (fewer if it was not full when the probe began).` : kind === 'window' ? '; the reset instant stayed put, so it is a window (fixed or sliding not tested).' : '; the algorithm is not stated.'),
    requests,
  };
}

/** Null when the series did not settle the question (then the cycles decide). */
function estimateFromHeaderSeries(observations: readonly Observation[], mode: Extract<HeaderMode, { kind: 'series' }>, ctx: RateContext, requests: number): RateEstimate | null {
  const points = headerPoints(observations, mode.policy);
  const clock = resetClockOf(points);
  const limit = mode.limit;
  const header = mode.policy.sources[0] ?? 'rate-limit';
  const check = findResetCheck(points, clock, ctx.intervalMs);
  if (check) {
    const window = windowFromCheck(points, check, limit, clock);
    if (window.windowMs === null) return null;
    const name = window.algorithm === 'fixed-window' ? 'a fixed window' : 'a sliding window';
    return {
      limit,
      windowSeconds: seconds(window.windowMs),
      perMinute: perMinuteOf(limit, window.windowMs),
      burst: limit,
      algorithm: window.algorithm,
      // The limit is stated, the window only measured (from reset values): not exact, not high.
      bound: 'approx',
      source: 'headers',
      confidence: 'medium',
      explanation:
        `${header} states ${limit} requests; a request sent just after the reset found ${window.algorithm === 'fixed-window' ? 'the whole allowance back' : 'only the oldest request expired'}, so it is ${name} of about ${seconds(window.windowMs)} s (timed from the reset values; no header states the window).`,
      requests,
    };
  }
  const before = pointsBeforeFirstLimit(points);
  const kind = classifyHeaderSeries(before, limit, clock, ctx.intervalMs);
  if (kind === 'outpaced') return estimateOutpaced(before, limit, header, clock, ctx, requests);
  if (kind === 'token-bucket' && clock.quantumMs === 0) {
    const bucket = bucketFromHeaders(before, clock);
    if (bucket) {
      const windowMs = (limit / bucket.ratePerSecond) * 1000;
      return {
        limit,
        windowSeconds: seconds(windowMs),
        perMinute: round(bucket.ratePerSecond * 60, 1),
        burst: bucket.capacity,
        algorithm: 'token-bucket',
        bound: 'approx',
        source: 'headers',
        // The refill is timed from reset values, not stated.
        confidence: 'medium',
        explanation:
          `${header} states ${limit} requests and its reset moved ${round(1000 / bucket.ratePerSecond, 0)} ms later per request: a token bucket refilling ${describeRate(bucket.ratePerSecond * 60)}/min with room for ${bucket.capacity ?? '?'} at once.`,
        requests,
      };
    }
  }
  if (kind === 'window' && !points.some((p) => !p.accepted)) {
    // Decided, but the check request after the reset never went out (budget or --max-duration).
    return untimedWindow(limit, 'headers', `${header} states ${limit} requests per window, but the window length was not measured: no request could be sent after the reset${stopClause(ctx)}.`, requests);
  }
  return null;
}

/**
 * Every request found the allowance back in full. With millisecond resets that stay put, it is a token
 * bucket refilling one request per reset time (OpenAI's "time until full": one token was missing);
 * otherwise only a lower bound: this pace is below the limit.
 */
function estimateOutpaced(points: readonly HeaderPoint[], limit: number, header: string, clock: ResetClock, ctx: RateContext, requests: number): RateEstimate {
  const resets = points.map((p) => p.resetSeconds);
  const mean = resets.reduce((a, b) => a + b, 0) / resets.length;
  const steady = clock.quantumMs === 0 && mean > 0 && Math.max(...resets) - Math.min(...resets) <= Math.max(0.1 * mean, 0.01);
  const paceRpm = Math.round(60_000 / ctx.intervalMs);
  const higher = Math.min(60_000, paceRpm * 4);
  if (steady) {
    const ratePerSecond = 1 / mean;
    return {
      limit,
      windowSeconds: seconds((limit / ratePerSecond) * 1000),
      perMinute: round(ratePerSecond * 60, 1),
      burst: limit,
      algorithm: 'token-bucket',
      bound: 'approx',
      source: 'headers',
      confidence: 'medium',
      explanation: `${header} states ${limit} requests and every request found all but one left, full again ${round(mean * 1000, 0)} ms later: a token bucket refilling about ${describeRate(ratePerSecond * 60)}/min, faster than this probe's ${paceRpm}/min (rerun with --rpm ${higher} to see it limit).`,
      requests,
    };
  }
  // Never limited: what was sent is a lower bound; the header's limit is its word, said apart.
  const several = points.length >= 2;
  const spanMs = several ? (points.at(-1) as HeaderPoint).sentAt - (points[0] as HeaderPoint).sentAt + ctx.intervalMs : ctx.intervalMs;
  const sustained = several ? round((points.length * 60_000) / spanMs, 1) : null;
  return {
    limit: points.length,
    windowSeconds: several ? seconds(spanMs) : null,
    perMinute: sustained,
    burst: null,
    algorithm: 'unknown',
    bound: 'at-least',
    source: 'both',
    confidence: 'medium',
    explanation: `${header} states ${limit} requests, but the allowance was back in full before each of ${points.length} requests at ${paceRpm}/min, so the sustained rate is at least that and the stated ${limit} was never reached; rerun with a higher --rpm (e.g. --rpm ${higher}) to reach the limit.`,
    requests,
  };
}

function pointsBeforeFirstLimit(points: readonly HeaderPoint[]): HeaderPoint[] {
  const index = points.findIndex((p) => !p.accepted);
  return index === -1 ? [...points] : points.slice(0, index);
}

function headerName(mode: HeaderMode): string {
  return mode.kind === 'none' ? 'rate-limit' : mode.policy.sources[0] ?? 'rate-limit';
}

function estimateFromCycles(observations: readonly Observation[], mode: HeaderMode, ctx: RateContext, requests: number): RateEstimate {
  const cycles = namedCycles(rateRuns(observations));
  const headerLimit = mode.kind === 'none' ? null : mode.limit;
  const source: EstimateSource = headerLimit === null ? 'observed' : 'both';
  const sayHeader = headerLimit === null ? '' : ` (the ${headerName(mode)} header says ${headerLimit})`;
  const { burst1, limited1, burst2, limited2, burst3, limited3 } = cycles;

  if (!limited1) {
    // Nothing was measured but this probe's own pace: every figure is a lower bound, and a header's
    // figure is only what the header says (Chutes' X-Chutes-RL-User states a number, no window).
    const accepted = observations.filter(isAccepted).sort(bySendTime);
    const several = accepted.length >= 2;
    const spanMs = Math.max(ctx.intervalMs, (accepted.at(-1) as Observation).sentAt - (accepted[0] as Observation).sentAt + ctx.intervalMs);
    const perMinute = several ? round((accepted.length * 60_000) / spanMs, 1) : null;
    const paceRpm = Math.round(60_000 / ctx.intervalMs);
    const suggestion = Math.min(60_000, Math.max(Math.ceil(paceRpm * 2), 2));
    const stated = headerLimit === null ? '' : `; the ${headerName(mode)} header states ${headerLimit}, but the probe never reached a limit at ${paceRpm}/min, so that figure was not measured`;
    return {
      limit: accepted.length,
      windowSeconds: several ? seconds(spanMs) : null,
      perMinute,
      burst: null,
      algorithm: 'unknown',
      bound: 'at-least',
      source: 'observed',
      confidence: headerLimit === null ? 'medium' : 'low',
      explanation:
        `No request was rate limited: all ${accepted.length} in ${seconds(spanMs)} s were accepted${perMinute === null ? '' : ` (at least ${describeRate(perMinute)}/min)`}${stopClause(ctx)}${stated}; rerun with a higher --rpm (e.g. --rpm ${suggestion}) to reach the limit.`,
      requests,
    };
  }

  const n1 = burst1?.length ?? 0;
  const firstLimited = limited1[0] as Observation;
  if (!burst2) {
    const waitedMs = (last(limited1) as Observation).sentAt - (first(burst1) ?? firstLimited).sentAt;
    return {
      limit: headerLimit ?? (n1 > 0 ? n1 : null),
      windowSeconds: null,
      perMinute: null,
      burst: null,
      algorithm: 'unknown',
      bound: n1 > 0 || headerLimit !== null ? 'approx' : 'unknown',
      source,
      confidence: 'low',
      explanation:
        `${n1} request${n1 === 1 ? ' was' : 's were'} accepted before the first 429${sayHeader}, and no retest succeeded within ${seconds(waitedMs)} s${stopClause(ctx)}, so the window (or refill time) is longer than that.`,
      requests,
    };
  }
  const resetBinds = policyResetBinds(observations, ctx.intervalMs);
  const points = mode.kind === 'series' ? headerPoints(observations, mode.policy) : [];
  const resets = points.length > 0 ? { points, clock: resetClockOf(points) } : null;
  const recovery1 = narrowRecovery(recoveryBracket(limited1, burst2, resetBinds) as NonNullable<ReturnType<typeof recoveryBracket>>, [...(burst1 ?? []), ...limited1], resets, ctx.intervalMs);
  if (!limited2) {
    return {
      limit: headerLimit ?? Math.max(n1, burst2.length),
      windowSeconds: null,
      perMinute: null,
      burst: null,
      algorithm: 'unknown',
      // The window was not timed: a header's limit is its word, a count only a lower bound.
      bound: headerLimit === null ? 'at-least' : 'approx',
      source,
      confidence: 'low',
      explanation:
        `${n1} requests were accepted before the first 429, allowance came back ${seconds(recovery1.mid - firstLimited.sentAt)} s later, and the next burst was not limited again${stopClause(ctx)}; the window could not be timed.`,
      requests,
    };
  }
  if (cyclesSayWindow(observations, cycles, ctx.intervalMs)) return estimateWindowFromCycles(cycles, recovery1, resetBinds, resets, headerLimit, sayHeader, source, ctx, requests);
  return estimateBucketFromCycles(observations, cycles, headerLimit, sayHeader, source, ctx, requests, { burst3, limited3 });
}

function estimateWindowFromCycles(
  cycles: Cycles,
  recovery1: { lastFail: number; firstOk: number; mid: number },
  resetBinds: boolean,
  resets: ResetReading | null,
  headerLimit: number | null,
  sayHeader: string,
  source: EstimateSource,
  ctx: RateContext,
  requests: number,
): RateEstimate {
  const n1 = cycles.burst1?.length ?? 0;
  const n2 = (cycles.burst2 as Observation[]).length;
  // burst 2 began at a recovery, i.e. with a whole window to itself: its length is the limit, whatever
  // the window held before the probe began (that only changes n1). When the recovery retest had to wait
  // for a Retry-After, burst 2 began up to that hint's rounding after the boundary and may straddle the
  // next one: more than a stated limit is that, not a bigger limit (other traffic only takes allowance).
  const observedLimit = n2;
  const straddled = headerLimit !== null && observedLimit > headerLimit + 1;
  const limit = headerLimit !== null && (Math.abs(headerLimit - observedLimit) <= 1 || straddled) ? headerLimit : observedLimit;
  const disagree = headerLimit !== null && headerLimit - observedLimit > 1 ? `; the header says ${headerLimit}, so other traffic may share the limit` : '';
  const bracket2 = recoveryBracket(cycles.limited2, cycles.burst3, resetBinds);
  const recovery2 = bracket2 && narrowRecovery(bracket2, [...(cycles.burst2 ?? []), ...(cycles.limited2 ?? [])], resets, ctx.intervalMs);
  const earlier = straddled
    ? ` (the second burst got ${n2}, more than the header's ${headerLimit}: it straddled a window boundary)`
    : n1 < n2
      ? ` (the first burst got ${n1}: the window had begun before the probe, or others had used part of it)`
      : n1 > n2 ? ` (the first burst got ${n1}: it straddled a window boundary)` : '';
  if (!recovery2) {
    const waitedMs = (last(cycles.limited2) as Observation).sentAt - recovery1.mid;
    return untimedWindow(limit, source, `${limit} requests fit in a window that began at a recovery${sayHeader}${earlier}, but the second recovery did not come within ${seconds(waitedMs)} s${stopClause(ctx)}, so the window is longer than that${disagree}.`, requests);
  }
  // A burst 2 that ran through a boundary (more than the stated limit, no 429 between) exhausted
  // ceil(n2 / limit) windows, so its recovery came that many boundaries after the first.
  const spanned = straddled && headerLimit !== null ? Math.ceil(n2 / headerLimit) : 1;
  // (More than the stated limit without a 429 between is itself a fixed window's doing: a sliding log
  // never gives one burst more than the limit at an even pace.)
  const raw = windowTiming(cycles, recovery1, recovery2, ctx.intervalMs);
  const fixedMs = recovery2.mid - recovery1.mid;
  const timing = spanned > 1 && raw.algorithm !== 'sliding-window'
    ? { algorithm: 'fixed-window' as const, windowMs: fixedMs / spanned, loMs: (recovery2.lastFail - recovery1.firstOk) / spanned, hiMs: (recovery2.firstOk - recovery1.lastFail) / spanned, settled: raw.settled }
    : raw;
  const windowMs = timing.windowMs;
  const algorithm = timing.algorithm;
  const sliding = algorithm === 'sliding-window';
  const why = algorithm === 'unknown'
    ? 'allowance first came back one window after the first accepted request: a sliding window, or a fixed one that began with the probe (the request after the second recovery could not go out soon enough to tell)'
    : sliding
    ? 'allowance came back one request at a time, one window after each accepted request (a sliding window: a request right after the second recovery was refused)'
    : timing.settled
      ? 'allowance came back all at once at window boundaries (a request right after the second recovery was accepted too)'
      : 'allowance came back all at once at window boundaries';
  // Retests wait for the server's Retry-After, so a whole-second hint can leave a recovery timed only
  // to within a second: said, and the confidence lowered, when that is a large part of the window.
  const loose = timing.hiMs - timing.loMs > 0.3 * windowMs;
  const hinted = [...(cycles.limited1 ?? []), ...(cycles.limited2 ?? [])].some((o) => retryHint(o, resetBinds) !== null);
  const range = loose
    ? `; the recoveries were timed only to within ${seconds(Math.max(0, timing.loMs))}–${seconds(timing.hiMs)} s${hinted ? " (the retests waited as long as the server's Retry-After or reset asked)" : ''}`
    : '';
  return {
    limit,
    windowSeconds: seconds(windowMs),
    perMinute: perMinuteOf(limit, windowMs),
    burst: limit,
    algorithm,
    bound: 'approx',
    source,
    confidence: disagree || loose || algorithm === 'unknown' ? 'low' : 'medium',
    explanation: `${limit} requests were accepted per window of about ${seconds(windowMs)} s${sayHeader}${earlier}; ${why}${range}${disagree}.`,
    requests,
  };
}

/**
 * Fixed or sliding, and the window, from the two recoveries. A sliding log recovers one window after its
 * oldest entry: the first accepted request of burst 1, then the first of burst 2 (the one that recovered),
 * so each bracket bounds W on its own. A fixed window recovers at boundaries one window apart, somewhere
 * in each bracket. The request sent just after the second recovery settles which: refused, the allowance
 * came back one request at a time (a fixed window never refuses right after its boundary); accepted after
 * a pause in burst 2 longer than the recovery's bracket, it came back all at once. Without that answer the
 * log is taken as sliding when the two bounds genuinely overlap (the retest ladders repeat, so a fixed
 * window lands on neighbouring rungs that merely touch) — a fixed window that began with the probe looks
 * the same.
 */
export function windowTiming(
  cycles: Cycles,
  recovery1: { lastFail: number; firstOk: number; mid: number },
  recovery2: { lastFail: number; firstOk: number; mid: number },
  intervalMs = 0,
): { algorithm: 'fixed-window' | 'sliding-window' | 'unknown'; windowMs: number; loMs: number; hiMs: number; settled: boolean } {
  const fixedMs = recovery2.mid - recovery1.mid;
  // A fixed window's boundaries lie somewhere in each bracket.
  const fixed = { windowMs: fixedMs, loMs: recovery2.lastFail - recovery1.firstOk, hiMs: recovery2.firstOk - recovery1.lastFail };
  const evidence = afterSecondRecovery(cycles, intervalMs);
  if (evidence === 'fixed') return { algorithm: 'fixed-window', ...fixed, settled: true };
  const s1 = first(cycles.burst1);
  // The recovering request itself (a bracket narrowed by reset values may end before it was sent).
  const x1 = first(cycles.burst2)?.sentAt ?? recovery1.firstOk;
  const lo2 = recovery2.lastFail - x1;
  const hi2 = recovery2.firstOk - x1;
  const lo1 = s1 ? recovery1.lastFail - s1.sentAt : -Infinity;
  const hi1 = s1 ? recovery1.firstOk - s1.sentAt : Infinity;
  const overlap = Math.min(hi1, hi2) - Math.max(lo1, lo2);
  if (evidence === 'sliding') {
    // Burst 2's own first request dates the log exactly; burst 1's only without older entries.
    const [loMs, hiMs] = overlap >= 0 ? [Math.max(lo1, lo2), Math.min(hi1, hi2)] : [lo2, hi2];
    return { algorithm: 'sliding-window', windowMs: (hiMs + loMs) / 2, loMs, hiMs, settled: true };
  }
  if (!s1) return { algorithm: 'unknown', ...fixed, settled: false };
  if (overlap >= 0.25 * Math.min(hi1 - lo1, hi2 - lo2)) {
    // Both readings fit: a sliding window, or a fixed one that began with the probe. Not guessed: unknown,
    // and the window between the two readings, with a range that holds both.
    const loMs = Math.max(lo1, lo2);
    const hiMs = Math.min(hi1, hi2);
    return { algorithm: 'unknown', windowMs: ((hiMs + loMs) / 2 + fixed.windowMs) / 2, loMs: Math.min(loMs, fixed.loMs), hiMs: Math.max(hiMs, fixed.hiMs), settled: false };
  }
  return { algorithm: 'fixed-window', ...fixed, settled: false };
}

/**
 * The latest send time at which a sliding log must still refuse a request made after the second recovery:
 * burst 2's second request stays in the log until it + W, and W > lastFail2 − x1 (the log still held x1
 * when lastFail2 was refused), less a tolerance for when the server decided. A fixed window accepts
 * anything then (its whole allowance is back). Null without a pause in burst 2 to make that gap.
 */
export function slidingRefusalDeadline(cycles: Cycles, intervalMs: number): number | null {
  const [x1, next] = cycles.burst2 ?? [];
  const lastFail2 = cycles.limited2?.at(-1);
  if (!x1 || !next || !lastFail2) return null;
  return next.sentAt + (lastFail2.sentAt - x1.sentAt) - jitterToleranceMs(intervalMs);
}

/** What the request right after the second recovery said about fixed or sliding (see windowTiming). */
function afterSecondRecovery(cycles: Cycles, intervalMs: number): 'fixed' | 'sliding' | null {
  const burst3 = cycles.burst3;
  if (!burst3) return null;
  // A fixed window never refuses right after its boundary: the whole allowance is back.
  if (burst3.length === 1 && cycles.limited3) return 'sliding';
  const deadline = slidingRefusalDeadline(cycles, intervalMs);
  const after = burst3[1];
  return after && deadline !== null && after.sentAt < deadline ? 'fixed' : null;
}

function estimateBucketFromCycles(
  observations: readonly Observation[],
  cycles: Cycles,
  headerLimit: number | null,
  sayHeader: string,
  source: EstimateSource,
  ctx: RateContext,
  requests: number,
  tail: { burst3: Observation[] | null; limited3: Observation[] | null },
): RateEstimate {
  const firstLimited = (cycles.limited1 as Observation[])[0] as Observation;
  const after = observations.filter((o) => o.sentAt >= firstLimited.sentAt);
  const narrowed = resetRateInterval(observations, ctx.intervalMs) ? refillRateInterval(observations, ctx.intervalMs) : null;
  const rate = tokenRate(after, narrowed);
  if (!rate || !(rate.ratePerSecond > 0)) {
    return {
      limit: headerLimit,
      windowSeconds: null,
      perMinute: null,
      burst: null,
      algorithm: 'token-bucket',
      bound: 'unknown',
      source,
      confidence: 'low',
      explanation: `Allowance came back a little at a time (a token bucket)${sayHeader}, but too few refills were seen${stopClause(ctx)} to time them.`,
      requests,
    };
  }
  // Reset values that pin the refill to ±10 % make the third burst unnecessary.
  const complete = tail.limited3 !== null || (narrowed !== null && rate.consistent && (rate.interval.hi - rate.interval.lo) / rate.ratePerSecond <= 0.2);
  const capacity = cycles.burst1 ? bucketCapacity(cycles.burst1, firstLimited, rate.ratePerSecond) : null;
  const perMinute = round(rate.ratePerSecond * 60, 1);
  const limit = headerLimit ?? capacity;
  const windowSeconds = limit !== null ? seconds((limit / rate.ratePerSecond) * 1000) : null;
  return {
    limit,
    windowSeconds,
    perMinute,
    burst: capacity,
    algorithm: 'token-bucket',
    bound: 'approx',
    source,
    confidence: complete && rate.consistent ? 'medium' : 'low',
    explanation:
      `After the first 429 allowance came back one request at a time, about ${describeRate(perMinute)}/min (one every ${round(1 / rate.ratePerSecond, 2)} s): a token bucket` +
      (capacity !== null ? ` with room for about ${capacity} at once` : '') +
      `${sayHeader}${complete ? '' : `; the refill was timed on a short span${stopClause(ctx)}`}.`,
    requests,
  };
}
