// Estimates from traffic we did not send (a `tap` recording, a HAR file, a probe's JSONL read back).
// The probe's estimators assumed the probe's own pacing: a burst until the first 429, sparse retests, a
// second burst. An app's traffic is irregular (bursts, idle gaps, many requests in flight), so each
// estimator is used only where its assumption holds for any traffic:
//  - a header that states limit and window is the server's word, whatever the pacing (used as is);
//  - a header series (constant or drifting reset instants) reads the server's clock, not ours (used;
//    its "outpaced" and reset-check findings, which assume the probe's steady pace, are not: a limit
//    never reached then stays a plain lower bound);
//  - behaviour (cycles of 429s and recoveries) is used only once the allowance was exhausted twice:
//    with a single exhaustion, the accepted count before it may include a window boundary or miss
//    what was spent before the recording began, so no limit is claimed ("a window needs two exhausted
//    windows"); a limit never reached is only ever `at-least`.
// Pure: records in, figures and a sentence out.
import { explainRate } from '../render/probe-explain.js';
import { estimateFromCycles } from '../probe/estimate-cycles.js';
import { estimateFromExactHeaders, estimateFromHeaderSeries } from '../probe/estimate-headers.js';
import type { ConcurrencyEstimate } from '../probe/estimate-concurrency.js';
import type { RateEstimate, RateFinding } from '../probe/estimate-types.js';
import { headerModeOf, headerName, type HeaderMode } from '../probe/header-mode.js';
import { attributeRefusals, bySendTime, isAccepted, isRateLimited, selectRatePolicy, type Observation } from '../probe/observation.js';
import { detectPenalty } from '../probe/penalty.js';
import type { ResponseRecord } from '../types.js';
import { round } from '../probe/figures.js';

/** The sliding span over which the busiest stretch of accepted traffic is counted for a lower bound. */
export const PEAK_SPAN_MS = 60_000;

export interface PassiveEstimate {
  rate: RateEstimate;
  concurrency: ConcurrencyEstimate;
}

/** A record as the estimators see it; `receivedAt` is when the answer's headers came (send + latency). */
export function observationFromRecord(record: ResponseRecord): Observation {
  const sentAt = Date.parse(record.sentAt);
  return {
    seq: record.seq,
    sentAt,
    receivedAt: sentAt + (record.latencyMs ?? 0),
    status: record.status,
    outcome: record.outcome,
    policies: record.rateLimit.policies,
    retryAfterSeconds: record.rateLimit.retryAfterSeconds,
    inFlight: record.inFlight,
  };
}

/** The median gap between consecutive sends (ms, at least 1): the "pace" the series tolerances scale with. */
export function typicalGapMs(observations: readonly Observation[]): number {
  const sends = observations.map((o) => o.sentAt).sort((a, b) => a - b);
  const gaps = sends.slice(1).map((t, i) => t - (sends[i] as number)).sort((a, b) => a - b);
  if (gaps.length === 0) return 1000;
  return Math.max(1, gaps[Math.floor(gaps.length / 2)] as number);
}

/** The most accepted requests sent within any PEAK_SPAN_MS, and the span they covered. */
export function peakAccepted(observations: readonly Observation[], spanMs = PEAK_SPAN_MS): number {
  const sends = observations.filter(isAccepted).map((o) => o.sentAt).sort((a, b) => a - b);
  let best = 0;
  let start = 0;
  for (let end = 0; end < sends.length; end++) {
    while ((sends[end] as number) - (sends[start] as number) >= spanMs) start++;
    best = Math.max(best, end - start + 1);
  }
  return best;
}

/**
 * Reasons whose findings hold for traffic we did not pace. Left out: the "outpaced" ones (about the
 * probe's --rpm) and the reset check — one request just after a reset finding the whole allowance back
 * tells fixed from sliding only when the window before it was full; after a sparse stretch a sliding log
 * has emptied too, and would pass for a fixed window.
 */
const PASSIVE_REASONS = new Set([
  'stated-window', 'reset-drift', 'window-untimed', 'window-from-cycles',
  'window-second-recovery-missing', 'bucket-from-cycles', 'bucket-untimed',
]);

/** The probe's sentence, told about a recording instead of a probe. */
function passiveSentence(finding: RateFinding): string {
  return explainRate(finding.reason).replace(/\bthe probe\b/g, 'the recording').replace(/\bthis probe\b/g, 'this recording');
}

function statedLimit(mode: HeaderMode): { name: string; limit: number } | null {
  return mode.kind === 'none' ? null : { name: headerName(mode), limit: mode.limit };
}

