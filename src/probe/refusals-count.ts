// Limiters that count refused requests too (a penalty box: HAProxy's `sc_http_req_rate` deny rules,
// fail2ban-style proxies): every request, refused or not, stays in a sliding window of W, and a request is
// refused while the window holds L or more. Retests during the block keep it full, so the first recovery
// comes late and the second burst gets less than L: read as an ordinary window, the estimate came out low
// (issue #15: 8 per 11.2 s for 10 per 10 s). The probe's own log says which model fits: for each W, the
// requests a window holds before each answer give the limits an accepted answer allows (more than it
// held) and a refused one allows (at most what it held). Pure: times in epoch ms.
import { bySendTime, isAccepted, isRateLimited, type Observation } from './observation.js';

export interface CountingFit {
  limit: number;
  /** The windows that fit, ms: the shortest and the longest. */
  loMs: number;
  hiMs: number;
  /** A fixed window that counts only accepted requests fits the answers as well: they do not tell the two apart. */
  fixedFitsToo: boolean;
}

/** The shortest window tried; fixed windows are tried at lengths STEP apart. */
const SHORTEST_MS = 100;
const STEP = 1.01;

/**
 * The limits that fit a sliding window of `windowMs` counting every request (`countRefused`) or only the
 * accepted ones, as [lo, hi]; null when none does.
 */
function limitsThatFit(seq: readonly Observation[], windowMs: number, countRefused: boolean): [number, number] | null {
  let lo = 1;
  let hi = Infinity;
  let from = 0;
  let held = 0;
  for (let i = 0; i < seq.length; i++) {
    const o = seq[i] as Observation;
    // The window before o: the requests sent in (o − W, o).
    while (from < i && (seq[from] as Observation).sentAt <= o.sentAt - windowMs) {
      if (countRefused || isAccepted(seq[from] as Observation)) held -= 1;
      from += 1;
    }
    if (isAccepted(o)) lo = Math.max(lo, held + 1);
    else hi = Math.min(hi, held);
    if (lo > hi) return null;
    if (countRefused || isAccepted(o)) held += 1;
  }
  return [lo, hi];
}

/** Whether a fixed window of `windowMs` counting accepted requests fits: boundaries at `phase` + k·W, or (phase null) each window starting with the first request after the last one ended. */
function fixedFits(seq: readonly Observation[], windowMs: number, phase: number | null): boolean {
  let lo = 1;
  let hi = Infinity;
  let start = -Infinity;
  let held = 0;
  for (const o of seq) {
    const begins = phase === null ? (o.sentAt >= start + windowMs ? o.sentAt : start) : phase + Math.floor((o.sentAt - phase) / windowMs) * windowMs;
    if (begins !== start) {
      start = begins;
      held = 0;
    }
    if (isAccepted(o)) lo = Math.max(lo, held + 1);
    else hi = Math.min(hi, held);
    if (lo > hi) return false;
    if (isAccepted(o)) held += 1;
  }
  return true;
}

/** Phases tried per window length for a fixed window with unknown boundaries. */
const PHASES = 100;

/** Whether some fixed window (any length from 100 ms to `span`, any phase, or starting with a request) fits. */
function anyFixedFits(seq: readonly Observation[], span: number): boolean {
  for (let w = SHORTEST_MS; w <= span; w *= STEP) {
    if (fixedFits(seq, w, null)) return true;
    for (let k = 0; k < PHASES; k++) if (fixedFits(seq, w, (k * w) / PHASES)) return true;
  }
  return false;
}

/**
 * The penalty box these answers show: every answer fits a sliding window that counts refused requests
 * too, with one limit over a range of windows, and none fits a window that counts only accepted requests
 * (a sliding log); `fixedFitsToo` when a fixed window of some length and phase (or one that starts with
 * a request) fits as well. Null otherwise, or without a refusal followed by a success to tell.
 */
