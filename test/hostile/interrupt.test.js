// SIGINT and SIGTERM mid-run: the partial result is printed, the --out file is valid JSONL, and
// the exit code is 130 for both. SIGTERM is treated as an interruption like Ctrl-C (src/cli.ts
// aborts the same AbortSignal for both; commands map an aborted run to ExitCode.interrupted).
// Only a second signal forces an immediate exit (130 for SIGINT, 143 for SIGTERM).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { runCli, FAKE_KEY } from '../helpers/cli.js';
import { assertNoStack, lineCount, readJsonl, tempDir, waitFor } from './expect.js';
import { closeAll, slowOk, startHttp } from './servers.js';

const env = { CHUTES_API_KEY: FAKE_KEY };
const dir = tempDir();
let slow;
let limited;
before(async () => {
  slow = await slowOk(300);
  // Always limited, with a short Retry-After: wait-reset keeps retesting until interrupted.
  limited = await startHttp((req, res) => {
    res.writeHead(429, { 'content-type': 'application/json', 'retry-after': '1', 'x-ratelimit-limit': '5', 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': '1' });
    res.end('{"detail":"Too many requests"}');
  });
});
after(closeAll);

let counter = 0;

/**
 * Starts the CLI, sends `signal` once the --out file holds `afterLines` records, and collects the run.
 * @param {string[]} args
 * @param {NodeJS.Signals} signal
 * @param {{ afterLines?: number, json?: boolean }} [options]
 */
async function interrupt(args, signal, { afterLines = 2, json = false } = {}) {
  const out = join(dir, `interrupted-${++counter}.jsonl`);
  let signalled = false;
  const run = await runCli([...args, '--out', out, ...(json ? ['--json'] : [])], {
    env,
    timeoutMs: 120_000,
    onSpawn: (child) => {
      waitFor(() => lineCount(out) >= afterLines, 60_000, `${afterLines} lines in --out`)
        .then(() => {
          signalled = true;
          child.kill(signal);
        })
        .catch(() => child.kill('SIGKILL'));
    },
  });
  assert.ok(signalled, `the run ended before ${afterLines} responses were written: ${run.stderr}`);
  return { ...run, out, lines: readJsonl(out) };
}

// One suite, run concurrently: every case mostly waits on a slow server.
describe('interrupted runs keep their partial results', { concurrency: true }, () => {
  for (const signal of /** @type {const} */ (['SIGINT', 'SIGTERM'])) {
    test(`headers -n 50 against a 300 ms server, ${signal}: partial result printed, --out valid, exit 130`, async () => {
      const { code, stdout, stderr, lines } = await interrupt(['headers', '--base-url', slow.url, '-n', '50'], signal);
      assert.equal(code, 130, stderr);
      assert.ok(lines.length >= 2 && lines.length < 50, `${lines.length} lines`);
      assert.deepEqual(lines.map((l) => l.seq), lines.map((_, i) => i + 1));
      // One status line per completed response, then the last one's table and verdict.
      assert.equal(stdout.match(/^#\d+ HTTP 200/gm)?.length, lines.length);
      assert.match(stdout, /Verdict \[ok\]/);
      assert.match(stderr, new RegExp(`interrupted by ${signal} after ${lines.length} of 50 requests; every completed response is in`));
      assertNoStack(stderr);
    });

    test(`headers -n 50, ${signal} with --json: one document with the completed results and exitCode 130`, async () => {
      const { code, stdout, stderr, lines } = await interrupt(['headers', '--base-url', slow.url, '-n', '50'], signal, { json: true });
      assert.equal(code, 130, stderr);
      const doc = JSON.parse(stdout);
      assert.equal(doc.exitCode, 130);
      assert.equal(doc.results.length, lines.length);
      assert.deepEqual(doc.results.map((r) => r.seq), lines.map((l) => l.seq));
    });
  }

  // probe and wait-reset, the same way.
  /** @type {Array<[string, () => string[], number?]>} */
  const runs = [
    ['probe', () => ['probe', '--base-url', slow.url, '--rpm', '600', '--max-requests', '50', '--concurrency', 'off', '--yes']],
    ['wait-reset', () => ['wait-reset', '--base-url', limited.url, '--max-wait', '60s'], 1],
  ];
  for (const [name, args, afterLines = 2] of runs) {
    for (const signal of /** @type {const} */ (['SIGINT', 'SIGTERM'])) {
      test(`${name}, ${signal}: partial result printed, --out valid JSONL, exit 130`, async () => {
        const { code, stdout, stderr, lines } = await interrupt(args(), signal, { afterLines });
        assert.equal(code, 130, stderr);
        assert.ok(lines.length >= afterLines);
        assert.ok(stdout.trim().length > 0, 'a partial result is printed');
        assertNoStack(stderr);
      });
    }
    test(`${name}, SIGINT with --json: one document, exitCode 130`, async () => {
      const { code, stdout, stderr } = await interrupt(args(), 'SIGINT', { afterLines, json: true });
      assert.equal(code, 130, stderr);
      assert.equal(JSON.parse(stdout).exitCode, 130);
    });
  }
});
