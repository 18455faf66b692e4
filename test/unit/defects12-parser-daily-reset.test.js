// Issue #12 item 11: the daily quota's reset (00:00 UTC, chutes-facts.md "Limits and quotas") is
// one instant, computed by format.ts nextUtcMidnight and shown the same way by `headers` (the
// policy table) and by `quota` / `doctor` (describeReset). Arrival times carry sub-millisecond
// fractions (performance.timeOrigin + now()) and resetSeconds is rounded to the millisecond, so
// arrival + reset could land a hair before 00:00:00 and print 23:59:59 (local time in UTC).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Chalk } from 'chalk';
import { parseRateLimitHeaders } from '../../dist/ratelimit/parse.js';
import { formatLocalTime, nextUtcMidnight } from '../../dist/format.js';
import { renderPolicyTable } from '../../dist/render/record.js';
import { describeReset, nextUtcMidnight as quotaNextUtcMidnight, summariseQuota } from '../../dist/quota/usage.js';
import { FAKE_KEY, emulatorPool, runCli } from '../helpers/cli.js';

const plain = new Chalk({ level: 0 });
const QUOTA_HEADERS = { 'x-chutes-quota-total': '200', 'x-chutes-quota-used': '3', 'x-chutes-quota-remaining': '197' };

/** The "resets at" cell of one policy row of the plain policy table. */
function resetsAtCell(table, policyName) {
  const row = table.split('\n').find((line) => line.includes(` ${policyName} `));
  assert.ok(row, `no row for ${policyName} in\n${table}`);
  const cells = row.split('│').map((cell) => cell.trim()).filter((cell) => cell !== '');
  // policy, unit, limit, remaining, resets in, resets at, window, dialect
  assert.ok(cells.length >= 8, `row has ${cells.length} cells: ${row}`);
  return cells[5];
}

function policyTable(headers, receivedAt) {
  const rateLimit = parseRateLimitHeaders(headers, { receivedAt });
  // Only the rate limit is read: the rest of the record is left out.
  const record = /** @type {import('../../dist/types.js').ResponseRecord} */ ({ rateLimit: { policies: rateLimit.policies, retryAfterSeconds: rateLimit.retryAfterSeconds } });
  return renderPolicyTable(record, plain, receivedAt);
}

// Arrival instants: whole hours plus sub-millisecond fractions either side of .5 ms.
const ARRIVALS = [];
for (const base of [Date.UTC(2026, 0, 1, 18, 0, 0), Date.UTC(2026, 5, 30, 23, 59, 58, 999), Date.UTC(2026, 1, 28, 0, 0, 0, 1)]) {
  for (const fraction of [0, 0.1, 0.4999, 0.5, 0.5001, 0.6, 0.9, 0.999]) ARRIVALS.push([base, fraction]);
}

describe('item 11: the daily reset reads the same in the headers table and in quota/doctor', () => {
  for (const [base, fraction] of ARRIVALS) {
    const receivedAt = base + fraction;
    test(`arrival ${new Date(base).toISOString()} + ${fraction} ms`, () => {
      const quotaSays = describeReset(summariseQuota({ daily: 200, used: 3, unlimited: false }, null, receivedAt).resetsAt, receivedAt);
      const expected = formatLocalTime(nextUtcMidnight(receivedAt).getTime());
      assert.ok(quotaSays.includes(`${expected} local time`), `quota/doctor say "${quotaSays}", expected ${expected} local time`);
      const cell = resetsAtCell(policyTable(QUOTA_HEADERS, receivedAt), 'daily-quota');
      assert.equal(cell, expected, `the headers table says the daily quota resets at ${cell}; quota/doctor say ${quotaSays}`);
    });
  }
});

test('item 11: an absolute reset on a whole second is shown on that second, not one before', () => {
  const receivedAt = Date.UTC(2026, 0, 1, 18, 0, 0) + 0.6;
  const atNineteen = Date.UTC(2026, 0, 1, 19, 0, 0);
  const table = policyTable({ 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': String(atNineteen / 1000), 'retry-after': 'Thu, 01 Jan 2026 19:00:00 GMT' }, receivedAt);
  assert.equal(resetsAtCell(table, 'default'), formatLocalTime(atNineteen), table);
  assert.match(table, new RegExp(`Retry-After: 1h00m \\(at ${formatLocalTime(atNineteen)}\\)`), table);
});

test('item 11: quota computes the next 00:00 UTC with the same function as the parser and the emulator', () => {
  for (const nowMs of [0, Date.UTC(2026, 0, 1), Date.UTC(2026, 0, 1) - 1, Date.UTC(2028, 1, 29, 12) + 0.7, -1, -86_400_000]) {
    assert.equal(quotaNextUtcMidnight(nowMs), nextUtcMidnight(nowMs).getTime(), `at ${nowMs}`);
  }
});

describe('item 11: end to end against the emulator, in UTC', () => {
  const start = emulatorPool();
  test('headers shows the daily quota resetting at 00:00:00, as quota does', async () => {
    const emulator = await start({ dailyQuota: 200, quotaUsed: 3 });
    const env = { CHUTES_API_KEY: FAKE_KEY, TZ: 'UTC' };
    const args = ['--base-url', emulator.url, '--api-base-url', emulator.apiUrl];
    const quota = await runCli(['quota', ...args], { env });
    assert.equal(quota.code, 0, quota.stderr);
    assert.match(quota.stdout, /00:00 UTC; 00:00:00 local time/);
    // Each run's arrival fraction is random; several runs make a regression show.
    for (let run = 0; run < 3; run++) {
      const headers = await runCli(['headers', ...args], { env });
      assert.equal(headers.code, 0, headers.stderr);
      const row = headers.stdout.split('\n').find((line) => line.includes(' daily-quota '));
      assert.ok(row, `no daily-quota row in\n${headers.stdout}`);
      assert.match(row, /│\s*00:00:00\s*│/, `run ${run}: ${row}`);
    }
  });
});