export function refusalsCount(observations: readonly Observation[]): CountingFit | null {
  const seq = [...observations].filter((o) => isAccepted(o) || isRateLimited(o)).sort(bySendTime);
  const firstRefused = seq.findIndex(isRateLimited);
  if (firstRefused < 0 || !seq.slice(firstRefused).some(isAccepted)) return null;
  const span = (seq.at(-1) as Observation).sentAt - (seq[0] as Observation).sentAt;
  // What a window holds before each answer changes only where its length passes the gap between two
  // sends: one length inside each stretch between such gaps stands for the whole stretch.
  const gaps = new Set<number>();
  for (let i = 0; i < seq.length; i++) for (let j = 0; j < i; j++) gaps.add((seq[i] as Observation).sentAt - (seq[j] as Observation).sentAt);
  const edges = [...gaps].filter((g) => g >= SHORTEST_MS).sort((a, b) => a - b);
  let fit: { limits: Set<number>; loMs: number; hiMs: number } | null = null;
  for (let k = 0; k + 1 < edges.length; k++) {
    const [from, to] = [edges[k] as number, edges[k + 1] as number];
    const w = (from + to) / 2;
    if (limitsThatFit(seq, w, false) !== null) return null;
    const limits = limitsThatFit(seq, w, true);
    if (limits === null || !Number.isFinite(limits[1])) continue;
    fit ??= { limits: new Set(), loMs: from, hiMs: to };
    for (let l = limits[0]; l <= limits[1]; l++) fit.limits.add(l);
    fit.hiMs = to;
  }
  // One limit, or the answers do not pin it: not a finding. A fixed window may explain them too (a burst
  // that ran through a boundary fits a counting window by chance, and a penalty box's burst can pass for
  // such a burst): tried last, as it is the dearest check and only a fit gets this far.
  if (fit === null || fit.limits.size !== 1) return null;
  return { limit: [...fit.limits][0] as number, loMs: fit.loMs, hiMs: fit.hiMs, fixedFitsToo: anyFixedFits(seq, span) };
}

/**
 * Limiters whose first refusal costs a block (issue #15's bench): a fixed window that begins with the first
 * request after the last one ended, where
 *  - `restart`: every request over the limit restarts the window at its own time (@fastify/rate-limit's
 *    `continueExceeding`): a client that retries sooner than the window after its last refusal stays
 *    refused, each retest pushing the recovery later;
 *  - `block`: the first request over the limit blocks for a fixed time from itself, longer than the window,
 *    and refusals during it do not extend it (rate-limiter-flexible's `blockDuration`).
 * Found only when no ordinary reading fits (a window from the first request, one on the clock at any phase,
 * a sliding log of accepted requests): then one limit, the windows that fit ([loMs, hiMs]) and, for a
 * block, the block's length as far as the retests pin it.
 */
export interface BlockFit {
  model: 'restart' | 'block';
  limit: number;
  loMs: number;
  hiMs: number;
  /** `block` only: the block's length lies in (blockLoMs, blockHiMs]; null for `restart`. */
  blockLoMs: number | null;
  blockHiMs: number | null;
}

/**
 * Whether `seq` fits a window of `windowMs` from the first request after the last one ended, limit `limit`,
 * refusals restarting it (`restart`) or the first one blocking for an unknown time (`block`): for a block,
 * the (lo, hi] of its length that fits; for `restart`, [0, 0]; null when the answers do not fit.
 */
