// `quota` end to end against the emulator's management listener, in every shape the endpoints take:
// the default `{"*": N}`, a list of rows, a missing /users/me/quotas, "unlimited", a subscription,
// an exhausted quota, a rejected key. It must never spend an inference request.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseQuotas, parseQuotaUsage, parseSubscriptionUsage, summariseQuota } from '../../dist/quota/usage.js';
import { FAKE_KEY, closedPortUrl, emulatorPool, parseJsonOutput, runCli } from '../helpers/cli.js';

const ENV = { CHUTES_API_KEY: FAKE_KEY };
const SUBSCRIPTION = { monthlyPrice: 20, monthly: { usage: 1200, cap: 5000 }, fourHour: { usage: 40, cap: 300 } };

const start = emulatorPool();

function nextMidnightIso() {
  return new Date((Math.floor(Date.now() / 86_400_000) + 1) * 86_400_000).toISOString();
}

function assertNoKey(result) {
  for (const secret of [FAKE_KEY, ...FAKE_KEY.split('.').slice(1)]) {
    assert.ok(!result.stdout.includes(secret) && !result.stderr.includes(secret), 'the key never appears in the output');
  }
}

function assertNoInference(emulator) {
  assert.deepEqual(emulator.arrivals.filter((a) => a.listener === 'llm'), [], 'no inference request spent');
}


/**
 * @param {import('../../dist/emulator/server.js').Emulator} emulator
 * @param {string[]} [args]
 * @param {Record<string, string>} [env]
 */
async function quota(emulator, args = [], env = ENV) {
  const result = await runCli(['quota', '--api-base-url', emulator.apiUrl, '--base-url', emulator.url, ...args], { env });
  assertNoKey(result);
  assertNoInference(emulator);
  return result;
}

