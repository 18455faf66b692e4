// `wait-reset` end to end: the built CLI against the emulator over loopback, on real time. Windows
// are fixed (aligned to the emulator's clock), so the true reset is the start of the window in which
// the first request passed, read from the emulator's own arrival log. The emulator's clock stands
// still at the start of a window until the CLI's first request arrives, so however long the CLI
// takes to start on a busy machine, it meets the exhausted window with all of it still to run.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEmulator } from '../../dist/emulator/server.js';
import { FAKE_KEY, parseJsonOutput, runCli } from '../helpers/cli.js';

const WINDOW_MS = 3000;
const LIMIT = 2;
const ENV = { CHUTES_API_KEY: FAKE_KEY };
const AUTH = { authorization: `Bearer ${FAKE_KEY}`, 'content-type': 'application/json' };
const BODY = JSON.stringify({ model: 'unsloth/gemma-3-4b-it', messages: [{ role: 'user', content: 'hi' }], max_tokens: 1 });

const running = [];
after(() => Promise.all(running.map((e) => e.close())));

/**
 * A server whose Retry-After lies: 429 with `Retry-After: 1` until `resetMs` after the first
 * request arrives, then 200. The truth is `firstArrival + resetMs`.
 */
async function lyingServer(resetMs = 6000) {
  const arrivals = [];
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const now = Date.now();
      arrivals.push(now);
      const limited = now < arrivals[0] + resetMs;
      res.writeHead(limited ? 429 : 200, { 'content-type': 'application/json', ...(limited ? { 'retry-after': '1' } : {}) });
      res.end(limited ? '{"detail":"Too many requests"}' : '{"choices":[{"message":{"content":"hi"}}]}');
    });
  });
  await /** @type {Promise<void>} */ (new Promise((resolve) => server.listen(0, '127.0.0.1', resolve)));
  running.push({ close: () => new Promise((resolve) => { server.closeAllConnections(); server.close(resolve); }) });
  const truth = () => arrivals[0] + resetMs;
  const okArrival = () => {
    const ok = arrivals.find((t) => t >= truth());
    assert.ok(ok !== undefined, 'a retest reached the server after the reset');
    return ok;
  };
  return { url: `http://127.0.0.1:${/** @type {import('node:net').AddressInfo} */ (server.address()).port}`, arrivals, truth, okArrival };
}

async function start(options) {
  const emulator = await startEmulator({ port: 0, apiPort: 0, ...options });
  running.push(emulator);
  return emulator;
}

/**
 * An emulator whose window is exhausted by the test's own LIMIT requests. Its clock is held at the
 * start of a window (`held`) until the CLI's first request is in its log, then runs with real time:
 * the CLI meets the limit with WINDOW_MS to go, whenever it gets there. `toReal` maps the emulator's
 * time to the real time the CLI reports in.
 */
async function exhaustedEmulator(options) {
  const held = Math.floor(Date.now() / WINDOW_MS) * WINDOW_MS;
  let startedAt = null;
  let emulator;
  const now = () => {
    if (startedAt === null && emulator !== undefined && cliArrivals(emulator).length > 0) startedAt = Date.now();
    return startedAt === null ? held : held + (Date.now() - startedAt);
  };
  emulator = await start({ limit: LIMIT, windowMs: WINDOW_MS, now, ...options });
  for (let i = 0; i < LIMIT; i++) {
    const res = await fetch(`${emulator.url}/v1/chat/completions`, { method: 'POST', headers: AUTH, body: BODY });
    await res.arrayBuffer();
    assert.equal(res.status, 200, 'the test exhausts the window itself');
  }
  /** @param {number} t the emulator's time */
  const toReal = (t) => {
    assert.ok(startedAt !== null, 'the CLI sent a request');
    return startedAt + (t - held);
  };
  return Object.assign(emulator, { toReal });
}

