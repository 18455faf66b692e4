// recommend(estimate, context): pure, table-driven. The executed proof is test/integration/recommend-snippets.test.js.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { recommend } from '../../dist/recommend/recommend.js';
import { paceOf, retriesToCover } from '../../dist/recommend/settings.js';
import { apiBaseOf, contextFromRecords } from '../../dist/recommend/context.js';
import { loadEstimateFromText } from '../../dist/recommend/load.js';
import { CLIENTS } from '../../dist/recommend/types.js';

/**
 * @param {Record<string, unknown>} rate
 * @returns {any} a RateInput (the tables use plain strings)
 */
function rateOf(rate = {}) {
  return { limit: 10, windowSeconds: 2, perMinute: 300, burst: null, algorithm: 'fixed-window', bound: 'exact', source: 'headers', confidence: 'high', penalty: null, ...rate };
}
/** @type {any} */
const NO_CONCURRENCY = { limit: null, bound: 'unknown', testedUpTo: null };
/** @param {Partial<import('../../dist/recommend/types.js').RecommendContext>} context */
function contextOf(context = {}) {
  return { retryAfterSeen: false, edgeBanSeen: false, chutes: false, baseUrl: 'http://127.0.0.1:1/v1', model: 'm', latencyP99Ms: null, ...context };
}

describe('the pace: a stated margin under the measured sustained rate', () => {
  const cases = [
    { name: 'exact from headers: 10 %', rate: {}, expected: { requestsPerMinute: 269, minIntervalMs: 223 }, basis: /10 % under the measured 10 per 2s \(300\/min\): exact, stated by the rate-limit headers, high confidence/ },
    { name: 'exact, timed: 12 %', rate: { source: 'observed' }, expected: { requestsPerMinute: 263.1, minIntervalMs: 228 }, basis: /12 % under/ },
    { name: 'approximate: 11 % (inside ±10 % of the truth, the pace stays under it and above 80 % of it)', rate: { bound: 'approx', confidence: 'medium' }, expected: { requestsPerMinute: 266.6, minIntervalMs: 225 }, basis: /11 % under .*approximate/ },
    { name: 'a lower bound: 15 % under it, and said to be one', rate: { bound: 'at-least', source: 'observed', algorithm: 'unknown', limit: 30, windowSeconds: 15, perMinute: 120 }, expected: { requestsPerMinute: 101.8, minIntervalMs: 589 }, basis: /under the measured ≥ 30 per 15s \(≥ 120\/min\): a lower bound/ },
    { name: 'a token bucket: its refill rate', rate: { algorithm: 'token-bucket', burst: 3 }, expected: { requestsPerMinute: 269, minIntervalMs: 223 }, basis: /a token bucket refilling 10 per 2s, 3 deep/ },
    { name: 'only perMinute known (no window)', rate: { limit: null, windowSeconds: null, perMinute: 60, bound: 'approx' }, expected: { requestsPerMinute: 53.3, minIntervalMs: 1124 }, basis: /under the measured 60\/min/ },
  ];
  for (const { name, rate, expected, basis } of cases) {
    it(name, () => {
      const rec = recommend({ rate: rateOf(rate), concurrency: NO_CONCURRENCY }, contextOf());
      assert.deepEqual({ requestsPerMinute: rec.requestsPerMinute, minIntervalMs: rec.minIntervalMs }, expected);
      assert.match(rec.basis, basis);
      assert.deepEqual(Object.keys(rec.snippets), [...CLIENTS]);
    });
  }

  // Up to 100 requests/s: the interval is whole milliseconds, so far above that its rounding alone costs over 20 %.
  it('spaced starts never put more than L in any window, and keep ≥ 80 % of L per W (every L, W, bound up to 100/s)', () => {
    for (const bound of ['exact', 'approx', 'at-least']) {
      for (const limit of [1, 2, 3, 5, 7, 10, 60, 100, 1000]) {
        for (const windowSeconds of [0.5, 1, 2, 3, 7, 60, 3600]) {
          if (limit / windowSeconds > 100) continue;
          const pace = paceOf(rateOf({ limit, windowSeconds, perMinute: Math.round(((limit * 60) / windowSeconds) * 10) / 10, bound }));
          const windowMs = windowSeconds * 1000;
          const label = `${limit} per ${windowSeconds}s (${bound}): interval ${pace.minIntervalMs} ms`;
          assert.ok(Math.floor(windowMs / pace.minIntervalMs) + 1 <= limit, `${label} fits the window`);
          if (limit >= 3) assert.ok(windowMs / pace.minIntervalMs / limit >= 0.8, `${label} keeps ${((windowMs / pace.minIntervalMs / limit) * 100).toFixed(1)} %`);
        }
      }
    }
  });
});

