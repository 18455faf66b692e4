// `doctor` end to end: one emulator per misconfiguration, and the verdict must name that cause.
// Every run also checks that the key never reaches stdout or stderr.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { FAKE_KEY, emulatorPool, parseJsonOutput, runCli } from '../helpers/cli.js';

const OTHER_KEY = FAKE_KEY.replace('FAKE', 'REAL');
const CHECK_ORDER = [
  'key-present', 'key-format', 'base-url', 'auth-scheme', 'inference-reachable', 'management-reachable', 'key-valid', 'quota', 'inference',
];

const start = emulatorPool();

function assertNoKey(result, key = FAKE_KEY) {
  for (const secret of [key, key.trim(), ...key.trim().split(/[.\s]/).filter((part) => part.length >= 12)]) {
    assert.ok(!result.stdout.includes(secret) && !result.stderr.includes(secret), 'the key never appears in the output');
  }
}

/** Runs doctor --json against the emulator; `args` may say 'API' for the emulator's management URL. */
async function doctor(emulator, { key = FAKE_KEY, args = [], json = true } = {}) {
  const argv = ['doctor', '--base-url', emulator.url, '--api-base-url', emulator.apiUrl, ...args.map((a) => (a === 'API' ? emulator.apiUrl : a))];
  const result = await runCli(json ? [...argv, '--json'] : argv, { env: key === null ? {} : { CHUTES_API_KEY: key } });
  assertNoKey(result, key ?? FAKE_KEY);
  assert.ok(!json || result.stdout.trim().startsWith('{'), `expected one JSON document, got stdout ${JSON.stringify(result.stdout.slice(0, 200))}, stderr ${JSON.stringify(result.stderr.slice(0, 300))}`);
  return { result, doc: json ? parseJsonOutput(result.stdout) : null };
}

/** A loopback port with nothing listening: bound, then released (port 1 may be taken by a user's mock). */
async function closedPortUrl() {
  const server = createServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return `http://127.0.0.1:${port}`;
}

const statusOf = (doc, id) => doc.checks.find((c) => c.id === id)?.status;

