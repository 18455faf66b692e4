// Issue #15, deliverable 4: the probe's warm-up against a slow origin. It opens the connection (TCP, and
// TLS for https) and sends nothing: a warm-up request would wait for the origin's answer (2 s from a slow
// origin made 30 sends at 600 rpm take 7.5 s), and undici closes a connection after a HEAD anyway.
// Checked on the server's own log, never on the clock: a server that never answers a HEAD sees no HEAD,
// one connection, and every probe request on it (the first one on the connection the warm-up opened).
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FAKE_KEY, parseJsonOutput, runCli } from '../helpers/cli.js';

const cleanups = [];
after(async () => { for (const fn of cleanups) await fn(); });

/** A certificate for localhost (with its subjectAltName), made now by openssl; `caFile` is where a client finds it. */
function localhostCertificate() {
  const dir = mkdtempSync(join(tmpdir(), 'chutes-diag-wire15-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost',
    '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'),
  ], { stdio: 'ignore' });
  return { key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')), caFile: join(dir, 'cert.pem') };
}

/**
 * A server that answers every POST at once and never answers anything else; it logs requests and
 * connections (with `tls`, over https: a connection counts once its handshake is done).
 * @param {{ key: Buffer, cert: Buffer } | null} [tls]
 */
async function startServer(tls = null) {
  /** @type {{ method: string | undefined, connection: number }[]} */
  const requests = [];
  let connections = 0;
  /** @type {http.RequestListener} */
  const handler = (req, res) => {
    const socket = /** @type {import('node:net').Socket & { connectionId?: number }} */ (req.socket);
    requests.push({ method: req.method, connection: socket.connectionId ?? -1 });
    if (req.method !== 'POST') return; // never answered: a warm-up that waits for it holds the probe
    req.resume();
    req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end('{"choices":[]}'));
  };
  const server = tls ? https.createServer(tls, handler) : http.createServer(handler);
  server.on(tls ? 'secureConnection' : 'connection', (socket) => {
    /** @type {import('node:net').Socket & { connectionId?: number }} */ (socket).connectionId = ++connections;
  });
  await /** @type {Promise<void>} */ (new Promise((resolve) => server.listen(0, '127.0.0.1', resolve)));
  cleanups.push(() => new Promise((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }));
  return { url: `${tls ? 'https://localhost' : 'http://127.0.0.1'}:${/** @type {import('node:net').AddressInfo} */ (server.address()).port}`, requests, connections: () => connections };
}

test('the warm-up opens the connection without a request; the probe\'s requests go out on it', async () => {
  const server = await startServer();
  // --rpm 60: the second send waits for the first answer (the pre-flight), so both use one idle connection.
  const res = await runCli(
    ['probe', '--base-url', server.url, '--model', 'm', '--json', '--rpm', '60', '--max-requests', '2', '--concurrency', 'off', '--max-duration', '60s'],
    { env: { CHUTES_API_KEY: FAKE_KEY }, timeoutMs: 60_000 },
  );
  assert.equal(res.code, 0, res.stderr);
  assert.equal(parseJsonOutput(res.stdout).summary.sent, 2);
  assert.deepEqual(server.requests.map((r) => r.method), ['POST', 'POST'], 'the warm-up sent a request of its own');
  assert.equal(server.connections(), 1, `${server.connections()} connections: the probe did not send on the warm-up's connection`);
  assert.deepEqual(server.requests.map((r) => r.connection), [1, 1]);
});

test('over TLS the warm-up opens the connection, handshake included, and the requests go out on it', async () => {
  const certificate = localhostCertificate();
  const server = await startServer(certificate);
  const res = await runCli(
    ['probe', '--base-url', server.url, '--model', 'm', '--json', '--rpm', '60', '--max-requests', '2', '--concurrency', 'off', '--max-duration', '60s'],
    { env: { CHUTES_API_KEY: FAKE_KEY, NODE_EXTRA_CA_CERTS: certificate.caFile }, timeoutMs: 60_000 },
  );
  assert.equal(res.code, 0, res.stderr);
  assert.equal(parseJsonOutput(res.stdout).summary.sent, 2);
  assert.deepEqual(server.requests.map((r) => r.method), ['POST', 'POST'], 'the warm-up sent a request of its own');
  assert.equal(server.connections(), 1, `${server.connections()} TLS connections: the probe did not send on the warm-up's connection`);
  assert.deepEqual(server.requests.map((r) => r.connection), [1, 1]);
});
