// The probe's explanations: pure functions from the estimators' reasons (codes and numbers, see
// src/probe/reasons.ts) to the sentences in the `explanation` fields and the foreign-usage warning.
// One sentence per code, in the tables below. Plain text, no colour: the same words go to the terminal
// and into the JSON document, so a change here is a change of the output contract.
import { round, seconds } from '../probe/figures.js';
import type {
  ConcurrencyReason,
  FirstBurstNote,
  ForeignUsage,
  RateReason,
  RateRefusalEvidence,
  RoundWindowNote,
  StatedLimit,
  StopCause,
  WindowReturn,
} from '../probe/reasons.js';

/** " before …" when sending stopped early, else nothing. */
const STOP_CLAUSE: Record<NonNullable<StopCause>, string> = {
  budget: ' before --max-requests ran out',
  duration: ' before --max-duration ran out',
  interrupted: ' before the probe was interrupted',
  errors: ' before errors stopped the probe',
  refusals: ' before the probe stopped at its refusal budget (--allow-refusals: each refused request can lengthen an edge ban)',
  penalty: ' before the probe stopped because retries lengthened the block (a penalty box)',
  'quota-share': " before the probe stopped to spare today's quota (--max-quota-share; --yes to spend more)",
};

/** Stops that end the rate part on purpose after a refusal, to spare a ban: why, in the no-recovery sentence. */
const SPARED: Partial<Record<NonNullable<StopCause>, string>> = {
  refusals: 'its refusal budget (--allow-refusals) was spent, as each refused request can lengthen an edge ban',
  penalty: 'retries lengthened the block (a penalty box)',
};

function stopClause(stop: StopCause): string {
  // A cause this table does not know (a JavaScript caller's) says nothing, like no cause.
  return (stop === null ? undefined : STOP_CLAUSE[stop]) ?? '';
}

/** A per-minute rate: whole from 10 up, one decimal below. */
function describeRate(perMinute: number): string {
  return perMinute >= 10 ? `${Math.round(perMinute)}` : `${round(perMinute, 1)}`;
}

/** " (the NAME header says LIMIT)" beside a measured figure, or nothing. */
function sayHeader(header: StatedLimit | null): string {
  return header === null ? '' : ` (the ${header.name} header says ${header.limit})`;
}

function firstBurstNote(note: FirstBurstNote | null): string {
  if (note === null) return '';
  switch (note.code) {
    case 'second-straddled':
      return ` (the second burst got ${note.got}, more than the header's ${note.stated}: it straddled a window boundary)`;
    case 'began-earlier':
      return ` (the first burst got ${note.got}: the window had begun before the probe, or others had used part of it)`;
    case 'first-straddled':
      return ` (the first burst got ${note.got}: it straddled a window boundary)`;
  }
}

const WINDOW_RETURN: Record<WindowReturn, string> = {
  ambiguous:
    'allowance first came back one window after the first accepted request: a sliding window, or a fixed one that began with the probe (the request after the second recovery could not go out soon enough to tell)',
  'one-at-a-time': 'allowance came back one request at a time, one window after each accepted request (a sliding window: a request right after the second recovery was refused)',
  'all-at-once-confirmed': 'allowance came back all at once at window boundaries (a request right after the second recovery was accepted too)',
  'all-at-once': 'allowance came back all at once at window boundaries',
};

/** How a round window was confirmed (no header timed it). */
function roundClause(round: RoundWindowNote | null): string {
  if (round === null) return '';
  const w = `${seconds(round.windowMs)}-s`;
  const where = round.family === 'clock'
    ? `at the clock's whole ${w} boundaries`
    : round.family === 'first-request'
      ? `one window after the request that began each window`
      : `where a round ${w} window predicts`;
  return `; both recoveries came ${where}, as a round ${w} window predicts (no header states the window)`;
}

function sharedClause(sharedWith: number | null): string {
  return sharedWith === null ? '' : `; the header says ${sharedWith}, so other traffic may share the limit`;
}

type Writers<R extends { code: string }> = { [K in R['code']]: (reason: Extract<R, { code: K }>) => string };

