// The estimate from behaviour, when headers say too little: bursts until a 429, retests until a
// recovery, and what the cycles show (a lower bound only, a window timed from two recoveries, or a
// token bucket timed from its refills). Returns figures and a reason; the sentence is written by
// src/render/probe-explain.ts.
import { cyclesSayWindow, firstOf, lastOf, namedCycles, narrowRecovery, rateRuns, recoveryBracket, type Cycles, type Recovery, type ResetReading } from './cycles.js';
import { untimedWindow } from './estimate-headers.js';
import type { EstimateSource, RateContext, RateFinding } from './estimate-types.js';
import { perMinuteOf, round, seconds } from './figures.js';
import { headerName, type HeaderMode } from './header-mode.js';
import { headerPoints, resetClockOf } from './header-series.js';
import { bySendTime, isAccepted, type Observation } from './observation.js';
import type { FirstBurstNote, StatedLimit, StopCause, WindowReturn } from './reasons.js';
import { behaviourRateInterval, bucketCapacity, refillRateInterval, resetRateInterval, tokenRate } from './refill.js';
import { blockAfterLimit, refusalsCount, type BlockFit, type CountingFit } from './refusals-count.js';
import { policyResetBinds, retryHint } from './retry-hint.js';
import { confirmedRoundWindow, readRoundWindow, roundPlanApplies } from './round-windows.js';
import { windowTiming } from './window-timing.js';

/** What every cycles estimate carries along: the header's figure if any, and why sending stopped. */
interface CyclesContext {
  headerLimit: number | null;
  header: StatedLimit | null;
  source: EstimateSource;
  stop: StopCause;
  intervalMs: number;
  /** A concurrency gate held the sends to this many in flight, else null. */
  heldInFlight: number | null;
  /** No answer carried a timing hint (Retry-After, a reset): round windows are tried (round-windows.ts). */
  untimed: boolean;
}

/** Everything behaviour can say, from the first burst on. */
export function estimateFromCycles(observations: readonly Observation[], mode: HeaderMode, ctx: RateContext): RateFinding {
  const cycles = namedCycles(rateRuns(observations));
  const headerLimit = mode.kind === 'none' ? null : mode.limit;
  const header = headerLimit === null ? null : { name: headerName(mode), limit: headerLimit };
  const untimed = (mode.kind === 'none' || mode.kind === 'limit-only') && !observations.some((o) => o.retryAfterSeconds !== null) && roundPlanApplies(cycles);
  const cx: CyclesContext = { headerLimit, header, source: headerLimit === null ? 'observed' : 'both', stop: ctx.stoppedBy ?? null, intervalMs: ctx.intervalMs, heldInFlight: ctx.heldInFlight ?? null, untimed };
  const { burst1, limited1, burst2, limited2 } = cycles;

  if (!limited1) return neverLimited(observations, cx);

  const n1 = burst1?.length ?? 0;
  const firstLimited = limited1[0] as Observation;
  if (!burst2) {
    const waitedMs = (lastOf(limited1) as Observation).sentAt - (firstOf(burst1) ?? firstLimited).sentAt;
    return {
      limit: headerLimit ?? (n1 > 0 ? n1 : null),
      windowSeconds: null,
      perMinute: null,
      burst: null,
      algorithm: 'unknown',
      bound: n1 > 0 || headerLimit !== null ? 'approx' : 'unknown',
      source: cx.source,
      confidence: 'low',
      reason: { code: 'no-recovery', accepted: n1, header, waitedMs, stop: cx.stop },
    };
  }
  // Refused requests that count too (a penalty box) make every reading of the cycles below wrong.
  // So does a block after the limit (refusals restart the window, or block for longer than it).
  const counting = refusalsCount(observations);
  // A fixed window fitting as well as a penalty box: a round one both recoveries confirmed is that window.
  const roundFixed = counting?.fixedFitsToo === true && untimed && limited2 !== undefined && confirmedRoundWindow(readRoundWindow(cycles, ctx.intervalMs), ctx.intervalMs) !== null;
  const blocked = blockAfterLimit(observations);
  if (counting !== null && !roundFixed) return penaltyBoxWindow(blocked === null ? counting : bothPenaltyReadings(counting, blocked), cx);
  if (blocked !== null) return blockedWindow(blocked, cx);
  const resetBinds = policyResetBinds(observations, ctx.intervalMs);
  const points = mode.kind === 'series' ? headerPoints(observations, mode.policy) : [];
  const resets = points.length > 0 ? { points, clock: resetClockOf(points) } : null;
  const recovery1 = narrowRecovery(recoveryBracket(limited1, burst2, resetBinds) as Recovery, [...(burst1 ?? []), ...limited1], resets, ctx.intervalMs);
  if (!limited2) {
    return {
      limit: headerLimit ?? Math.max(n1, burst2.length),
      windowSeconds: null,
      perMinute: null,
      burst: null,
      algorithm: 'unknown',
      // The window was not timed: a header's limit is its word, a count only a lower bound.
      bound: headerLimit === null ? 'at-least' : 'approx',
      source: cx.source,
      confidence: 'low',
      reason: { code: 'not-limited-again', accepted: n1, recoveredAfterMs: recovery1.mid - firstLimited.sentAt, stop: cx.stop },
    };
  }
  if (cyclesSayWindow(observations, cycles, ctx.intervalMs)) return estimateWindowFromCycles(cycles, recovery1, resetBinds, resets, cx);
  return estimateBucketFromCycles(observations, cycles, cx);
}

