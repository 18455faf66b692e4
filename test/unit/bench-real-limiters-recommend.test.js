// The real-limiter bench's recommendation stage (bench/real-limiters/recommend.js, issue #17): how long a
// row's snippets send, the true sustained limit they are measured against, and the judging of one executed
// snippet on the limiter's own log (zero 429s, ≥ 80 % of the limit's throughput). Pure; arrivals are
// given as the limiter's log would record them (ms on its clock), no real time involved.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { judgeRecommendationRow, judgeSnippetRun, planSpan, SPAN_CAP_MS, SPAN_FLOOR_MS, truePerMinute } from '../../bench/real-limiters/recommend.js';

const NGINX = { family: 'nginx', perMinute: 30, burst: 6, conn: 3, configuredConn: 3, rateReachable: true };
const WINDOW = { family: 'window', headers: false, limit: 10, windowSeconds: 10 };
const PENALTY = { family: 'penalty', limit: 10, windowSeconds: 10, perMinute: 60 };

test('truePerMinute: nginx rate, or its connection cap when lower; a window\'s L/W; a penalty box\'s pace', () => {
  /** @type {Array<[string, any, number, number]>} name, truth, latency, want */
  const cases = [
    ['nginx 30 r/m, conn 3 of 1.5 s (120/min through the cap)', NGINX, 1500, 30],
    ['nginx 10 r/s, conn 3 of 300 ms: the cap lets 600/min through, the rate is 600', { ...NGINX, perMinute: 600, burst: 21 }, 300, 600],
    ['nginx 10 r/s, conn 3 of 400 ms: the cap binds at 450/min', { ...NGINX, perMinute: 600, burst: 21 }, 400, 450],
    ['nginx without limit_conn, 0 ms', { ...NGINX, conn: null, configuredConn: null }, 0, 30],
    ['window 10/10 s', WINDOW, 0, 60],
    ['window 20/30 s', { ...WINDOW, limit: 20, windowSeconds: 30 }, 0, 40],
    ['penalty box 10/10 s', PENALTY, 0, 60],
  ];
  for (const [name, truth, latency, want] of cases) assert.equal(truePerMinute(truth, latency), want, name);
  assert.throws(() => truePerMinute({ family: 'other' }), /unknown truth family/);
});

test('planSpan: two windows, or twice a burst\'s refill; floored and capped; requests fill the span', () => {
  // nginx 30 r/m, burst 6: a drained burst refills in 12 s → 24 s; one start per 2412 ms → 11 requests.
  assert.deepEqual(planSpan(NGINX, 2412), { targetMs: 24_000, spanMs: 24_120, requests: 11, capped: false, windowMs: 12_000 });
  // A 10/10 s window at 1112 ms: 20 s → 19 requests (18 intervals, 20.0 s).
  assert.deepEqual(planSpan(WINDOW, 1112), { targetMs: 20_000, spanMs: 20_016, requests: 19, capped: false, windowMs: 10_000 });
  // 10 r/s, burst 21: 4.2 s of refill, floored to SPAN_FLOOR_MS.
  const fast = planSpan({ ...NGINX, perMinute: 600, burst: 21 }, 114);
  assert.equal(fast.targetMs, SPAN_FLOOR_MS);
  assert.ok(fast.spanMs >= SPAN_FLOOR_MS && fast.spanMs < SPAN_FLOOR_MS + 114);
  // 20 per minute: two windows are 120 s, capped at SPAN_CAP_MS and said so.
  const long = planSpan({ ...WINDOW, limit: 20, windowSeconds: 60 }, 3334);
  assert.equal(long.capped, true);
  assert.ok(long.spanMs >= SPAN_CAP_MS && long.spanMs < SPAN_CAP_MS + 3334);
  assert.throws(() => planSpan(WINDOW, 0), /minIntervalMs must be positive/);
  assert.throws(() => planSpan(WINDOW, null), /minIntervalMs must be positive/);
});

