// The recommendation stage of the real-limiter bench (issue #17: "the bench does the same against the real
// limiters of the real-limiter bench and reports throughput and refusals per row"). For a row whose probe
// result carries a recommendation with numbers, the bench runs the recommended JavaScript snippets
// (bottleneck, p-queue, the openai-node wrapper), each against a FRESH instance of the same limiter, and
// judges them on the limiter's own log: zero 429s, and at least 80 % of the limit's throughput.
//
// The pure part (how long to run, the true sustained limit, the judging) is covered by
// test/unit/bench-real-limiters-recommend.test.js; the snippet runner below does I/O.
import { snippetModules } from '../../test/helpers/snippet-module.js';

/** The clients whose snippets are executed (the JavaScript ones with a runnable limiter). */
export const SNIPPET_CLIENTS = /** @type {const} */ (['bottleneck', 'p-queue', 'openai-node']);
/** #17's target: at least this share of the limit's throughput, and zero refusals. */
export const MIN_SHARE = 0.8;
/** The longest span of sending per row (the three clients run side by side, each on its own limiter). */
export const SPAN_CAP_MS = 60_000;
/** The shortest span: fast buckets (10 r/s) still get enough requests for a throughput figure. */
export const SPAN_FLOOR_MS = 10_000;

/**
 * The sustained limit a client can reach, requests per minute: nginx's rate (or what its connection cap
 * lets through, when that is lower), a window's L per W, a penalty box's sustainable pace.
 * @param {any} truth  a row's truth (bench/real-limiters/judge.js)
 * @param {number} latencyMs  the backend's answer time (nginx rows)
 */
export function truePerMinute(truth, latencyMs = 0) {
  if (truth.family === 'nginx') {
    const cap = truth.configuredConn && latencyMs > 0 ? (truth.configuredConn * 60_000) / latencyMs : Number.POSITIVE_INFINITY;
    return Math.min(truth.perMinute, cap);
  }
  if (truth.family === 'window') return (truth.limit * 60) / truth.windowSeconds;
  if (truth.family === 'penalty') return truth.perMinute;
  throw new Error(`unknown truth family ${String(truth.family)}`);
}

/**
 * The span to send over: two windows (a window or penalty box), or twice the time the rate takes to refill
 * a drained burst (nginx's bucket), at least SPAN_FLOOR_MS and at most SPAN_CAP_MS; and the number of
 * requests the recommended interval puts into it (the span is (requests − 1) intervals).
 * @returns {{targetMs: number, spanMs: number, requests: number, capped: boolean, windowMs: number}}
 */
export function planSpan(truth, minIntervalMs) {
  if (!(minIntervalMs > 0)) throw new Error(`minIntervalMs must be positive, got ${String(minIntervalMs)}`);
  const windowMs = truth.family === 'nginx' ? (truth.burst * 60_000) / truth.perMinute : truth.windowSeconds * 1000;
  const targetMs = Math.max(SPAN_FLOOR_MS, 2 * windowMs);
  const wanted = Math.min(targetMs, SPAN_CAP_MS);
  const requests = Math.ceil(wanted / minIntervalMs) + 1;
  return { targetMs, spanMs: (requests - 1) * minIntervalMs, requests, capped: targetMs > SPAN_CAP_MS, windowMs };
}

/**
 * Judges one executed snippet on the limiter's own log.
 * @param {{t: number, status: number | null}[]} arrivals  the POSTs the limiter saw (arrival on its clock, ms; final status)
 * @param {number} limitPerMinute  the true sustained limit (truePerMinute)
 * @param {{planned: number, windowMs: number, pacePerMinute?: number | null}} plan  requests the client was asked to send; the
 *   limit's window; the recommended pace (a pace above the true limit is a miss even when nothing was refused:
 *   only a queue — nginx without nodelay — held it, and a queue overflows)
 * @returns {{sent: number, accepted: number, refusals: number, other: number, spanMs: number | null, perMinute: number | null, share: number | null, windows: number | null, met: boolean, why: string}}
 */
