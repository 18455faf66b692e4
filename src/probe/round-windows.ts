// Round windows (issue #15): without any timing hint in the answers (no Retry-After, no reset), a window's
// recoveries can only be found by retests moving forward in time, each refused retest a request spent.
// Real deployments make the second one cheaper: windows are round numbers (1 s, 10 s, 1 min, 1 h …) and a
// fixed window either follows the clock (boundaries at whole multiples of W: `user:floor(now/60)`) or
// starts with the request that found none running (express-rate-limit's and @fastify/rate-limit's memory
// stores, rate-limiter-flexible, Redis INCR + EXPIRE; a sliding log recovers then too). The first recovery
// is found by the fine ladder as before; the round hypotheses whose instant lies in its bracket each
// predict the second recovery, which is tested there (one request shortly before, expected refused, one
// just after) instead of by a second ladder; a window both recoveries confirm is stated as that round
// window. What no round hypothesis explains falls back to the ladder. Pure: times in epoch ms.
//
// Not done here (see BENCHMARKS.md, "Header-less windows"): coarse retests for the first recovery, which
// win most of the requests but hide a penalty box (refused requests counting too) from refusals-count.ts.
import type { Cycles } from './cycles.js';
import { jitterToleranceMs } from './header-series.js';
import type { Observation } from './observation.js';

/**
 * Whether the round plan may be used at all: burst 1 ran alone, every request of it and its first 429
 * sent with nothing else in flight (slow answers or a concurrency gate make bursts overlap, and a
 * refusal then may be a gate's). Otherwise the fine ladder, as without round windows.
 */
export function roundPlanApplies(cycles: Cycles): boolean {
  const burst1 = cycles.burst1;
  const f1 = cycles.limited1?.[0];
  if (!burst1 || burst1.length < 2 || !f1) return false;
  return [...burst1, f1].every((o) => o.inFlight <= 1);
}

/** The windows tried, shortest first. */
export const ROUND_WINDOWS_MS: readonly number[] = [1_000, 2_000, 5_000, 10_000, 15_000, 20_000, 30_000, 60_000, 120_000, 300_000, 600_000, 900_000, 1_800_000, 3_600_000];

export type WindowFamily = 'clock' | 'first-request';

export interface RoundHypothesis {
  family: WindowFamily;
  windowMs: number;
  /** The predicted instant allowance came back (ms). */
  at: number;
}

/** How long after a predicted instant a retest goes, so it reaches the server after it. */
export function roundMarginMs(intervalMs: number): number {
  return 2 * jitterToleranceMs(intervalMs);
}

/** The second recovery confirms a window W only when bracketed within this share of W (±10 % at worst). */
export const CONFIRM_WIDTH = 0.1;
/** Where the request before a predicted second recovery goes: this share of W before it. */
const BEFORE_SHARE = 0.08;

/**
 * Where a window that held `from` (a refusal at that instant) gives allowance back under each round
 * hypothesis: the clock's next multiple of W, or one window after `start` (the request that began it).
 * Only instants after `from`; sorted by instant.
 */
export function recoveryHypotheses(start: number, from: number, accepted: readonly number[] = []): RoundHypothesis[] {
  const list: RoundHypothesis[] = [];
  for (const windowMs of ROUND_WINDOWS_MS) {
    const clock = Math.ceil(from / windowMs) * windowMs;
    if (clock > from && clockFits(windowMs, accepted, from)) list.push({ family: 'clock', windowMs, at: clock });
    if (start + windowMs > from) list.push({ family: 'first-request', windowMs, at: start + windowMs });
  }
  return list.sort((a, b) => a.at - b.at || a.windowMs - b.windowMs);
}

/**
 * Whether burst 1 (`accepted` send times, then a refusal at `refused`) fits a clock window of W: when a
 * boundary fell inside the burst, the window refused after k requests all its own (it began during the
 * probe), so its limit is k, and no earlier window of the burst can have accepted more.
 */
function clockFits(windowMs: number, accepted: readonly number[], refused: number): boolean {
  const last = Math.floor(refused / windowMs);
  const first = accepted[0];
  if (first === undefined || Math.floor(first / windowMs) === last) return true;
  const counts = new Map<number, number>();
  for (const t of accepted) counts.set(Math.floor(t / windowMs), (counts.get(Math.floor(t / windowMs)) ?? 0) + 1);
  const limit = counts.get(last) ?? 0;
  for (const [index, count] of counts) if (index !== last && count > limit) return false;
  return true;
}

/** The hypotheses whose instant lies in a recovery bracket: refused at `lastFail`, accepted at `firstOk` (send times). */
export function inBracket<T extends { at: number }>(hypotheses: readonly T[], lastFail: number, firstOk: number, intervalMs: number): T[] {
  const margin = roundMarginMs(intervalMs);
  // A retest sent `margin` after an instant was meant to land after it: refused there, the instant is out.
  return hypotheses.filter((h) => h.at > lastFail - margin / 2 && h.at <= firstOk);
}

/**
 * The second recovery's next retest under the predictions still open after the latest refusal
 * `lastRefused`: just after the earliest one, once a refusal lies within CONFIRM_WIDTH of it (else first
 * a request BEFORE_SHARE of W before it, expected refused); never before `earliest`. Null when none is left.
 */
