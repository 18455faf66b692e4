// Issue #12, item 1: a reader that goes away (`chutes-diag headers | head -1`) must not change the
// exit code. Each command runs with its stdout read by a pipe the test closes, either before the
// command wrote anything (so its first write meets EPIPE, whatever the machine's speed) or after
// the first chunk (as `head -c1` does); the exit code must be the one the command has without a pipe.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { BIN, FAKE_KEY } from '../helpers/cli.js';
import { assertNoStack, waitFor } from './expect.js';
import { closeAll, refusedUrl, startHttp } from './servers.js';

const env = { PATH: process.env.PATH, HOME: process.env.HOME, NO_COLOR: '1', CHUTES_API_KEY: FAKE_KEY };

/** Answers every request with `status`, a JSON body and rate-limit headers. */
function answers(status) {
  return startHttp((req, res) => {
    res.writeHead(status, {
      'content-type': 'application/json', 'retry-after': '1', 'x-ratelimit-limit': '10', 'x-ratelimit-remaining': status === 429 ? '0' : '9',
    });
    res.end(status < 300 ? '{"choices":[{"message":{"content":"ok"}}]}' : '{"detail":"no"}');
  });
}

const urls = {};
before(async () => {
  for (const status of [200, 201, 401, 429, 500]) urls[status] = (await answers(status)).url;
  urls.refused = await refusedUrl();
});
after(closeAll);

/**
 * Runs the CLI with stdout on a pipe that the test closes: at once (`closeAt: 'start'`) or on the
 * first chunk (`'first-chunk'`). Resolves with {code, signal, stderr, gotChunk}; kills it after timeoutMs.
 * `onSpawn(child)` may signal the child.
 * @param {string[]} args
 * @param {{ closeAt?: string, timeoutMs?: number, onSpawn?: (child: import('node:child_process').ChildProcess) => void }} [options]
 * @returns {Promise<{ code: number | null, signal: NodeJS.Signals | null, stderr: string, gotChunk: boolean }>}
 */
function runClosedStdout(args, { closeAt = 'start', timeoutMs = 60_000, onSpawn } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    let gotChunk = false;
    child.stderr.setEncoding('utf8').on('data', (d) => { stderr += d; });
    if (closeAt === 'start') child.stdout.destroy();
    else child.stdout.once('data', () => { gotChunk = true; child.stdout.destroy(); });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stderr, gotChunk });
    });
    onSpawn?.(child);
  });
}

/**
 * [name, args, the command's own exit code (as without a pipe)].
 * @type {Array<[string, () => string[], number]>}
 */
const cases = [
  ['headers --expect-status 200 against a 201', () => ['headers', '--base-url', urls[201], '--expect-status', '200'], 1],
  ['headers against a 200', () => ['headers', '--base-url', urls[200]], 0],
  ['headers against a 429', () => ['headers', '--base-url', urls[429]], 3],
  ['headers against a 401', () => ['headers', '--base-url', urls[401]], 4],
  ['headers against a 500', () => ['headers', '--base-url', urls[500]], 5],
  ['headers against a refused port', () => ['headers', '--base-url', urls.refused], 6],
  ['headers --json against a 429', () => ['headers', '--base-url', urls[429], '--json'], 3],
  ['headers -n 3 against a 500', () => ['headers', '--base-url', urls[500], '-n', '3'], 5],
  ['probe against a 500', () => ['probe', '--base-url', urls[500], '--rpm', '600', '--max-requests', '2', '--concurrency', 'off', '--yes'], 5],
  ['probe against a refused port', () => ['probe', '--base-url', urls.refused, '--rpm', '600', '--max-requests', '2', '--concurrency', 'off', '--yes'], 6],
  ['wait-reset against a 429 that never ends', () => ['wait-reset', '--base-url', urls[429], '--max-wait', '1s'], 3],
  ['quota against a 500', () => ['quota', '--api-base-url', urls[500]], 5],
  ['quota --json against a 401', () => ['quota', '--api-base-url', urls[401], '--json'], 4],
  ['doctor against a 500', () => ['doctor', '--base-url', urls[500], '--api-base-url', urls[500]], 1],
  ['a usage error', () => ['headers', '--rpm', '5'], 2],
];

describe('a closed stdout keeps the exit code of every command', { concurrency: 4 }, () => {
  for (const [name, args, expected] of cases) {
    for (const closeAt of ['start', 'first-chunk']) {
      test(`${name}, stdout closed at ${closeAt}: exit ${expected}`, async () => {
        const { code, signal, stderr } = await runClosedStdout(args(), { closeAt });
        assert.equal(signal, null, `killed by ${signal} (the run did not end):\n${stderr}`);
        assert.equal(code, expected, `exit ${code}, expected ${expected}:\n${stderr}`);
        assertNoStack(stderr);
      });
    }
  }

  // demo runs four steps against an in-process emulator (tens of seconds on a loaded machine).
  test('demo, stdout closed at start: runs to its end, exit 0', async () => {
    const { code, signal, stderr } = await runClosedStdout(['demo'], { timeoutMs: 300_000 });
    assert.equal(signal, null, `killed by ${signal} (the run did not end):\n${stderr}`);
    assert.equal(code, 0, stderr);
    assertNoStack(stderr);
  });

  // mock serves until Ctrl-C: a closed stdout must not stop it early (it would exit 0 before serving).
  test('mock, stdout closed at start: keeps serving until SIGINT, then exit 0', async () => {
    const probe = createServer();
    const port = await new Promise((resolve) => probe.listen(0, '127.0.0.1', () => resolve(/** @type {import('node:net').AddressInfo} */ (probe.address()).port)));
    await new Promise((resolve) => probe.close(resolve));
    let served = false;
    const { code, signal, stderr } = await runClosedStdout(['mock', '--port', String(port)], {
      onSpawn: (child) => {
        waitFor(() => served, 30_000, 'the mock to answer')
          .then(() => child.kill('SIGINT'))
          .catch(() => child.kill('SIGKILL'));
        const poll = async () => {
          while (!served && child.exitCode === null && child.signalCode === null) {
            served = await fetch(`http://127.0.0.1:${port}/v1/models`).then((r) => r.ok, () => false);
            if (!served) await new Promise((resolve) => setTimeout(resolve, 50));
          }
        };
        poll();
      },
    });
    assert.ok(served, `the mock never answered on port ${port} (exit ${code}, signal ${signal}):\n${stderr}`);
    assert.equal(code, 0, stderr);
    assert.match(stderr, /served \d+ requests?; stopped/);
  });
});
