// `chutes-diag probe` as a user runs it: the built CLI against the emulator on loopback, for every
// algorithm × header mode with a short window (5 per 1 s at 1200 rpm), plus concurrency, --dry-run,
// --out, the confirmation rule, exit codes and Ctrl-C. Cases run one at a time: the estimate depends on
// punctual sends, and a second CLI starting up on a two-core machine stalls the first one.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:net';
import { startEmulator } from '../../dist/emulator/server.js';
import { maxInAnyWindow } from '../../dist/probe/schedule.js';
import { FAKE_KEY, parseJsonOutput, runCli } from '../helpers/cli.js';
import { closeAll, startHttp } from '../hostile/servers.js';
import { waitFor } from '../hostile/expect.js';

const ENV = { CHUTES_API_KEY: FAKE_KEY };
const running = [];
after(() => Promise.all([...running.map((e) => e.close()), closeAll()]));

async function emulator(options) {
  const e = await startEmulator({ port: 0, apiPort: 0, dailyQuota: null, ...options });
  running.push(e);
  return e;
}

function probe(url, args, options = {}) {
  return runCli(['probe', '--base-url', url, ...args], { env: ENV, timeoutMs: 120_000, ...options });
}

/** Inference requests the emulator saw. */
function inferenceArrivals(e) {
  return e.arrivals.filter((a) => a.path === '/v1/chat/completions');
}

function assertPacedAndCapped(doc, rpm, maxRequests) {
  assert.ok(doc.responses.length <= maxRequests, `${doc.responses.length} responses > --max-requests ${maxRequests}`);
  assert.ok(doc.summary.sent <= maxRequests);
  const sent = doc.responses.map((r) => Date.parse(r.sentAt));
  assert.ok(maxInAnyWindow(sent) <= rpm, 'more than --rpm sends in some 60 s');
  // With --concurrency off every send is a rate-phase send: on slots at least one interval apart.
  const slots = doc.responses.map((r) => Date.parse(r.scheduledAt)).sort((a, b) => a - b);
  for (let i = 1; i < slots.length; i++) assert.ok(slots[i] - slots[i - 1] >= 60_000 / rpm - 1, `slots ${i - 1}, ${i} ${slots[i] - slots[i - 1]} ms apart`);
}

describe('every algorithm × header mode (5 per 1 s, --rpm 1200)', () => {
  // End to end on real sockets and real time, so only what holds however busy the machine is gets
  // asserted here: exit 0, the document's shape, the budget and the pace (from the emulator's own log),
  // the source of the estimate, and what a header states outright. How close the timed parts come
  // (window, refill, fixed vs sliding) depends on punctual sends and answers; that is proved on the
  // simulated clock for every dialect × algorithm × latency × phase (test/unit/probe-strategy.test.js)
  // and measured on real limiters by the bench (BENCHMARKS.md).
  const RPM = 1200;
  const BUDGET = 80;
  for (const headers of ['none', 'chutes', 'x-ratelimit', 'openai', 'anthropic', 'ietf']) {
    for (const algorithm of ['fixed-window', 'sliding-window', 'token-bucket']) {
      it(`${headers} × ${algorithm}`, async () => {
        const e = await emulator({ limit: 5, windowMs: 1000, algorithm, headers });
        const res = await probe(e.url, ['--json', '--rpm', String(RPM), '--max-requests', String(BUDGET), '--max-duration', '20s', '--concurrency', 'off']);
        assert.equal(res.code, 0, res.stderr);
        const doc = parseJsonOutput(res.stdout);
        assertShape(doc, e);
        const { rate } = doc.estimate;
        assert.ok(rate, `${headers}/${algorithm}: an estimate of the rate`);
        const sources = headers === 'none' ? ['observed'] : ['headers', 'both'];
        assert.ok(sources.includes(rate.source), `source ${rate.source}: ${JSON.stringify(rate)}`);
        // A limit read straight from a header does not depend on timing.
        if (headers === 'ietf') {
          assert.deepEqual([rate.limit, rate.windowSeconds, rate.bound], [5, 1, 'exact'], JSON.stringify(rate));
        } else if (headers !== 'none' && algorithm !== 'token-bucket') {
          assert.equal(rate.limit, 5, JSON.stringify(rate));
        }
      });
    }
  }

  /** The document's shape and the guarantees, whatever the estimate. */
  function assertShape(doc, e) {
    assert.equal(doc.schemaVersion, 1);
    assert.equal(doc.command, 'probe');
    assert.deepEqual(doc.plan, { rpm: RPM, intervalMs: 50, maxRequests: BUDGET, maxDurationSeconds: 20, maxConcurrency: 0 });
    assert.equal(doc.summary.sent, inferenceArrivals(e).length, 'every send counted, nothing else sent with the key');
    assert.ok(e.arrivals.filter((a) => a.path === '/').length <= 1, 'one pre-connect at most');
    assert.equal(doc.summary.ok + doc.summary.rateLimited + doc.summary.errors, doc.responses.length);
    assert.equal(doc.timeline.reduce((n, b) => n + b.sent, 0), doc.responses.length);
    assertPacedAndCapped(doc, RPM, BUDGET);
    const arrivals = inferenceArrivals(e).map((x) => x.wall);
    assert.ok(maxInAnyWindow(arrivals) <= RPM, 'the emulator saw more than --rpm requests in some 60 s');
  }
});