/** The CLI's requests in the emulator's log (the first LIMIT arrivals were the test's own). */
function cliArrivals(emulator, skip = LIMIT) {
  return emulator.arrivals.filter((a) => a.listener === 'llm').slice(skip);
}

/** Fixed window: the limit reset at the start of the window in which the first request passed (real time). */
function trueReset(emulator) {
  const ok = cliArrivals(emulator).find((a) => a.status === 200);
  assert.ok(ok, 'a request passed');
  return emulator.toReal(Math.floor(ok.wall / WINDOW_MS) * WINDOW_MS);
}

/**
 * The window the retests bracketed holds the truth (real ms), on what the CLI and the server recorded
 * rather than on how punctual a busy machine was: the last 429 went out before the truth (earliestAt),
 * latestAt is when the first passing retest went out (the server saw it at `okArrival`, within 1 s:
 * 10x a loopback answer on a loaded machine). How far apart the retests are planned is proved on the
 * simulated clock (test/unit/wait-for-reset.test.js); here, late timers on a busy machine only widen it.
 */
function assertBracket(doc, truth, okArrival) {
  const w = windowOf(doc);
  const [earliest, latest] = [Date.parse(w.earliestAt), Date.parse(w.latestAt)];
  assert.ok(earliest <= truth, `earliestAt ${earliest - truth} ms after the truth`);
  assert.ok(truth <= okArrival, 'the passing retest reached the server after the reset');
  assert.ok(okArrival - latest >= -1 && okArrival - latest <= 1000, `latestAt ${okArrival - latest} ms before the passing retest arrived`);
}

/** The document's reset window, or a failed assertion that says what came back instead. */
function windowOf(doc) {
  assert.ok(doc.window, `no reset window in the result: reset ${doc.reset}, stop ${doc.stop}, ${doc.attempts} attempts`);
  return doc.window;
}

function assertNoKey(result) {
  for (const secret of [FAKE_KEY, ...FAKE_KEY.split('.').slice(1)]) {
    assert.ok(!result.stdout.includes(secret) && !result.stderr.includes(secret), 'the key never appears in the output');
  }
}

const waitReset = (emulator, args = [], options = {}) =>
  runCli(['wait-reset', '--base-url', emulator.url, ...args], { env: ENV, ...options });

