// `quota` against the emulator's 2026 subscription_usage (issue #14 part 3): four-hour and monthly caps
// with reset_at, a monthly `{"uncapped": true}`, `"quota": "unlimited"`, and the line (and --json
// `bindsFirst`) naming the limit that binds first. No inference request is spent.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { FAKE_KEY, emulatorPool, parseJsonOutput, runCli } from '../helpers/cli.js';

const ENV = { CHUTES_API_KEY: FAKE_KEY };
const FOUR_HOURS_MS = 4 * 3_600_000;
const start = emulatorPool();

async function quota(emulator, args = []) {
  const result = await runCli(['quota', '--api-base-url', emulator.apiUrl, '--base-url', emulator.url, ...args], { env: ENV });
  assert.ok(!result.stdout.includes(FAKE_KEY) && !result.stderr.includes(FAKE_KEY), 'the key never appears');
  assert.deepEqual(emulator.arrivals.filter((a) => a.listener === 'llm'), [], 'no inference request spent');
  return result;
}

describe('quota: the 2026 subscription shape', { concurrency: true }, () => {
  it('"unlimited" daily quota, uncapped monthly: the 4-hour cap binds first; reset_at read', async () => {
    const emulator = await start({ dailyQuota: null, subscription: { monthlyPrice: 20, monthly: { uncapped: true }, fourHour: { usage: 7.5, cap: 8.33 } } });
    const result = await quota(emulator, ['--json']);
    assert.equal(result.code, 0, result.stderr);
    const doc = parseJsonOutput(result.stdout);
    assert.equal(doc.quota.unlimited, true);
    assert.ok(doc.subscription, 'a subscription');
    assert.deepEqual(doc.subscription.monthly, { usage: null, cap: null, remaining: null, resetAt: null, uncapped: true });
    assert.equal(doc.subscription.fourHour.uncapped, false);
    const reset = Date.parse(doc.subscription.fourHour.resetAt);
    assert.ok(Number.isFinite(reset) && reset % FOUR_HOURS_MS === 0, `4-hour reset_at on a fixed UTC bucket: ${doc.subscription.fourHour.resetAt}`);
    assert.ok(doc.bindsFirst, 'bindsFirst');
    assert.equal(doc.bindsFirst.limit, 'four-hour');
    assert.equal(doc.bindsFirst.unit, 'usd');
    assert.equal(doc.bindsFirst.rule, 'smallest-share-left');
    assert.equal(doc.bindsFirst.resetsAt, doc.subscription.fourHour.resetAt);
    assert.match(doc.bindsFirst.message, /^Binds first: the subscription's 4-hour cap/);

    const human = await quota(emulator);
    assert.equal(human.code, 0, human.stderr);
    assert.match(human.stdout, /monthly\s+│ —\s+│ uncapped\s+│ uncapped/);
    assert.match(human.stdout, /4-hour\s+│ 7\.5\s+│ 8\.33\s+│ 0\.83\s+│ \d{4}-\d\d-\d\dT\d\d:00:00\.000Z \(in /);
    assert.match(human.stdout, /Binds first: the subscription's 4-hour cap \(0\.83 of 8\.33 USD left, 10%; resets at /);
  });

  it('a daily quota with less share left than the caps binds first', async () => {
    const emulator = await start({ dailyQuota: 200, quotaUsed: 150, subscription: { monthlyPrice: 20, monthly: { usage: 1200, cap: 5000 }, fourHour: { usage: 40, cap: 300 } } });
    const result = await quota(emulator, ['--json']);
    assert.equal(result.code, 0, result.stderr);
    const doc = parseJsonOutput(result.stdout);
    assert.ok(doc.bindsFirst, 'bindsFirst');
    assert.deepEqual([doc.bindsFirst.limit, doc.bindsFirst.remaining, doc.bindsFirst.cap, doc.bindsFirst.resetsAt], ['daily', 50, 200, doc.quota.resetsAt]);
    assert.ok(Date.parse(doc.subscription.monthly.resetAt) > 0, 'monthly reset_at');
    const human = await quota(emulator);
    assert.match(human.stdout, /Binds first: the daily quota \(50 of 200 requests left, 25%; resets at .*\): the smallest share left \(others: 4-hour cap 87%, monthly cap 76%\)/);
  });

  it('a spent 4-hour cap: exit 3, and it is what binds', async () => {
    const emulator = await start({ dailyQuota: 300, quotaUsed: 3, subscription: { monthlyPrice: 3, monthly: { usage: 2, cap: 15 }, fourHour: { usage: 1.25, cap: 1.25 } } });
    const result = await quota(emulator, ['--json']);
    assert.equal(result.code, 3, result.stderr);
    const doc = parseJsonOutput(result.stdout);
    assert.ok(doc.bindsFirst, 'bindsFirst');
    assert.deepEqual([doc.bindsFirst.limit, doc.bindsFirst.rule, doc.bindsFirst.remaining], ['four-hour', 'exhausted-resets-last', 0]);
    const human = await quota(emulator);
    assert.match(human.stdout, /Binds first: the subscription's 4-hour cap \(0 of 1\.25 USD left, 0%; resets at .*\): it is used up\./);
  });

  it('"unlimited" and no subscription: nothing binds', async () => {
    const emulator = await start({ dailyQuota: null });
    const result = await quota(emulator, ['--json']);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(parseJsonOutput(result.stdout).bindsFirst, null);
    assert.match((await quota(emulator)).stdout, /Binds first: nothing; the daily quota is unlimited and no subscription cap applies\./);
  });
});
