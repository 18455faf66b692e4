// `chutes-diag headers` as a user runs it: the built CLI against the emulator on loopback.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEmulator } from '../../dist/emulator/server.js';
import { runCli, FAKE_KEY, emulatorPool } from '../helpers/cli.js';

const env = { CHUTES_API_KEY: FAKE_KEY };
const WINDOW_S = 600; // long, so the window cannot roll over during the test

/** What each header mode must report after the first request of a fresh key (limit 7). */
const modes = [
  { headers: 'x-ratelimit', name: 'default', dialect: 'x-ratelimit', window: null },
  { headers: 'ietf', name: 'default', dialect: 'ietf-draft-8', window: WINDOW_S },
  { headers: 'openai', name: 'requests', dialect: 'openai', window: null },
  { headers: 'anthropic', name: 'requests', dialect: 'anthropic', window: null },
];

const emulator = emulatorPool();

for (const mode of modes) {
  test(`--json in ${mode.headers} mode reports the emulator's limit, remaining, reset and window`, async () => {
    const e = await emulator({ limit: 7, windowMs: WINDOW_S * 1000, headers: mode.headers, algorithm: 'fixed-window' });
    const { code, stdout, stderr } = await runCli(['headers', '--base-url', e.url, '--json'], { env });
    assert.equal(code, 0, stderr);
    const doc = JSON.parse(stdout);
    assert.equal(doc.schemaVersion, 1);
    assert.equal(doc.command, 'headers');
    assert.equal(doc.exitCode, 0);
    const [record] = doc.results;
    assert.equal(record.status, 200);
    assert.equal(record.outcome, 'ok');
    const policy = record.rateLimit.policies.find((p) => p.unit === 'requests' && p.dialect === mode.dialect);
    assert.ok(policy, `no requests policy in ${JSON.stringify(record.rateLimit)}`);
    assert.equal(policy.limit, 7);
    assert.equal(policy.remaining, 6);
    assert.equal(policy.windowSeconds, mode.window);
    // Fixed windows are aligned to the epoch: the reset is somewhere inside the window.
    assert.ok(policy.resetSeconds > 0 && policy.resetSeconds <= WINDOW_S + 1, `resetSeconds ${policy.resetSeconds}`);
  });
}

test('chutes mode: X-Chutes-RL-User and the daily quota headers are parsed', async () => {
  const e = await emulator({ limit: 60, headers: 'chutes', dailyQuota: 200 });
  const { code, stdout } = await runCli(['headers', '--base-url', e.url, '--json'], { env });
  assert.equal(code, 0);
  const [record] = JSON.parse(stdout).results;
  const quota = record.rateLimit.policies.find((p) => p.name === 'daily-quota');
  assert.equal(quota.limit, 200);
  assert.equal(quota.remaining, 199);
  assert.equal(quota.windowSeconds, 86400);
  const user = record.rateLimit.policies.find((p) => p.sources.includes('x-chutes-rl-user'));
  assert.equal(user.limit, 60);
});

test('a limited response exits 3 and names the exhausted policy', async () => {
  const e = await emulator({ limit: 1, windowMs: 600_000, algorithm: 'sliding-window', headers: 'x-ratelimit' }); // sliding: no window boundary between the requests
  const { code, stdout } = await runCli(['headers', '--base-url', e.url, '-n', '2', '--json'], { env });
  assert.equal(code, 3);
  const doc = JSON.parse(stdout);
  assert.equal(doc.results.length, 2);
  assert.equal(doc.results[1].status, 429);
  assert.equal(doc.results[1].outcome, 'rate_limited');
  assert.ok(doc.results[1].rateLimit.retryAfterSeconds > 0);
});

test('X-API-Key is ignored by Chutes: the verdict says so and how to fix it', async () => {
  const e = await emulator({});
  const { code, stdout } = await runCli(['headers', '--base-url', e.url, '--auth', 'x-api-key'], { env });
  assert.equal(code, 3);
  assert.match(stdout, /x-api-key-ignored/);
  assert.match(stdout, /Authorization: Bearer/);
});

test('no key at all: anonymous edge limit, with a warning on stderr', async () => {
  const e = await emulator({});
  const { code, stdout, stderr } = await runCli(['headers', '--base-url', e.url, '--json'], { env: {} });
  assert.equal(code, 3);
  assert.equal(JSON.parse(stdout).results[0].verdict.code, 'anonymous-edge-limit');
  assert.match(stderr, /no API key/);
});

test('inference sent to the management host: wrong-host verdict, exit 5', async () => {
  const e = await emulator({});
  const { code, stdout } = await runCli(['headers', '--base-url', e.apiUrl, '--json'], { env });
  assert.equal(code, 5);
  assert.equal(JSON.parse(stdout).results[0].verdict.code, 'wrong-host');
});

test('a bad key exits 4', async () => {
  const e = await emulator({ apiKey: `cpk_${'1'.repeat(32)}.${'2'.repeat(32)}.${'3'.repeat(32)}` });
  const { code, stdout } = await runCli(['headers', '--base-url', e.url, '--json'], { env });
  assert.equal(code, 4);
  assert.equal(JSON.parse(stdout).results[0].outcome, 'auth_error');
});

