// `probe` in Chutes mode end to end: the plan names the ban risk before anything is sent, the run stops
// at its refusal budget and at the quota share, and the new options are checked like the others. Only
// counts and what the emulator logged are asserted, never durations.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { emulatorPool, FAKE_KEY, parseJsonOutput, runCli } from '../helpers/cli.js';

const ENV = { CHUTES_API_KEY: FAKE_KEY };
const emulator = emulatorPool();

function probe(url, args) {
  return runCli(['probe', '--base-url', url, ...args], { env: ENV, timeoutMs: 120_000 });
}

describe('probe: Chutes mode', () => {
  it('the plan for a *.chutes.ai host names the ban risk and the quota check before anything is sent', async () => {
    const res = await probe('https://llm.chutes.ai', ['--dry-run', '--rpm', '120']);
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stdout, /Chutes: each refused request can lengthen an edge ban, up to a day: the probe stops at the first refusal; --allow-refusals N to allow more\./);
    assert.match(res.stdout, /a plan over --max-quota-share of it needs --yes/);
    const more = await probe('https://llm.chutes.ai', ['--dry-run', '--allow-refusals', '3']);
    assert.match(more.stdout, /the probe stops after 3 refusals/);
  });

  it('bad --allow-refusals or --max-quota-share: one error line, exit 2', async () => {
    for (const args of [['--allow-refusals', '0'], ['--allow-refusals', 'abc'], ['--max-quota-share', '101'], ['--max-quota-share', 'ten']]) {
      const res = await probe('https://llm.chutes.ai', ['--dry-run', ...args]);
      assert.equal(res.code, 2, `${args.join(' ')}: ${res.stderr}`);
      assert.match(res.stderr, new RegExp(`^error: .*${args[0]}`, 'm'), `${args.join(' ')}: ${res.stderr}`);
      assert.doesNotMatch(res.stderr, /\n\s+at /, 'no stack trace');
    }
  });

  it('an eager probe on the Chutes profile (quota headers) provokes one refusal and says why it stopped', async () => {
    const e = await emulator({ limit: 10, windowMs: 60_000, headers: 'chutes', dailyQuota: 5000 });
    const res = await probe(e.url, ['--json', '--rpm', '600', '--max-requests', '40']);
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stderr, /each refused request can lengthen an edge ban, up to a day/);
    assert.match(res.stderr, /this plan may spend up to 40 of the 4999 requests left/);
    const doc = parseJsonOutput(res.stdout);
    const refused = doc.responses.filter((r) => r.status === 429);
    assert.equal(refused.length, 1, `${refused.length} refusals`);
    const inference = e.arrivals.filter((a) => a.path === '/v1/chat/completions');
    assert.equal(inference.length, doc.responses.length, 'nothing sent after the refusal but what was answered');
    const { rate, concurrency } = doc.estimate;
    assert.ok(rate, 'an estimate of the rate');
    assert.equal(rate.limit, 10, JSON.stringify(rate));
    assert.equal(rate.windowSeconds, null);
    assert.equal(rate.penalty, null);
    assert.match(rate.explanation, /stopped provoking there/);
    assert.equal(concurrency.limit, null);
    assert.equal(doc.stopReason, 'refusals');
  });

  it('a plan over --max-quota-share of the quota left stops after the first answer, without an error', async () => {
    const e = await emulator({ limit: 10, windowMs: 60_000, headers: 'chutes', dailyQuota: 200 });
    const res = await probe(e.url, ['--json', '--rpm', '600']);
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stderr, /up to 60 of the 199 requests left of today's quota \(30\.2 %\), over --max-quota-share 10 %/);
    const doc = parseJsonOutput(res.stdout);
    assert.equal(doc.responses.length, 1);
    assert.equal(doc.stopReason, 'quota-share');
    assert.ok(doc.warnings.some((w) => /--yes \(or lower --max-requests\) to measure/.test(w)), JSON.stringify(doc.warnings));
  });
});
