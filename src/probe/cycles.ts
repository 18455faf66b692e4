// Cycles (behaviour): alternating runs of accepted and rate-limited responses, named by their role
// (burst 1, its 429s, burst 2 …), the recovery brackets between them, window or bucket from the bursts'
// lengths, and the pace of the sparse retests that find a recovery.
import { jitterToleranceMs, resetInstant, seriesKindBeforeLimit, type HeaderPoint, type ResetClock } from './header-series.js';
import { bySendTime, isAccepted, isRateLimited, type Observation } from './observation.js';
import { windowStart } from './reset-check.js';
import { retryHint } from './retry-hint.js';

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

/** The first observation of a run (null without the run). */
export function firstOf(list: Observation[] | null): Observation | null {
  return list?.[0] ?? null;
}

/** The last observation of a run (null without the run). */
export function lastOf(list: Observation[] | null): Observation | null {
  return list?.at(-1) ?? null;
}

/** A recovery: the allowance was not back at `lastFail`, was back at `firstOk`; `mid` is the estimate. */
export interface Recovery {
  lastFail: number;
  firstOk: number;
  mid: number;
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
): Recovery | null {
  const fail = lastOf(limited);
  const ok = firstOf(burst);
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
  bracket: Recovery,
  before: readonly Observation[],
  resets: ResetReading | null,
  intervalMs: number,
): Recovery {
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

