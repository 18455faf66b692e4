// Pure judging of one real-limiter row against the targets of issue #15 (and, for the windows that
// advertise themselves in headers, issue #3's). No I/O here: test/unit/bench-real-limiters-judge.test.js
// covers it.
//
// A truth is one of
//   {family: 'nginx', perMinute, burst, conn, rateReachable?}       leaky bucket (limit_req), conn = a limit_conn that
//                                                                   can bind, or null; rateReachable false when the
//                                                                   connection cap holds throughput at or below the rate
//   {family: 'window', headers: boolean, limit, windowSeconds}      fixed window
//   {family: 'penalty', limit, windowSeconds, perMinute}            refusals count / extend the block
// and the estimate is the CLI's `estimate` ({rate, concurrency}) from `probe --json`.

/** @param {number | null | undefined} value @param {number} truth @param {number} tolerance (absolute) */
export function within(value, truth, tolerance) {
  return typeof value === 'number' && Number.isFinite(value) && Math.abs(value - truth) <= tolerance + 1e-9;
}

/** Relative error in percent, or null when there is no figure. */
export function errorPercent(value, truth) {
  if (typeof value !== 'number' || !Number.isFinite(value) || !truth) return null;
  return ((value - truth) / truth) * 100;
}

/** An explanation counts as a reason when it says something (not empty, not only whitespace). */
function hasReason(text) {
  return typeof text === 'string' && text.trim().length > 0;
}

/**
 * The checks of one row: [{label, target, measured, met}], `met` true/false. An empty estimate (the run
 * failed) fails every check of its family.
 * @param {any} truth
 * @param {any} estimate  the CLI's estimate object, or null when the run produced none
 */
export function judgeRow(truth, estimate) {
  const rate = estimate?.rate ?? null;
  const conc = estimate?.concurrency ?? null;
  /** @type {{label: string, target: string, measured: string, met: boolean}[]} */
  const checks = [];
  const add = (label, target, measured, met) => checks.push({ label, target, measured, met: Boolean(met) });
  const show = (v) => (v === null || v === undefined ? '—' : String(v));

  if (truth.family === 'nginx') {
    const tol = truth.perMinute * 0.1;
    const stated = rate?.bound === 'exact' || rate?.bound === 'approx';
    if (truth.rateReachable === false) {
      // The connection cap holds throughput at or below the rate: the bucket never empties, so the honest answer
      // is a lower bound (or unknown), never a figure stated as the limit.
      add('perMinute', 'at-least or unknown (rate unreachable through the cap)', `${show(rate?.perMinute)} (${show(rate?.bound)})`, rate !== null && !stated);
    } else {
      // A lower bound ("at least N/min") is not an estimate of the limit, even when N happens to be close.
      add('perMinute', `${truth.perMinute} ±10 %`, `${show(rate?.perMinute)}${stated ? '' : ` (${show(rate?.bound)})`}`, stated && within(rate?.perMinute, truth.perMinute, tol));
    }
    if (truth.conn) {
      add('concurrency', `${truth.conn} exact`, `${show(conc?.limit)} (${show(conc?.bound)})`, conc?.limit === truth.conn && conc?.bound === 'exact');
    } else {
      // No connection cap: the probe must not report one (at-least, or no figure).
      add('concurrency', 'no cap reported', `${show(conc?.limit)} (${show(conc?.bound)})`, conc !== null && (conc.limit === null || conc.bound === 'at-least'));
    }
    return checks;
  }

  if (truth.family === 'window') {
    if (truth.headers) {
      add('limit', `${truth.limit} exact`, show(rate?.limit), rate?.limit === truth.limit);
    } else {
      add('limit', `${truth.limit} ±1`, show(rate?.limit), within(rate?.limit, truth.limit, 1));
    }
    add('window', `${truth.windowSeconds} s ±10 %`, show(rate?.windowSeconds), within(rate?.windowSeconds, truth.windowSeconds, truth.windowSeconds * 0.1));
    if (!truth.headers) {
      const most = 2 * truth.limit + 10;
      add('requests', `≤ 2L+10 = ${most}`, show(rate?.requests), typeof rate?.requests === 'number' && rate.requests <= most);
    }
    return checks;
  }

  if (truth.family === 'penalty') {
    const limitOk = within(rate?.limit, truth.limit, 1);
    const perMinuteOk = within(rate?.perMinute, truth.perMinute, truth.perMinute * 0.15);
    const honestUnknown = rate?.bound === 'unknown' && hasReason(rate?.explanation);
    add(
      'limit ±1 & perMinute ±15 %, or unknown',
      `${truth.limit} ±1 & ${truth.perMinute}/min ±15 %, or bound unknown + reason`,
      `${show(rate?.limit)} & ${show(rate?.perMinute)}/min (${show(rate?.bound)})`,
      (limitOk && perMinuteOk) || honestUnknown,
    );
    return checks;
  }
  throw new Error(`unknown truth family ${String(truth.family)}`);
}

