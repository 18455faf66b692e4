// Issue #12 item 4: parseRateLimitHeaders runs in linear time on any input, and random header
// values never throw nor produce NaN.
// Linearity is proved without timing anything: each hostile shape is 2 MB, which the parser reads
// in milliseconds when linear and in tens of minutes when quadratic (40 KB took 3.9 s). It runs in
// a worker, so a quadratic parse (a synchronous loop the test cannot interrupt) is terminated at the
// deadline and reported as a failure instead of hanging the file. 60 s is 60x+ the linear figure
// even on a heavily loaded machine.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import { parseRateLimitHeaders } from '../../dist/ratelimit/parse.js';
import { formatSeconds } from '../../dist/format.js';
import { prng } from '../helpers/passive-traffic.js';

const PARSE_URL = new URL('../../dist/ratelimit/parse.js', import.meta.url).href;
const DEADLINE_MS = 60_000;
const MB = 1 << 20;

const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
import(workerData.parseUrl).then(({ parseRateLimitHeaders }) => {
  const headers = workerData.build();
  const info = parseRateLimitHeaders(headers, { receivedAt: ${Date.UTC(2026, 0, 1, 12)} });
  parentPort.postMessage({ policies: info.policies.length, warnings: info.warnings.length,
    firstWarning: info.warnings[0] ?? null, retryAfterSeconds: info.retryAfterSeconds });
});
`;

/** Parses the headers `build()` returns inside a worker; resolves {timedOut} or the result summary. */
function parseInWorker(buildSource) {
  return new Promise((resolve, reject) => {
    const source = WORKER_SOURCE.replace('workerData.build()', () => `(${buildSource})()`);
    const worker = new Worker(source, { eval: true, workerData: { parseUrl: PARSE_URL } });
    const timer = setTimeout(() => {
      worker.terminate().then(() => resolve({ timedOut: true }), reject);
    }, DEADLINE_MS);
    worker.once('message', (result) => {
      clearTimeout(timer);
      worker.terminate().then(() => resolve({ timedOut: false, result }), reject);
    });
    worker.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}

// [what, source of a function building the headers (runs in the worker, so it must be self-contained)]
const HOSTILE_SHAPES = [
  ['RateLimit: an unterminated quoted string of escaped quotes (the review\'s case)',
    `() => ({ ratelimit: '"' + '\\\\"'.repeat(${MB}) })`],
  ['RateLimit-Policy: an unterminated quoted string of escaped quotes',
    `() => ({ 'ratelimit-policy': '"' + '\\\\"'.repeat(${MB}) })`],
  ['RateLimit: a 2 MB run of spaces between two tokens',
    `() => ({ ratelimit: 'a' + ' '.repeat(${2 * MB}) + 'a' })`],
  ['RateLimit-Policy: a named item followed by a 2 MB run of spaces',
    `() => ({ 'ratelimit-policy': '"x";q=1' + ' '.repeat(${2 * MB}) + 'a' })`],
  ['X-RateLimit-Limit: a 2 MB run of spaces (the repeat check splits at commas)',
    `() => ({ 'x-ratelimit-limit': 'a' + ' '.repeat(${2 * MB}) + 'a' })`],
  ['X-Chutes-Quota-Total: a 2 MB run of spaces',
    `() => ({ 'x-chutes-quota-total': 'a' + ' '.repeat(${2 * MB}) + 'a' })`],
  ['Retry-After: a 2 MB run of spaces',
    `() => ({ 'retry-after': '1' + ' '.repeat(${2 * MB}) + '1' })`],
  ['RateLimit / RateLimit-Policy: 100 000 named items, matched by name',
    `() => { const items = (f) => Array.from({ length: 100000 }, (_, i) => f(i)).join(', ');
      return { ratelimit: items((i) => '"p' + i + '";r=1'), 'ratelimit-policy': items((i) => '"p' + i + '";q=2') }; }`],
  ['RateLimit: 100 000 named items with a bad r (one distinct warning each)',
    `() => ({ ratelimit: Array.from({ length: 100000 }, (_, i) => '"p' + i + '";r=x').join(', ') })`],
  ['RateLimit (draft -07): 200 000 repeated dictionary members',
    `() => ({ ratelimit: Array.from({ length: 200000 }, (_, i) => 'limit=' + i).join(', ') })`],
  ['100 000 distinct x-ratelimit-limit-<suffix> header names',
    `() => Object.fromEntries(Array.from({ length: 100000 }, (_, i) => ['x-ratelimit-limit-s' + i, '1']))`],
];

describe('item 4: 2 MB hostile values parse within a deadline only linear code meets', { concurrency: true }, () => {
  for (const [what, buildSource] of HOSTILE_SHAPES) {
    test(what, { timeout: DEADLINE_MS * 2 }, async () => {
      const outcome = await parseInWorker(buildSource);
      assert.ok(
        !outcome.timedOut,
        `parsing did not finish within ${DEADLINE_MS / 1000} s; linear code needs milliseconds, so the parser rescans (quadratic)`,
      );
      assert.ok(outcome.result, 'the worker sent no result');
      assert.equal(typeof outcome.result.policies, 'number', 'the result has a policy count');
    });
  }
});


const FUZZ_NAMES = [
  'ratelimit', 'ratelimit-policy', 'ratelimit-limit', 'ratelimit-remaining', 'ratelimit-reset',
  'ratelimit-resettime', 'ratelimit-observed', 'ratelimit-name',
  'x-ratelimit-limit', 'x-ratelimit-remaining', 'x-ratelimit-reset', 'x-ratelimit-reset-after', 'x-ratelimit-used',
  'x-ratelimit-resource', 'x-rate-limit-reset', 'x-ratelimit-limit-requests', 'x-ratelimit-reset-tokens',
  'anthropic-ratelimit-requests-reset', 'anthropic-ratelimit-tokens-remaining',
  'x-chutes-quota-total', 'x-chutes-quota-used', 'x-chutes-quota-remaining', 'x-chutes-rl-user',
  'retry-after', 'retry-after-ms', 'x-ms-retry-after-ms', 'date',
];
const FUZZ_PIECES = [
  '"', '\\', ';', '=', ',', ' ', '\t', ':', '-', '.', '*', '(', ')', '?', '0', '1', '9', '60', '1e3',
  'r', 't', 'q', 'w', 'limit', 'remaining', 'reset', 'inf', 'ms', 's', 'm', 'h', 'Z', 'T', 'GMT',
  'Thu, 01 Jan 2026 00:00:00 GMT', '2026-01-01T00:00:00Z', '1767225600', '1767225600000', '9007199254740993',
  ':YWJj:', '?1', 'é', '\u202e', '\u0000',
];
const FUZZ_CLOCKS = [Date.UTC(2026, 0, 1, 12), 0, -1, 8.64e15, -8.64e15, 8.64e15 - 1, 1e20, -1e20, Number.NaN, Infinity];

test('item 4: fuzz: random header values never throw, never give NaN, never break a reader', () => {
  const random = prng(12);
  const pick = (list) => list[Math.floor(random() * list.length)];
  for (let round = 0; round < 3000; round++) {
    /** @type {Record<string, string>} */
    const headers = {};
    const count = 1 + Math.floor(random() * 4);
    for (let h = 0; h < count; h++) {
      let value = '';
      const pieces = Math.floor(random() * 12);
      for (let p = 0; p < pieces; p++) value += pick(FUZZ_PIECES);
      headers[pick(FUZZ_NAMES)] = value;
    }
    const receivedAt = random() < 0.5 ? pick(FUZZ_CLOCKS) : random() * 4e12;
    const where = `round ${round}: ${JSON.stringify(headers)} at receivedAt ${receivedAt}`;
    /** @type {import('../../dist/types.js').RateLimitInfo} */
    let info;
    assert.doesNotThrow(() => { info = parseRateLimitHeaders(headers, { receivedAt }); }, where);
    assert.ok(info && Array.isArray(info.policies) && Array.isArray(info.warnings), `no result for ${where}`);
    for (const policy of info.policies) {
      for (const key of ['limit', 'remaining', 'resetSeconds', 'windowSeconds']) {
        const value = policy[key];
        assert.ok(value === null || Number.isFinite(value), `${key} is ${value} (not null or finite) for ${where}`);
      }
      assert.ok(!formatSeconds(policy.resetSeconds).includes('NaN'), `reset renders with NaN for ${where}`);
    }
    const retry = info.retryAfterSeconds;
    assert.ok(retry === null || Number.isFinite(retry), `retryAfterSeconds is ${retry} for ${where}`);
    const broken = info.warnings.find((w) => w.includes('internal parser error'));
    assert.equal(broken, undefined, `a reader threw for ${where}`);
  }
});