describe('no numbers when the limit is unknown, only what to measure', () => {
  const cases = [
    { name: 'nothing measured', rate: { limit: null, windowSeconds: null, perMinute: null, bound: 'unknown', algorithm: 'unknown' }, basis: /^No numbers: no sustained rate was measured: run `chutes-diag probe`/ },
    { name: 'a limit without its window (X-Chutes-RL-User)', rate: { limit: 60, windowSeconds: null, perMinute: null, bound: 'approx', algorithm: 'unknown' }, basis: /^No numbers: the limit \(60 per window\) is known but not its window/ },
  ];
  for (const { name, rate, basis } of cases) {
    it(name, () => {
      const rec = recommend({ rate: rateOf(rate), concurrency: NO_CONCURRENCY }, contextOf({ retryAfterSeen: true }));
      assert.equal(rec.requestsPerMinute, null);
      assert.equal(rec.minIntervalMs, null);
      assert.deepEqual({ ...rec.retry, onBan: null }, { honourRetryAfter: true, baseDelayMs: null, maxDelayMs: null, maxRetries: null, onBan: null });
      assert.deepEqual(rec.snippets, {});
      assert.match(rec.basis, basis);
    });
  }
});

describe('maxConcurrency from the concurrency estimate, or null with the reason', () => {
  /** @type {Array<{ name: string, concurrency: any, expected: number | null, reason: RegExp }>} */
  const cases = [
    { name: 'exact: the limit', concurrency: { limit: 4, bound: 'exact', testedUpTo: 8 }, expected: 4, reason: /the measured concurrency limit/ },
    { name: 'a lower bound: what was tested', concurrency: { limit: 8, bound: 'at-least', testedUpTo: 8 }, expected: 8, reason: /the limit is at least 8/ },
    { name: 'approximate: one under', concurrency: { limit: 4, bound: 'approx', testedUpTo: 8 }, expected: 3, reason: /one under/ },
    { name: 'not measured: null', concurrency: NO_CONCURRENCY, expected: null, reason: /not measured.*--concurrency auto/ },
  ];
  for (const { name, concurrency, expected, reason } of cases) {
    it(name, () => {
      const rec = recommend({ rate: rateOf(), concurrency }, contextOf());
      assert.equal(rec.maxConcurrency, expected);
      assert.match(rec.reasons.concurrency, reason);
      assert.match(rec.snippets.bottleneck, new RegExp(`maxConcurrent: ${expected ?? 'null'},`));
      assert.match(rec.snippets['p-queue'], new RegExp(`concurrency: ${expected ?? 'Infinity'},`));
    });
  }
});