describe('quota: every shape of the management endpoints', { concurrency: true }, () => {
  it('default {"*": N}: daily, used, remaining, reset at the next 00:00 UTC', async () => {
    const emulator = await start({ dailyQuota: 200, quotaUsed: 150 });
    const result = await quota(emulator, ['--json']);
    assert.equal(result.code, 0, result.stderr);
    const doc = parseJsonOutput(result.stdout);
    assert.equal(doc.command, 'quota');
    assert.equal(doc.target.key, 'cpk_…0000');
    assert.deepEqual(doc.quota, { daily: 200, used: 150, remaining: 50, resetsAt: nextMidnightIso(), unlimited: false, source: 'quota_usage' });
    assert.deepEqual(doc.perChute, [{ chuteId: '*', quota: 200, isDefault: true }]);
    assert.equal(doc.subscription, null);
    assert.equal(doc.responses.length, 3);
    assert.ok(emulator.arrivals.every((a) => a.listener === 'api' && a.path.startsWith('/users/me')));
  });

  it('a list of quota rows', async () => {
    const emulator = await start({ dailyQuota: 2000, quotaUsed: 3, quotasEndpoint: 'list' });
    const doc = parseJsonOutput((await quota(emulator, ['--json'])).stdout);
    assert.deepEqual([doc.quota.daily, doc.quota.remaining], [2000, 1997]);
    assert.deepEqual(doc.perChute, [{ chuteId: '*', quota: 2000, isDefault: true }]);
  });

  it('/users/me/quotas missing (404): says which endpoint, and continues', async () => {
    const emulator = await start({ quotasEndpoint: 'missing', quotaUsed: 10 });
    const result = await quota(emulator, ['--json']);
    assert.equal(result.code, 0, result.stderr);
    const doc = parseJsonOutput(result.stdout);
    assert.deepEqual(doc.endpoints['/users/me/quotas'], { status: 404, state: 'missing' });
    assert.equal(doc.quota.remaining, 190);
    assert.ok(doc.notes.some((n) => n.startsWith('/users/me/quotas') && n.includes('404')));
    const human = await quota(emulator);
    assert.match(human.stdout, /\/users\/me\/quotas \(quota table\): not found \(404\)/);
    assert.match(human.stdout, /remaining\s+│ 190/);
  });

  it('"unlimited": no daily figure, no remaining, no reset; exit 0', async () => {
    const emulator = await start({ dailyQuota: null });
    const result = await quota(emulator, ['--json']);
    assert.equal(result.code, 0, result.stderr);
    const doc = parseJsonOutput(result.stdout);
    assert.deepEqual(doc.quota, { daily: null, used: 0, remaining: null, resetsAt: null, unlimited: true, source: 'quota_usage' });
    assert.match((await quota(emulator)).stdout, /unlimited/);
  });

  it('a subscription: monthly and 4-hour caps', async () => {
    const emulator = await start({ subscription: SUBSCRIPTION });
    const result = await quota(emulator, ['--json']);
    assert.equal(result.code, 0, result.stderr);
    const doc = parseJsonOutput(result.stdout);
    assert.deepEqual(
      { ...doc.subscription, monthly: { ...doc.subscription.monthly, resetAt: 'x' }, fourHour: { ...doc.subscription.fourHour, resetAt: 'x' } },
      {
        active: true,
        monthlyPrice: 20,
        monthly: { usage: 1200, cap: 5000, remaining: 3800, resetAt: 'x', uncapped: false },
        fourHour: { usage: 40, cap: 300, remaining: 260, resetAt: 'x', uncapped: false },
        custom: false,
        anchorDate: doc.subscription.anchorDate,
        effectiveDate: doc.subscription.effectiveDate,
        updatedAt: doc.subscription.updatedAt,
      },
    );
    const human = await quota(emulator);
    assert.match(human.stdout, /Subscription \(\$20\/month\)/);
    assert.match(human.stdout, /4-hour\s+│ 40\s+│ 300\s+│ 260/);
  });

  it('quota used up: exit 3 with the reset time', async () => {
    const emulator = await start({ dailyQuota: 5, quotaUsed: 5 });
    const result = await quota(emulator, ['--json']);
    assert.equal(result.code, 3, result.stderr);
    const doc = parseJsonOutput(result.stdout);
    assert.equal(doc.quota.remaining, 0);
    assert.equal(doc.verdict.code, 'daily-quota-exhausted');
    assert.ok(doc.verdict.message.includes(nextMidnightIso()));
  });

  it('a rejected key: exit 4 with a verdict', async () => {
    const emulator = await start({ apiKey: FAKE_KEY.replace('FAKE', 'REAL') });
    const result = await quota(emulator, ['--json']);
    assert.equal(result.code, 4, result.stderr);
    assert.equal(parseJsonOutput(result.stdout).verdict.code, 'invalid-api-key');
    const human = await quota(emulator);
    assert.match(human.stdout, /Verdict \[invalid-api-key\]/);
  });

  it('--auth x-api-key: warned that Chutes ignores it, and the key goes in Authorization', async () => {
    const emulator = await start({ quotaUsed: 1 });
    const result = await quota(emulator, ['--auth', 'x-api-key', '--json']);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, /never reads X-API-Key/);
    assert.equal(parseJsonOutput(result.stdout).quota.used, 1);
  });

  it('no key: exit 2 before anything is sent, naming CHUTES_API_KEY', async () => {
    const emulator = await start();
    const result = await quota(emulator, [], {});
    assert.equal(result.code, 2, result.stderr);
    assert.match(result.stderr, /CHUTES_API_KEY/);
    assert.equal(emulator.arrivals.length, 0);
  });

  it('--api-base-url pointing at the inference host: every endpoint 404s, exit 5', async () => {
    const emulator = await start();
    const result = await runCli(['quota', '--api-base-url', emulator.url, '--json'], { env: ENV });
    assert.equal(result.code, 5, result.stderr);
    const doc = parseJsonOutput(result.stdout);
    assert.equal(doc.quota.source, null);
    assert.ok(Object.values(doc.endpoints).every((e) => e.state === 'missing'));
  });

  it('management host unreachable: exit 6', async () => {
    const result = await runCli(['quota', '--api-base-url', await closedPortUrl(), '--json'], { env: ENV });
    assert.equal(result.code, 6, result.stderr);
    assert.equal(parseJsonOutput(result.stdout).verdict.code, 'connection-refused');
  });
});