function blockModelFits(seq: readonly Observation[], limit: number, windowMs: number, model: 'restart' | 'block'): [number, number] | null {
  let end = -Infinity;
  let held = 0;
  let blockedFrom: number | null = null;
  let lo = 0;
  let hi = Infinity;
  for (const o of seq) {
    const t = o.sentAt;
    const accepted = isAccepted(o);
    if (blockedFrom !== null) {
      const since = t - blockedFrom;
      if (accepted) {
        // The block was over by now: a new window begins with this request.
        hi = Math.min(hi, since);
        blockedFrom = null;
        end = t + windowMs;
        held = 1;
      } else lo = Math.max(lo, since);
      if (lo >= hi) return null;
      continue;
    }
    if (t >= end) {
      end = t + windowMs;
      held = 0;
    }
    if (accepted) {
      if (held >= limit) return null;
      held += 1;
      continue;
    }
    if (held < limit) return null;
    if (model === 'restart') end = t + windowMs;
    else blockedFrom = t;
  }
  return model === 'restart' ? [0, 0] : [lo, hi];
}

/** Windows that align to the clock as people configure them (1 s … 1 h), boundaries at whole multiples. */
const ROUND_WINDOWS_MS = [1_000, 2_000, 5_000, 10_000, 15_000, 20_000, 30_000, 60_000, 120_000, 300_000, 600_000, 900_000, 1_800_000, 3_600_000];
/** Our clock against the server's: a boundary this close to a send may lie on either side of it. */
const CLOCK_SLACK_MS = [-1_000, -250, 0, 250, 1_000];

/**
 * Whether a sliding log of `windowMs` counting accepted requests, a fixed window from a request, or a round
 * window on the clock fits. (A fixed window at an arbitrary phase is not tried: with refused retests spread
 * over many seconds one of a hundred phases fits by chance, and real fixed windows start at a request or
 * at a round instant.)
 */
function ordinaryFits(seq: readonly Observation[], span: number): boolean {
  for (let w = SHORTEST_MS; w <= span; w *= STEP) {
    if (limitsThatFit(seq, w, false) !== null || fixedFits(seq, w, null)) return true;
  }
  return ROUND_WINDOWS_MS.some((w) => CLOCK_SLACK_MS.some((slack) => fixedFits(seq, w, slack)));
}

/** See BlockFit: the block these answers show after the limit, or null (an ordinary reading fits, or none does). */
export function blockAfterLimit(observations: readonly Observation[]): BlockFit | null {
  const seq = [...observations].filter((o) => isAccepted(o) || isRateLimited(o)).sort(bySendTime);
  const firstRefused = seq.findIndex(isRateLimited);
  if (firstRefused < 1 || !seq.slice(firstRefused).some(isAccepted)) return null;
  const span = (seq.at(-1) as Observation).sentAt - (seq[0] as Observation).sentAt;
  // The longest run of accepted requests bounds the limit (a run may span two windows).
  let run = 0;
  let longest = 0;
  for (const o of seq) {
    run = isAccepted(o) ? run + 1 : 0;
    longest = Math.max(longest, run);
  }
  for (const model of ['restart', 'block'] as const) {
    const limits = new Set<number>();
    let loMs = Infinity;
    let hiMs = -Infinity;
    let blockLo = Infinity;
    let blockHi = -Infinity;
    for (let w = SHORTEST_MS; w <= span; w *= STEP) {
      for (let limit = 1; limit <= longest; limit++) {
        const fit = blockModelFits(seq, limit, w, model);
        if (fit === null) continue;
        // A block no longer than the window is the window itself: an ordinary reading.
        if (model === 'block' && !(fit[1] > w)) continue;
        limits.add(limit);
        loMs = Math.min(loMs, w);
        hiMs = Math.max(hiMs, w);
        blockLo = Math.min(blockLo, Math.max(fit[0], w));
        blockHi = Math.max(blockHi, fit[1]);
      }
    }
    if (limits.size !== 1) continue;
    // The dearest check last: only a fit gets this far.
    if (ordinaryFits(seq, span)) return null;
    const limit = [...limits][0] as number;
    const block = model === 'block' ? { blockLoMs: blockLo, blockHiMs: Number.isFinite(blockHi) ? blockHi : null } : { blockLoMs: null, blockHiMs: null };
    return { model, limit, loMs, hiMs: hiMs * STEP, ...block };
  }
  return null;
}
