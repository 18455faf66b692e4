// The CLI shell itself: help, version, pipes, and the `mock` command as a user runs it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { BIN, runCli, FAKE_KEY } from '../helpers/cli.js';

test('--version and help <command>', async () => {
  const version = await runCli(['--version']);
  assert.equal(version.code, 0);
  assert.match(version.stdout, /^\d+\.\d+\.\d+\n$/);
  for (const command of ['headers', 'probe', 'wait-reset', 'quota', 'doctor', 'mock', 'demo']) {
    const help = await runCli(['help', command]);
    assert.equal(help.code, 0, command);
    assert.match(help.stdout, new RegExp(`Usage: chutes-diag ${command}`));
    assert.match(help.stdout, /Examples:/, `${command} has examples`);
  }
  const probe = await runCli(['probe', '--help']);
  assert.match(probe.stdout, /--max-duration <duration>.*\(default: 5m\)/s);
  assert.match(probe.stdout, /env: CHUTES_BASE_URL/);
});

test('a bare --help on a pipe prints the build-time snapshot, identical to what the CLI renders', async () => {
  const { main } = await import('../../dist/cli.js');
  let rendered = '';
  const sink = { write: (chunk) => { rendered += chunk; return true; }, isTTY: false };
  assert.equal(await main(['node', 'chutes-diag', '--help'], { stdout: sink, stderr: sink, env: {} }), 0);
  for (const flag of ['--help', '-h']) {
    const fast = await runCli([flag]);
    assert.equal(fast.code, 0);
    assert.equal(fast.stdout, rendered, `${flag}: the snapshot in dist/help.txt is stale (npm run build renews it)`);
  }
});

test('a closed pipe (`--help | head -1`) ends quietly with exit 0', async () => {
  const child = spawn(process.execPath, [BIN, '--help'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => { stderr += d; });
  child.stdout.once('data', () => child.stdout.destroy());
  const [code] = await once(child, 'close');
  assert.equal(code, 0, stderr);
  assert.doesNotMatch(stderr, /EPIPE|at /);
});

test('mock: prints its URLs as JSON, serves, and stops on SIGINT with exit 0', async (t) => {
  // A sliding window: the third of three requests is refused wherever the clock stands (a fixed
  // window aligned to the clock could reset between two of them).
  const child = spawn(process.execPath, [BIN, 'mock', '--port', '0', '--daily-quota', 'unlimited', '--limit', '2', '--window', '10s', '--algorithm', 'sliding-window', '--json'], {
    stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: process.env.PATH, NO_COLOR: '1' },
  });
  t.after(() => { if (child.exitCode === null) child.kill('SIGKILL'); });
  let stdout = '';
  child.stdout.setEncoding('utf8').on('data', (d) => { stdout += d; });
  while (!stdout.trim().endsWith('}')) await once(child.stdout, 'data');
  const doc = JSON.parse(stdout);
  assert.equal(doc.command, 'mock');
  assert.equal(doc.config.dailyQuota, null);
  const headers = await runCli(['headers', '--base-url', doc.url, '-n', '3', '--json'], { env: { CHUTES_API_KEY: FAKE_KEY } });
  assert.deepEqual(JSON.parse(headers.stdout).results.map((r) => r.status), [200, 200, 429]);
  child.kill('SIGINT');
  const [code] = await once(child, 'close');
  assert.equal(code, 0);
});

test('mock: a bad value is a usage error naming the flag', async () => {
  const bad = await runCli(['mock', '--daily-quota', 'lots']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--daily-quota <n\|unlimited>.*or unlimited/);
  const fault = await runCli(['mock', '--port', '0', '--fault', 'meteor']);
  assert.equal(fault.code, 2);
  assert.match(fault.stderr, /--fault: unknown kind "meteor"; expected one of capacity/);
});

test('no command: the help on stderr, exit 2 (a usage error)', async () => {
  const { code, stdout, stderr } = await runCli([]);
  assert.equal(code, 2);
  assert.equal(stdout, '');
  assert.match(stderr, /Usage: chutes-diag/);
});
