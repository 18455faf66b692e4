// Issue #12 item 5: clocks and reset instants at or beyond the range of a JavaScript Date
// (±8.64e15 ms) give a warning and a null reset, never NaN; the human renderings never show NaN.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseRateLimitHeaders } from '../../dist/ratelimit/parse.js';
import { classifyResponse } from '../../dist/verdict/classify.js';
import { formatLocalTime, formatSeconds } from '../../dist/format.js';

const MAX_DATE_MS = 8.64e15;

// [what, headers, receivedAt, the policy's name (or 'retry-after'), a warning must match]
/** @type {Array<[string, Record<string, string>, number, string, RegExp]>} */
const OUT_OF_RANGE = [
  ["the review's case: the daily quota at the last instant a Date can hold",
    { 'x-chutes-quota-remaining': '8' }, MAX_DATE_MS, 'daily-quota', /x-chutes-quota-remaining: .*range of a Date/],
  ['the daily quota with a receivedAt beyond the Date range',
    { 'x-chutes-quota-remaining': '8' }, 1e20, 'daily-quota', /range of a Date/],
  ['the daily quota with a receivedAt far before the Date range',
    { 'x-chutes-quota-remaining': '8' }, -1e20, 'daily-quota', /range of a Date/],
  ['an epoch-seconds x-ratelimit-reset with a receivedAt beyond the Date range',
    { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': '1767225600' }, 1e20, 'default', /x-ratelimit-reset: .*range of a Date/],
  ['an HTTP-date Retry-After with a receivedAt beyond the Date range',
    { 'retry-after': 'Thu, 01 Jan 2026 00:00:00 GMT' }, 1e20, 'retry-after', /retry-after: .*range of a Date/],
];

for (const [what, headers, receivedAt, name, warning] of OUT_OF_RANGE) {
  test(`item 5: ${what} → a warning and a null reset, never NaN`, () => {
    const info = parseRateLimitHeaders(headers, { receivedAt });
    const reset = name === 'retry-after'
      ? info.retryAfterSeconds
      : info.policies.find((p) => p.name === name)?.resetSeconds;
    assert.ok(reset !== undefined, `no policy named ${name} in ${JSON.stringify(info.policies)}`);
    assert.equal(reset, null, `the reset is ${reset}, expected null`);
    assert.ok(
      info.warnings.some((w) => warning.test(w)),
      `no warning matching ${warning} in ${JSON.stringify(info.warnings)}`,
    );
  });
}

test('item 5: in-range clocks keep their reset (the guard does not swallow good values)', () => {
  const receivedAt = Date.UTC(2026, 0, 1, 18, 0, 0);
  const info = parseRateLimitHeaders({ 'x-chutes-quota-remaining': '8', 'x-ratelimit-reset': '1767294000' }, { receivedAt });
  assert.equal(info.policies.find((p) => p.name === 'daily-quota')?.resetSeconds, 6 * 3600);
  assert.equal(info.policies.find((p) => p.name === 'default')?.resetSeconds, 3600);
  assert.deepEqual(info.warnings, []);
  // An hour before the end of the range, the next 00:00 UTC is the last instant a Date holds.
  const late = parseRateLimitHeaders({ 'x-chutes-quota-total': '200', 'x-chutes-quota-used': '3' }, { receivedAt: MAX_DATE_MS - 3_600_000 });
  assert.equal(late.policies.find((p) => p.name === 'daily-quota')?.resetSeconds, 3600);
  assert.deepEqual(late.warnings, []);
});

// The human renderings get NaN or Infinity from library callers that build policies themselves.
/** @type {Array<[string, () => string]>} */
const RENDER_CASES = [
  ['formatSeconds(NaN)', () => formatSeconds(Number.NaN)],
  ['formatSeconds(Infinity)', () => formatSeconds(Infinity)],
  ['formatSeconds(-Infinity)', () => formatSeconds(-Infinity)],
  ['formatLocalTime(NaN)', () => formatLocalTime(Number.NaN)],
  ['formatLocalTime(1e20)', () => formatLocalTime(1e20)],
];
for (const [what, render] of RENDER_CASES) {
  test(`item 5: ${what} renders as "—", not NaN`, () => assert.equal(render(), '—'));
}

test('item 5: a verdict over a NaN reset never says "resets in NaN…"', () => {
  const { verdict } = classifyResponse(
    {
      status: 200,
      headers: { 'x-chutes-quota-remaining': '8' },
      body: '{}',
      error: null,
      rateLimit: {
        policies: [{ name: 'daily-quota', unit: 'requests', limit: null, remaining: 8, resetSeconds: Number.NaN,
          windowSeconds: 86400, dialect: 'chutes', sources: ['x-chutes-quota-remaining'] }],
        retryAfterSeconds: null,
        warnings: [],
      },
    },
    { auth: 'bearer', url: new URL('https://llm.chutes.ai/v1/chat/completions'), hasKey: true },
  );
  assert.ok(verdict, 'a verdict');
  assert.doesNotMatch(`${verdict.message} ${verdict.hint}`, /NaN|resets in —/);
});