describe('concurrency, attribution and output', () => {
  it('finds a concurrency limit of 3 exactly (latency 250 ms), within 3·C + 4 requests', async () => {
    const e = await emulator({ limit: 20, windowMs: 2000, headers: 'ietf', concurrencyLimit: 3, latencyMs: 250 });
    const res = await probe(e.url, ['--json', '--rpm', '600', '--max-requests', '40', '--concurrency', 'auto', '--max-concurrency', '8']);
    assert.equal(res.code, 0, res.stderr);
    const { concurrency } = parseJsonOutput(res.stdout).estimate;
    assert.deepEqual([concurrency.limit, concurrency.bound, concurrency.testedUpTo], [3, 'exact', 4], JSON.stringify(concurrency));
    assert.ok(concurrency.requests <= 13, `${concurrency.requests} requests`);
    assert.ok(e.stats().maxInFlight <= 4);
  });

  it('--dry-run prints the plan and sends nothing', async () => {
    const e = await emulator({ headers: 'ietf' });
    const res = await probe(e.url, ['--dry-run', '--rpm', '600', '--max-requests', '500']);
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stdout, /up to 500 requests at 600\/min/);
    // What "at the latest" covers: the warm-up is inside --max-duration, the final answers are not.
    assert.match(res.stdout, /stops sending after 5m00s at the latest, a connection warm-up of up to 250ms included/);
    assert.match(res.stdout, /answers still in flight after the last send are awaited up to the request timeout \(30s\)/);
    assert.match(res.stdout, /nothing was sent/i);
    const json = await probe(e.url, ['--dry-run', '--json']);
    assert.equal(parseJsonOutput(json.stdout).plan.maxRequests, 60);
    assert.equal(e.arrivals.length, 0, 'not even the pre-connect');
  });

  it('--out writes one JSON line per response, as many as --json lists', async () => {
    const e = await emulator({ limit: 5, windowMs: 1000, headers: 'x-ratelimit' });
    const dir = mkdtempSync(join(tmpdir(), 'probe-out-'));
    const file = join(dir, 'probe.jsonl');
    const res = await probe(e.url, ['--json', '--out', file, '--rpm', '1200', '--max-requests', '20', '--concurrency', 'off']);
    assert.equal(res.code, 0, res.stderr);
    const doc = parseJsonOutput(res.stdout);
    const lines = readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    assert.equal(lines.length, doc.responses.length);
    assert.deepEqual(lines.map((l) => l.seq).sort((a, b) => a - b), doc.responses.map((r) => r.seq));
    assert.ok(!readFileSync(file, 'utf8').includes(FAKE_KEY), 'the key never reaches the file');
  });

  it('human output: plan first, summary, timeline chart, estimate and explanation', async () => {
    const e = await emulator({ limit: 5, windowMs: 1000, headers: 'openai' });
    const res = await probe(e.url, ['--rpm', '1200', '--max-requests', '20', '--concurrency', 'off']);
    assert.equal(res.code, 0, res.stderr);
    const order = ['Plan', 'latency p50', 'Pacing:', 'Timeline', 'ok  │', 'Estimate', 'x-ratelimit-limit-requests'].map((s) => res.stdout.indexOf(s));
    // What the estimate says of the window depends on timing (see above); that it names its source does not.
    assert.ok(order.every((i, k) => i >= 0 && (k === 0 || i > order[k - 1])), `${order}\n${res.stdout}`);
    assert.doesNotMatch(res.stdout, /\x1b\[/, 'no colour when NO_COLOR is set');
    assert.equal(res.stderr, '', 'no spinner without a TTY');
  });
});

