// `chutes-diag tap` end to end: the official openai client talks to the emulator through the built CLI.
// Timing is judged on the servers' own events (arrivals, the order of chunks), never on a stopwatch.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { readFileSync, writeFileSync, mkdtempSync } from 'node:fs';
import { createServer } from 'node:http';
import { connect, createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import OpenAI from 'openai';
import { closedPortUrl, emulatorPool, FAKE_KEY, runCli } from '../helpers/cli.js';
import { startTapCli } from '../helpers/tap.js';

const MODEL = 'unsloth/Mistral-Nemo-Instruct-2407-TEE';
const startEmulator = emulatorPool({ edgeBan: null, dailyQuota: null });
const dir = mkdtempSync(join(tmpdir(), 'chutes-diag-tap-'));
const KEY_PARTS = [FAKE_KEY, FAKE_KEY.slice(-20), 'FAKEtestKEYdoNOTuse'];

function client(baseURL, extra = {}) {
  return new OpenAI({ apiKey: FAKE_KEY, baseURL: `${baseURL}/v1`, maxRetries: 0, timeout: 30_000, ...extra });
}

function assertNoKey(text, where) {
  for (const part of KEY_PARTS) assert.ok(!text.includes(part), `the key (or part of it) appears in ${where}`);
}

/** Sends one chat completion; resolves with its HTTP status (200, or the APIError's). */
async function chat(openai) {
  try {
    await openai.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'hi' }], max_tokens: 1 });
    return 200;
  } catch (error) {
    if (error instanceof OpenAI.APIError && typeof error.status === 'number') return error.status;
    throw error;
  }
}

/** The sum of the tap's request counters for one status, read from the /metrics text. */
function countByStatus(metrics, status) {
  const pattern = new RegExp(`^chutes_diag_tap_requests_total\\{status="${status}",verdict="[a-z-]+"\\} (\\d+)$`, 'gm');
  return [...metrics.matchAll(pattern)].reduce((n, m) => n + Number(m[1]), 0);
}

/** Raw HTTP/1.1 on a socket: what a hostile client or a misconfigured app may send. */
async function rawRequest(url, text) {
  const { hostname, port } = new URL(url);
  const socket = connect(Number(port), hostname);
  await once(socket, 'connect');
  socket.write(text);
  let answer = '';
  socket.setEncoding('utf8').on('data', (d) => { answer += d; });
  await once(socket, 'close');
  return answer;
}

