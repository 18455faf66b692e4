// `doctor` end to end: one emulator per misconfiguration, and the verdict must name that cause.
// Every run also checks that the key never reaches stdout or stderr.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FAKE_KEY, closedPortUrl, emulatorPool, parseJsonOutput, runCli } from '../helpers/cli.js';

const OTHER_KEY = FAKE_KEY.replace('FAKE', 'REAL');
const CHECK_ORDER = [
  'key-present', 'key-format', 'base-url', 'auth-scheme', 'inference-reachable', 'management-reachable', 'key-valid', 'quota', 'model-served', 'inference',
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
    // One inference request, and the free GET /v1/models that checks the model is served.
    assert.deepEqual(emulator.arrivals.filter((a) => a.listener === 'llm').map((a) => a.path).sort(), ['/v1/chat/completions', '/v1/models']);
    assert.match(doc.checks.find((c) => c.id === 'model-served').message, /is served \(listed in GET \/v1\/models: \d+ text models\)/);
  });

  it('--skip-inference spends nothing', async () => {
    const emulator = await start();
    const { result, doc } = await doctor(emulator, { args: ['--skip-inference'] });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(statusOf(doc, 'inference'), 'skip');
    assert.equal(doc.inference, null);
    assert.deepEqual(emulator.arrivals.filter((a) => a.listener === 'llm' && a.path !== '/v1/models'), [], 'no inference request (the model list is free)');
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

  it('a malformed key accepted by a lenient server → a key-format warning, not the verdict, exit 0 (issue #12 item 10)', async () => {
    const emulator = await start();
    const malformed = `cpk_${'0'.repeat(32)}.${'f'.repeat(20)}`;
    const { result, doc } = await doctor(emulator, { key: malformed });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(doc.verdict.code, 'no-problem-found');
    assert.equal(statusOf(doc, 'key-format'), 'warn');
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

// ---------------------------------------------------------------------------------------------
// Where the key goes: a key for another API must not reach the Chutes management host.

/** An OpenRouter-shaped key: obviously fake. */
const OTHER_API_KEY = `sk-or-v1-${'0123456789abcdef'.repeat(4)}`;
const servers = [];
after(() => Promise.all(servers.map((server) => new Promise((resolve) => { server.closeAllConnections(); server.close(resolve); }))));

/**
 * A loopback server that records every request, including a proxy's CONNECT (refused) and
 * absolute-form requests; it answers /users/me and the quota lookup, and inference, with 200.
 */
async function recordingServer() {
  const seen = [];
  const server = createHttpServer((req, res) => {
    seen.push({ method: req.method, url: req.url, authorization: req.headers.authorization ?? null });
    req.resume();
    req.on('end', () => {
      const body = req.url === '/users/me' ? { username: 'tester' }
        : req.url === '/users/me/quota_usage/me' ? { quota: 1000, used: 10 }
          : { choices: [{ message: { role: 'assistant', content: 'hi' } }] };
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    });
  });
  server.on('connect', (req, socket) => {
    seen.push({ method: 'CONNECT', url: req.url, authorization: null });
    socket.end('HTTP/1.1 403 Forbidden\r\n\r\n');
  });
  await /** @type {Promise<void>} */ (new Promise((resolve) => server.listen(0, '127.0.0.1', resolve)));
  servers.push(server);
  return { url: `http://127.0.0.1:${/** @type {import('node:net').AddressInfo} */ (server.address()).port}`, seen };
}

const MANAGEMENT_CHECKS = ['management-reachable', 'key-valid', 'quota'];

describe('doctor sends the key only where the user pointed it', { concurrency: true }, () => {
  it('a non-Chutes --base-url and no --api-base-url: the management checks are skipped, nothing reaches the management host', async () => {
    const inference = await recordingServer();
    // B stands in for the default management host: as the proxy for every non-loopback host, it
    // would see any request to https://api.chutes.ai (a CONNECT), without touching the network.
    const management = await recordingServer();
    const env = { CHUTES_API_KEY: OTHER_API_KEY, HTTPS_PROXY: management.url, HTTP_PROXY: management.url, NO_PROXY: '127.0.0.1,localhost' };
    const result = await runCli(['doctor', '--base-url', inference.url, '--json'], { env });
    assertNoKey(result, OTHER_API_KEY);
    assert.deepEqual(management.seen, [], 'the management host (or a proxy towards it) received nothing');
    assert.equal(result.code, 0, result.stderr);
    const doc = parseJsonOutput(result.stdout);
    assert.deepEqual(doc.checks.map((c) => c.id), CHECK_ORDER);
    for (const id of MANAGEMENT_CHECKS) {
      const c = doc.checks.find((x) => x.id === id);
      assert.equal(c.status, 'skip', id);
      assert.match(c.message, /the key is only sent to the host named in --base-url/, id);
      assert.match(c.message, /--api-base-url/, id);
    }
    assert.equal(statusOf(doc, 'key-format'), 'pass', 'an OpenRouter key is fine for a non-Chutes host');
    assert.equal(statusOf(doc, 'inference'), 'pass');
    assert.equal(doc.managementBaseUrl, null);
    assert.deepEqual(inference.seen.map((r) => `${r.method} ${r.url}`), ['GET /v1/models', 'POST /v1/chat/completions']);
    assert.equal(inference.seen[0].authorization ?? null, null, 'the model list is asked without the key');
    assert.equal(statusOf(doc, 'model-served'), 'skip', 'a server without a Chutes model list: not checked, not a warning');
    const human = await runCli(['doctor', '--base-url', inference.url], { env });
    assert.equal(human.code, 0, human.stderr);
    assert.match(human.stdout, /management not checked/);
    assert.match(human.stdout, /^SKIP {2}key-valid +Not checked: 127\.0\.0\.1:\d+ is not a Chutes host/m);
    assert.deepEqual(management.seen, []);
  });

  for (const via of ['--api-base-url', 'CHUTES_API_BASE_URL']) {
    it(`a non-Chutes --base-url with the management host named by ${via}: the management checks run there`, async () => {
      const inference = await recordingServer();
      const management = await recordingServer();
      const args = ['doctor', '--base-url', inference.url, '--json', ...(via === '--api-base-url' ? ['--api-base-url', management.url] : [])];
      const env = { CHUTES_API_KEY: OTHER_API_KEY, ...(via === 'CHUTES_API_BASE_URL' ? { CHUTES_API_BASE_URL: management.url } : {}) };
      const result = await runCli(args, { env });
      assertNoKey(result, OTHER_API_KEY);
      assert.equal(result.code, 0, result.stderr);
      const doc = parseJsonOutput(result.stdout);
      assert.deepEqual(MANAGEMENT_CHECKS.map((id) => statusOf(doc, id)), ['pass', 'pass', 'pass'], JSON.stringify(doc.checks, null, 1));
      assert.deepEqual(management.seen.map((r) => r.url).sort(), ['/users/me', '/users/me/quota_usage/me']);
      assert.ok(management.seen.every((r) => r.authorization === `Bearer ${OTHER_API_KEY}`));
      assert.equal(doc.managementBaseUrl, `${management.url}/`);
    });
  }
});

describe('doctor under GitHub Actions', () => {
  it('the verdict as the headline, one row per check, warn checks as warnings and fail checks as errors', async () => {
    const emulator = await start({ dailyQuota: 100, quotaUsed: 95 });
    const summary = join(mkdtempSync(join(tmpdir(), 'chutes-diag-gh-doctor-')), 'summary.md');
    writeFileSync(summary, '');
    const argv = ['doctor', '--base-url', emulator.url, '--api-base-url', emulator.apiUrl, '--auth', 'x-api-key'];
    const result = await runCli(argv, { env: { CHUTES_API_KEY: FAKE_KEY, GITHUB_ACTIONS: 'true', GITHUB_STEP_SUMMARY: summary } });
    assertNoKey(result);
    assert.equal(result.code, 1, result.stderr);
    assert.match(result.stdout, /^::warning title=chutes-diag doctor::quota: Only 5 of 100 requests left today/m);
    assert.match(result.stdout, /^::error title=chutes-diag doctor::auth-scheme: The key is sent as X-API-Key/m);
    assert.doesNotMatch(result.stdout, /^::error title=chutes-diag doctor::(key-present|key-format|base-url|quota)/m, 'passing or warning checks are not errors');
    const md = readFileSync(summary, 'utf8');
    assert.match(md, /^### chutes-diag doctor\n\nVerdict \[x-api-key-ignored\]: /);
    for (const id of CHECK_ORDER) assert.match(md, new RegExp(`^\\| ${id} \\| (pass|warn|fail|skip): `, 'm'), id);
    assert.match(md, /^\| quota \| warn: Only 5 of 100/m);
    assert.match(md, /^- :x: auth-scheme: /m);
    assert.match(md, /^- :warning: quota: /m);
    assert.ok(!md.includes(FAKE_KEY));

    // With --json the annotations go to stderr and stdout stays one document.
    const json = await runCli([...argv, '--json'], { env: { CHUTES_API_KEY: FAKE_KEY, GITHUB_ACTIONS: 'true', GITHUB_STEP_SUMMARY: summary } });
    const doc = parseJsonOutput(json.stdout);
    const errors = json.stderr.match(/^::error title=chutes-diag doctor::[a-z-]+/gm).map((line) => line.split('::').at(-1));
    assert.deepEqual(errors, doc.checks.filter((c) => c.status === 'fail').map((c) => c.id), 'one error per failing check');
  });
});