/**
 * Nothing was measured but this probe's own pace: every figure is a lower bound, and a header's figure
 * is only what the header says (Chutes' X-Chutes-RL-User states a number, no window).
 */
function neverLimited(observations: readonly Observation[], cx: CyclesContext): RateFinding {
  const accepted = observations.filter(isAccepted).sort(bySendTime);
  const several = accepted.length >= 2;
  const spanMs = Math.max(cx.intervalMs, (accepted.at(-1) as Observation).sentAt - (accepted[0] as Observation).sentAt + cx.intervalMs);
  const perMinute = several ? round((accepted.length * 60_000) / spanMs, 1) : null;
  const paceRpm = Math.round(60_000 / cx.intervalMs);
  const suggestedRpm = Math.min(60_000, Math.max(Math.ceil(paceRpm * 2), 2));
  return {
    limit: accepted.length,
    windowSeconds: several ? seconds(spanMs) : null,
    perMinute,
    burst: null,
    algorithm: 'unknown',
    bound: 'at-least',
    source: 'observed',
    confidence: cx.headerLimit === null ? 'medium' : 'low',
    reason: { code: 'never-limited', accepted: accepted.length, spanMs, perMinute, stop: cx.stop, stated: cx.header, paceRpm, suggestedRpm, heldInFlight: cx.heldInFlight },
  };
}

