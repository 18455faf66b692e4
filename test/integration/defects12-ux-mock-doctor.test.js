// Issue #12 item 10: `mock` and `doctor` agree. The mock's "Try:" line suggests a well-formed dummy
// key and names both hosts, and doctor run exactly as suggested passes; a key the server accepted
// is never the verdict, whatever its shape.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { BIN, emulatorPool, parseJsonOutput, runCli } from '../helpers/cli.js';

const start = emulatorPool();

/** Starts `chutes-diag mock ...args` and resolves with its banner once it says how to stop it. */
async function startMock(args) {
  const child = spawn(process.execPath, [BIN, 'mock', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: process.env.PATH, HOME: process.env.HOME, NO_COLOR: '1' },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d) => { stdout += d; });
  child.stderr.setEncoding('utf8').on('data', (d) => { stderr += d; });
  const closed = once(child, 'close');
  while (!stdout.includes('Ctrl-C to stop')) {
    const ended = await Promise.race([once(child.stdout, 'data').then(() => false), closed.then(() => true)]);
    assert.ok(!ended || stdout.includes('Ctrl-C to stop'), `mock exited before it was ready: stdout ${JSON.stringify(stdout)}, stderr ${JSON.stringify(stderr)}`);
  }
  return { child, banner: stdout, closed };
}

test("the mock's Try: line gives a well-formed dummy key and both hosts; doctor run as it says passes", { timeout: 120_000 }, async () => {
  const mock = await startMock(['--port', '0', '--api-port', '0']);
  try {
    const inference = mock.banner.match(/inference \(llm\.chutes\.ai role\):\s+(\S+)/)?.[1];
    const management = mock.banner.match(/management \(api\.chutes\.ai role\):\s+(\S+)/)?.[1];
    assert.ok(inference && management, `the banner names both URLs: ${mock.banner}`);
    const tryLine = mock.banner.split('\n').find((line) => line.startsWith('Try:'));
    assert.ok(tryLine, `the banner has a Try: line: ${mock.banner}`);
    const suggested = tryLine.match(/^Try:\s+CHUTES_API_KEY=(\S+) chutes-diag (.+)$/);
    assert.ok(suggested, `Try: line in the form "CHUTES_API_KEY=<key> chutes-diag <args>": ${tryLine}`);
    const [, key, command] = suggested;
    assert.match(key, /^cpk_[a-f0-9]{32}\.[a-f0-9]{32}\.[a-zA-Z0-9]{32}$/, 'the suggested key has the Chutes key format');
    const args = command.trim().split(/\s+/);
    assert.equal(args[args.indexOf('--base-url') + 1], inference, `Try: names --base-url ${inference}: ${tryLine}`);
    assert.equal(args[args.indexOf('--api-base-url') + 1], management, `Try: names --api-base-url ${management}: ${tryLine}`);

    assert.equal(args[0], 'doctor', `Try: suggests doctor, the first step: ${tryLine}`);
    const ran = await runCli([...args, '--json'], { env: { CHUTES_API_KEY: key } });
    assert.equal(ran.code, 0, `doctor as suggested exits 0: ${ran.stdout.slice(0, 2000)} ${ran.stderr}`);
    const doc = parseJsonOutput(ran.stdout);
    assert.ok(Array.isArray(doc.checks), 'doctor --json has checks');
    assert.deepEqual(doc.checks.filter((c) => c.status !== 'pass').map((c) => `${c.id}: ${c.status}`), [], 'every check passes');
    assert.equal(doc.verdict?.code, 'no-problem-found');
    assert.equal(doc.managementBaseUrl, new URL(management).href, 'the management checks went to the mock');
  } finally {
    mock.child.kill('SIGINT');
    await mock.closed;
  }
});

test('key-format fails but the server accepted the key: a warning, not the verdict (exit 0)', { timeout: 120_000 }, async () => {
  const emulator = await start();
  const result = await runCli(['doctor', '--base-url', emulator.url, '--api-base-url', emulator.apiUrl, '--json'], { env: { CHUTES_API_KEY: 'cpk_test' } });
  assert.ok(result.stdout.trim().startsWith('{'), `one JSON document: ${result.stdout.slice(0, 300)} ${result.stderr}`);
  const doc = parseJsonOutput(result.stdout);
  const status = (id) => doc.checks.find((c) => c.id === id)?.status;
  assert.equal(status('key-valid'), 'pass', 'the emulator accepts any cpk_ token');
  assert.equal(status('inference'), 'pass');
  const format = doc.checks.find((c) => c.id === 'key-format');
  assert.ok(format, 'a key-format check');
  assert.equal(format.status, 'warn', `key-format: ${JSON.stringify(format)}`);
  assert.match(format.message, /accepted/, 'the warning says the server accepted the key');
  assert.notEqual(doc.verdict?.code, 'malformed-api-key');
  assert.equal(doc.verdict?.code, 'no-problem-found');
  assert.equal(result.code, 0, result.stderr);

  // Only --skip-inference: key-valid alone is enough to say the key was accepted.
  const skip = await runCli(['doctor', '--base-url', emulator.url, '--api-base-url', emulator.apiUrl, '--skip-inference'], { env: { CHUTES_API_KEY: 'cpk_test' } });
  assert.equal(skip.code, 0, skip.stdout);
  assert.match(skip.stdout, /^WARN\s+key-format\s+Unusual key format/m);
  assert.match(skip.stdout, /Verdict \[no-problem-found\]/);
});

test('key-format fails and the server rejects the key: still malformed-api-key', { timeout: 120_000 }, async () => {
  const emulator = await start({ apiKey: `cpk_${'a'.repeat(32)}.${'b'.repeat(32)}.${'C'.repeat(32)}` });
  const result = await runCli(['doctor', '--base-url', emulator.url, '--api-base-url', emulator.apiUrl, '--json'], { env: { CHUTES_API_KEY: 'cpk_test' } });
  const doc = parseJsonOutput(result.stdout);
  assert.equal(doc.checks.find((c) => c.id === 'key-format')?.status, 'fail');
  assert.equal(doc.verdict?.code, 'malformed-api-key');
  assert.equal(result.code, 4, 'the key is rejected: exit 4');
});