/** n arrivals every `every` ms from t0, status 200 unless listed in `refused` (indexes). */
function arrivals(n, every, refused = [], t0 = 5000) {
  return Array.from({ length: n }, (_, i) => ({ t: t0 + i * every, status: refused.includes(i) ? 429 : 200 }));
}

test('judgeSnippetRun: zero 429s and ≥ 80 % of the limit, on the limiter\'s log', () => {
  const plan = { planned: 19, windowMs: 10_000 };
  // 19 starts 1112 ms apart against 60/min: 18 intervals over 20 016 ms → 53.96/min, 89.9 %.
  const held = judgeSnippetRun(arrivals(19, 1112), 60, plan);
  assert.equal(held.met, true, held.why);
  assert.equal(held.refusals, 0);
  assert.equal(held.accepted, 19);
  assert.ok(Math.abs((held.share ?? 0) - 0.8993) < 0.001, String(held.share));
  assert.ok(Math.abs((held.windows ?? 0) - 2.0016) < 1e-9);

  // One 429 fails it, whatever the throughput (the retry made up for it: 20 arrivals, 19 answered).
  const refused = judgeSnippetRun(arrivals(20, 1000, [10]), 60, plan);
  assert.equal(refused.met, false);
  assert.equal(refused.refusals, 1);
  assert.match(refused.why, /1 × 429/);

  // No refusals, but too slow: one start every 1600 ms is 37.5/min, 62.5 % of 60/min.
  const slow = judgeSnippetRun(arrivals(19, 1600), 60, plan);
  assert.equal(slow.met, false);
  assert.match(slow.why, /throughput 62\.5 % < 80 %/);

  // Exactly 80 % passes: 48/min is one start every 1250 ms.
  assert.equal(judgeSnippetRun(arrivals(19, 1250), 60, plan).met, true);

  // Fewer answered than asked for (a penalty box's snippet gives up without retries; or a 502).
  const lost = judgeSnippetRun([...arrivals(18, 1112), { t: 5000 + 18 * 1112, status: 502 }], 60, plan);
  assert.equal(lost.met, false);
  assert.match(lost.why, /1 other failures; 18\/19 answered/);

  // Nothing or one arrival: no throughput figure, not a pass.
  for (const log of [[], arrivals(1, 1000)]) {
    const none = judgeSnippetRun(log, 60, { planned: 1, windowMs: 10_000 });
    assert.equal(none.met, false);
    assert.equal(none.share, null);
  }

  // A pace above the true limit misses even with no refusal and full throughput: only nginx's delay queue
  // (no nodelay) held it, by slowing the answers, and that queue overflows into 429s once its burst is spent.
  const queued = judgeSnippetRun(arrivals(26, 1000), 60, { planned: 26, windowMs: 11_000, pacePerMinute: 66.7 });
  assert.equal(queued.met, false);
  assert.equal(queued.refusals, 0);
  assert.match(queued.why, /pace 66\.7\/min above the true limit 60\/min/);
  assert.equal(judgeSnippetRun(arrivals(19, 1112), 60, { ...plan, pacePerMinute: 53.9 }).met, true);

  // The order of the log does not matter (nginx writes its access log when requests end).
  const shuffled = arrivals(19, 1112).reverse();
  assert.deepEqual(judgeSnippetRun(shuffled, 60, plan), held);
});

test('judgeRecommendationRow: every executed snippet must pass; none executed is no pass', () => {
  const pass = { client: 'bottleneck', failure: null, judged: { met: true } };
  assert.equal(judgeRecommendationRow([pass, { ...pass, client: 'p-queue' }]), true);
  assert.equal(judgeRecommendationRow([pass, { ...pass, client: 'p-queue', judged: { met: false } }]), false);
  assert.equal(judgeRecommendationRow([pass, { client: 'openai-node', failure: 'nginx did not start', judged: null }]), false);
  assert.equal(judgeRecommendationRow([]), false);
});