function estimateWindowFromCycles(cycles: Cycles, recovery1: Recovery, resetBinds: boolean, resets: ResetReading | null, cx: CyclesContext): RateFinding {
  const { headerLimit } = cx;
  const n1 = cycles.burst1?.length ?? 0;
  const n2 = (cycles.burst2 as Observation[]).length;
  // burst 2 began at a recovery, i.e. with a whole window to itself: its length is the limit, whatever
  // the window held before the probe began (that only changes n1). When the recovery retest had to wait
  // for a Retry-After, burst 2 began up to that hint's rounding after the boundary and may straddle the
  // next one: more than a stated limit is that, not a bigger limit (other traffic only takes allowance).
  // Both recoveries came where a round window predicted (and nothing else round did): that window. A clock
  // window's burst 2 may have begun mid-window (the retest came a while after the boundary) and run through
  // the next boundary: the window that refused it, which began during the burst, holds the limit.
  const round = cx.untimed ? confirmedRoundWindow(readRoundWindow(cycles, cx.intervalMs), cx.intervalMs) : null;
  const observedLimit = round?.family === 'clock' ? countInRefusedWindow(cycles, round.windowMs) : n2;
  const straddled = headerLimit !== null && observedLimit > headerLimit + 1;
  const limit = headerLimit !== null && (Math.abs(headerLimit - observedLimit) <= 1 || straddled) ? headerLimit : observedLimit;
  const sharedWith = headerLimit !== null && headerLimit - observedLimit > 1 ? headerLimit : null;
  const bracket2 = recoveryBracket(cycles.limited2, cycles.burst3, resetBinds);
  const recovery2 = bracket2 && narrowRecovery(bracket2, [...(cycles.burst2 ?? []), ...(cycles.limited2 ?? [])], resets, cx.intervalMs);
  const firstBurst: FirstBurstNote | null = straddled
    ? { code: 'second-straddled', got: n2, stated: headerLimit }
    : n1 < observedLimit
      ? { code: 'began-earlier', got: n1 }
      : n1 > observedLimit ? { code: 'first-straddled', got: n1 } : null;
  if (!recovery2) {
    const waitedMs = (lastOf(cycles.limited2) as Observation).sentAt - recovery1.mid;
    return untimedWindow(limit, cx.source, { code: 'window-second-recovery-missing', limit, header: cx.header, firstBurst, waitedMs, stop: cx.stop, sharedWith });
  }
  // A burst 2 that ran through a boundary (more than the stated limit, no 429 between) exhausted
  // ceil(n2 / limit) windows, so its recovery came that many boundaries after the first.
  const spanned = straddled && headerLimit !== null ? Math.ceil(n2 / headerLimit) : 1;
  // (More than the stated limit without a 429 between is itself a fixed window's doing: a sliding log
  // never gives one burst more than the limit at an even pace.)
  const raw = windowTiming(cycles, recovery1, recovery2, cx.intervalMs);
  const fixedMs = recovery2.mid - recovery1.mid;
  const timing = round !== null
    ? { algorithm: round.family === 'clock' ? ('fixed-window' as const) : raw.algorithm, windowMs: round.windowMs, loMs: round.windowMs, hiMs: round.windowMs, settled: round.family === 'clock' || raw.settled }
    : spanned > 1 && raw.algorithm !== 'sliding-window'
      ? { algorithm: 'fixed-window' as const, windowMs: fixedMs / spanned, loMs: (recovery2.lastFail - recovery1.firstOk) / spanned, hiMs: (recovery2.firstOk - recovery1.lastFail) / spanned, settled: raw.settled }
      : raw;
  const windowMs = timing.windowMs;
  const algorithm = timing.algorithm;
  const returned: WindowReturn = algorithm === 'unknown'
    ? 'ambiguous'
    : algorithm === 'sliding-window'
    ? 'one-at-a-time'
    : timing.settled
      ? 'all-at-once-confirmed'
      : 'all-at-once';
  // Retests wait for the server's Retry-After, so a whole-second hint can leave a recovery timed only
  // to within a second: said, and the confidence lowered, when that is a large part of the window.
  const loose = timing.hiMs - timing.loMs > 0.3 * windowMs;
  const hinted = [...(cycles.limited1 ?? []), ...(cycles.limited2 ?? [])].some((o) => retryHint(o, resetBinds) !== null);
  return {
    limit,
    windowSeconds: seconds(windowMs),
    perMinute: perMinuteOf(limit, windowMs),
    burst: limit,
    algorithm,
    bound: 'approx',
    source: cx.source,
    confidence: sharedWith !== null || loose || algorithm === 'unknown' ? 'low' : 'medium',
    reason: {
      code: 'window-from-cycles',
      limit,
      windowMs,
      header: cx.header,
      firstBurst,
      returned,
      loose: loose ? { loMs: timing.loMs, hiMs: timing.hiMs, hinted } : null,
      sharedWith,
      round,
    },
  };
}

/**
 * A sliding window that counts refused requests too (refusals-count.ts): its limit is exact; its
 * sustainable rate is the limit per window when the windows that fit agree within ±15 %, else unknown.
 * When a fixed window fits the answers as well, neither reading is stated: unknown, with both said.
 */
function penaltyBoxWindow(fit: CountingFit, cx: CyclesContext): RateFinding {
  const windowMs = (fit.loMs + fit.hiMs) / 2;
  // A fixed window fitting as well leaves both readings open: neither is stated as the limit.
  const timed = !fit.fixedFitsToo && fit.hiMs - fit.loMs <= 0.3 * windowMs;
  return {
    limit: fit.fixedFitsToo ? null : fit.limit,
    windowSeconds: timed ? seconds(windowMs) : null,
    perMinute: timed ? perMinuteOf(fit.limit, windowMs) : null,
    burst: fit.fixedFitsToo ? null : fit.limit,
    algorithm: fit.fixedFitsToo ? 'unknown' : 'sliding-window',
    bound: timed ? 'approx' : 'unknown',
    source: cx.source,
    confidence: timed ? 'medium' : 'low',
    reason: { code: 'refusals-count', limit: fit.limit, loMs: fit.loMs, hiMs: fit.hiMs, timed, fixedFitsToo: fit.fixedFitsToo, header: cx.header },
  };
}