describe('Retry-After, a limit never reached, GitHub Actions', () => {
  it('a 429 with Retry-After: 2 holds the next request back 2 s (at --rpm 60), every time', async () => {
    // --rpm 60: a send is due only every second, so the CLI has read each 429 long before its next slot
    // however busy the machine is (an open-loop probe cannot obey an answer it has not read yet).
    // 3 requests, then 429 with Retry-After until 2 s after the first refusal; then 3 more, and so on.
    let allowance = 3;
    let resetAt = null;
    const seen = []; // inference requests: arrival, status, Retry-After, when the answer went out
    const server = await startHttp((req, res) => {
      const now = performance.now();
      if (resetAt !== null && now >= resetAt) {
        allowance = 3;
        resetAt = null;
      }
      if (allowance > 0) {
        allowance -= 1;
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end('{"choices":[]}');
        seen.push({ t: now, status: 200 });
        return;
      }
      resetAt ??= now + 2000;
      const retryAfter = Math.max(1, Math.ceil((resetAt - now) / 1000));
      res.writeHead(429, { 'content-type': 'application/json', 'retry-after': String(retryAfter) });
      res.end('{"detail":"Too many requests"}');
      seen.push({ t: now, status: 429, retryAfter, answeredAt: performance.now() });
    });
    const res = await probe(server.url, ['--json', '--rpm', '60', '--max-requests', '9', '--concurrency', 'off']);
    assert.equal(res.code, 0, res.stderr);
    const doc = parseJsonOutput(res.stdout);
    assertPacedAndCapped(doc, 60, 9);
    const refusals = seen.filter((r) => r.status === 429);
    assert.ok(refusals.length >= 1, 'the limit was reached');
    // The request after a 429 (sequential here: each answer is instant) waits for its Retry-After.
    for (let i = 1; i < seen.length; i++) {
      const before = seen[i - 1];
      if (before.status !== 429) continue;
      const waited = seen[i].t - before.answeredAt;
      assert.ok(waited >= before.retryAfter * 1000 - 5, `request ${i + 1} came ${Math.round(waited)} ms after a 429 with Retry-After: ${before.retryAfter}`);
    }
    assert.ok(refusals.length <= 3, `${refusals.length} 429s: one per cycle`);
  });

  it('a Chutes limit header never reached: at-least, the probe\'s own pace, the header\'s figure said apart', async () => {
    // X-Chutes-RL-User: 20 (no window); the probe sends 10 per 2 s, below the limit.
    const e = await emulator({ limit: 20, windowMs: 2000, headers: 'chutes' });
    const res = await probe(e.url, ['--json', '--rpm', '300', '--max-requests', '10', '--concurrency', 'off']);
    assert.equal(res.code, 0, res.stderr);
    const { rate } = parseJsonOutput(res.stdout).estimate;
    assert.equal(rate.bound, 'at-least', JSON.stringify(rate));
    assert.notEqual(rate.confidence, 'high');
    assert.ok(rate.perMinute === null || rate.perMinute <= 300.5, `perMinute ${rate.perMinute}`);
    assert.match(rate.explanation, /x-chutes-rl-user header states 20, but the probe never reached a limit at 300\/min/i);
  });

  it('GitHub Actions: annotations and a step summary with the estimate; --json moves annotations to stderr', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'probe-gh-'));
    const summary = join(dir, 'summary.md');
    writeFileSync(summary, '');
    const ghEnv = { ...ENV, GITHUB_ACTIONS: 'true', GITHUB_STEP_SUMMARY: summary };

    // 3 per 2 s, sliding: fewer than the five answers a header series needs before it can read a window,
    // so the burst always meets a 429 first; sliding, so no window boundary can fall inside the burst
    // (its 4th send comes 150 ms after the 1st: 13x less than the window, however late a busy machine is).
    const limited = await emulator({ limit: 3, windowMs: 2000, algorithm: 'sliding-window', headers: 'x-ratelimit' });
    const res = await probe(limited.url, ['--rpm', '1200', '--max-requests', '20', '--concurrency', 'off'], { env: ghEnv });
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stdout, /^::warning title=chutes-diag probe::\d+ of \d+ requests were rate limited \(429\)/m);
    assert.doesNotMatch(res.stdout, /^::error/m);
    let md = readFileSync(summary, 'utf8');
    assert.match(md, /### chutes-diag probe/);
    assert.match(md, /\nrate limit [≈≥]? ?\d+ per [\d.]+m?s \([≈≥]? ?[\d.]+\/min\), /, 'the headline states the estimate');
    for (const row of ['limit', 'window', 'per minute', 'burst', 'algorithm', 'bound / source / confidence', 'concurrency', 'requests sent']) {
      assert.match(md, new RegExp(`\\| ${row} \\| `), `row ${row}`);
    }
    assert.ok(!md.includes(FAKE_KEY));

    // Never limited, with --json: stdout is the document alone; the at-least bound is a warning.
    const open = await emulator({ limit: 20, windowMs: 2000, headers: 'chutes' });
    const json = await probe(open.url, ['--json', '--rpm', '300', '--max-requests', '6', '--concurrency', 'off'], { env: ghEnv });
    assert.equal(json.code, 0, json.stderr);
    parseJsonOutput(json.stdout);
    assert.match(json.stderr, /^::warning title=chutes-diag probe::rate limit: only a lower bound/m);
    md = readFileSync(summary, 'utf8');
    assert.equal(md.match(/### chutes-diag probe/g).length, 2);
    assert.match(md, /\| limit \| ≥ \d+ \|/);

    // A failing run (every answer 401): an error annotation with the exit code.
    const rejecting = await emulator({ apiKey: `cpk_${'1'.repeat(32)}.${'2'.repeat(32)}.${'3'.repeat(32)}` });
    const failed = await probe(rejecting.url, ['--rpm', '600', '--max-requests', '4', '--concurrency', 'off'], { env: ghEnv });
    assert.equal(failed.code, 4);
    assert.match(failed.stdout, /^::error title=chutes-diag probe::probe failed \(exit 4\)/m);

    // Outside GitHub Actions: nothing of it.
    const plain = await probe(limited.url, ['--rpm', '1200', '--max-requests', '6', '--concurrency', 'off']);
    assert.doesNotMatch(plain.stdout, /::(warning|error)/);
  });
});