describe('tap: forwarding through the openai client', () => {
  for (const headers of ['ietf', 'none']) {
    it(`records every exchange and estimates from them (emulator headers: ${headers}); no key anywhere`, async () => {
      const emulator = await startEmulator({ headers, limit: 4, windowMs: 60_000 });
      const out = join(dir, `tap-${headers}.jsonl`);
      const tap = await startTapCli(['--base-url', emulator.url, '--out', out, '--json', '--metrics']);
      const openai = client(tap.url);
      const statuses = [];
      for (let i = 0; i < 7; i++) statuses.push(await chat(openai));
      assert.deepEqual(statuses, [200, 200, 200, 200, 429, 429, 429]);
      const metrics = await (await fetch(`${tap.url}/metrics`)).text();
      assert.deepEqual([countByStatus(metrics, '200'), countByStatus(metrics, '429')], [4, 3]);
      assert.match(metrics, /# EOF\n$/);
      const end = await tap.stop('SIGINT');
      assert.equal(end.code, 0, end.stderr);
      const doc = JSON.parse(end.stdout);
      assert.equal(doc.command, 'tap');
      assert.deepEqual([doc.summary.sent, doc.summary.ok, doc.summary.rateLimited], [7, 4, 3]);
      // The emulator's own log: every request reached it once, through the tap.
      assert.equal(emulator.arrivals.filter((a) => a.path === '/v1/chat/completions').length, 7);
      const lines = readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
      assert.equal(lines.length, 7);
      assert.deepEqual(lines.map((r) => r.status), statuses);
      // Bodies only as far as a verdict needs: the refusals' words, never the app's answers.
      assert.ok(lines.filter((r) => r.status === 200).every((r) => r.body === null));
      assert.ok(lines.filter((r) => r.status === 429).every((r) => typeof r.body === 'string' && r.body.length > 0));
      if (headers === 'ietf') {
        assert.deepEqual([doc.estimate.rate.limit, doc.estimate.rate.windowSeconds, doc.estimate.rate.bound, doc.estimate.rate.source], [4, 60, 'exact', 'headers']);
      } else {
        // One exhausted window: no limit is claimed, and it says why.
        assert.deepEqual([doc.estimate.rate.limit, doc.estimate.rate.bound], [null, 'unknown']);
        assert.match(doc.estimate.rate.explanation, /two exhausted windows/);
      }
      assert.equal(doc.estimate.concurrency.bound, 'at-least');
      assert.ok(Array.isArray(doc.verdicts) && doc.verdicts.length > 0);
      for (const [text, where] of [[end.stdout, 'stdout'], [end.stderr, 'stderr'], [readFileSync(out, 'utf8'), '--out'], [metrics, '/metrics']]) assertNoKey(text, where);

      // analyze reads the tap's file and a HAR of the same exchanges to the same estimate.
      const fromJsonl = await runCli(['analyze', out, '--json']);
      assert.equal(fromJsonl.code, 0, fromJsonl.stderr);
      const har = join(dir, `tap-${headers}.har`);
      writeFileSync(har, JSON.stringify(harOf(lines, emulator.url)));
      const fromHar = await runCli(['analyze', har, '--json']);
      assert.equal(fromHar.code, 0, fromHar.stderr);
      const a = JSON.parse(fromJsonl.stdout);
      const b = JSON.parse(fromHar.stdout);
      assert.equal(a.command, 'analyze');
      assert.deepEqual(a.estimate, doc.estimate);
      assert.deepEqual(b.estimate, doc.estimate);
      assert.deepEqual(b.summary, a.summary);
      assertNoKey(fromHar.stdout + fromHar.stderr, 'analyze of a HAR holding the key');

      // The recommendation (#17) from the same estimate: tap, analyze of both files and recommend of the tap's file agree.
      const numbers = (r) => ({ rpm: r.requestsPerMinute, interval: r.minIntervalMs, concurrency: r.maxConcurrency, retry: r.retry });
      assert.ok(doc.recommendation && typeof doc.recommendation.basis === 'string', JSON.stringify(doc.recommendation));
      const recommended = await runCli(['recommend', out, '--json']);
      assert.equal(recommended.code, 0, recommended.stderr);
      for (const other of [a.recommendation, b.recommendation, JSON.parse(recommended.stdout).recommendation]) assert.deepEqual(numbers(other), numbers(doc.recommendation));
      if (headers === 'ietf') {
        // 4 per 60 s, exact from the headers: a pace below it, with a snippet to paste.
        assert.ok(doc.recommendation.requestsPerMinute > 0 && doc.recommendation.requestsPerMinute < 4, JSON.stringify(doc.recommendation));
        assert.ok(Object.keys(doc.recommendation.snippets).length > 0);
      } else {
        // The limit is unknown: no numbers, only what to measure.
        assert.equal(doc.recommendation.requestsPerMinute, null);
        assert.deepEqual(doc.recommendation.snippets, {});
      }
      const human = await runCli(['analyze', out, '--for', 'p-queue']);
      assert.equal(human.code, 0, human.stderr);
      assert.match(human.stdout, /Recommendation/);
      if (headers === 'ietf') assert.match(human.stdout, /PQueue/);
    });
  }
});

/** A HAR file of the tap's exchanges, as a browser would export it (the key in the request headers). */
function harOf(records, upstream) {
  return {
    log: {
      version: '1.2',
      creator: { name: 'test', version: '1' },
      entries: records.map((r) => ({
        startedDateTime: r.sentAt,
        time: r.latencyMs,
        request: { method: 'POST', url: `${upstream}/v1/chat/completions`, httpVersion: 'HTTP/1.1', headers: [{ name: 'Authorization', value: `Bearer ${FAKE_KEY}` }], queryString: [], cookies: [], headersSize: -1, bodySize: -1 },
        response: {
          status: r.status, statusText: '', httpVersion: 'HTTP/1.1', cookies: [], redirectURL: '', headersSize: -1, bodySize: -1,
          headers: Object.entries(r.headers).map(([name, value]) => ({ name, value })),
          content: { size: r.body?.length ?? 0, mimeType: 'application/json', text: r.body ?? '' },
        },
        cache: {},
        timings: { send: 0, wait: r.latencyMs, receive: 0 },
      })),
    },
  };
}

describe('tap: streaming', () => {
  it('server-sent events reach the app chunk by chunk, before the upstream has finished', async () => {
    const events = [];
    /** @type {() => void} */
    let gotFirst = () => undefined;
    const firstSeen = new Promise((resolve) => { gotFirst = () => resolve(undefined); });
    const chunk = (content, finish = null) => `data: ${JSON.stringify({ id: 'c1', object: 'chat.completion.chunk', created: 1, model: MODEL, choices: [{ index: 0, delta: { content }, finish_reason: finish }] })}\n\n`;
    const upstream = createServer(async (req, res) => {
      req.resume();
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      res.write(chunk('Hel'));
      events.push('upstream sent the first chunk');
      // The rest only once the app has the first chunk (or after a 10x margin, so a buffering tap fails, not hangs).
      await Promise.race([firstSeen, new Promise((r) => setTimeout(r, 20_000))]);
      res.write(chunk('lo', 'stop'));
      res.end('data: [DONE]\n\n');
      events.push('upstream finished');
    });
    upstream.listen(0, '127.0.0.1');
    await once(upstream, 'listening');
    after(() => upstream.close());
    const tap = await startTapCli(['--base-url', `http://127.0.0.1:${/** @type {import('node:net').AddressInfo} */ (upstream.address()).port}`]);
    const stream = await client(tap.url).chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'hi' }], stream: true });
    const text = [];
    for await (const part of stream) {
      text.push(part.choices[0]?.delta?.content ?? '');
      if (text.length === 1) {
        events.push('app got the first chunk');
        gotFirst();
      }
    }
    assert.equal(text.join(''), 'Hello');
    assert.deepEqual(events, ['upstream sent the first chunk', 'app got the first chunk', 'upstream finished']);
    const end = await tap.stop('SIGTERM');
    assert.equal(end.code, 0, end.stderr);
  });
});