/** The sentence for each rate reason. */
const RATE_TEXT: Writers<RateReason> = {
  'nothing-counted': (r) => `No request was accepted or rate limited${stopClause(r.stop)}, so there is nothing to estimate from.`,
  'stated-window': (r) =>
    `The ${r.header} header states ${r.limit} requests per ${seconds(r.windowMs)} s` +
    (r.seen === 'token-bucket'
      ? `, refilled continuously (the reset moved later with each request); the first answer left ${r.burst === null ? '?' : r.burst - 1}, so the bucket holds about ${r.burst ?? '?'} (fewer if it was not full when the probe began).`
      : r.seen === 'window'
        ? '; the reset instant stayed put, so it is a window (fixed or sliding not tested).'
        : '; the algorithm is not stated.'),
  'reset-check': (r) =>
    `${r.header} states ${r.limit} requests; a request sent just after the reset found ${r.algorithm === 'fixed-window' ? 'the whole allowance back' : 'only the oldest request expired'}, so it is ${r.algorithm === 'fixed-window' ? 'a fixed window' : 'a sliding window'} of about ${seconds(r.windowMs)} s (timed from the reset values; no header states the window).`,
  'reset-drift': (r) =>
    `${r.header} states ${r.limit} requests and its reset moved ${round(1000 / r.ratePerSecond, 0)} ms later per request: a token bucket refilling ${describeRate(r.ratePerSecond * 60)}/min with room for ${r.capacity ?? '?'} at once.`,
  'window-untimed': (r) =>
    `${r.header} states ${r.limit} requests per window, but the window length was not measured: no request could be sent after the reset${stopClause(r.stop)}.`,
  'outpaced-bucket': (r) =>
    `${r.header} states ${r.limit} requests and every request found all but one left, full again ${round(r.fullAfterSeconds * 1000, 0)} ms later: a token bucket refilling about ${describeRate(r.ratePerSecond * 60)}/min, faster than this probe's ${r.paceRpm}/min (rerun with --rpm ${r.higherRpm} to see it limit).`,
  outpaced: (r) =>
    `${r.header} states ${r.limit} requests, but the allowance was back in full before each of ${r.count} requests at ${r.paceRpm}/min, so the sustained rate is at least that and the stated ${r.limit} was never reached; rerun with a higher --rpm (e.g. --rpm ${r.higherRpm}) to reach the limit.`,
  'never-limited': (r) => {
    const stated = r.stated === null ? '' : `; the ${r.stated.name} header states ${r.stated.limit}, but the probe never reached a limit at ${r.paceRpm}/min, so that figure was not measured`;
    // Stopped to spare the quota, not for want of pace: a higher --rpm would not help.
    const rerun = r.stop === 'quota-share'
      ? 'pass --yes (or lower --max-requests) to measure it'
      : (r.heldInFlight ?? null) !== null
        ? `a concurrency limit held the probe to ${r.heldInFlight ?? ''} in flight, and at that, with these answer times, no faster pace can be sent: any rate limit lies above what was accepted, and a higher --rpm would not reach it`
        : `rerun with a higher --rpm (e.g. --rpm ${r.suggestedRpm}) to reach the limit`;
    return `No request was rate limited: all ${r.accepted} in ${seconds(r.spanMs)} s were accepted${r.perMinute === null ? '' : ` (at least ${describeRate(r.perMinute)}/min)`}${stopClause(r.stop)}${stated}; ${rerun}.`;
  },
  'no-recovery': (r) => r.stop !== null && SPARED[r.stop] !== undefined
    ? `${r.accepted} request${r.accepted === 1 ? ' was' : 's were'} accepted before the first 429${sayHeader(r.header)}; the probe stopped provoking there because ${SPARED[r.stop]}, so the window (or refill time) was not measured.`
    : `${r.accepted} request${r.accepted === 1 ? ' was' : 's were'} accepted before the first 429${sayHeader(r.header)}, and no retest succeeded within ${seconds(r.waitedMs)} s${stopClause(r.stop)}, so the window (or refill time) is longer than that.`,
  'not-limited-again': (r) =>
    `${r.accepted} requests were accepted before the first 429, allowance came back ${seconds(r.recoveredAfterMs)} s later, and the next burst was not limited again${stopClause(r.stop)}; the window could not be timed.`,
  'window-second-recovery-missing': (r) =>
    `${r.limit} requests fit in a window that began at a recovery${sayHeader(r.header)}${firstBurstNote(r.firstBurst)}, but the second recovery did not come within ${seconds(r.waitedMs)} s${stopClause(r.stop)}, so the window is longer than that${sharedClause(r.sharedWith)}.`,
  'window-from-cycles': (r) => {
    const range = r.loose === null
      ? ''
      : `; the recoveries were timed only to within ${seconds(Math.max(0, r.loose.loMs))}–${seconds(r.loose.hiMs)} s${r.loose.hinted ? " (the retests waited as long as the server's Retry-After or reset asked)" : ''}`;
    const about = r.round === null ? 'about ' : '';
    return `${r.limit} requests were accepted per window of ${about}${seconds(r.windowMs)} s${sayHeader(r.header)}${firstBurstNote(r.firstBurst)}; ${WINDOW_RETURN[r.returned]}${range}${roundClause(r.round)}${sharedClause(r.sharedWith)}.`;
  },
  'refusals-count': (r) => {
    if (r.fixedFitsToo) {
      return `The answers fit two readings equally well: a limiter that counts refused requests too (a penalty box) of ${r.limit} requests per ${seconds(r.loMs)}–${seconds(r.hiMs)} s, and a fixed window that counts only accepted ones, which a burst ran through; the limit and window are not stated. Pace well under ${r.limit} per ${seconds(r.hiMs)} s, and rerun with a lower --rpm to tell the two apart.`;
    }
    const window = r.timed
      ? `${r.limit} requests per ${seconds((r.loMs + r.hiMs) / 2)} s (windows from ${seconds(r.loMs)} to ${seconds(r.hiMs)} s fit)`
      : `${r.limit} requests per window, but only windows from ${seconds(r.loMs)} to ${seconds(r.hiMs)} s fit, too wide a range to state the sustainable rate`;
    return `Refused requests count against the limit too (a penalty box): every answer fits a sliding window that counts each request, refused or not, and none fits one that counts only accepted requests: ${window}${sayHeader(r.header)}; a client that retries while refused stays refused, so keep under the limit rather than retrying into it.`;
  },
  'block-after-limit': (r) => {
    const window = r.timed
      ? `${r.limit} requests per ${seconds((r.loMs + r.hiMs) / 2)} s (windows from ${seconds(r.loMs)} to ${seconds(r.hiMs)} s fit)`
      : `${r.limit} requests per window, but only windows from ${seconds(r.loMs)} to ${seconds(r.hiMs)} s fit, too wide a range to state the sustainable rate`;
    const block = r.blockLoMs === null
      ? ''
      : r.blockHiMs === null
        ? ` for more than ${seconds(r.blockLoMs)} s`
        : ` for ${seconds(r.blockLoMs)}–${seconds(r.blockHiMs)} s`;
    const what = r.model === 'restart'
      ? 'every refused request restarted the window (a penalty box): a retest sooner than a window after the last refusal was refused again, and allowance came back only after a quiet window'
      : `the first request over the limit was blocked${block}, longer than the window (a block after the limit), and the allowance came back only after it`;
    const advice = r.model === 'restart' ? 'a client that retries while refused stays refused' : 'going over it costs the whole block';
    return `Refusals cost more than the window here: ${what}; ${window}${sayHeader(r.header)}${stopClause(r.stop)}. Pace under the limit: ${advice}.`;
  },
  'bucket-untimed': (r) => `Allowance came back a little at a time (a token bucket)${sayHeader(r.header)}, but too few refills were seen${stopClause(r.stop)} to time them.`,
  'delay-queue': (r) => {
    const counted = r.counted.perMinute === null ? '' : `; counted by send time it looked like ${r.counted.bound === 'at-least' ? 'at least ' : ''}${describeRate(r.counted.perMinute)}/min, but the queue only lets the answers' pace through`;
    return `Answers were held in a queue: ${r.held} took well over the backend's own ${seconds(r.baseMs)} s, up to about ${r.depth} places deep, and came back evenly, one every ${seconds(r.spacingMs)} s: a limiter that delays rather than refuses (nginx limit_req without nodelay), about ${describeRate(r.perMinute)}/min sustained${counted}.`;
  },
  'bucket-from-cycles': (r) =>
    `After the first 429 allowance came back one request at a time, about ${describeRate(r.perMinute)}/min (one every ${round(1 / r.ratePerSecond, 2)} s): a token bucket` +
    (r.capacity !== null ? ` with room for about ${r.capacity} at once` : '') +
    `${sayHeader(r.header)}${r.complete ? '' : `; the refill was timed on a short span${stopClause(r.stop)}`}.`,
};

