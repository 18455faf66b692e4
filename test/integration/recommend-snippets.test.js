// Proof, not advice (#17): the JavaScript snippets recommend() writes are EXECUTED, with the recommended
// numbers, against the emulator's OpenAI-compatible endpoint and each limiter type. Over at least two
// windows: zero 429s, and at least 80 % of the limit's throughput.
//
// Both are judged on the emulator's own request log, never on this process's clock:
//  - zero 429: the log's statuses. Robust on a busy machine: the limiters space the STARTS, and a late
//    timer only delays a start, so load can only lower the pace the server sees.
//  - throughput: the rate the server saw while the client was sending, (n − 1) arrivals over the span
//    from the first arrival to the last, against the limit's L per W. Both limiters plan each start from
//    the previous planned one (bottleneck's minTime, the openai-node pacer) or the previous actual one
//    (p-queue's strict window), so a busy machine costs at most its timer lateness per start (a few ms
//    against a 371 ms interval) — not the test's start-up, the import of the snippet, or the drain.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { snippetModules } from '../helpers/snippet-module.js';
import { emulatorPool, FAKE_KEY, runCli } from '../helpers/cli.js';

const { recommend } = await import('../../dist/recommend/recommend.js');
const { DEFAULT_MODELS } = await import('../../dist/emulator/chutes.js');

const MODEL = DEFAULT_MODELS[0].id;
// 6 per 2 s: the recommended interval is 371 ms, long against a busy machine's timer lateness (a few ms,
// tens under heavy load), which is all a spaced limiter loses; 13 requests span over two windows.
const LIMIT = 6;
const WINDOW_MS = 2000;
/** 2L + 1 requests at ~90 % of the limit: a span of over two windows. */
const REQUESTS = 2 * LIMIT + 1;
const snippets = snippetModules('snippets');
const SNIPPET_DIR = snippets.dir;
const start = emulatorPool({ edgeBan: null });

before(() => mkdirSync(SNIPPET_DIR, { recursive: true }));
after(() => snippets.clean());

/**
 * @param {{ algorithm: string, burst?: number | null, concurrency?: number | null }} figures
 * @returns {any} an EstimateInput: exact, stated by headers, the emulator's own figures
 */
function estimateFor({ algorithm, burst = null, concurrency = null }) {
  return {
    rate: { limit: LIMIT, windowSeconds: WINDOW_MS / 1000, perMinute: (LIMIT * 60_000) / WINDOW_MS, burst, algorithm, bound: 'exact', source: 'headers', confidence: 'high', penalty: null },
    concurrency: concurrency === null ? { limit: null, bound: 'unknown', testedUpTo: null } : { limit: concurrency, bound: 'exact', testedUpTo: concurrency },
  };
}

function contextFor(url) {
  return { retryAfterSeen: true, edgeBanSeen: false, chutes: false, baseUrl: `${url}/v1`, model: MODEL, latencyP99Ms: null };
}

const importSnippet = snippets.load;