describe('tap: a dead or silent upstream', () => {
  it('answers 502 naming the cause when nothing listens, and keeps going', async () => {
    const tap = await startTapCli(['--base-url', await closedPortUrl(), '--json']);
    for (let i = 0; i < 2; i++) {
      const response = await fetch(`${tap.url}/v1/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${FAKE_KEY}`, 'content-type': 'application/json' }, body: '{}' });
      assert.equal(response.status, 502);
      const body = /** @type {any} */ (await response.json());
      assert.equal(body.error.code, 'connect_refused');
      assert.match(body.error.message, /unreachable: connection refused/);
    }
    const end = await tap.stop('SIGINT');
    assert.equal(end.code, 0, end.stderr);
    const doc = JSON.parse(end.stdout);
    assert.deepEqual([doc.summary.sent, doc.summary.errors], [2, 2]);
    assertNoKey(end.stdout + end.stderr, 'output');
  });

  it('answers 504 when the upstream accepts and never answers (--timeout)', async () => {
    const sockets = [];
    const silent = createNetServer((socket) => { sockets.push(socket); socket.on('error', () => undefined); });
    silent.listen(0, '127.0.0.1');
    await once(silent, 'listening');
    after(() => { for (const s of sockets) s.destroy(); silent.close(); });
    const tap = await startTapCli(['--base-url', `http://127.0.0.1:${/** @type {import('node:net').AddressInfo} */ (silent.address()).port}`, '--timeout', '300ms']);
    const status = await chat(client(tap.url));
    assert.equal(status, 504);
    const end = await tap.stop('SIGINT');
    assert.equal(end.code, 0, end.stderr);
    assert.match(end.stdout, /exchanges/);
  });
});