/** The rate estimate's `explanation`. */
export function explainRate(reason: RateReason): string {
  return (RATE_TEXT[reason.code] as (r: RateReason) => string)(reason);
}

const RATE_REFUSAL: Record<RateRefusalEvidence, string> = {
  'exhausted-policy': 'its 429s carried a rate policy at remaining 0',
  'lone-refused': 'a lone request right after it was refused too',
};

/** "; N at once were fine" after a test that stopped for a reason other than the gate. */
function fineClause(fine: number): string {
  return fine > 0 ? `; ${fine} at once were fine` : '';
}

/** " (why)" after a test that stopped early, with the probe's own note. */
function stoppedClause(stopped: string | null): string {
  return stopped ? ` (${stopped})` : '';
}

/** The sentence for each concurrency reason. */
const CONCURRENCY_TEXT: Writers<ConcurrencyReason> = {
  skipped: (r) => `Not tested: ${r.why}.`,
  gate: (r) => `${r.size} simultaneous requests got ${r.accepted} successes and a lone request right after succeeded, so at most ${r.accepted} may be in flight at once.`,
  'rate-part-gate': (r) => {
    const batch = r.batch === null ? '' : r.batch.late
      ? ` (a batch of ${r.batch.size} got ${r.batch.accepted}, but its lone retry came after the rate limit could have given one back)`
      : r.batch.accepted === r.batch.size ? ` (a batch of ${r.batch.size} all succeeded)` : ` (a batch of ${r.batch.size} got ${r.batch.accepted})`;
    const why = r.why === null ? '' : `; larger batches were not sent (${r.why})`;
    return `During the rate part ${r.inFlight} requests in flight were all accepted and one more was refused while the rate limit still had room, so at most ${r.inFlight} may be in flight at once${batch}${why}.`;
  },
  'late-lone': (r) =>
    `${r.size} simultaneous requests got ${r.accepted} successes and a lone retry succeeded, but ${seconds(r.lateMs)} s later, when the rate limit (one every ${seconds(r.refillMs)} s) could have given one back: the 429s may have been the rate limit's${fineClause(r.fine)}.`,
  'rate-refused': (r) => `A batch of ${r.size} was refused by the rate limit, not the concurrency limit (${RATE_REFUSAL[r.evidence]})${fineClause(r.fine)}.`,
  errors: (r) => `A batch of ${r.size} failed with errors other than 429 (${r.accepted} succeeded), so the test stopped${fineClause(r.fine)}.`,
  unconfirmed: (r) => `${r.size} simultaneous requests got ${r.accepted} successes, but no lone retry confirmed that the 429s were the concurrency limit${stoppedClause(r.stopped)}.`,
  'all-accepted': (r) => {
    const doubt = r.fastMs === null ? '' : ` (responses took at most ${Math.round(r.fastMs)} ms, so the requests may not have overlapped on the server)`;
    return r.reachedCap
      ? `${r.count} simultaneous requests all succeeded, the most --max-concurrency allows; raise it to test further${doubt}.`
      : `${r.count} simultaneous requests all succeeded; larger batches were not sent${stoppedClause(r.stopped)}${doubt}.`;
  },
};