export function judgeSnippetRun(arrivals, limitPerMinute, plan) {
  const sorted = [...arrivals].sort((a, b) => a.t - b.t);
  const accepted = sorted.filter((a) => a.status !== null && a.status >= 200 && a.status < 300).length;
  const refusals = sorted.filter((a) => a.status === 429).length;
  const other = sorted.length - accepted - refusals;
  const spanMs = sorted.length > 1 ? sorted.at(-1).t - sorted[0].t : null;
  // The rate the limiter let through while the client was sending: accepted requests over the span from the
  // first arrival to the last (n − 1 intervals for n starts), against the true sustained limit.
  const perMinute = spanMs && spanMs > 0 && accepted > 0 ? ((accepted - 1) * 60_000) / spanMs : null;
  const share = perMinute === null ? null : perMinute / limitPerMinute;
  const windows = spanMs === null || !(plan.windowMs > 0) ? null : spanMs / plan.windowMs;
  const misses = [];
  if (refusals > 0) misses.push(`${refusals} × 429`);
  if (other > 0) misses.push(`${other} other failures`);
  if (accepted < plan.planned) misses.push(`${accepted}/${plan.planned} answered`);
  if (typeof plan.pacePerMinute === 'number' && plan.pacePerMinute > limitPerMinute) misses.push(`pace ${plan.pacePerMinute}/min above the true limit ${Math.round(limitPerMinute * 10) / 10}/min`);
  if (share === null) misses.push('no throughput figure (fewer than 2 arrivals)');
  else if (share < MIN_SHARE) misses.push(`throughput ${(share * 100).toFixed(1)} % < ${MIN_SHARE * 100} %`);
  return { sent: sorted.length, accepted, refusals, other, spanMs, perMinute, share, windows, met: misses.length === 0, why: misses.join('; ') };
}

/** A row passes #17 when every executed snippet met the target. */
export function judgeRecommendationRow(runs) {
  return runs.length > 0 && runs.every((r) => r.judged?.met === true && !r.failure);
}

// ------------------------------------------------------------------------------------------ running

const snippets = snippetModules('bench-snippets');

export function cleanSnippets() {
  snippets.clean();
}

/** The snippet as a fresh module (its own limiter state). */
const importSnippet = snippets.load;

/** A plain fetch that fails like openai-node's errors do: `status` and `headers` on the error. */
function postTo(url) {
  return async () => {
    const res = await fetch(`${url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'bench-model', messages: [{ role: 'user', content: 'hi' }], max_tokens: 1 }),
    });
    await res.arrayBuffer();
    if (!res.ok) throw Object.assign(new Error(`HTTP ${res.status}`), { status: res.status, headers: res.headers });
    return res.status;
  };
}

/**
 * Runs one client's snippet against the limiter at `url` (the snippet's base URL, written for the probed
 * instance `probedUrl`, is pointed at this one): `requests` calls through `limited()`, all queued at once
 * as a batch job does. Resolves {settled: {fulfilled, rejected, firstError}} — the judging reads the limiter's log.
 */
export async function runSnippet(client, code, { url, probedUrl, requests }) {
  const source = probedUrl ? code.replaceAll(probedUrl, url) : code;
  let calls;
  if (client === 'openai-node') {
    // The servers do not check keys; the snippet reads one from the environment. Not a credential.
    process.env.CHUTES_API_KEY ??= 'bench-no-key';
    const { client: sdk, limited } = await importSnippet(source, ['client', 'limited']);
    calls = Array.from({ length: requests }, () => limited(() => sdk.chat.completions.create({ model: 'bench-model', messages: [{ role: 'user', content: 'hi' }], max_tokens: 1 })));
  } else {
    const { limited } = await importSnippet(source, ['limited']);
    const post = postTo(url);
    calls = Array.from({ length: requests }, () => limited(post));
  }
  const results = await Promise.allSettled(calls);
  const rejected = results.filter((r) => r.status === 'rejected');
  const first = /** @type {PromiseRejectedResult | undefined} */ (rejected[0]);
  return { fulfilled: results.length - rejected.length, rejected: rejected.length, firstError: first ? String(first.reason?.message ?? first.reason).slice(0, 120) : null };
}