/** A plain fetch that fails like openai-node's errors do: `status` and `headers` on the error. */
function postTo(url) {
  return async () => {
    const res = await fetch(`${url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${FAKE_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: MODEL, messages: [{ role: 'user', content: 'hi' }], max_tokens: 1 }),
    });
    await res.arrayBuffer();
    if (!res.ok) throw Object.assign(new Error(`HTTP ${res.status}`), { status: res.status, headers: res.headers });
    return res.status;
  };
}

/** The completion requests in the emulator's log: statuses and the server-seen throughput ratio. */
function judge(emulator) {
  const calls = emulator.arrivals.filter((a) => a.listener === 'llm' && a.path.endsWith('/chat/completions'));
  const statuses = calls.map((a) => a.status);
  const spanMs = calls.at(-1).t - calls[0].t;
  const ratio = ((calls.length - 1) / spanMs) / (LIMIT / WINDOW_MS);
  return { statuses, spanMs, ratio, count: calls.length };
}

function assertHeld(result, label) {
  const refused = result.statuses.filter((s) => s === 429).length;
  assert.equal(refused, 0, `${label}: ${refused} of ${result.count} requests were refused (statuses ${result.statuses.join(',')})`);
  assert.equal(result.count, REQUESTS, `${label}: every request was sent once`);
  assert.ok(result.spanMs >= 2 * WINDOW_MS, `${label}: the run spans at least two windows (${Math.round(result.spanMs)} ms)`);
  assert.ok(result.ratio >= 0.8, `${label}: throughput ${(result.ratio * 100).toFixed(1)} % of the limit (want ≥ 80 %)`);
  // The figures the report quotes (node --test shows diagnostics with the test).
  console.log(`# ${label}: ${result.count} requests over ${Math.round(result.spanMs)} ms, 0 × 429, throughput ${(result.ratio * 100).toFixed(1)} % of ${LIMIT} per ${WINDOW_MS} ms`);
}

const LIMITERS = [
  { name: 'fixed window (x-ratelimit headers)', emulator: { algorithm: 'fixed-window', headers: 'x-ratelimit' }, estimate: { algorithm: 'fixed-window' } },
  { name: 'sliding window (ietf headers)', emulator: { algorithm: 'sliding-window', headers: 'ietf' }, estimate: { algorithm: 'sliding-window' } },
  { name: 'token bucket, burst 3 (openai headers)', emulator: { algorithm: 'token-bucket', burst: 3, headers: 'openai' }, estimate: { algorithm: 'token-bucket', burst: 3 } },
  { name: 'token bucket, 2 in flight at most, 300 ms answers (no headers)', emulator: { algorithm: 'token-bucket', burst: 2, headers: 'none', concurrencyLimit: 2, latencyMs: 300 }, estimate: { algorithm: 'token-bucket', burst: 2, concurrency: 2 } },
];

describe('executed snippets hold the limit: zero 429s and ≥ 80 % of its throughput over two windows', () => {
  for (const limiter of LIMITERS) {
    for (const client of ['bottleneck', 'p-queue']) {
      it(`${client} against a ${limiter.name}`, async () => {
        const emulator = await start({ limit: LIMIT, windowMs: WINDOW_MS, dailyQuota: null, ...limiter.emulator });
        const rec = recommend(estimateFor(limiter.estimate), contextFor(emulator.url));
        const { limited } = await importSnippet(rec.snippets[client], ['limited']);
        const post = postTo(emulator.url);
        await Promise.all(Array.from({ length: REQUESTS }, () => limited(post)));
        assertHeld(judge(emulator), `${client} / ${limiter.name}`);
      });
    }
  }

  // The other header modes: what the server says in them changes the estimate, not the pace's effect.
  for (const headers of ['anthropic', 'chutes']) {
    it(`bottleneck against a fixed window with ${headers} headers`, async () => {
      const emulator = await start({ limit: LIMIT, windowMs: WINDOW_MS, dailyQuota: null, algorithm: 'fixed-window', headers });
      const rec = recommend(estimateFor({ algorithm: 'fixed-window' }), contextFor(emulator.url));
      const { limited } = await importSnippet(rec.snippets.bottleneck, ['limited']);
      const post = postTo(emulator.url);
      await Promise.all(Array.from({ length: REQUESTS }, () => limited(post)));
      assertHeld(judge(emulator), `bottleneck / fixed window (${headers} headers)`);
    });
  }

  for (const limiter of [LIMITERS[0], LIMITERS[3]]) {
    it(`the openai-node wrapper (the real SDK) against a ${limiter.name}`, async () => {
      const emulator = await start({ limit: LIMIT, windowMs: WINDOW_MS, dailyQuota: null, ...limiter.emulator });
      const rec = recommend(estimateFor(limiter.estimate), contextFor(emulator.url));
      process.env.CHUTES_API_KEY = FAKE_KEY;
      const { client, limited } = await importSnippet(rec.snippets['openai-node'], ['client', 'limited']);
      const replies = await Promise.all(Array.from({ length: REQUESTS }, () => limited(() => client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'hi' }], max_tokens: 1 }))));
      assert.equal(replies.length, REQUESTS);
      assertHeld(judge(emulator), `openai-node / ${limiter.name}`);
    });
  }
});

describe('the judge is not vacuous', () => {
  it('the same p-queue snippet paced a third over the limit is caught: 429s in the log', async () => {
    const emulator = await start({ limit: LIMIT, windowMs: WINDOW_MS, dailyQuota: null, algorithm: 'sliding-window', headers: 'ietf' });
    const rec = recommend(estimateFor({ algorithm: 'sliding-window' }), contextFor(emulator.url));
    const tooFast = Math.floor((WINDOW_MS / LIMIT) * 0.75);
    const code = rec.snippets['p-queue'].replace(`interval: ${rec.minIntervalMs},`, `interval: ${tooFast},`).replace(/const MAX_RETRIES = \d+;/, 'const MAX_RETRIES = 0;');
    const { limited } = await importSnippet(code, ['limited']);
    const post = postTo(emulator.url);
    await Promise.allSettled(Array.from({ length: REQUESTS }, () => limited(post)));
    const { statuses } = judge(emulator);
    assert.ok(statuses.includes(429), `a pace of one per ${tooFast} ms must be refused (statuses ${statuses.join(',')})`);
  });
});

describe('probe → recommend → the snippet, end to end', () => {
  it('a probe --json result of an ietf-headed window gives a bottleneck snippet that holds it', async () => {
    const probed = await start({ limit: LIMIT, windowMs: WINDOW_MS, dailyQuota: null, headers: 'ietf' });
    const run = await runCli(['probe', '--base-url', probed.url, '--rpm', '600', '--max-requests', '30', '--concurrency', 'off', '--json'], { env: { CHUTES_API_KEY: FAKE_KEY } });
    assert.equal(run.code, 0, run.stderr);
    const file = `${SNIPPET_DIR}probe-result.json`;
    writeFileSync(file, run.stdout);
    const shown = await runCli(['recommend', file, '--json']);
    assert.equal(shown.code, 0, shown.stderr);
    const { recommendation } = JSON.parse(shown.stdout);
    assert.deepEqual(recommendation, JSON.parse(run.stdout).recommendation, 'recommend <file> gives what the probe gave');
    assert.ok(recommendation.requestsPerMinute !== null, recommendation.basis);
    const fresh = await start({ limit: LIMIT, windowMs: WINDOW_MS, dailyQuota: null, headers: 'ietf' });
    const code = recommendation.snippets.bottleneck.replaceAll(probed.url, fresh.url);
    const { limited } = await importSnippet(code, ['limited']);
    const post = postTo(fresh.url);
    await Promise.all(Array.from({ length: REQUESTS }, () => limited(post)));
    assertHeld(judge(fresh), 'probe → recommend → bottleneck / ietf window');
  });
});
