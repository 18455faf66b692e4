// The penalty-box detector (src/probe/penalty.ts) on crafted observation series, and Chutes mode's rules
// (src/probe/ban-guard.ts): refusal budget, quota left, quota share. Table-driven, pure.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { detectPenalty, recoveredBlocksMs } from '../../dist/probe/penalty.js';
import { parseRateLimitHeaders } from '../../dist/ratelimit/parse.js';
import { chutesAnswered, quotaRemaining, quotaShare, refusalBudget, refusalsSeen } from '../../dist/probe/ban-guard.js';

const T0 = Date.UTC(2026, 0, 15, 12, 0, 0);
let seq = 0;

/** @typedef {import('../../dist/probe/observation.js').Observation} Observation */

/**
 * An answer sent `at` ms after T0 and back 10 ms later: 'ok', or 429 with an optional Retry-After.
 * @param {number} at @param {number} status @param {number | null} [retryAfterSeconds] @param {any[]} [policies]
 * @returns {Observation}
 */
function obs(at, status, retryAfterSeconds = null, policies = []) {
  seq += 1;
  return { seq, sentAt: T0 + at, receivedAt: T0 + at + 10, status, outcome: status === 200 ? 'ok' : 'rate_limited', policies, retryAfterSeconds, inFlight: 1 };
}
const ok = (at, policies) => obs(at, 200, null, policies);
const no = (at, retryAfter = null) => obs(at, 429, retryAfter);

/** 10 accepted requests, 100 ms apart, from t = 0. */
const burst = (from = 0, n = 10) => Array.from({ length: n }, (_, i) => ok(from + i * 100));

describe('detectPenalty', () => {
  const cases = [
    {
      name: 'a window whose Retry-After, obeyed, lets the retest through',
      series: () => [...burst(), no(1000, 2), ok(3010)],
      expected: null,
    },
    {
      name: 'a Retry-After rounded down: the retest at it is refused with a shorter one (a window, not a penalty)',
      series: () => [...burst(), no(1000, 2), no(3010, 1), ok(4020)],
      expected: null,
    },
    {
      name: 'a refused retest at the Retry-After with a doubled one: the recovery was pushed later',
      series: () => [...burst(), no(1000, 1), no(2010, 2), no(4020, 4)],
      expected: { escalating: true, observedBanSeconds: [1, 2, 4] },
    },
    {
      name: 'a longer Retry-After on a retest sent before the previous one ran out proves nothing',
      series: () => [...burst(), no(1000, 2), no(1500, 4)],
      expected: null,
    },
    {
      name: 'three recoveries, each after a block with refused retests twice as long as the one before (no hints)',
      series: () => [...burst(), no(1000), no(1500), ok(2000), no(2100), no(3000), ok(4100), no(4200), no(6000), ok(8200)],
      expected: { escalating: true, observedBanSeconds: [1, 2, 4] },
    },
    {
      name: 'growing blocks without refused retests: the probe\'s own silent gaps (a token bucket\'s refill stage)',
      series: () => [...burst(), no(1000), ok(2000), no(2100), ok(4100), no(4200), ok(8200)],
      expected: null,
    },
    {
      name: 'two growing recoveries are not enough (a fixed window\'s first one is short when it began late)',
      series: () => [...burst(), no(1000), no(1100), ok(1200), no(1300), no(2000), ok(3000)],
      expected: null,
    },
    {
      name: 'recoveries of a steady length (a window or a bucket)',
      series: () => [...burst(), no(1000), no(1500), ok(2000), no(2100), no(2600), ok(3100), no(3200), no(3700), ok(4200)],
      expected: null,
    },
    {
      name: 'no refusal at all',
      series: () => burst(),
      expected: null,
    },
  ];
  for (const { name, series, expected } of cases) {
    it(name, () => {
      assert.deepEqual(detectPenalty(series()), expected);
    });
  }

  it('recoveredBlocksMs: first refusal to the next accepted request, for blocks with a refused retest; an unrecovered block is left out', () => {
    assert.deepEqual(recoveredBlocksMs([...burst(), no(1000), no(1500), ok(2000), no(2100), ok(2500), no(2600)]), [1000]);
  });
});

const chutesPolicies = (remaining) => [
  { name: 'user', unit: 'requests', limit: 60, remaining: null, resetSeconds: null, windowSeconds: null, dialect: 'chutes', sources: ['x-chutes-rl-user'] },
  { name: 'daily-quota', unit: 'requests', limit: 200, remaining, resetSeconds: 3600, windowSeconds: 86_400, dialect: 'chutes', sources: ['x-chutes-quota-remaining'] },
];

describe('Chutes mode rules', () => {
  it('refusalBudget: --allow-refusals wins; else 1 on Chutes, no limit elsewhere', () => {
    /** @type {Array<[{ allowRefusals?: number }, boolean, number]>} */
    const table = [
      [{}, true, 1],
      [{}, false, Infinity],
      [{ allowRefusals: 3 }, true, 3],
      [{ allowRefusals: 2 }, false, 2],
    ];
    for (const [config, chutes, expected] of table) assert.equal(refusalBudget(config, chutes), expected, JSON.stringify({ config, chutes }));
  });

  it('chutesAnswered and quotaRemaining read the X-Chutes-* policies of the earliest answer that has them', () => {
    assert.equal(chutesAnswered([ok(0)]), false);
    assert.equal(chutesAnswered([ok(0), ok(100, chutesPolicies(199))]), true);
    // X-Chutes-RL-User alone (a gateway that drops the quota headers): still Chutes' edge behind it.
    const rlUser = parseRateLimitHeaders({ 'x-chutes-rl-user': '60' }, { receivedAt: T0 }).policies;
    assert.ok(rlUser.length > 0 && rlUser.every((p) => p.dialect === 'chutes'), JSON.stringify(rlUser));
    assert.equal(chutesAnswered([ok(0, rlUser)]), true);
    assert.equal(chutesAnswered([ok(0, parseRateLimitHeaders({ 'x-ratelimit-limit': '60', 'x-ratelimit-remaining': '59' }, { receivedAt: T0 }).policies)]), false);
    assert.equal(quotaRemaining([ok(0)]), null);
    assert.equal(quotaRemaining([ok(100, chutesPolicies(150)), ok(0, chutesPolicies(199))]), 199);
  });

  it('refusalsSeen counts the rate-limit 429s (the edge\'s header-less 429 among them)', () => {
    assert.equal(refusalsSeen([ok(0), no(100), no(200, 3), { ...ok(300), outcome: /** @type {const} */ ('capacity'), status: 429 }]), 2);
  });

  it('quotaShare: the plan\'s worst case against the quota left; over --max-quota-share it needs --yes', () => {
    /** @type {Array<[{ maxRequests: number, yes?: boolean, maxQuotaShare?: number }, number, number, boolean]>} */
    const table = [
      [{ maxRequests: 60 }, 199, 30.15, false],
      [{ maxRequests: 60, yes: true }, 199, 30.15, true],
      [{ maxRequests: 60, maxQuotaShare: 50 }, 199, 30.15, true],
      [{ maxRequests: 60 }, 4999, 1.2, true],
      [{ maxRequests: 10 }, 0, 100, false],
    ];
    for (const [config, remaining, share, proceeds] of table) {
      const q = quotaShare(config, remaining);
      assert.ok(Math.abs(q.sharePercent - share) < 0.01, `${JSON.stringify(config)} of ${remaining}: share ${q.sharePercent}`);
      assert.equal(q.proceeds, proceeds, `${JSON.stringify(config)} of ${remaining}`);
      assert.equal(q.worstCase, config.maxRequests);
    }
  });
});