describe('doctor names the cause of each misconfiguration', { concurrency: true }, () => {
  it('a healthy setup: every check passes, exit 0, one inference request', async () => {
    const emulator = await start();
    const { result, doc } = await doctor(emulator);
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(doc.checks.map((c) => c.id), CHECK_ORDER);
    assert.ok(doc.checks.every((c) => c.status === 'pass'), JSON.stringify(doc.checks, null, 1));
    assert.equal(doc.verdict.code, 'no-problem-found');
    assert.equal(doc.target.key, 'cpk_…0000');
    assert.equal(emulator.arrivals.filter((a) => a.listener === 'llm').length, 1);
  });

  it('--skip-inference spends nothing', async () => {
    const emulator = await start();
    const { result, doc } = await doctor(emulator, { args: ['--skip-inference'] });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(statusOf(doc, 'inference'), 'skip');
    assert.equal(doc.inference, null);
    assert.deepEqual(emulator.arrivals.filter((a) => a.listener === 'llm'), []);
  });

  it('--auth x-api-key → x-api-key-ignored, exit 1', async () => {
    const emulator = await start();
    const { result, doc } = await doctor(emulator, { args: ['--auth', 'x-api-key'] });
    assert.equal(result.code, 1, result.stderr);
    assert.equal(doc.verdict.code, 'x-api-key-ignored');
    assert.match(doc.verdict.hint, /Authorization: Bearer/);
    assert.equal(statusOf(doc, 'auth-scheme'), 'fail');
    assert.equal(statusOf(doc, 'key-valid'), 'pass', 'the key itself is fine');
  });

  it('wrong host (--base-url is the management host) → wrong-host, exit 1', async () => {
    const emulator = await start();
    const { result, doc } = await doctor(emulator, { args: ['--base-url', 'API'] });
    assert.equal(result.code, 1, result.stderr);
    assert.equal(doc.verdict.code, 'wrong-host');
    assert.match(doc.verdict.hint, /llm\.chutes\.ai/);
    assert.equal(statusOf(doc, 'base-url'), 'fail');
  });

  it('a malformed key (accepted by a lenient server) → malformed-api-key, exit 1', async () => {
    const emulator = await start();
    const malformed = `cpk_${'0'.repeat(32)}.${'f'.repeat(20)}`;
    const { result, doc } = await doctor(emulator, { key: malformed });
    assert.equal(result.code, 1, result.stderr);
    assert.equal(doc.verdict.code, 'malformed-api-key');
    assert.equal(statusOf(doc, 'key-format'), 'fail');
  });

  it('"Bearer " stored in CHUTES_API_KEY → malformed-api-key, and no crash', async () => {
    const emulator = await start();
    const { result, doc } = await doctor(emulator, { key: `Bearer ${FAKE_KEY}` });
    assert.equal(result.code, 1, result.stderr);
    assert.equal(doc.verdict.code, 'malformed-api-key');
    assert.match(doc.verdict.message, /starts with "Bearer "/);
  });

  it('a key pasted with a trailing newline → a warning only (chutes-diag strips it), exit 0', async () => {
    const emulator = await start();
    const { result, doc } = await doctor(emulator, { key: `${FAKE_KEY}\n` });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(statusOf(doc, 'key-format'), 'warn');
    assert.equal(doc.verdict.code, 'key-has-extra-characters');
  });

  it('a key the server does not know → invalid-api-key, exit 4', async () => {
    const emulator = await start({ apiKey: OTHER_KEY });
    const { result, doc } = await doctor(emulator);
    assert.equal(result.code, 4, result.stderr);
    assert.match(result.stderr, /^error: 401/m);
    assert.equal(doc.verdict.code, 'invalid-api-key');
    assert.equal(statusOf(doc, 'key-valid'), 'fail');
  });

  it('no key at all → missing-api-key, exit 1', async () => {
    const emulator = await start();
    const { result, doc } = await doctor(emulator, { key: null });
    assert.equal(result.code, 1, result.stderr);
    assert.equal(doc.verdict.code, 'missing-api-key');
    assert.equal(statusOf(doc, 'key-valid'), 'skip');
  });

  it('the daily quota used up → daily-quota-exhausted with the reset time, exit 1', async () => {
    const emulator = await start({ dailyQuota: 5, quotaUsed: 5 });
    const { result, doc } = await doctor(emulator);
    assert.equal(result.code, 1, result.stderr);
    assert.equal(doc.verdict.code, 'daily-quota-exhausted');
    const midnight = new Date((Math.floor(Date.now() / 86_400_000) + 1) * 86_400_000).toISOString();
    assert.ok(doc.verdict.message.includes(midnight), doc.verdict.message);
    assert.equal(statusOf(doc, 'quota'), 'fail');
    assert.equal(doc.inference.status, 402);
  });

  it('capacity errors → capacity-at-maximum (not your quota), a warning, exit 0', async () => {
    const emulator = await start({ fault: 'capacity' });
    const { result, doc } = await doctor(emulator);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(doc.verdict.code, 'capacity-at-maximum');
    assert.match(doc.verdict.message, /not your quota/);
    assert.equal(statusOf(doc, 'inference'), 'warn');
  });

  it('an unreachable inference host → host-unreachable, exit 6', async () => {
    const emulator = await start();
    const { result, doc } = await doctor(emulator, { args: ['--base-url', await closedPortUrl()] });
    assert.equal(result.code, 6, result.stderr);
    assert.equal(doc.verdict.code, 'host-unreachable');
    assert.equal(statusOf(doc, 'inference-reachable'), 'fail');
    assert.equal(statusOf(doc, 'inference'), 'skip');
  });

  it('human output: one line per check, the verdict and the fix, only the fingerprint', async () => {
    const emulator = await start();
    const { result } = await doctor(emulator, { args: ['--auth', 'x-api-key'], json: false });
    assert.equal(result.code, 1, result.stderr);
    assert.match(result.stdout, /^FAIL {2}auth-scheme/m);
    assert.match(result.stdout, /^PASS {2}key-present .*cpk_…0000/m);
    assert.match(result.stdout, /Verdict \[x-api-key-ignored\]/);
    assert.match(result.stdout, /Fix {5}Send the key as `Authorization: Bearer <key>`/);
  });
});
