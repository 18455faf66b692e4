// `quota` and the 2026 subscription_usage shape (issue #14 part 3): reset_at per cap, a monthly
// `{"uncapped": true}`, `"quota": "unlimited"`, and which limit binds first (bindingLimit's rule:
// an exhausted limit binds, the one that resets last; else the smallest share left).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bindingLimit, parseQuotaUsage, parseSubscriptionUsage, summariseQuota } from '../../dist/quota/usage.js';
import { describeBinding } from '../../dist/render/quota.js';

const NOW = Date.UTC(2026, 4, 2, 13, 0, 0);
const MIDNIGHT = '2026-05-03T00:00:00.000Z';
const FOUR_HOUR_RESET = '2026-05-02T16:00:00.000Z';
const MONTH_RESET = '2026-05-14T00:00:00.000Z';

const daily = (quota, used) => summariseQuota(parseQuotaUsage({ quota, used }), null, NOW);
const meter = (usage, cap, reset_at) => ({ usage, cap, remaining: Math.max(0, cap - usage), reset_at });
const subscription = (fourHour, monthly) => parseSubscriptionUsage({
  subscription: true, custom: false, monthly_price: 10, anchor_date: '2026-04-14T00:00:00Z', effective_date: '2026-04-14T00:00:00Z',
  updated_at: '2026-05-02T12:59:00Z', four_hour: fourHour, monthly,
});

test('parses the 2026 subscription_usage body: reset_at per cap, uncapped monthly, the plan dates', () => {
  const s = subscription(meter(1.5, 4.17, FOUR_HOUR_RESET), { uncapped: true });
  assert.ok(s, 'a subscription');
  assert.deepEqual(s.fourHour, { usage: 1.5, cap: 4.17, remaining: 2.67, resetAt: FOUR_HOUR_RESET, uncapped: false });
  assert.deepEqual(s.monthly, { usage: null, cap: null, remaining: null, resetAt: null, uncapped: true });
  assert.equal(s.custom, false);
  assert.equal(s.anchorDate, '2026-04-14T00:00:00Z');
  assert.equal(s.updatedAt, '2026-05-02T12:59:00Z');
});

// [name, daily summary, subscription, binding limit or null, rule, share]
/** @type {Array<[string, any, any, string | null, string | null, number | null]>} */
const ROWS = [
  ['daily 25% left beats 4-hour 87% and monthly 76%', daily(200, 150),
    subscription(meter(40, 300, FOUR_HOUR_RESET), meter(1200, 5000, MONTH_RESET)), 'daily', 'smallest-share-left', 0.25],
  ['4-hour 5% left beats daily 90%', daily(2000, 200),
    subscription(meter(3.96, 4.17, FOUR_HOUR_RESET), meter(20, 50, MONTH_RESET)), 'four-hour', 'smallest-share-left', 0.05],
  ['unlimited daily, uncapped monthly: the 4-hour cap is the only one', daily('unlimited', 0),
    subscription(meter(1, 4, FOUR_HOUR_RESET), { uncapped: true }), 'four-hour', 'smallest-share-left', 0.75],
  ['monthly spent and 4-hour spent: the monthly one resets last', daily(300, 10),
    subscription(meter(4.17, 4.17, FOUR_HOUR_RESET), meter(50, 50, MONTH_RESET)), 'monthly', 'exhausted-resets-last', 0],
  ['daily spent beats a subscription with room', daily(300, 300),
    subscription(meter(1, 4, FOUR_HOUR_RESET), meter(10, 50, MONTH_RESET)), 'daily', 'exhausted-resets-last', 0],
  ['no subscription: the daily quota', daily(200, 20), null, 'daily', 'smallest-share-left', 0.9],
  ['unlimited and no subscription: nothing binds', daily('unlimited', 0), null, null, null, null],
];

for (const [name, summary, sub, limit, rule, share] of ROWS) {
  test(`binds first: ${name}`, () => {
    const binding = bindingLimit(summary, sub);
    if (limit === null) {
      assert.equal(binding, null);
      assert.match(describeBinding({ binding, summary, subscription: sub }) ?? '', /nothing/);
      return;
    }
    assert.ok(binding, `a binding limit for ${name}`);
    assert.equal(binding.limit, limit);
    assert.equal(binding.rule, rule);
    assert.ok(Math.abs(binding.remainingShare - (share ?? NaN)) < 0.01, `share ${binding.remainingShare}, expected ${share}`);
    const line = describeBinding({ binding, summary, subscription: sub });
    assert.ok(line, 'a sentence');
    assert.match(line, /^Binds first: /);
    assert.match(line, limit === 'daily' ? /daily quota/ : limit === 'four-hour' ? /4-hour cap/ : /monthly cap/);
    assert.match(line, binding.resetsAt === null ? /./ : new RegExp(binding.resetsAt.replace(/\./g, '\\.')));
    assert.doesNotMatch(line, /undefined|null|NaN/);
  });
}

test('the rule is explained: shares, not projected run-out times', () => {
  const summary = daily(200, 150);
  const sub = subscription(meter(40, 300, FOUR_HOUR_RESET), meter(1200, 5000, MONTH_RESET));
  const line = describeBinding({ binding: bindingLimit(summary, sub), summary, subscription: sub }) ?? '';
  assert.match(line, /smallest share left \(others: 4-hour cap 87%, monthly cap 76%\)/);
  assert.match(line, /different units/);
  assert.equal(daily('unlimited', 0).resetsAt, null);
  assert.equal(daily(200, 150).resetsAt, MIDNIGHT);
});
