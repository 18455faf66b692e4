// Issue #12 item 12: which policy `headers --min-remaining` checks (remainingPolicy, checkMinRemaining).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkMinRemaining, remainingPolicy } from '../../dist/headers/assertions.js';

/** @typedef {import('../../dist/types.js').RateLimitPolicy} RateLimitPolicy */

/** @type {(name: string, fields?: Partial<RateLimitPolicy>) => RateLimitPolicy} */
const P = (name, fields = {}) => ({
  name, unit: 'requests', limit: 100, remaining: 50, resetSeconds: null, windowSeconds: null, dialect: 'x-ratelimit', sources: [], ...fields,
});
// Only the rate limit is read: the rest of the record is left out.
const record = (...policies) => /** @type {import('../../dist/types.js').ResponseRecord} */ ({ rateLimit: { policies, retryAfterSeconds: null } });
const DAY = 86_400;

/** @type {Array<[string, RateLimitPolicy[], string | undefined, string | null]>} */
const cases = [
  ['nothing advertised', [], undefined, null],
  ['Chutes alone: the per-minute user policy states no remaining, so the daily quota', [P('user', { remaining: null, dialect: 'chutes' }), P('daily-quota', { remaining: 30, windowSeconds: DAY, dialect: 'chutes' })], undefined, 'daily-quota'],
  ['a minute window beats the daily quota, even with more left', [P('daily-quota', { remaining: 30, windowSeconds: DAY }), P('minute', { remaining: 55, windowSeconds: 60 })], undefined, 'minute'],
  ['an unstated window ranks before a daily quota', [P('daily-quota', { remaining: 30, windowSeconds: DAY }), P('default', { remaining: 80 })], undefined, 'default'],
  ['a stated minute window ranks before an unstated one', [P('default', { remaining: 5 }), P('minute', { remaining: 55, windowSeconds: 60 })], undefined, 'minute'],
  ['same window: the lowest remaining', [P('a', { remaining: 9, windowSeconds: 60 }), P('b', { remaining: 3, windowSeconds: 60 })], undefined, 'b'],
  ['tokens are not requests', [P('tokens', { unit: 'tokens', remaining: 1, windowSeconds: 60 }), P('requests', { remaining: 40 })], undefined, 'requests'],
  ['--policy picks the daily quota', [P('daily-quota', { remaining: 30, windowSeconds: DAY }), P('minute', { remaining: 55, windowSeconds: 60 })], 'daily-quota', 'daily-quota'],
  ['--policy is case-insensitive', [P('Minute', { remaining: 55, windowSeconds: 60 })], 'minute', 'Minute'],
  ['--policy may name a token policy', [P('tokens', { unit: 'tokens', remaining: 1000 }), P('requests')], 'tokens', 'tokens'],
  ['--policy naming a policy without remaining', [P('user', { remaining: null })], 'user', null],
];

for (const [name, policies, policy, expected] of cases) {
  test(`remainingPolicy: ${name}`, () => {
    assert.equal(remainingPolicy(record(...policies), policy)?.name ?? null, expected);
  });
}

test('checkMinRemaining names the policy it checked, and says when it fell back to a day-long one', () => {
  const chutes = record(P('user', { remaining: null, dialect: 'chutes' }), P('daily-quota', { remaining: 30, windowSeconds: DAY, dialect: 'chutes' }));
  const daily = checkMinRemaining(chutes, 50);
  assert.equal(daily.passed, false);
  assert.equal(daily.policy, 'daily-quota');
  assert.match(daily.message, /^remaining 30 < 50 in policy "daily-quota" \(requests, 24h00m window, chutes\); no shorter window states a remaining count/);
  const chosen = checkMinRemaining(chutes, 20, 'daily-quota');
  assert.equal(chosen.passed, true);
  assert.doesNotMatch(chosen.message, /no shorter window/, 'no fallback note when the user chose it');
  const user = checkMinRemaining(chutes, 1, 'user');
  assert.deepEqual([user.passed, user.policy], [false, null]);
  assert.match(user.message, /cannot check --min-remaining 1: policy "user" states no remaining count/);
});

test('checkMinRemaining: an unknown --policy is a usage error listing the advertised names; with no policies at all, a failed check', () => {
  const r = record(P('minute', { windowSeconds: 60 }), P('daily-quota', { windowSeconds: DAY }));
  assert.throws(() => checkMinRemaining(r, 1, 'hourly'), (/** @type {import('../../dist/errors.js').DiagError} */ error) => error.exitCode === 2 && /"hourly".*"minute", "daily-quota"/.test(error.message));
  const none = checkMinRemaining(record(), 1, 'hourly');
  assert.equal(none.passed, false);
  assert.match(none.message, /no rate-limit headers/);
});
