// The rate phase's stage arithmetic (rate-phase.ts decides which stage runs): how long burst 2 pauses
// after its recovering request, where the second recovery's retests may start and how fast their ladder
// grows, how long a token bucket's silent gap lasts, and when its refill rate is known well enough.
// Pure functions of the answers (and of the pace interval); no state.
import {
  isAccepted,
  namedCycles,
  rateRuns,
  refillRateInterval,
  RETEST_GROWTH,
  behaviourRateInterval,
  type Observation,
} from './estimate-rate.js';

export type Cycles = ReturnType<typeof namedCycles>;

/** Tokens a token bucket may refill during the silent gap, at most: enough for ±10 % on the rate. */
const GAP_TOKENS_MAX = 12;
/** Relative width of the refill-rate interval that ends the token-bucket stage (±7.5 % at worst, the middle is used: margin within the ±10 % target). */
const TIGHT_RATE_WIDTH = 0.15;
/** Burst 2's pause after its recovering request, as a share of the time burst 1 took to recover. */
const BURST2_PAUSE = 0.15;

/**
 * When burst 2 goes on after its first (recovering) request: BURST2_PAUSE of the recovery time later
 * (plus two intervals and the slowest answer so far), or null when it needs no pause. Kept short enough
 * that burst 2 still ends well within the window burst 1 suggests, so a fixed window's burst 2 does not
 * run into its next boundary. `raw`: the rate part's answers as they came.
 */
export function burst2PauseUntil(cycles: Cycles, raw: readonly Observation[], recovery1: Observation, intervalMs: number): number | null {
  const burst1 = cycles.burst1 ?? [];
  const s1 = (burst1[0] ?? (cycles.limited1 as Observation[])[0]) as Observation;
  const recoveryMs = recovery1.sentAt - s1.sentAt;
  // Burst 2 must end before a fixed window's next boundary could come: not after 70 % of the recovery
  // time, nor after the second recovery's floor (a retest held back by a whole-second Retry-After may
  // have recovered long after the boundary, leaving less of that window).
  const lastFail1 = (cycles.limited1 as Observation[]).at(-1) as Observation;
  const burstMs = Math.max(0, burst1.length - 1) * intervalMs;
  const floor2 = 2 * lastFail1.sentAt - s1.sentAt - intervalMs;
  const room = Math.min(0.7 * recoveryMs - burstMs, floor2 - recovery1.sentAt - burstMs);
  // The request after the second recovery can only go once that recovery's answer is back: the pause
  // covers the slowest answer so far too.
  let latency = 0;
  for (const o of raw) if (isAccepted(o)) latency = Math.max(latency, o.receivedAt - o.sentAt);
  const pause = Math.min(BURST2_PAUSE * recoveryMs + 2 * intervalMs + latency, room);
  return pause > intervalMs ? recovery1.sentAt + pause : null;
}

/**
 * A silent gap after burst 2's 429 (bucket ≈ empty) long enough to refill about min(burst/2, 12) tokens
 * at the rough rate seen so far, but short enough not to fill the bucket (which would hide the rate).
 */
export function bucketGap(obs: readonly Observation[], from: number, intervalMs: number): { from: number; until: number } {
  const cycles = namedCycles(rateRuns(obs));
  const firstLimited = (cycles.limited1 as Observation[])[0] as Observation;
  const interval = behaviourRateInterval(obs);
  const burst1 = cycles.burst1 ?? [];
  const recovery = (cycles.burst2?.[0] as Observation).sentAt - firstLimited.sentAt;
  const rough = interval && Number.isFinite(interval.hi) ? (interval.lo + interval.hi) / 2 : 1000 / Math.max(recovery, intervalMs);
  const high = interval && Number.isFinite(interval.hi) ? interval.hi : rough * 2;
  const span1 = burst1.length > 0 ? (firstLimited.sentAt - (burst1[0] as Observation).sentAt) / 1000 : 0;
  const roughBurst = Math.max(1, burst1.length - rough * span1);
  const target = Math.max(2, Math.min(GAP_TOKENS_MAX, Math.floor(roughBurst * 0.6)));
  // At the highest plausible rate the bucket must stay below full.
  const safeSeconds = Math.max(0, roughBurst - 1) / high;
  const seconds = Math.max(Math.min(target / rough, Math.max(safeSeconds, 1 / rough)), intervalMs / 1000);
  return { from, until: from + seconds * 1000 };
}

/**
 * The second recovery cannot come before lastFail1 + (lastFail1 − s1): a sliding log holds a request
 * longer than lastFail1 − s1, and a fixed window is at least as long as the part of it burst 1 saw
 * (b1 − s1 > lastFail1 − s1), so b2 = b1 + W > 2·lastFail1 − s1. Retests before that are certain 429s,
 * and in a sliding log a success there would only be one more old request expiring, not the recovery.
 * If burst 1 straddled a boundary it got more than a window's worth (n1 > n2): by one request, the floor
 * can be late by one interval at most (so it is lowered by one); by more, the window still holds the
 * first 429 (f1) and the last (lastFail1), so W > lastFail1 − f1 and the floor is 2·lastFail1 − f1.
 */
export function secondRecoveryFloor(cycles: Cycles, intervalMs: number): number {
  const burst1 = cycles.burst1;
  const firstFail1 = cycles.limited1?.[0];
  const lastFail1 = cycles.limited1?.at(-1);
  if (!firstFail1 || !lastFail1) return -Infinity;
  const straddled = !burst1 || burst1.length > (cycles.burst2?.length ?? 0) + 1;
  const first = straddled ? firstFail1 : (burst1[0] as Observation);
  return lastFail1.sentAt + (lastFail1.sentAt - first.sentAt) - intervalMs;
}

/**
 * The growth of the second recovery's retest ladder. A fixed window's estimate is off by at most half of
 * each recovery bracket, so ±10 % leaves the second bracket 20 % of the window less the first bracket's
 * width: when the first recovery was timed closely, the second ladder may take longer steps (fewer
 * requests), from RETEST_GROWTH up to 1.2 (with a tenth kept in reserve).
 */
export function secondLadderGrowth(cycles: Cycles, recovery1: Observation, lastSlot: number): number {
  const lastFail1 = cycles.limited1?.at(-1);
  const tau = lastSlot - recovery1.sentAt;
  if (!lastFail1 || !(tau > 0)) return RETEST_GROWTH;
  const firstBracket = recovery1.sentAt - lastFail1.sentAt;
  const room = (0.9 * (0.2 * tau - firstBracket)) / tau;
  return 1 + Math.min(0.2, Math.max(RETEST_GROWTH - 1, room));
}

/** The feasible refill-rate interval (from the first 429 on, narrowed by reset values) is narrow enough to stop. */
export function refillRateIsTight(obs: readonly Observation[], intervalMs: number): boolean {
  const interval = refillRateInterval(obs, intervalMs);
  if (!interval || !(interval.hi >= interval.lo) || interval.hi <= 0) return false;
  return (interval.hi - interval.lo) / ((interval.hi + interval.lo) / 2) <= TIGHT_RATE_WIDTH;
}