describe('exit codes', () => {
  it('a plan over 100 requests needs --yes without a TTY (exit 2); with --yes it runs', async () => {
    const e = await emulator({ headers: 'ietf' });
    const refused = await probe(e.url, ['--max-requests', '150']);
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /--yes/);
    assert.equal(e.arrivals.length, 0);
    const confirmed = await probe(e.url, ['--max-requests', '150', '--yes', '--json', '--concurrency', 'off']);
    assert.equal(confirmed.code, 0, confirmed.stderr);
  });

  it('every response an auth error: exit 4, and the estimate is called meaningless', async () => {
    const e = await emulator({ apiKey: `cpk_${'1'.repeat(32)}.${'2'.repeat(32)}.${'3'.repeat(32)}` });
    const res = await probe(e.url, ['--rpm', '600', '--max-requests', '10']);
    assert.equal(res.code, 4, res.stderr);
    assert.match(res.stdout, /meaningless/);
    assert.ok(inferenceArrivals(e).length <= 4, 'stops early on a rejected key');
  });

  it('nothing but network errors: exit 6 with a one-line error', async () => {
    const port = await new Promise((resolve) => {
      const s = createServer();
      s.listen(0, '127.0.0.1', () => {
        const { port: p } = /** @type {import('node:net').AddressInfo} */ (s.address());
        s.close(() => resolve(p));
      });
    });
    const res = await probe(`http://127.0.0.1:${port}`, ['--rpm', '600', '--max-requests', '10']);
    assert.equal(res.code, 6);
    const errorLines = res.stderr.split('\n').filter((l) => l.startsWith('error:'));
    assert.equal(errorLines.length, 1, res.stderr);
    assert.match(errorLines[0], /refused/);
  });

  it('Ctrl-C with nothing in flight exits at once, not after the 3-s drain timeout', async () => {
    // One send every 3 s, answered at once: between sends nothing is in flight.
    const e = await emulator({ limit: 5, windowMs: 60_000 });
    /** @type {import('node:child_process').ChildProcess} */
    let child;
    const pending = probe(e.url, ['--json', '--rpm', '20', '--max-requests', '10', '--concurrency', 'off'], { onSpawn: (c) => { child = c; } });
    await waitFor(() => inferenceArrivals(e).length > 0, 60_000, 'a request at the emulator');
    await new Promise((r) => setTimeout(r, 300));
    const killedAt = performance.now();
    child.kill('SIGINT');
    const res = await pending;
    const exitMs = performance.now() - killedAt;
    assert.equal(res.code, 130, res.stderr);
    assert.equal(parseJsonOutput(res.stdout).stopReason, 'interrupted');
    // What is told apart: an exit at once (~0.1 s) from one held by the 3-s drain timer. The bound is
    // the drain itself, 30x the expected figure, so a busy machine cannot fail it.
    assert.ok(exitMs < 3000, `exited ${Math.round(exitMs)} ms after SIGINT: the drain timer held the process`);
  });

  it('Ctrl-C: stops, prints the partial result, exits 130', async () => {
    const e = await emulator({ limit: 5, windowMs: 60_000, latencyMs: 100 });
    /** @type {import('node:child_process').ChildProcess} */
    let child;
    const pending = probe(e.url, ['--json', '--rpm', '600', '--max-requests', '50', '--concurrency', 'off'], { onSpawn: (c) => { child = c; } });
    // Interrupt once the probe is under way (however long the CLI takes to start on a busy machine).
    await waitFor(() => inferenceArrivals(e).length >= 2, 60_000, 'two requests at the emulator');
    child.kill('SIGINT');
    const res = await pending;
    assert.equal(res.code, 130, res.stderr);
    const doc = parseJsonOutput(res.stdout);
    assert.equal(doc.exitCode, 130);
    assert.ok(doc.responses.length > 0);
    assert.equal(doc.stopReason, 'interrupted');
  });
});