export function predictedRetestAt(second: readonly SecondPrediction[], lastRefused: number, earliest: number, intervalMs: number): number | null {
  const margin = roundMarginMs(intervalMs);
  const next = second.find((h) => h.at > lastRefused - margin / 2 && h.at + margin >= earliest);
  if (!next) return null;
  // The shortest window predicting this instant sets how close the refusal before it must be.
  const shortest = shortestWindowAt(second, next.at);
  const before = Math.max(next.at - BEFORE_SHARE * shortest, earliest);
  if (lastRefused < next.at - CONFIRM_WIDTH * shortest && before < next.at - margin) return before;
  return next.at + margin;
}

/**
 * Where burst 2's request after as many as burst 1 got goes: BEFORE_SHARE of W before the earliest second
 * recovery predicted (the shortest window predicting it sets W), so that its refusal is both burst 2's end
 * and the bound below that recovery, or null when nothing is predicted.
 */
export function heldRequestAt(second: readonly SecondPrediction[], intervalMs: number): number | null {
  const next = second[0];
  if (!next) return null;
  const shortest = shortestWindowAt(second, next.at);
  const before = next.at - BEFORE_SHARE * shortest;
  return before < next.at - roundMarginMs(intervalMs) ? before : null;
}

/** The shortest window among the predictions of instant `at`. */
function shortestWindowAt(second: readonly SecondPrediction[], at: number): number {
  return Math.min(...second.filter((h) => h.at === at).map((h) => h.windowMs));
}

export interface SecondPrediction extends RoundHypothesis {
  /** The first recovery this hypothesis explained. */
  first: number;
}

/**
 * Where the second recovery comes under each hypothesis that explained the first: a clock window at its
 * next multiple after burst 2's first refusal `f2`; one that starts with a request, one window after the
 * request that recovered (`x1`, which began the new window, or is the oldest entry of a sliding log).
 */
export function secondPredictions(first: readonly RoundHypothesis[], x1: number, f2: number): SecondPrediction[] {
  const list: SecondPrediction[] = first.map((h) => ({
    family: h.family,
    windowMs: h.windowMs,
    first: h.at,
    at: h.family === 'clock' ? Math.ceil(f2 / h.windowMs) * h.windowMs : x1 + h.windowMs,
  }));
  return list.filter((h) => h.at > f2).sort((a, b) => a.at - b.at);
}

/** The round window both recoveries confirm: one window length every surviving hypothesis agrees on, or null. */
export interface ConfirmedWindow {
  windowMs: number;
  /** How it is anchored, when the survivors agree on that too. */
  family: WindowFamily | null;
}

export function confirmedRoundWindow(reading: RoundReading, intervalMs: number): ConfirmedWindow | null {
  const survivors = reading.survivors ?? [];
  const head = survivors[0];
  if (!head || survivors.some((h) => h.windowMs !== head.windowMs)) return null;
  // Confirmed only where the bracket is narrow for that window: a success long after a prediction says
  // only that allowance was back by then.
  if (reading.width > CONFIRM_WIDTH * head.windowMs + 2 * roundMarginMs(intervalMs)) return null;
  return { windowMs: head.windowMs, family: survivors.every((h) => h.family === head.family) ? head.family : null };
}

/** What the round hypotheses make of a window probe's cycles so far. */
export interface RoundReading {
  /** Hypotheses that explain the first recovery (empty before it). */
  first: RoundHypothesis[];
  /** Their second recoveries, once burst 2 was refused (null before). */
  second: SecondPrediction[] | null;
  /** Those the second recovery's bracket holds, once it came (null before). */
  survivors: SecondPrediction[] | null;
  /** That bracket's width, ms (Infinity before). */
  width: number;
}

/** Reads the cycles with the round hypotheses: burst 1 must have begun with an accepted request. */
export function readRoundWindow(cycles: Cycles, intervalMs: number): RoundReading {
  const s1 = cycles.burst1?.[0];
  const f1 = cycles.limited1?.[0];
  const lastFail1 = cycles.limited1?.at(-1);
  const x1 = cycles.burst2?.[0];
  if (!s1 || !f1 || !lastFail1 || !x1) return { first: [], second: null, survivors: null, width: Infinity };
  const first = inBracket(recoveryHypotheses(s1.sentAt, f1.sentAt, (cycles.burst1 ?? []).map((o) => o.sentAt)), lastFail1.sentAt, x1.sentAt, intervalMs);
  const f2 = cycles.limited2?.[0];
  if (!f2) return { first, second: null, survivors: null, width: Infinity };
  const second = secondPredictions(first, x1.sentAt, f2.sentAt);
  const lastFail2 = cycles.limited2?.at(-1) as Observation;
  const ok2 = cycles.burst3?.[0];
  if (!ok2) return { first, second, survivors: null, width: Infinity };
  return { first, second, survivors: unstraddled(inBracket(second, lastFail2.sentAt, ok2.sentAt, intervalMs), cycles), width: ok2.sentAt - lastFail2.sentAt };
}

/**
 * Of hypotheses that fit both recoveries, those under which neither burst ran through a clock boundary,
 * when there are any. A clock window of W/2 whose boundaries cut both bursts at the same place fits the
 * same answers as one of W (with a smaller limit): the reading that needs no such coincidence is kept.
 */
function unstraddled(survivors: SecondPrediction[], cycles: Cycles): SecondPrediction[] {
  const spans = [cycles.burst1, cycles.burst2].map((burst) => ({ from: burst?.[0]?.sentAt ?? 0, to: burst?.at(-1)?.sentAt ?? 0 }));
  const clean = survivors.filter((h) => h.family !== 'clock' || spans.every(({ from, to }) => Math.floor(from / h.windowMs) === Math.floor(to / h.windowMs)));
  return clean.length > 0 ? clean : survivors;
}