/** The concurrency estimate's `explanation`. */
export function explainConcurrency(reason: ConcurrencyReason): string {
  return (CONCURRENCY_TEXT[reason.code] as (r: ConcurrencyReason) => string)(reason);
}

/** The warning when someone else spends the same allowance. */
export function explainForeignUsage(f: ForeignUsage): string {
  return `remaining fell by ${f.drop} between requests #${f.fromSeq} and #${f.toSeq}, but this probe sent only ${f.own}: another client is using the same key or address, so the figures may be low.`;
}

/** The penalty box's one line (estimate.rate.penalty): what to do, then what was seen. */
export function explainPenalty(observedBanSeconds: readonly number[]): string {
  const seen = observedBanSeconds.length === 0 ? '' : ` (blocks seen: ${observedBanSeconds.map((s) => `${seconds(s * 1000)} s`).join(', ')})`;
  return `retries lengthen the block: stop all traffic, then wait${seen}.`;
}

/** Chutes mode's warning, before the probe provokes anything: the ban risk and the refusal budget. */
export function explainBanRisk(allowRefusals: number): string {
  const stops = allowRefusals === 1 ? 'the probe stops at the first refusal' : `the probe stops after ${allowRefusals} refusals`;
  return `Chutes: each refused request can lengthen an edge ban, up to a day: ${stops}; --allow-refusals N to allow more.`;
}

/** Chutes mode: what the plan may cost of today's quota, and whether the probe goes on. */
export function explainQuotaShare(q: { worstCase: number; remaining: number; sharePercent: number; maxSharePercent: number; proceeds: boolean }): string {
  const share = `this plan may spend up to ${q.worstCase} of the ${q.remaining} requests left of today's quota (${round(q.sharePercent, 1)} %)`;
  if (q.proceeds) return `Chutes quota: ${share}${q.sharePercent > q.maxSharePercent ? `, over --max-quota-share ${q.maxSharePercent} %, confirmed with --yes` : ''}.`;
  return `Chutes quota: ${share}, over --max-quota-share ${q.maxSharePercent} %: the probe stopped after its first request and reports what the headers say; pass --yes (or lower --max-requests) to measure.`;
}