/** The figure a row's "error %" column shows: perMinute for buckets and penalty boxes, the limit for windows. */
export function headlineError(truth, estimate) {
  const rate = estimate?.rate ?? null;
  if (truth.family === 'window') return errorPercent(rate?.limit, truth.limit);
  return errorPercent(rate?.perMinute, truth.perMinute);
}

/**
 * Pacing at the server: lateness of each arrival against the ideal grid t0 + i·interval, the grid placed
 * at the most punctual arrival (so the fixed network/processing delay cancels).
 * @param {number[]} times ascending arrival times (ms, any origin)
 */
export function gridLateness(times, intervalMs) {
  if (times.length === 0) return [];
  const offset = Math.min(...times.map((t, i) => t - i * intervalMs));
  return times.map((t, i) => t - i * intervalMs - offset);
}

/** Nearest-rank percentile of an ascending array (the CLI's own definition). */
export function percentile(sorted, p) {
  if (sorted.length === 0) return null;
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1];
}

/** Pacing at the server (issue #15): the arrival p99 each run must stay within, ms. */
export const PACING_TARGET_MS = 5;

/**
 * One pacing run: the CLI's server-arrival p99 against the target, next to the baseline's (a bare sender with
 * the CLI's timing, bench/pacing-baseline.js) measured in the same conditions right after it. `met` is the
 * CLI's figure alone: a run the machine spoiled is never passed. When the baseline missed the target too, the
 * row says so (`machine`), so a miss caused by the operating system is told apart from one caused by the CLI.
 * @param {{ cliP99Ms: number | null, baselineP99Ms: number | null, failure?: string | null, baselineFailure?: string | null, targetMs?: number }} run
 * @returns {{ met: boolean, machineMissed: boolean | null, verdict: string }}
 *   machineMissed: the baseline missed the target (null: no baseline figure)
 */
export function judgePacingRun({ cliP99Ms, baselineP99Ms, failure = null, baselineFailure = null, targetMs = PACING_TARGET_MS }) {
  const fmt = (v) => `${Number(v.toFixed(2))} ms`;
  const hasBaseline = typeof baselineP99Ms === 'number' && Number.isFinite(baselineP99Ms);
  const machineMissed = hasBaseline ? baselineP99Ms > targetMs + 1e-9 : null;
  const machine = hasBaseline
    ? `machine: baseline p99 ${fmt(baselineP99Ms)}${machineMissed ? `, over ${targetMs} ms too` : ''}`
    : `machine: no baseline${baselineFailure ? ` (${baselineFailure})` : ''}`;
  if (failure) return { met: false, machineMissed, verdict: `FAIL: ${failure} (${machine})` };
  if (typeof cliP99Ms !== 'number' || !Number.isFinite(cliP99Ms)) return { met: false, machineMissed, verdict: `FAIL: no arrival figure (${machine})` };
  const met = cliP99Ms <= targetMs + 1e-9;
  if (met) return { met, machineMissed, verdict: machineMissed ? `met, p99 ${fmt(cliP99Ms)} (${machine})` : `met, p99 ${fmt(cliP99Ms)}` };
  if (machineMissed) return { met, machineMissed, verdict: `MISSED, p99 ${fmt(cliP99Ms)} (${machine})` };
  return { met, machineMissed, verdict: `MISSED, p99 ${fmt(cliP99Ms)} (${machine}: the CLI's own miss)` };
}

/**
 * The pacing target over all runs ("p99 ≤ 5 ms in each of 5 runs"): how many met it, and of the misses how many
 * the machine's baseline shared.
 * @param {{ met: boolean, machineMissed: boolean | null }[]} judged
 * @param {number} wanted  runs the target asks for
 */
export function summarizePacing(judged, wanted = 5) {
  const met = judged.filter((j) => j.met).length;
  const missed = judged.filter((j) => !j.met);
  const machine = missed.filter((j) => j.machineMissed === true).length;
  const own = missed.filter((j) => j.machineMissed === false).length;
  const unknown = missed.length - machine - own;
  const parts = [];
  if (machine) parts.push(`${machine} where the baseline missed too (the machine)`);
  if (own) parts.push(`${own} where the baseline met it (the CLI's own)`);
  if (unknown) parts.push(`${unknown} without a baseline figure`);
  const allMet = met === judged.length && judged.length >= wanted;
  return {
    met,
    runs: judged.length,
    machineMisses: machine,
    ownMisses: own,
    allMet,
    text: `${met} of ${judged.length} runs met p99 ≤ ${PACING_TARGET_MS} ms${missed.length ? `; missed ${missed.length}: ${parts.join(', ')}` : ''}${judged.length < wanted ? ` (the target asks for ${wanted} runs)` : ''}`,
  };
}
