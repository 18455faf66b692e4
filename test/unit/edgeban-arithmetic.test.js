// The emulator's edge ban (src/emulator/edge-ban.ts) on a settable clock: the window, the first ban,
// doubling, the cap, a request during a ban re-arming it, and recovery once it has run out (#14).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CHUTES_EDGE_BAN, EdgeBan, banDurationMs, checkEdgeBanConfig } from '../../dist/emulator/edge-ban.js';

const T0 = Date.UTC(2026, 0, 15, 12, 0, 0);
// Small numbers so every step is easy to follow: 3 per 10 s, 1 s ban doubling up to 8 s.
const SMALL = { limit: 3, windowMs: 10_000, baseMs: 1_000, growth: 2, maxMs: 8_000 };

/**
 * [config, violations, ban ms] for SMALL and for the Chutes profile (3 s doubling up to a day).
 * @type {Array<[import('../../dist/emulator/edge-ban.js').EdgeBanConfig, number, number]>}
 */
const DURATIONS = [
  [SMALL, 0, 0],
  [SMALL, 1, 1_000],
  [SMALL, 2, 2_000],
  [SMALL, 3, 4_000],
  [SMALL, 4, 8_000],
  [SMALL, 5, 8_000],
  [SMALL, 5000, 8_000], // growth ** n overflows to Infinity: still the cap
  [CHUTES_EDGE_BAN, 1, 3_000],
  [CHUTES_EDGE_BAN, 5, 48_000],
  [CHUTES_EDGE_BAN, 16, 86_400_000], // 3 s × 2^15 = 98 304 s > a day
  [{ ...SMALL, growth: 1.5 }, 3, 2_250],
  [{ ...SMALL, growth: 1 }, 9, 1_000],
];

for (const [config, violations, expected] of DURATIONS) {
  test(`ban after ${violations} violation(s), base ${config.baseMs} ms ×${config.growth} up to ${config.maxMs} ms: ${expected} ms`, () => {
    assert.equal(banDurationMs(config, violations), expected);
  });
}

test('the Chutes profile is 60 per minute, 3 s doubling up to a day', () => {
  assert.deepEqual({ ...CHUTES_EDGE_BAN }, { limit: 60, windowMs: 60_000, baseMs: 3_000, growth: 2, maxMs: 86_400_000 });
});

/**
 * Sends one request at each offset (ms from T0); returns [allowed, banMs] per request.
 * @param {EdgeBan} edge
 * @param {number[]} offsets
 */
function drive(edge, offsets) {
  return offsets.map((offset) => {
    const d = edge.admit(T0 + offset);
    return [d.allowed, d.banMs];
  });
}

test('the limit per window is admitted; the next request is a violation and starts the base ban', () => {
  const edge = new EdgeBan(SMALL);
  assert.deepEqual(drive(edge, [0, 1, 2, 3]), [[true, 0], [true, 0], [true, 0], [false, 1_000]]);
  assert.deepEqual(edge.state(T0 + 3), { violations: 1, bannedUntil: T0 + 1_003 });
});

test('each request during a ban is a violation: it restarts the ban, doubled, from its own arrival', () => {
  const edge = new EdgeBan(SMALL);
  drive(edge, [0, 1, 2, 3]); // ban 1 s until T0+1003
  assert.deepEqual(drive(edge, [500]), [[false, 2_000]]);
  assert.equal(edge.state(T0 + 500).bannedUntil, T0 + 2_500, 're-armed from the retest, not from the first refusal');
  assert.deepEqual(drive(edge, [2_000, 5_000]), [[false, 4_000], [false, 8_000]]);
  assert.deepEqual(drive(edge, [12_000]), [[false, 8_000]], 'capped at maxMs');
  assert.deepEqual(edge.state(T0 + 12_000), { violations: 5, bannedUntil: T0 + 20_000 });
});

test('after the ban has run out, a request under the window limit is admitted and the ban state clears', () => {
  const edge = new EdgeBan(SMALL);
  drive(edge, [0, 1, 2, 3]); // ban until T0+1003
  assert.equal(edge.state(T0 + 1_002).bannedUntil, T0 + 1_003, 'still banned 1 ms before the end');
  // The window still holds the three admitted requests until T0+10 000: a retest at the ban's end is over the limit.
  assert.deepEqual(drive(edge, [1_003]), [[false, 2_000]], 'the window is still full: a violation');
  // Ban until T0+3003; by T0+10 002 the three requests have left the window.
  assert.deepEqual(drive(edge, [10_002, 10_003, 10_004, 10_005]), [[true, 0], [true, 0], [true, 0], [false, 4_000]]);
  assert.deepEqual(edge.state(T0 + 14_005), { violations: 3, bannedUntil: null }, 'over at T0+14 005; violations are kept');
  assert.deepEqual(drive(edge, [20_003]), [[true, 0]]);
});

test('violations are never forgiven: the next offence after a clean spell bans longer', () => {
  const edge = new EdgeBan(SMALL);
  drive(edge, [0, 1, 2, 3]); // 1st violation: 1 s
  const later = 60_000;
  assert.deepEqual(drive(edge, [later, later + 1, later + 2, later + 3]), [[true, 0], [true, 0], [true, 0], [false, 2_000]]);
});

test('refused requests do not use up the window', () => {
  const edge = new EdgeBan({ ...SMALL, limit: 1 });
  assert.deepEqual(drive(edge, [0, 1]), [[true, 0], [false, 1_000]]);
  // Window: the one request at T0 leaves at T0+10 000; the refusal at T0+1 was not counted.
  assert.deepEqual(drive(edge, [10_000]), [[true, 0]]);
});

/** @type {Array<[Partial<import('../../dist/emulator/edge-ban.js').EdgeBanConfig>, RegExp]>} [config change, the field named in the error] */
const BAD = [
  [{ limit: 0 }, /limit/],
  [{ windowMs: 1.5 }, /windowMs/],
  [{ baseMs: 0 }, /baseMs/],
  [{ growth: 0.5 }, /growth/],
  [{ growth: Number.NaN }, /growth/],
  [{ maxMs: 500 }, /maxMs.*baseMs/],
];

for (const [change, names] of BAD) {
  test(`a bad edge-ban config is refused, naming the field: ${JSON.stringify(change)}`, () => {
    assert.throws(() => checkEdgeBanConfig({ ...SMALL, ...change }), (error) => error instanceof RangeError && names.test(error.message));
  });
}