describe('tap: Ctrl-C with requests in flight', () => {
  it('stops accepting, lets the exchanges in flight finish, prints the summary and exits 0', async () => {
    const emulator = await startEmulator({ headers: 'ietf', limit: 100, latencyMs: 1500 });
    const tap = await startTapCli(['--base-url', emulator.url, '--json']);
    const openai = client(tap.url);
    const pending = [chat(openai), chat(openai), chat(openai)];
    // Ctrl-C once the emulator holds all three (its own log), not after a guessed delay.
    while (emulator.arrivals.filter((a) => a.path === '/v1/chat/completions').length < 3) await new Promise((r) => setTimeout(r, 20));
    const ended = tap.stop('SIGINT');
    assert.deepEqual(await Promise.all(pending), [200, 200, 200]);
    const end = await ended;
    assert.equal(end.code, 0, end.stderr);
    const doc = JSON.parse(end.stdout);
    assert.deepEqual([doc.summary.sent, doc.summary.ok], [3, 3]);
    assert.equal(doc.estimate.concurrency.limit, 3);
  });
});

describe('tap: not an open proxy, not reachable by DNS rebinding', () => {
  it('refuses absolute-form, CONNECT and a foreign Host; none reaches the upstream', async () => {
    const emulator = await startEmulator({ headers: 'ietf' });
    const tap = await startTapCli(['--base-url', emulator.url]);
    const { port } = new URL(tap.url);
    const absolute = await rawRequest(tap.url, `GET ${emulator.url}/v1/models HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: close\r\n\r\n`);
    assert.match(absolute, /^HTTP\/1\.1 400 /);
    assert.match(absolute, /not an open proxy/);
    const tunnel = await rawRequest(tap.url, `CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n`);
    assert.match(tunnel, /^HTTP\/1\.1 405 /);
    const rebinding = await rawRequest(tap.url, `GET /v1/models HTTP/1.1\r\nHost: attacker.example:${port}\r\nOrigin: http://attacker.example:${port}\r\nConnection: close\r\n\r\n`);
    assert.match(rebinding, /^HTTP\/1\.1 421 /);
    assert.match(rebinding, /DNS rebinding/);
    const fine = await rawRequest(tap.url, `GET /v1/models HTTP/1.1\r\nHost: localhost:${port}\r\nConnection: close\r\n\r\n`);
    assert.match(fine, /^HTTP\/1\.1 200 /);
    assert.equal(emulator.arrivals.length, 1, 'only the well-formed request reached the upstream');
    const end = await tap.stop('SIGINT');
    assert.equal(end.code, 0);
    assert.match(end.stderr, /refused a request \(absolute-form\)/);
    assert.match(end.stderr, /refused a request \(host-mismatch\)/);
  });

  it('a non-loopback --listen needs --allow-remote (exit 2)', async () => {
    const result = await runCli(['tap', '--listen', '0.0.0.0:0']);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /--listen: 0\.0\.0\.0 is not a loopback address.*--allow-remote/);
  });

  it('adds its own key (--api-key-file) only to requests without credentials and without a browser Origin', async () => {
    const seen = [];
    const upstream = createServer((req, res) => {
      seen.push({ origin: req.headers.origin ?? null, authorization: req.headers.authorization ?? null });
      req.resume();
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
    upstream.listen(0, '127.0.0.1');
    await once(upstream, 'listening');
    after(() => upstream.close());
    const keyFile = join(dir, 'key');
    writeFileSync(keyFile, `${FAKE_KEY}\n`);
    const tap = await startTapCli(['--base-url', `http://127.0.0.1:${/** @type {import('node:net').AddressInfo} */ (upstream.address()).port}`, '--api-key-file', keyFile]);
    await fetch(`${tap.url}/v1/models`);
    await fetch(`${tap.url}/v1/models`, { headers: { origin: `${tap.url}` } });
    await fetch(`${tap.url}/v1/models`, { headers: { authorization: 'Bearer cpk_theAppsOwnKey0123456789' } });
    assert.deepEqual(seen, [
      { origin: null, authorization: `Bearer ${FAKE_KEY}` },
      { origin: tap.url, authorization: null },
      { origin: null, authorization: 'Bearer cpk_theAppsOwnKey0123456789' },
    ]);
    const end = await tap.stop('SIGINT');
    assertNoKey(end.stdout + end.stderr, 'output');
    assert.ok(!(end.stdout + end.stderr).includes('theAppsOwnKey'), 'the app\'s key appears in the output');
  });
});

describe('analyze: bad files', () => {
  it('names the line and the field (exit 2)', async () => {
    const bad = join(dir, 'bad.jsonl');
    writeFileSync(bad, `${JSON.stringify({ seq: 1, sentAt: '2026-01-01T00:00:00Z', latencyMs: 1, status: 200, inFlight: 1, outcome: 'ok', rateLimit: { policies: [] } })}\n{"seq": 2, "sentAt": "yesterday"}\n`);
    const result = await runCli(['analyze', bad]);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /^error: analyze: line 2: field "sentAt" must be an ISO date-time\.\n$/);
    const notJson = join(dir, 'bad2.jsonl');
    writeFileSync(notJson, '{"seq":1}\nnot json\n');
    const second = await runCli(['analyze', notJson]);
    assert.equal(second.code, 2);
    assert.match(second.stderr, /line 1: field "sentAt"/);
    const missing = await runCli(['analyze', join(dir, 'nope.jsonl')]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /cannot read .*nope\.jsonl \(ENOENT\)/);
  });
});