describe('wait-reset against windows that reset after a known delay', { concurrency: true }, () => {
  it('Retry-After: 2 requests, the reset within 1 s of the truth, the second test not before Retry-After', async () => {
    const emulator = await exhaustedEmulator({ headers: 'x-ratelimit' });
    const out = join(tmpdir(), `chutes-diag-wait-${process.pid}-${Date.now()}.jsonl`);
    const result = await waitReset(emulator, ['--json', '--out', out]);
    assertNoKey(result);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stderr, '');
    const doc = parseJsonOutput(result.stdout);
    assert.equal(doc.command, 'wait-reset');
    assert.equal(doc.reset, true);
    assert.equal(doc.exitCode, 0);
    assert.ok(doc.attempts <= 2, `${doc.attempts} requests`);
    assert.equal(doc.responses.length, doc.attempts);
    assert.equal(doc.final.outcome, 'ok');
    assert.equal(windowOf(doc).basis, 'hint');
    assert.equal(windowOf(doc).source, 'retry-after');
    const error = Math.abs(Date.parse(windowOf(doc).resetAt) - trueReset(emulator));
    assert.ok(error <= 1000, `reported reset off by ${error} ms`);
    const [limited, ok] = cliArrivals(emulator);
    const retryAfter = Number(doc.responses[0].headers['retry-after']);
    assert.ok(ok.wall - limited.wall >= retryAfter * 1000, 'never sooner than Retry-After');
    const lines = readFileSync(out, 'utf8').trim().split('\n').map((line) => JSON.parse(line));
    rmSync(out, { force: true });
    assert.deepEqual(lines.map((l) => l.status), doc.responses.map((r) => r.status));
    console.log(`# Retry-After guided: ${doc.attempts} requests, reset reported ${error} ms from the truth`);
  });

  it('reset header only (IETF RateLimit, no Retry-After): guided by the exhausted policy', async () => {
    const emulator = await exhaustedEmulator({ headers: 'ietf', retryAfter: false });
    const result = await waitReset(emulator, ['--json']);
    assertNoKey(result);
    assert.equal(result.code, 0, result.stderr);
    const doc = parseJsonOutput(result.stdout);
    assert.ok(doc.attempts <= 2, `${doc.attempts} requests`);
    assert.equal(windowOf(doc).source, 'reset-header');
    assert.equal(windowOf(doc).header, 'ratelimit');
    const error = Math.abs(Date.parse(windowOf(doc).resetAt) - trueReset(emulator));
    assert.ok(error <= 1000, `reported reset off by ${error} ms`);
    console.log(`# reset-header guided: ${doc.attempts} requests, reset reported ${error} ms from the truth`);
  });

  it('no hint at all: backoff from --interval, at most ⌈wait/interval⌉ + 1 requests, the truth in the bracket of the retests', async () => {
    const emulator = await exhaustedEmulator({ headers: 'none' });
    const result = await waitReset(emulator, ['--json', '--interval', '300ms', '--max-interval', '600ms']);
    assertNoKey(result);
    assert.equal(result.code, 0, result.stderr);
    const doc = parseJsonOutput(result.stdout);
    assert.ok(doc.attempts <= Math.ceil(doc.waitedSeconds / 0.3) + 1, `${doc.attempts} requests in ${doc.waitedSeconds} s`);
    assert.equal(windowOf(doc).basis, 'observed');
    const ok = cliArrivals(emulator).find((a) => a.status === 200);
    assert.ok(ok, 'a request passed');
    assertBracket(doc, trueReset(emulator), emulator.toReal(ok.wall));
    const error = Math.abs(Date.parse(windowOf(doc).resetAt) - trueReset(emulator));
    console.log(`# unguided: ${doc.attempts} requests in ${doc.waitedSeconds} s, reset reported ${error} ms from the truth`);
  });

  it('human output: each response, the plan and a summary naming the header it trusted', async () => {
    const emulator = await exhaustedEmulator({ headers: 'x-ratelimit' });
    const result = await waitReset(emulator);
    assertNoKey(result);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /#1 HTTP 429/);
    assert.match(result.stdout, /next test at .* from Retry-After/);
    assert.match(result.stdout, /Reset: the limit cleared about .* after the first limited response/);
    assert.match(result.stdout, /bounded by Retry-After/);
    assert.equal(result.stderr, '', 'no countdown when stderr is not a TTY');
  });
});

