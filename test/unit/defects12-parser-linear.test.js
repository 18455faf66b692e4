// Issue #12 item 4: parseRateLimitHeaders runs in linear time on any input.
// Linearity is proved without timing anything: each hostile shape is 2 MB, which the parser reads
// in milliseconds when linear and in tens of minutes when quadratic (40 KB took 3.9 s). It runs in
// a worker, so a quadratic parse (a synchronous loop the test cannot interrupt) is terminated at the
// deadline and reported as a failure instead of hanging the file. 60 s is 60x+ the linear figure
// even on a heavily loaded machine.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';

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