describe('quota parsers', () => {
  it('quota_usage bodies', () => {
    assert.deepEqual(parseQuotaUsage({ quota: 200, used: 3 }), { daily: 200, unlimited: false, used: 3 });
    assert.deepEqual(parseQuotaUsage({ quota: '300', used: '7' }), { daily: 300, unlimited: false, used: 7 });
    assert.deepEqual(parseQuotaUsage({ quota: 'unlimited', used: 0 }), { daily: null, unlimited: true, used: 0 });
    assert.equal(parseQuotaUsage({ detail: 'Not Found' }), null);
    assert.equal(parseQuotaUsage(null), null);
  });

  it('quotas bodies', () => {
    assert.deepEqual(parseQuotas({ '*': 200 }), { daily: 200, unlimited: false, perChute: [{ chuteId: '*', quota: 200, isDefault: true }] });
    assert.deepEqual(parseQuotas({}), { daily: null, unlimited: true, perChute: [] });
    const rows = [{ chute_id: 'abc', quota: 10, is_default: false }, { chute_id: '*', quota: 5000, is_default: true }];
    assert.equal(parseQuotas(rows).daily, 5000);
    assert.equal(parseQuotas(rows).perChute.length, 2);
  });

  it('subscription bodies', () => {
    assert.equal(parseSubscriptionUsage({ subscription: false }), null);
    assert.deepEqual(parseSubscriptionUsage({ subscription: true, monthly_price: 3, monthly: { usage: 5, cap: 10 } }), {
      monthlyPrice: 3, monthly: { usage: 5, cap: 10, remaining: 5, resetAt: null, uncapped: false }, fourHour: null,
      custom: null, anchorDate: null, effectiveDate: null, updatedAt: null,
    });
  });

  it('summariseQuota falls back to the quotas table when quota_usage is missing', () => {
    const now = Date.UTC(2026, 0, 15, 12);
    assert.deepEqual(summariseQuota(null, { daily: 300, unlimited: false, perChute: [] }, now), {
      daily: 300, used: null, remaining: null, resetsAt: '2026-01-16T00:00:00.000Z', unlimited: false, source: 'quotas',
    });
  });
});

describe('quota under GitHub Actions', { concurrency: true }, () => {
  const ghEnv = () => {
    const summary = join(mkdtempSync(join(tmpdir(), 'chutes-diag-gh-quota-')), 'summary.md');
    writeFileSync(summary, '');
    return { summary, env: { ...ENV, GITHUB_ACTIONS: 'true', GITHUB_STEP_SUMMARY: summary } };
  };

  it('a summary with daily, used, remaining, resets at and subscription; under 10 % left is a warning', async () => {
    const emulator = await start({ dailyQuota: 200, quotaUsed: 185, subscription: SUBSCRIPTION });
    const { summary, env } = ghEnv();
    const result = await quota(emulator, [], env);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^::warning title=chutes-diag quota::Only 15 of 200 requests left today \(under 10%25\)/m, 'the runner wants % escaped as %25');
    assert.doesNotMatch(result.stdout, /^::error/m);
    const md = readFileSync(summary, 'utf8');
    assert.match(md, /^### chutes-diag quota\n\n15 of 200 requests left today \(185 used\); resets at /);
    assert.match(md, /^\| daily \| 200 requests \|$/m);
    assert.match(md, /^\| used \| 185 \|$/m);
    assert.match(md, /^\| remaining \| 15 \|$/m);
    assert.match(md, new RegExp(`^\\| resets at \\| ${nextMidnightIso().replace(/\./g, '\\.')} \\|$`, 'm'));
    assert.match(md, /^\| subscription \| \$20\/month; monthly 1200 of 5000 used \(3800 left\); 4-hour 40 of 300 used \(260 left\) \|$/m);
    assert.match(md, /^- :warning: Only 15 of 200/m);
    assert.ok(!md.includes(FAKE_KEY));
  });

  it('plenty left: no annotation; used up: an error (exit 3), on stderr with --json; a rejected key: an error (exit 4)', async () => {
    const { summary, env } = ghEnv();
    const plenty = await quota(await start({ dailyQuota: 200, quotaUsed: 20 }), [], env);
    assert.equal(plenty.code, 0, plenty.stderr);
    assert.doesNotMatch(plenty.stdout, /^::/m);
    assert.match(readFileSync(summary, 'utf8'), /\| subscription \| none \|/);

    const usedUp = await quota(await start({ dailyQuota: 5, quotaUsed: 5 }), ['--json'], env);
    assert.equal(usedUp.code, 3, usedUp.stderr);
    parseJsonOutput(usedUp.stdout);
    assert.match(usedUp.stderr, /^::error title=chutes-diag quota::The daily quota of 5 requests is used up/m);

    const rejected = await quota(await start({ apiKey: FAKE_KEY.replace('FAKE', 'REAL') }), [], env);
    assert.equal(rejected.code, 4, rejected.stderr);
    assert.match(rejected.stdout, /^::error title=chutes-diag quota::401/m);

    const md = readFileSync(summary, 'utf8');
    assert.equal(md.match(/### chutes-diag quota/g).length, 3);
    assert.match(md, /^- :x: The daily quota of 5 requests is used up/m);
  });
});