describe('retry: Retry-After when sent, else backoff matched to the window or refill; none on a ban', () => {
  const cases = [
    { name: 'a 2 s window: 250 ms doubling to 2 s, 4 retries span it', rate: {}, context: {}, expected: { honourRetryAfter: false, baseDelayMs: 250, maxDelayMs: 2000, maxRetries: 4 } },
    { name: 'Retry-After seen: honoured, backoff kept as the fallback', rate: {}, context: { retryAfterSeen: true }, expected: { honourRetryAfter: true, baseDelayMs: 250, maxDelayMs: 2000, maxRetries: 4 } },
    { name: 'a minute window: 7.5 s doubling to 60 s', rate: { limit: 60, windowSeconds: 60, perMinute: 60 }, context: {}, expected: { honourRetryAfter: false, baseDelayMs: 7500, maxDelayMs: 60_000, maxRetries: 4 } },
    { name: 'a token bucket: one refill (200 ms, not under the pace) doubling to the time to refill its 10', rate: { algorithm: 'token-bucket', burst: 10 }, context: {}, expected: { honourRetryAfter: false, baseDelayMs: 223, maxDelayMs: 2000, maxRetries: 4 } },
    { name: 'a penalty box: no retries, wait at least the longest ban', rate: { penalty: { escalating: true, observedBanSeconds: [3, 6, 12] } }, context: {}, expected: { honourRetryAfter: false, baseDelayMs: 12_000, maxDelayMs: null, maxRetries: 0 } },
    { name: "the Chutes edge-ban page seen: no retries, no ban timed", rate: {}, context: { edgeBanSeen: true, chutes: true }, expected: { honourRetryAfter: false, baseDelayMs: null, maxDelayMs: null, maxRetries: 0 } },
  ];
  for (const { name, rate, context, expected } of cases) {
    it(name, () => {
      const rec = recommend({ rate: rateOf(rate), concurrency: NO_CONCURRENCY }, contextOf(context));
      const { onBan, ...numbers } = rec.retry;
      assert.deepEqual(numbers, expected);
      if (expected.maxRetries === 0) {
        assert.equal(onBan?.observed, true);
        assert.match(rec.reasons.retry, /^No automatic retries/);
        for (const client of ['openai-node', 'bottleneck', 'p-queue', 'python']) assert.match(rec.snippets[client], /No automatic retries/, client);
        assert.match(rec.snippets['ai-sdk'], /maxRetries: 0/);
        assert.match(rec.snippets.litellm, /num_retries=0/);
      }
    });
  }

  it('on Chutes without a ban seen: retries stay, the ban advice is there', () => {
    const rec = recommend({ rate: rateOf(), concurrency: NO_CONCURRENCY }, contextOf({ chutes: true }));
    assert.equal(rec.retry.maxRetries, 4);
    assert.equal(rec.retry.onBan?.observed, false);
    assert.match(rec.retry.onBan?.advice ?? '', /edge bans grow/);
  });

  const covers = [
    { base: 250, cap: 2000, cover: 2000, expected: 4 },
    { base: 1000, cap: 1000, cover: 1000, expected: 1 },
    { base: 2000, cap: Infinity, cover: 60_000, expected: 5 },
    { base: 1, cap: 1, cover: 1e9, expected: 10 },
  ];
  for (const { base, cap, cover, expected } of covers) {
    it(`retriesToCover(${base}, ${cap}, ${cover}) = ${expected}`, () => assert.equal(retriesToCover(base, cap, cover), expected));
  }
});

describe('snippets carry the numbers under each client\'s own option names', () => {
  const rec = recommend({ rate: rateOf(), concurrency: { limit: 4, bound: 'exact', testedUpTo: 8 } }, contextOf({ retryAfterSeen: true, latencyP99Ms: 9000 }));
  const cases = [
    { client: 'openai-node', patterns: [/maxRetries: 0/, /timeout: 90000/, /MIN_INTERVAL_MS = 223/, /MAX_CONCURRENCY = 4/, /MAX_RETRIES = 4/, /retry-after-ms/, /baseURL: "http:\/\/127\.0\.0\.1:1\/v1"/] },
    { client: 'ai-sdk', patterns: [/createOpenAICompatible/, /maxRetries: 1/, /MIN_INTERVAL_MS = 223/] },
    { client: 'bottleneck', patterns: [/maxConcurrent: 4/, /minTime: 223/, /reservoir: 270/, /reservoirRefreshAmount: 270/, /reservoirRefreshInterval: 60000/] },
    { client: 'p-queue', patterns: [/concurrency: 4/, /intervalCap: 1/, /interval: 223/, /strict: true/] },
    { client: 'litellm', patterns: [/"rpm": 269/, /num_retries=4/, /retry_after=1/, /cooldown_time=2/, /timeout=90/] },
    { client: 'python', patterns: [/AsyncLimiter\(1, 0\.223\)/, /asyncio\.Semaphore\(4\)/, /stop_after_attempt\(5\)/, /wait_exponential\(multiplier=0\.25, max=2\)/, /retry-after/] },
  ];
  for (const { client, patterns } of cases) {
    it(client, () => {
      for (const pattern of patterns) assert.match(rec.snippets[client], pattern);
    });
  }
});