test('402 daily quota exhausted exits 3 with the reset time', async () => {
  const e = await emulator({ dailyQuota: 3, quotaUsed: 3 });
  const { code, stdout } = await runCli(['headers', '--base-url', e.url, '--json'], { env });
  assert.equal(code, 3);
  const [record] = JSON.parse(stdout).results;
  assert.equal(record.status, 402);
  assert.equal(record.verdict.code, 'daily-quota-exhausted');
  assert.match(record.verdict.message, /T00:00:00/);
});

for (const [fault, status, verdict, exit] of [
  ['capacity', 429, 'capacity-at-maximum', 3],
  ['no-instances', 503, 'model-cold', 5],
  ['disabled', 503, 'model-disabled', 5],
  ['no-infrastructure', 500, 'no-infrastructure', 5],
]) {
  test(`fault ${fault}: ${status} → ${verdict}, exit ${exit}`, async () => {
    const e = await emulator({ fault });
    const { code, stdout } = await runCli(['headers', '--base-url', e.url, '--json'], { env });
    const [record] = JSON.parse(stdout).results;
    assert.equal(record.status, status);
    assert.equal(record.verdict.code, verdict);
    assert.equal(code, exit);
  });
}

test('CI assertions: --expect-status and --min-remaining pass (0) and fail (1)', async () => {
  const e = await emulator({ limit: 10, windowMs: 600_000, algorithm: 'sliding-window', headers: 'ietf' }); // sliding: no window boundary between the requests
  const pass = await runCli(['headers', '--base-url', e.url, '--expect-status', '200', '--min-remaining', '5'], { env });
  assert.equal(pass.code, 0, pass.stdout);
  assert.match(pass.stdout, /PASS min-remaining/);
  const fail = await runCli(['headers', '--base-url', e.url, '--min-remaining', '9', '--json'], { env });
  assert.equal(fail.code, 1);
  assert.equal(JSON.parse(fail.stdout).assertions[0].passed, false);
  const status = await runCli(['headers', '--base-url', e.url, '--expect-status', '429'], { env });
  assert.equal(status.code, 1);
});

test('--min-remaining without any remaining header fails: it cannot be checked', async () => {
  const e = await emulator({ headers: 'none' });
  const { code, stdout } = await runCli(['headers', '--base-url', e.url, '--min-remaining', '1'], { env });
  assert.equal(code, 1);
  assert.match(stdout, /cannot check --min-remaining/);
});

test('--out appends one JSON line per response; the key is in no output', async () => {
  const e = await emulator({ headers: 'x-ratelimit' });
  const dir = mkdtempSync(join(tmpdir(), 'chutes-diag-'));
  const out = join(dir, 'out.jsonl');
  const { code, stdout, stderr } = await runCli(['headers', '--base-url', e.url, '-n', '3', '--out', out, '--all', '--verbose'], { env });
  assert.equal(code, 0, stderr);
  const lines = readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.deepEqual(lines.map((l) => l.seq), [1, 2, 3]);
  for (const text of [stdout, stderr, readFileSync(out, 'utf8')]) {
    assert.ok(!text.includes(FAKE_KEY), 'the key leaked');
    assert.ok(!text.includes(FAKE_KEY.slice(4, 36)), 'part of the key leaked');
  }
});

test('--all shows every response header', async () => {
  const e = await emulator({ headers: 'none' });
  const { stdout } = await runCli(['headers', '--base-url', e.url, '--all', '--json'], { env });
  assert.ok('content-type' in JSON.parse(stdout).results[0].headers);
});

test('a dead server exits 6 with a one-line error', async () => {
  const e = await startEmulator({ port: 0 });
  const url = e.url;
  await e.close();
  const { code, stdout, stderr } = await runCli(['headers', '--base-url', url], { env });
  assert.equal(code, 6);
  assert.equal(stderr.trim().split('\n').length, 1, stderr);
  assert.match(stderr, /connection refused/);
  assert.equal(stdout, '');
});

for (const [args, pattern] of /** @type {Array<[string[], RegExp]>} */ ([
  [['headers', '--count', '0'], /--count <n>.*whole number from 1/],
  [['headers', '--count', 'abc'], /--count <n>.*whole number/],
  [['headers', '--base-url', 'llm.chutes.ai'], /--base-url <url>.*did you mean https:\/\/llm\.chutes\.ai/],
  [['headers', '--timeout', 'soon'], /--timeout <duration>.*250ms/],
  [['headers', '--auth', 'basic'], /--auth <scheme>.*bearer, raw, x-api-key, none/],
  [['headers', '--bogus'], /unknown option '--bogus'/],
  [['headers', '-H', 'NoColon'], /--header.*Name: value/],
  [['headers', '--body', '{bad'], /--body: not valid JSON/],
  [['headers', '--body', '@/nonexistent/body.json'], /--body: cannot read/],
  [['heders'], /Did you mean headers/],
])) {
  test(`usage error exits 2: ${args.join(' ')}`, async () => {
    const { code, stderr } = await runCli(args, { env });
    assert.equal(code, 2, stderr);
    assert.match(stderr, pattern);
    assert.doesNotMatch(stderr, /\n\s+at /, 'no stack trace');
  });
}