/** No 429 from the rate limiter: every figure is a lower bound; the header's own limit, if any, is quoted. */
function neverReached(observations: readonly Observation[], mode: HeaderMode, requests: number): RateEstimate {
  const peak = peakAccepted(observations);
  const stated = statedLimit(mode);
  const quote = stated ? ` The ${stated.name} header states a limit of ${stated.limit}; the app never used it up, so how long its window is was not seen.` : '';
  return {
    limit: stated?.limit ?? null,
    windowSeconds: null,
    perMinute: peak > 0 ? peak : null,
    burst: null,
    algorithm: 'unknown',
    bound: peak > 0 ? 'at-least' : 'unknown',
    source: stated ? 'both' : 'observed',
    confidence: 'low',
    explanation: `No request was refused by a rate limit in this traffic: the limit was never reached, so only a lower bound is known — the busiest minute carried ${peak} accepted request${peak === 1 ? '' : 's'} (at least ${peak}/min).${quote}`,
    requests,
    penalty: null,
  };
}

/**
 * The probe's attribution (attributeRefusals), then the passive one: traffic we did not shape has many
 * requests in flight, so a 429 sent with more in flight than any accepted request ever had, and no policy
 * saying the allowance is spent, is set aside as a possible gate's — whatever came next. When that is
 * every 429, `allCrowded` is the most in flight an accepted request had (nothing is read from them).
 */
function attributePassively(observations: readonly Observation[]): { attributed: Observation[]; allCrowded: number | null } {
  const first = attributeRefusals([...observations].sort(bySendTime));
  const most = Math.max(0, ...first.filter(isAccepted).map((o) => o.inFlight));
  const crowded = (o: Observation) => isRateLimited(o) && most > 0 && o.inFlight >= 2 && o.inFlight > most && selectRatePolicy(o.policies)?.remaining !== 0;
  const limited = first.filter(isRateLimited);
  if (limited.length > 0 && limited.every(crowded)) return { attributed: first, allCrowded: most };
  return { attributed: first.map((o) => (crowded(o) ? { ...o, outcome: 'capacity' as const } : o)), allCrowded: null };
}

/** A limit that needs a second exhausted window before it means anything. */
function needsTwoWindows(observations: readonly Observation[], mode: HeaderMode, requests: number, why: string, { fewer = true } = {}): RateEstimate {
  const stated = statedLimit(mode);
  return {
    limit: stated?.limit ?? null,
    windowSeconds: null,
    perMinute: null,
    burst: null,
    algorithm: 'unknown',
    bound: stated ? 'approx' : 'unknown',
    source: stated ? 'headers' : 'observed',
    confidence: 'low',
    explanation: `${why} ${fewer ? 'A limit and its window need two exhausted windows (429s, a recovery, 429s again); this traffic shows fewer, so' : 'So'} ${stated ? `only the ${stated.name} header's figure (${stated.limit}) is quoted` : 'the limit is unknown'}.`,
    requests,
    penalty: detectPenalty(observations),
  };
}

/**
 * A window read from irregular cycles must still admit every request the server accepted: more accepted
 * within one window span than the claimed limit allows (a sliding window: the limit; otherwise two
 * windows' worth, a fixed window's boundary) means the cycles were misread (e.g. a token bucket's refills
 * taken for a short window). Returns why, or null when the claim fits.
 */
export function contradictedBy(finding: RateFinding, observations: readonly Observation[]): string | null {
  if (finding.limit === null || finding.windowSeconds === null || finding.algorithm === 'token-bucket') return null;
  const windowMs = finding.windowSeconds * 1000;
  const most = peakAccepted(observations, windowMs);
  const allowed = finding.algorithm === 'sliding-window' ? finding.limit : 2 * finding.limit;
  const reading = `The cycles of 429s looked like ${finding.limit} per ${finding.windowSeconds} s`;
  if (most > allowed) return `${reading}, but ${most} requests were accepted within one such span elsewhere in this traffic, so that reading is wrong.`;
  // And every refusal must come when the window was full: a window's refusal follows at least `limit`
  // acceptances within one window span (a little slack for a window that was only measured).
  const accepted = observations.filter(isAccepted).map((o) => o.sentAt).sort((a, b) => a - b);
  const span = windowMs * (finding.bound === 'exact' ? 1 : 1.25);
  // A refusal within the first window span of the recording may follow traffic sent before it began.
  const recordingStart = Math.min(...observations.map((o) => o.sentAt));
  for (const refused of observations.filter(isRateLimited)) {
    if (refused.sentAt < recordingStart + span) continue;
    const before = countAtOrBefore(accepted, refused.sentAt) - countAtOrBefore(accepted, refused.sentAt - span);
    if (before < finding.limit - 1) {
      return `${reading}, but request #${refused.seq} was refused when only ${before} had been accepted in the ${round(span / 1000, 1)} s before it — not a full window, so something else refused it (a concurrency gate, another client, a different limit).`;
    }
  }
  return null;
}