/**
 * A sliding window that counts refusals and a block after the limit both fit: the windows of either
 * (a sustainable rate only when together they still agree within ±15 %), and no limit unless they share it.
 */
function bothPenaltyReadings(counting: CountingFit, blocked: BlockFit): CountingFit {
  const loMs = Math.min(counting.loMs, blocked.loMs);
  const hiMs = Math.max(counting.hiMs, blocked.hiMs);
  return { ...counting, loMs, hiMs, fixedFitsToo: counting.fixedFitsToo || blocked.limit !== counting.limit };
}

/**
 * A fixed window whose first refusal costs a block (refusals-count.ts): its limit is exact; its sustainable
 * rate is the limit per window when the windows that fit agree within ±15 %, else unknown (with the range).
 */
function blockedWindow(fit: BlockFit, cx: CyclesContext): RateFinding {
  const windowMs = (fit.loMs + fit.hiMs) / 2;
  const timed = fit.hiMs - fit.loMs <= 0.3 * windowMs;
  return {
    limit: fit.limit,
    windowSeconds: timed ? seconds(windowMs) : null,
    perMinute: timed ? perMinuteOf(fit.limit, windowMs) : null,
    burst: fit.limit,
    algorithm: 'fixed-window',
    bound: timed ? 'approx' : 'unknown',
    source: cx.source,
    confidence: timed ? 'medium' : 'low',
    reason: { code: 'block-after-limit', model: fit.model, limit: fit.limit, loMs: fit.loMs, hiMs: fit.hiMs, blockLoMs: fit.blockLoMs, blockHiMs: fit.blockHiMs, timed, header: cx.header, stop: cx.stop },
  };
}

/** Burst 2's requests in the clock window of `windowMs` that refused it. */
function countInRefusedWindow(cycles: Cycles, windowMs: number): number {
  const refused = Math.floor(((cycles.limited2 as Observation[])[0] as Observation).sentAt / windowMs);
  return (cycles.burst2 as Observation[]).filter((o) => Math.floor(o.sentAt / windowMs) === refused).length;
}

function estimateBucketFromCycles(observations: readonly Observation[], cycles: Cycles, cx: CyclesContext): RateFinding {
  const firstLimited = (cycles.limited1 as Observation[])[0] as Observation;
  const after = observations.filter((o) => o.sentAt >= firstLimited.sentAt);
  const narrowed = resetRateInterval(observations, cx.intervalMs) ? refillRateInterval(observations, cx.intervalMs) : null;
  const rate = tokenRate(after, narrowed ?? behaviourRateInterval(observations));
  if (!rate || !(rate.ratePerSecond > 0)) {
    return {
      limit: cx.headerLimit,
      windowSeconds: null,
      perMinute: null,
      burst: null,
      algorithm: 'token-bucket',
      bound: 'unknown',
      source: cx.source,
      confidence: 'low',
      reason: { code: 'bucket-untimed', header: cx.header, stop: cx.stop },
    };
  }
  // Reset values that pin the refill to ±10 % make the third burst unnecessary.
  const complete = cycles.limited3 !== null || (narrowed !== null && rate.consistent && (rate.interval.hi - rate.interval.lo) / rate.ratePerSecond <= 0.2);
  const capacity = cycles.burst1 ? bucketCapacity(cycles.burst1, firstLimited, rate.ratePerSecond) : null;
  const perMinute = round(rate.ratePerSecond * 60, 1);
  const limit = cx.headerLimit ?? capacity;
  const windowSeconds = limit !== null ? seconds((limit / rate.ratePerSecond) * 1000) : null;
  return {
    limit,
    windowSeconds,
    perMinute,
    burst: capacity,
    algorithm: 'token-bucket',
    bound: 'approx',
    source: cx.source,
    confidence: complete && rate.consistent ? 'medium' : 'low',
    reason: { code: 'bucket-from-cycles', perMinute, ratePerSecond: rate.ratePerSecond, capacity, header: cx.header, complete, stop: cx.stop },
  };
}
