// CI use (GitHub Actions summary and annotations) and proxies (HTTP_PROXY / NO_PROXY).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli, FAKE_KEY, emulatorPool } from '../helpers/cli.js';
import { openTunnel } from '../hostile/servers.js';

const env = { CHUTES_API_KEY: FAKE_KEY };
const cleanups = [];
after(async () => { for (const fn of cleanups) await fn(); });

const emulator = emulatorPool();

/** A forward proxy on loopback that records what it was asked for (CONNECT tunnels and absolute-form). */
async function startProxy() {
  const seen = [];
  const server = http.createServer((req, res) => {
    seen.push(`${req.method} ${req.url}`);
    const target = new URL(req.url);
    const upstream = http.request({ host: target.hostname, port: target.port, path: target.pathname + target.search, method: req.method, headers: req.headers }, (up) => {
      res.writeHead(up.statusCode, up.headers);
      up.pipe(res);
    });
    req.pipe(upstream);
  });
  server.on('connect', (req, socket, head) => {
    seen.push(`CONNECT ${req.url}`);
    const upstream = openTunnel(req, socket, head);
    upstream.on('error', () => socket.destroy());
    socket.on('error', () => upstream.destroy());
  });
  await /** @type {Promise<void>} */ (new Promise((resolve) => server.listen(0, '127.0.0.1', resolve)));
  cleanups.push(() => new Promise((resolve) => { server.closeAllConnections(); server.close(resolve); }));
  return { url: `http://127.0.0.1:${/** @type {import('node:net').AddressInfo} */ (server.address()).port}`, seen };
}

test('GITHUB_ACTIONS=true: step summary appended, annotations printed', async () => {
  const e = await emulator({ limit: 1, windowMs: 600_000, algorithm: 'sliding-window', headers: 'x-ratelimit' }); // sliding: no window boundary between the requests
  const dir = mkdtempSync(join(tmpdir(), 'chutes-diag-gh-'));
  const summary = join(dir, 'summary.md');
  writeFileSync(summary, '');
  const ghEnv = { ...env, GITHUB_ACTIONS: 'true', GITHUB_STEP_SUMMARY: summary };
  const { code, stdout } = await runCli(['headers', '--base-url', e.url, '-n', '2', '--min-remaining', '1'], { env: ghEnv });
  assert.equal(code, 1);
  assert.match(stdout, /^::warning title=chutes-diag headers::/m);
  assert.match(stdout, /^::error title=chutes-diag headers::min-remaining/m);
  const md = readFileSync(summary, 'utf8');
  assert.match(md, /### chutes-diag headers/);
  assert.match(md, /\| min-remaining \| FAIL/);
  assert.ok(!md.includes(FAKE_KEY));

  // With --json the annotations move to stderr: stdout stays one JSON document.
  const json = await runCli(['headers', '--base-url', e.url, '--json'], { env: ghEnv });
  JSON.parse(json.stdout);
  assert.match(json.stderr, /::warning title=chutes-diag headers::/);
});

test('without GITHUB_ACTIONS nothing GitHub-specific is printed', async () => {
  const e = await emulator({});
  const { stdout } = await runCli(['headers', '--base-url', e.url], { env });
  assert.doesNotMatch(stdout, /::(warning|error)/);
});

test('HTTP_PROXY is used, and NO_PROXY bypasses it', async () => {
  const e = await emulator({});
  const proxy = await startProxy();
  const viaProxy = await runCli(['headers', '--base-url', e.url, '--json'], { env: { ...env, HTTP_PROXY: proxy.url } });
  assert.equal(viaProxy.code, 0, viaProxy.stderr);
  assert.equal(JSON.parse(viaProxy.stdout).results[0].status, 200);
  assert.ok(proxy.seen.length >= 1, 'the proxy saw no request');
  const before = proxy.seen.length;
  const bypass = await runCli(['headers', '--base-url', e.url, '--json'], { env: { ...env, HTTP_PROXY: proxy.url, NO_PROXY: '127.0.0.1' } });
  assert.equal(bypass.code, 0, bypass.stderr);
  assert.equal(proxy.seen.length, before, 'NO_PROXY was not honoured');
});