/** How many of the ascending `times` are ≤ t (binary search: a day of records stays quick). */
function countAtOrBefore(times: readonly number[], t: number): number {
  let lo = 0;
  let hi = times.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((times[mid] as number) <= t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The rate estimate from someone else's traffic (see the rules at the top of this file). */
export function estimatePassiveRate(observations: readonly Observation[]): RateEstimate {
  const { attributed, allCrowded } = attributePassively(observations);
  const requests = attributed.length;
  const counted = attributed.filter((o) => isAccepted(o) || isRateLimited(o));
  if (counted.length === 0) {
    return {
      limit: null, windowSeconds: null, perMinute: null, burst: null, algorithm: 'unknown', bound: 'unknown', source: 'observed', confidence: 'low',
      explanation: 'No request in this traffic was accepted or rate limited, so there is nothing to estimate from.',
      requests, penalty: null,
    };
  }
  const ctx = { intervalMs: typicalGapMs(attributed) };
  const mode = headerModeOf(attributed);
  const penalty = detectPenalty(attributed);
  const finish = (finding: RateFinding): RateEstimate => {
    const { limit, windowSeconds, perMinute, burst, algorithm, bound, source, confidence } = finding;
    return { limit, windowSeconds, perMinute, burst, algorithm, bound, source, confidence, explanation: passiveSentence(finding), requests, penalty };
  };
  if (mode.kind === 'exact') return finish(estimateFromExactHeaders(attributed, mode, ctx));
  const limited = attributed.some(isRateLimited);
  if (mode.kind === 'series') {
    const series = estimateFromHeaderSeries(attributed, mode, ctx);
    if (series && PASSIVE_REASONS.has(series.reason.code)) return finish(series);
  }
  if (allCrowded !== null) {
    return needsTwoWindows(attributed, mode, requests, `Every 429 came with more requests in flight than any accepted request had (${allCrowded} at most): a concurrency gate explains them as well as a rate limit, so no rate limit is read from them.`, { fewer: false });
  }
  if (!limited) return neverReached(attributed, mode, requests);
  const cycles = estimateFromCycles(attributed, mode, ctx);
  switch (cycles.reason.code) {
    case 'no-recovery':
      return needsTwoWindows(attributed, mode, requests, `The allowance ran out once (${cycles.reason.accepted} accepted before the first 429) and never came back in this traffic.`);
    case 'not-limited-again':
      return needsTwoWindows(attributed, mode, requests, 'The allowance ran out once, came back, and was not used up again.');
    case 'never-limited':
      return neverReached(attributed, mode, requests);
    default: {
      if (!PASSIVE_REASONS.has(cycles.reason.code)) return needsTwoWindows(attributed, mode, requests, 'The 429s in this traffic do not form clear cycles.', { fewer: false });
      const contradiction = contradictedBy(cycles, attributed);
      return contradiction === null ? finish(cycles) : needsTwoWindows(attributed, mode, requests, contradiction, { fewer: false });
    }
  }
}

/**
 * The concurrency estimate from someone else's traffic: only a lower bound (the most requests in
 * flight that were all accepted); 429s that came with more in flight are named, never taken as proof.
 */
export function estimatePassiveConcurrency(observations: readonly Observation[]): ConcurrencyEstimate {
  const attributed = attributeRefusals([...observations].sort(bySendTime));
  const accepted = attributed.filter(isAccepted);
  const most = Math.max(0, ...accepted.map((o) => o.inFlight));
  const seen = Math.max(0, ...attributed.map((o) => o.inFlight));
  const crowded = attributed.filter((o) => (o.outcome === 'capacity' || isRateLimited(o)) && o.inFlight > most).length;
  if (most === 0) {
    return { limit: null, bound: 'unknown', testedUpTo: seen || null, explanation: 'No request in this traffic was accepted, so nothing is known about the concurrency limit.', requests: attributed.length };
  }
  const gate = crowded > 0
    ? ` ${crowded} refusal${crowded === 1 ? '' : 's'} came with more requests in flight than any accepted one had, which a concurrency gate of about ${most} would explain; traffic we did not shape cannot confirm it.`
    : '';
  return {
    limit: most,
    bound: 'at-least',
    testedUpTo: seen,
    explanation: `The app had up to ${most} request${most === 1 ? '' : 's'} in flight at once and ${most === 1 ? 'it was' : 'all were'} accepted: the concurrency limit is at least ${most}.${gate}`,
    requests: attributed.length,
  };
}

/** Both estimates from a recording's records. */
export function estimatePassive(records: readonly ResponseRecord[]): PassiveEstimate {
  const observations = records.map(observationFromRecord);
  return { rate: estimatePassiveRate(observations), concurrency: estimatePassiveConcurrency(observations) };
}
