// The value parsers under parseRateLimitHeaders, and isRateLimitHeader.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isRateLimitHeader } from '../../dist/ratelimit/parse.js';
import {
  collapseRepeats,
  interpretResetValue,
  parseDate,
  parseGoDuration,
  parseNonNegativeNumber,
} from '../../dist/ratelimit/values.js';
import { relaxWhitespace } from '../../dist/ratelimit/ietf-structured.js';

const T0 = Date.UTC(2026, 0, 1, 0, 0, 0);
const ok = (value) => ({ ok: true, value });
const fails = (reason) => ({ ok: false, reason });

/** @type {Array<{ label: string, fn: (raw: string) => any, rows: Array<[string, any]> }>} each function returns its own type */
const TABLES = [
  {
    label: 'parseGoDuration',
    fn: parseGoDuration,
    rows: [
      ['1s', ok(1)], ['6m0s', ok(360)], ['12ms', ok(0.012)], ['1m0.5s', ok(60.5)], ['2m59.56s', ok(179.56)],
      ['7.66s', ok(7.66)], ['1h2m3s', ok(3723)], ['500us', ok(0.0005)], ['500µs', ok(0.0005)], ['500μs', ok(0.0005)],
      ['250ns', ok(2.5e-7)], ['0', ok(0)], ['0s', ok(0)], ['20', ok(20)], ['1.5', ok(1.5)], ['.5s', ok(0.5)],
      [' 3s ', ok(3)], ['3s, 3s', ok(3)],
      ['', fails('empty value')], ['soon', fails('not a duration such as 6m0s')], ['-1s', fails('negative value')],
      ['1s, 2s', fails('conflicting duplicate values')], ['1e20', fails('not a duration such as 6m0s')],
      ['1d', fails('not a duration such as 6m0s')], ['s', fails('not a duration such as 6m0s')],
      ['Infinity', fails('not a duration such as 6m0s')], ['99999999h', fails('reset more than 10 years away')],
    ],
  },
  {
    label: 'parseNonNegativeNumber',
    fn: parseNonNegativeNumber,
    rows: [
      ['60', ok(60)], ['598.0', ok(598)], ['0', ok(0)], ['007', ok(7)], ['9007199254740991', ok(9007199254740991)],
      ['9007199254740992', fails('exceeds Number.MAX_SAFE_INTEGER')], ['-5', fails('negative value')],
      ['1e3', fails('not a non-negative number')], ['+5', fails('not a non-negative number')],
      ['5.', fails('not a non-negative number')], ['NaN', fails('not a non-negative number')],
      ['٥', fails('not a non-negative number')], ['', fails('empty value')], ['5, 7', fails('conflicting duplicate values')],
    ],
  },
  {
    label: 'parseDate',
    fn: (raw) => parseDate(raw, T0),
    rows: [
      ['Thu, 01 Jan 2026 00:00:00 GMT', ok(T0)], ['thu, 01 jan 2026 00:00:00 gmt', ok(T0)],
      ['Thursday, 01-Jan-26 00:00:00 GMT', ok(T0)], ['Thursday, 01-Jan-70 00:00:00 GMT', ok(Date.UTC(2070, 0, 1))],
      ['Thursday, 01-Jan-80 00:00:00 GMT', ok(Date.UTC(1980, 0, 1))], ['Thu Jan  1 00:00:00 2026', ok(T0)],
      ['2026-01-01T00:00:00Z', ok(T0)], ['2026-01-01T01:00:00+01:00', ok(T0)], ['2025-12-31T23:30:00-00:30', ok(T0)],
      ['2026-01-01T00:00:00.250Z', ok(T0 + 250)], ['2026-01-01 00:00:00z', ok(T0)],
      ['2026-01-01T00:00:00', fails('neither a number nor a valid date')], ['2026-02-29T00:00:00Z', fails('neither a number nor a valid date')],
      ['Thu, 32 Jan 2026 00:00:00 GMT', fails('neither a number nor a valid date')], ['Thu, 01 Foo 2026 00:00:00 GMT', fails('neither a number nor a valid date')],
      ['Thu, 01 Jan 2026 24:00:00 GMT', fails('neither a number nor a valid date')], ['tomorrow', fails('neither a number nor a valid date')],
    ],
  },
  {
    label: 'interpretResetValue',
    fn: (raw) => interpretResetValue(raw, T0),
    rows: [
      ['42', ok({ kind: 'delay', seconds: 42 })], ['999999999', ok({ kind: 'delay', seconds: 999999999 })],
      ['1000000000', ok({ kind: 'instant', epochMs: 1e12 })], ['1767225660', ok({ kind: 'instant', epochMs: 1767225660000 })],
      ['1000000000000', ok({ kind: 'instant', epochMs: 1e15 })], ['1743638400000', ok({ kind: 'instant', epochMs: 1743638400000 })],
      ['Thu, 01 Jan 2026 00:00:00 GMT', ok({ kind: 'instant', epochMs: T0 })], ['2026-01-01T00:00:00Z', ok({ kind: 'instant', epochMs: T0 })],
      ['12:00', fails('neither a number nor a valid date')], ['-5', fails('negative value')],
    ],
  },
  {
    label: 'collapseRepeats',
    fn: collapseRepeats,
    rows: [
      ['5', '5'], [' 5 ', '5'], ['5, 5', '5'], ['5,5,5', '5'], ['5, 7', '5, 7'],
      ['Thu, 01 Jan 2026 00:00:00 GMT', 'Thu, 01 Jan 2026 00:00:00 GMT'],
      ['Thu, 01 Jan 2026 00:00:00 GMT, Thu, 01 Jan 2026 00:00:00 GMT', 'Thu, 01 Jan 2026 00:00:00 GMT'],
    ],
  },
  {
    label: 'relaxWhitespace',
    fn: relaxWhitespace,
    rows: [
      ['"100-in-1min"; r=99; t=60', '"100-in-1min";r=99;t=60'], ['"a" ; q = 5', '"a";q=5'],
      ['"x ; y = z" ; r=1', '"x ; y = z";r=1'], ['"esc\\" ; q" ; r=1', '"esc\\" ; q";r=1'], ['"a";r=1, "b"; r=2', '"a";r=1, "b";r=2'],
    ],
  },
  {
    label: 'isRateLimitHeader',
    fn: isRateLimitHeader,
    rows: [
      ['ratelimit', true], ['ratelimit-policy', true], ['ratelimit-limit', true], ['ratelimit-resettime', true],
      ['x-ratelimit-limit', true], ['x-ratelimit-reset-tokens', true], ['x-rate-limit-reset', true],
      ['anthropic-ratelimit-tokens-reset', true], ['retry-after', true], ['retry-after-ms', true], ['x-ms-retry-after-ms', true],
      ['x-chutes-rl-user', true], ['x-chutes-invocationid', true], ['X-RateLimit-Limit', true],
      ['date', false], ['content-type', false], ['x-ratelimit', false], ['retry-afterwards', false], ['anthropic-version', false],
      ['x-request-id', false],
    ],
  },
];

for (const { label, fn, rows } of TABLES) {
  for (const [input, expected] of rows) {
    test(`${label}(${JSON.stringify(input)})`, () => {
      const actual = fn(input);
      if (expected?.ok === true && typeof expected.value === 'number') {
        assert.equal(actual.ok, true, JSON.stringify(actual));
        assert.ok(Math.abs(actual.value - expected.value) < 1e-9, `${actual.value} ≠ ${expected.value}`);
      } else {
        assert.deepEqual(actual, expected);
      }
    });
  }
}