describe('tap: says at once what the user must hear', () => {
  it('the app sending X-API-Key (Chutes ignores it), and an edge ban, each said once', async () => {
    const emulator = await startEmulator({ headers: 'chutes', limit: 100, edgeBan: { limit: 4, windowMs: 60_000, baseMs: 60_000, growth: 2, maxMs: 600_000 } });
    const tap = await startTapCli(['--base-url', emulator.url]);
    const viaXApiKey = client(tap.url, { apiKey: 'unused', defaultHeaders: { authorization: null, 'x-api-key': FAKE_KEY } });
    // The edge admits 4 a minute, and counts these two anonymous requests as well.
    assert.equal(await chat(viaXApiKey), 429);
    assert.equal(await chat(viaXApiKey), 429);
    const openai = client(tap.url);
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push(await chat(openai));
    assert.deepEqual(statuses, [200, 200, 429, 429]);
    const end = await tap.stop('SIGINT');
    assert.equal(end.code, 0, end.stderr);
    assert.equal(end.stderr.match(/warning: .*Chutes ignores X-API-Key/g)?.length, 1, end.stderr);
    assert.equal(end.stderr.match(/warning: edge ban:/g)?.length, 1, end.stderr);
    assertNoKey(end.stdout + end.stderr, 'output');
  });
});

describe('tap: request bodies stream upstream', () => {
  it('a 5 MiB upload arrives whole, and the answer comes back', async () => {
    let received = 0;
    const upstream = createServer((req, res) => {
      req.on('data', (chunk) => { received += chunk.length; });
      req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ received })));
    });
    upstream.listen(0, '127.0.0.1');
    await once(upstream, 'listening');
    after(() => upstream.close());
    const tap = await startTapCli(['--base-url', `http://127.0.0.1:${/** @type {import('node:net').AddressInfo} */ (upstream.address()).port}`]);
    const body = Buffer.alloc(5 * 1024 * 1024, 97);
    const response = await fetch(`${tap.url}/v1/files`, { method: 'POST', body });
    assert.deepEqual(await response.json(), { received: body.length });
    assert.equal(received, body.length);
    const end = await tap.stop('SIGINT');
    assert.equal(end.code, 0, end.stderr);
  });
});

