import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatSeconds, nextUtcMidnight } from '../../dist/format.js';

/** @type {Array<[number | null, string]>} */
const cases = [
  [null, '—'], [0.25, '250ms'], [1, '1s'], [12.34, '12.3s'], [59.96, '1m00s'], [59.9, '59.9s'], [60, '1m00s'],
  [299.6, '5m00s'], [3599.6, '1h00m'], [3725, '1h02m'], [86400, '24h00m'],
];
for (const [input, expected] of cases) {
  test(`formatSeconds(${input}) → ${expected}`, () => assert.equal(formatSeconds(input), expected));
}
test('next 00:00 UTC', () => {
  assert.equal(nextUtcMidnight(Date.parse('2026-11-28T22:11:00Z')).toISOString(), '2026-11-29T00:00:00.000Z');
  assert.equal(nextUtcMidnight(Date.parse('2026-12-31T23:59:59.999Z')).toISOString(), '2027-01-01T00:00:00.000Z');
  assert.equal(nextUtcMidnight(Date.parse('2026-11-29T00:00:00Z')).toISOString(), '2026-11-30T00:00:00.000Z');
});