describe('the context from the records', () => {
  const record = (over = {}) => ({ status: 200, latencyMs: 10, verdict: null, headers: {}, rateLimit: { retryAfterSeconds: null }, ...over });
  const cases = [
    { name: 'plain answers', records: [record()], url: 'http://h:1/v1/chat/completions', expected: { retryAfterSeen: false, edgeBanSeen: false, chutes: false, baseUrl: 'http://h:1/v1' } },
    { name: 'a Retry-After', records: [record({ status: 429, rateLimit: { retryAfterSeconds: 2 } })], url: null, expected: { retryAfterSeen: true, edgeBanSeen: false, chutes: false, baseUrl: null } },
    { name: 'the edge-ban page', records: [record({ status: 429, verdict: { code: 'edge-ban' } })], url: 'https://llm.chutes.ai/v1/chat/completions', expected: { retryAfterSeen: false, edgeBanSeen: true, chutes: true, baseUrl: 'https://llm.chutes.ai/v1' } },
    { name: 'X-Chutes-* headers on another host', records: [record({ headers: { 'x-chutes-rl-user': '60' } })], url: 'http://gw/chutes/v1/x', expected: { retryAfterSeen: false, edgeBanSeen: false, chutes: true, baseUrl: 'http://gw/chutes/v1' } },
  ];
  for (const { name, records, url, expected } of cases) {
    it(name, () => {
      const ctx = contextFromRecords(records, { url, model: null });
      assert.deepEqual({ retryAfterSeen: ctx.retryAfterSeen, edgeBanSeen: ctx.edgeBanSeen, chutes: ctx.chutes, baseUrl: ctx.baseUrl }, expected);
    });
  }
  it('apiBaseOf: a path without /v1 gets it after the origin', () => assert.equal(apiBaseOf('http://h:2/x'), 'http://h:2/v1'));
});

describe('loading a saved result: one-line errors naming the line or the field', () => {
  const good = JSON.stringify({ command: 'probe', target: { url: 'http://h/v1/chat/completions' }, estimate: { rate: rateOf(), concurrency: NO_CONCURRENCY }, responses: [] });
  const cases = [
    { name: 'not JSON', text: '{\n  "a": 1,\n  oops\n}', error: /^f\.json: line 3: not JSON/ },
    { name: 'empty', text: '  \n', error: /^f\.json: the file is empty/ },
    { name: 'an array', text: '[1]', error: /^f\.json: line 1: a JSON object is expected, not an array/ },
    { name: 'no estimate', text: '{"command":"headers"}', error: /^f\.json: `estimate` must be an object \(missing\)/ },
    { name: 'a bad bound', text: good.replace('"bound":"exact"', '"bound":"sure"'), error: /^f\.json: `estimate\.rate\.bound` must be one of exact\|approx\|at-least\|unknown \(got "sure"\)/ },
    { name: 'a bad number', text: good.replace('"perMinute":300', '"perMinute":"300"'), error: /^f\.json: `estimate\.rate\.perMinute` must be a number or null/ },
    { name: 'JSON lines that are not request records: read as analyze reads them, the line and field named', text: '{"seq":1}\n{"seq":2}\n', error: /line 1: field "sentAt" must be an ISO date-time/ },
  ];
  for (const { name, text, error } of cases) {
    it(name, () => {
      assert.throws(() => loadEstimateFromText(text, 'f.json'), (/** @type {any} */ e) => {
        assert.equal(e.exitCode, 2);
        assert.match(e.message, error);
        assert.ok(!e.message.includes('\n'), 'one line');
        return true;
      });
    });
  }
  it('a probe result loads', () => {
    const loaded = loadEstimateFromText(good, 'f.json');
    assert.equal(loaded.command, 'probe');
    assert.equal(loaded.context.baseUrl, 'http://h/v1');
    assert.equal(recommend(loaded.estimate, loaded.context).minIntervalMs, 223);
  });
});