describe('analyze: a probe recording', () => {
  it('reads a probe --out file and a probe --json result; the human report has the summary, chart and estimate', async () => {
    const emulator = await startEmulator({ headers: 'ietf', limit: 5, windowMs: 60_000 });
    const out = join(dir, 'probe.jsonl');
    const probe = await runCli(['probe', '--base-url', emulator.url, '--rpm', '600', '--max-requests', '8', '--concurrency', 'off', '--out', out, '--json'], { env: { CHUTES_API_KEY: FAKE_KEY } });
    assert.equal(probe.code, 0, probe.stderr);
    const doc = join(dir, 'probe.json');
    writeFileSync(doc, probe.stdout);
    const fromJsonl = await runCli(['analyze', out]);
    assert.equal(fromJsonl.code, 0, fromJsonl.stderr);
    assert.match(fromJsonl.stdout, /exchanges/);
    assert.match(fromJsonl.stdout, /Timeline/);
    assert.match(fromJsonl.stdout, /Estimate from this traffic/);
    assert.match(fromJsonl.stdout, /The ratelimit header states 5 requests per 60 s/);
    const fromDoc = await runCli(['analyze', doc, '--json']);
    assert.equal(fromDoc.code, 0, fromDoc.stderr);
    const parsed = JSON.parse(fromDoc.stdout);
    assert.equal(parsed.input.format, 'json-document');
    assert.deepEqual([parsed.estimate.rate.limit, parsed.estimate.rate.windowSeconds, parsed.estimate.rate.bound], [5, 60, 'exact']);
    assertNoKey(fromJsonl.stdout + fromDoc.stdout, 'analyze output');
  });
});

describe('tap: an upstream that echoes the key', () => {
  it('the key the app sent is masked in every output of the tap, even when the upstream repeats it', async () => {
    const upstream = createServer((req, res) => {
      req.resume();
      const sent = String(req.headers.authorization ?? req.headers['x-api-key'] ?? '').replace(/^Bearer\s+/i, '');
      res.writeHead(401, { 'content-type': 'application/json', 'x-ratelimit-limit': '10', 'x-ratelimit-remaining': '9', 'x-ratelimit-reset': '30', 'x-echo': sent });
      res.end(JSON.stringify({ detail: `Invalid token: ${sent}` }));
    });
    upstream.listen(0, '127.0.0.1');
    await once(upstream, 'listening');
    after(() => upstream.close());
    const out = join(dir, 'echo.jsonl');
    const tap = await startTapCli(['--base-url', `http://127.0.0.1:${/** @type {import('node:net').AddressInfo} */ (upstream.address()).port}`, '--out', out, '--metrics']);
    // A key of no known shape, so only the tap's own redaction of what the app sent can mask it.
    const plainKey = 'plainSecretToken-7f3a9c2e4b1d8f6a';
    const answer = await fetch(`${tap.url}/v1/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${plainKey}` }, body: '{}' });
    assert.equal(answer.status, 401);
    await fetch(`${tap.url}/v1/chat/completions`, { method: 'POST', headers: { 'x-api-key': FAKE_KEY }, body: '{}' });
    const metrics = await (await fetch(`${tap.url}/metrics`)).text();
    const end = await tap.stop('SIGINT');
    assert.equal(end.code, 0, end.stderr);
    const analyzed = await runCli(['analyze', out]);
    for (const [text, where] of [[end.stdout, 'stdout'], [end.stderr, 'stderr'], [readFileSync(out, 'utf8'), '--out'], [metrics, '/metrics'], [analyzed.stdout + analyzed.stderr, 'analyze']]) {
      assertNoKey(text, where);
      assert.ok(!text.includes('7f3a9c2e4b1d8f6a'), `the app's key appears in ${where}`);
    }
    assert.match(readFileSync(out, 'utf8'), /Invalid token/);
  });
});
