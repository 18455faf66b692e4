// The 2026 Chutes shapes end to end (issue #14 part 3): the emulator answers each one exactly as
// chutes-facts.md has it, and `chutes-diag headers` names it, with the contract's exit code (402/429 → 3).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FAKE_KEY, emulatorPool, parseJsonOutput, runCli } from '../helpers/cli.js';

const env = { CHUTES_API_KEY: FAKE_KEY };
const emulator = emulatorPool();

const detail = (text) => ({ detail: text });

// [emulator options, status, the body the emulator must send, verdict code, exit code, what the hint says]
/** @type {Array<[string, Record<string, unknown>, number, (model: string) => unknown, string, number, RegExp]>} */
const SHAPES = [
  ['fault tee-402', { fault: 'tee-402' }, 402,
    () => detail('TEE models require an active subscription or positive balance.'), 'tee-model-needs-balance', 3, /non-TEE model/],
  ['fault tier-402', { fault: 'tier-402' }, 402,
    () => detail('This model requires a higher subscription tier or positive balance.'), 'model-tier-required', 3, /Upgrade the subscription or add balance/],
  ['fault subscription-cap', { fault: 'subscription-cap' }, 402,
    () => detail('Subscription usage cap exceeded. Please add balance to continue.'), 'subscription-cap-exceeded', 3, /chutes-diag quota/],
  ['a spent 4-hour subscription cap', { subscription: { monthlyPrice: 10, monthly: { usage: 3, cap: 50 }, fourHour: { usage: 4.17, cap: 4.17 } } }, 402,
    () => detail('Subscription usage cap exceeded. Please add balance to continue.'), 'subscription-cap-exceeded', 3, /4-hour/],
  ['fault free-limit (the full message)', { fault: 'free-limit' }, 429,
    () => detail('Free models limit reached for today - maintain >= $10 balance or upgrade subscription to pro to unlock more.'),
    'free-model-daily-cap', 3, /at least \$10/],
  ['fault maintenance', { fault: 'maintenance' }, 429,
    () => detail('model is under maintenance'), 'model-under-maintenance', 3, /another model/],
  ['fault openrouter-429', { fault: 'openrouter-429' }, 429,
    (model) => ({
      error: {
        message: 'Provider returned error',
        code: 429,
        metadata: {
          raw: `${model} is temporarily rate-limited upstream. Please retry shortly, or add your own key to accumulate your rate limits: https://openrouter.ai/settings/integrations`,
          provider_name: 'Chutes',
        },
      },
      user_id: 'user_emulator',
    }),
    'openrouter-chutes-upstream-limit', 3, /"ignore": \["Chutes"\]/],
];

for (const [name, options, status, body, code, exit, hint] of SHAPES) {
  test(`headers, ${name}: ${status} → ${code}, exit ${exit}`, async () => {
    const e = await emulator(options);
    const model = 'Qwen/Qwen3-32B-TEE';
    const result = await runCli(['headers', '--base-url', e.url, '-m', model, '--json', '--all'], { env });
    assert.equal(result.code, exit, `exit code; stderr: ${result.stderr}`);
    const doc = parseJsonOutput(result.stdout);
    const [record] = doc.results ?? [];
    assert.ok(record, `one result in ${result.stdout.slice(0, 300)}`);
    assert.equal(record.status, status);
    assert.equal(record.headers['content-type'], 'application/json');
    assert.deepEqual(JSON.parse(record.body), body(model), 'the emulator answers exactly as Chutes (or OpenRouter) does');
    assert.ok(record.verdict, 'a verdict');
    assert.equal(record.verdict.code, code);
    assert.match(record.verdict.hint, hint);
    assert.equal(doc.exitCode, exit);
    assert.ok(!result.stdout.includes(FAKE_KEY) && !result.stderr.includes(FAKE_KEY), 'the key never appears');

    const human = await runCli(['headers', '--base-url', e.url, '-m', model], { env });
    assert.equal(human.code, exit, human.stderr);
    assert.match(human.stdout, new RegExp(`\\[${code}\\]|${code}`), 'the human output names the verdict');
  });
}

test('mock --fault accepts the 2026 shapes and still rejects an unknown one', async () => {
  const { emulatorOptionsFrom } = await import('../../dist/commands/mock.js');
  /** @type {import('../../dist/commands/mock.js').MockOptions} */
  const base = { port: 0, apiPort: 0, host: '127.0.0.1', limit: 0, window: 60_000, algorithm: 'fixed-window', dailyQuota: 200, headers: 'chutes', latency: 0 };
  for (const fault of ['tee-402', 'tier-402', 'subscription-cap', 'maintenance', 'openrouter-429']) {
    assert.equal(emulatorOptionsFrom({ ...base, fault }).fault, fault);
  }
  const bad = await runCli(['mock', '--port', '0', '--fault', 'meteor']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--fault: unknown kind "meteor"; expected one of .*maintenance.*openrouter-429/);
});