describe('wait-reset against a Retry-After that proves wrong', { concurrency: true }, () => {
  it('Retry-After: 1 but the reset is at 6 s: the hint is not trusted, the bracket of the tests holds the truth', async () => {
    const server = await lyingServer(6000);
    const result = await runCli(['wait-reset', '--base-url', server.url, '--json'], { env: ENV });
    assertNoKey(result);
    assert.equal(result.code, 0, result.stderr);
    const doc = parseJsonOutput(result.stdout);
    assert.equal(doc.reset, true);
    assert.equal(windowOf(doc).basis, 'observed', 'the hint was missed, so it must not narrow the window');
    assert.equal(windowOf(doc).source, null);
    assert.ok(windowOf(doc).missedHints >= 1);
    assertBracket(doc, server.truth(), server.okArrival());
    // The old answer: 1.75 s after the first 429, "±0.5 s", 4 s before the real reset.
    assert.ok(windowOf(doc).resetAfterSeconds > 3, `resetAfterSeconds ${windowOf(doc).resetAfterSeconds}`);
  });

  it('with retests ≤ 1.5 s apart the bracket holds the truth, and the summary says the hint proved wrong', async () => {
    const [server, other] = [await lyingServer(6000), await lyingServer(6000)];
    const args = (url) => ['wait-reset', '--base-url', url, '--interval', '1s', '--max-interval', '1500ms'];
    const [result, human] = await Promise.all([runCli([...args(server.url), '--json'], { env: ENV }), runCli(args(other.url), { env: ENV })]);
    assert.equal(result.code, 0, result.stderr);
    const doc = parseJsonOutput(result.stdout);
    assert.equal(windowOf(doc).basis, 'observed');
    assertBracket(doc, server.truth(), server.okArrival());
    const error = Math.abs(Date.parse(windowOf(doc).resetAt) - server.truth());
    assert.equal(human.code, 0, human.stderr);
    assert.match(human.stdout, /bounded only by when it was tested \(the server's hint proved wrong/);
    assert.doesNotMatch(human.stdout, /bounded by Retry-After/);
    console.log(`# lying Retry-After: ${doc.attempts} requests, reset reported ${error} ms from the truth`);
  });
});

describe('wait-reset under GitHub Actions', { concurrency: true }, () => {
  const summaryFile = () => {
    const file = join(mkdtempSync(join(tmpdir(), 'chutes-diag-gh-wait-')), 'summary.md');
    writeFileSync(file, '');
    return file;
  };

  it('reset: a summary with attempts, time waited and hint source; still limited at --max-wait: a warning; a rejected key: an error', async () => {
    const summary = summaryFile();
    const gh = { ...ENV, GITHUB_ACTIONS: 'true', GITHUB_STEP_SUMMARY: summary };

    const emulator = await exhaustedEmulator({ headers: 'x-ratelimit' });
    const reset = await waitReset(emulator, [], { env: gh });
    assertNoKey(reset);
    assert.equal(reset.code, 0, reset.stderr);
    assert.doesNotMatch(reset.stdout, /^::(warning|error)/m, 'a reset is neither a warning nor an error');
    let md = readFileSync(summary, 'utf8');
    assert.match(md, /### chutes-diag wait-reset\n\nReset: the limit cleared about /);
    assert.match(md, /\| attempts \| 2 \|/);
    assert.match(md, /\| waited \| /);
    assert.match(md, /\| hint source \| Retry-After \|/);

    const stuck = await start({ limit: 1, windowMs: 3_600_000, headers: 'none' });
    await fetch(`${stuck.url}/v1/chat/completions`, { method: 'POST', headers: AUTH, body: BODY }).then((r) => r.arrayBuffer());
    const limited = await waitReset(stuck, ['--json', '--interval', '300ms', '--max-wait', '1s'], { env: gh });
    assert.equal(limited.code, 3, limited.stderr);
    parseJsonOutput(limited.stdout);
    assert.match(limited.stderr, /^::warning title=chutes-diag wait-reset::Still limited after --max-wait 1s/m, 'with --json the annotation goes to stderr');

    const rejecting = await start({ apiKey: FAKE_KEY.replace('FAKE', 'REAL') });
    const rejected = await waitReset(rejecting, [], { env: gh });
    assertNoKey(rejected);
    assert.equal(rejected.code, 4, rejected.stderr);
    assert.match(rejected.stdout, /^::error title=chutes-diag wait-reset::401/m);

    md = readFileSync(summary, 'utf8');
    assert.equal(md.match(/### chutes-diag wait-reset/g).length, 3, 'one section per run');
    assert.match(md, /- :warning: Still limited after --max-wait/);
    assert.match(md, /- :x: 401/);
    assert.ok(!md.includes(FAKE_KEY));
  });
});

describe('wait-reset: when not to wait', { concurrency: true }, () => {
  it('402 daily quota: one request, no polling, the reset time reported, exit 3', async () => {
    const emulator = await start({ dailyQuota: 1, quotaUsed: 1 });
    const result = await waitReset(emulator, ['--json']);
    assertNoKey(result);
    assert.equal(result.code, 3, result.stderr);
    assert.equal(cliArrivals(emulator, 0).length, 1, 'one request, no polling');
    assert.match(result.stderr, /^error: .*quota/m, 'a failing run ends with one error line on stderr');
    const doc = parseJsonOutput(result.stdout);
    assert.equal(doc.reset, false);
    assert.equal(doc.attempts, 1);
    assert.equal(doc.stop, 'reset-beyond-max-wait');
    assert.equal(doc.final.status, 402);
    assert.equal(doc.pendingReset.source, 'quota-reset-timestamp');
    const midnight = (Math.floor(Date.now() / 86_400_000) + 1) * 86_400_000;
    assert.equal(Date.parse(doc.pendingReset.at), midnight);
  });

  it('402 in human form says when it resets and how to wait for it', async () => {
    const emulator = await start({ dailyQuota: 1, quotaUsed: 1 });
    const result = await waitReset(emulator);
    assert.equal(result.code, 3, result.stderr);
    assert.match(result.stdout, /Not polling: the server says the limit resets at .*00:00 UTC/);
    assert.match(result.stdout, /--max-wait/);
  });

  it('not limited: says so, 1 request, exit 0', async () => {
    const emulator = await start({ limit: 100 });
    const result = await waitReset(emulator, ['--json']);
    assert.equal(result.code, 0, result.stderr);
    const doc = parseJsonOutput(result.stdout);
    assert.deepEqual([doc.reset, doc.attempts, doc.stop, doc.limited], [true, 1, 'not-limited', false]);
    const human = await waitReset(emulator);
    assert.match(human.stdout, /Not rate limited/);
  });

  it('gives up at --max-wait with exit 3', async () => {
    const emulator = await start({ limit: 1, windowMs: 3_600_000, headers: 'none' });
    await fetch(`${emulator.url}/v1/chat/completions`, { method: 'POST', headers: AUTH, body: BODY }).then((r) => r.arrayBuffer());
    const result = await waitReset(emulator, ['--json', '--interval', '300ms', '--max-wait', '1s']);
    assert.equal(result.code, 3, `${result.stderr}${result.stdout}`);
    const doc = parseJsonOutput(result.stdout);
    assert.deepEqual([doc.reset, doc.stop], [false, 'max-wait']);
    // It gives up only once less than the 250 ms margin is left before --max-wait.
    assert.ok(doc.waitedSeconds >= 0.74 && doc.waitedSeconds < 3, `waited ${doc.waitedSeconds}`);
    assert.ok(doc.attempts <= Math.ceil(1 / 0.3) + 1);
  });

  it('a rejected key stops at once with exit 4', async () => {
    const emulator = await start({ apiKey: FAKE_KEY.replace('FAKE', 'REAL') });
    const result = await waitReset(emulator, ['--json']);
    assertNoKey(result);
    assert.equal(result.code, 4, result.stderr);
    const doc = parseJsonOutput(result.stdout);
    assert.deepEqual([doc.attempts, doc.stop, doc.final.outcome], [1, 'error', 'auth_error']);
  });

  it('Ctrl-C while waiting: exit 130 and the partial result is still printed', async () => {
    const emulator = await start({ limit: 1, windowMs: 3_600_000, headers: 'none' });
    await fetch(`${emulator.url}/v1/chat/completions`, { method: 'POST', headers: AUTH, body: BODY }).then((r) => r.arrayBuffer());
    const result = await waitReset(emulator, ['--json', '--interval', '10s'], {
      onSpawn: (child) => {
        // Interrupt once the first (limited) response is in and the CLI sleeps.
        const poll = setInterval(() => {
          if (emulator.arrivals.length >= 2 && emulator.arrivals[1].status !== 0) {
            clearInterval(poll);
            setTimeout(() => child.kill('SIGINT'), 200);
          }
        }, 20);
      },
    });
    assert.equal(result.code, 130, result.stderr);
    const doc = parseJsonOutput(result.stdout);
    assert.deepEqual([doc.reset, doc.stop, doc.attempts], [false, 'aborted', 1]);
    assert.equal(doc.nextTest.source, 'backoff');
  });
});
