// Misbehaving servers on 127.0.0.1, port 0, in the style of autocannon's test/helper.js and
// undici's tests: each records what it saw, so a test can assert what reached it (or did not).
// Every server is tracked and closed by closeAll(), called from after().
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { connect as netConnect, createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { performance } from 'node:perf_hooks';
import { join } from 'node:path';

const open = new Set();

function listen(server) {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve(server.address().port));
  });
}

function track(server, sockets) {
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
  });
  const close = () => new Promise((resolve) => {
    for (const socket of sockets) socket.destroy();
    if (!server.listening) return resolve();
    server.close(() => resolve());
  });
  open.add(close);
  return close;
}

/** Closes every server this module started. */
export async function closeAll() {
  await Promise.all([...open].map((close) => close()));
  open.clear();
}

/**
 * An HTTP server: `requests` lists {t, method, url, headers} of everything that reached it
 * (t: performance.now() at arrival).
 * The handler gets (req, res) after the request body was read.
 */
export async function startHttp(handler, { tls = null } = {}) {
  const requests = [];
  const sockets = new Set();
  const onRequest = (req, res) => {
    requests.push({ t: performance.now(), method: req.method, url: req.url, headers: req.headers });
    req.resume();
    req.on('end', () => handler(req, res));
  };
  const server = tls ? createHttpsServer(tls, onRequest) : createHttpServer(onRequest);
  server.keepAliveTimeout = 100;
  const close = track(server, sockets);
  const port = await listen(server);
  return { url: `${tls ? 'https' : 'http'}://127.0.0.1:${port}`, port, requests, server, close };
}

/**
 * A raw TCP server for what node:http refuses to send (bad header bytes, a reset mid-body).
 * `onRequest(socket, rawRequestText)` runs once the request head has arrived; `received` keeps the heads.
 */
export async function startRaw(onRequest) {
  const received = [];
  const sockets = new Set();
  const server = createNetServer((socket) => {
    let head = '';
    let answered = false;
    socket.on('data', (chunk) => {
      head += chunk.toString('latin1');
      if (answered || !head.includes('\r\n\r\n')) return;
      answered = true;
      received.push(head);
      onRequest(socket, head);
    });
  });
  const close = track(server, sockets);
  const port = await listen(server);
  return { url: `http://127.0.0.1:${port}`, port, received, connections: () => received.length, close };
}

/** Accepts the connection and the request, then never answers. */
export function neverAnswers() {
  return startRaw(() => undefined);
}

/** Sends a 200 with its headers and the start of a JSON body, then stalls forever. */
export function stallsBody() {
  return startHttp((req, res) => {
    res.writeHead(200, { 'content-type': 'application/json', 'x-ratelimit-limit': '10', 'x-ratelimit-remaining': '9' });
    res.write('{"id":"chatcmpl-1","choices":[');
  });
}

/** Promises 1000 bytes, sends 100, then destroys the socket. */
export function resetsMidResponse() {
  return startRaw((socket) => {
    socket.write('HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 1000\r\nx-ratelimit-remaining: 9\r\n\r\n');
    socket.write(`{"partial":"${'x'.repeat(80)}`, () => setTimeout(() => socket.destroy(), 20));
  });
}

export const GIB = 1024 ** 3;

/**
 * Streams a 1 GiB body lazily, respecting backpressure, and records how much it managed to
 * write before the client stopped reading and closed: `stats.written`, `stats.closedAt`.
 */
export async function hugeBody() {
  const stats = { written: 0, closed: false, closedAt: null, startedAt: null };
  const chunk = Buffer.alloc(64 * 1024, 'a');
  const server = await startHttp((req, res) => {
    stats.startedAt = Date.now();
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': String(GIB) });
    const pump = () => {
      while (stats.written < GIB && !res.destroyed) {
        stats.written += chunk.length;
        if (!res.write(chunk)) return void res.once('drain', pump);
      }
      if (stats.written >= GIB) res.end();
    };
    res.on('close', () => {
      stats.closed = true;
      stats.closedAt = Date.now();
    });
    pump();
  });
  return { ...server, stats };
}

/** An HTML error page as a CDN or load balancer sends it. */
export function htmlPage(status, title, extraHeaders = {}) {
  return startHttp((req, res) => {
    const body = `<!DOCTYPE html>\n<html><head><title>${title}</title></head><body><h1>${title}</h1><p>upstream says no</p></body></html>\n`;
    res.writeHead(status, { 'content-type': 'text/html; charset=utf-8', 'content-length': Buffer.byteLength(body), ...extraHeaders });
    res.end(body);
  });
}

/**
 * Answers with exactly these header lines (strings or Buffers, so non-ASCII bytes go out raw),
 * which node:http would refuse to send: duplicates, empty values, bytes above 0x7f.
 */
export function rawResponse(status, headerLines, body = '{"error":{"message":"slow down"}}') {
  return startRaw((socket) => {
    /** @type {Buffer[]} */
    const parts = [Buffer.from(`HTTP/1.1 ${status} Whatever\r\n`, 'latin1')];
    for (const line of headerLines) {
      parts.push(Buffer.isBuffer(line) ? line : Buffer.from(line, 'latin1'), Buffer.from('\r\n'));
    }
    parts.push(Buffer.from(`content-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`));
    socket.end(Buffer.concat(parts));
  });
}

/** Redirects every request to `location` with `status`. */
export function redirectsTo(status, location) {
  return startHttp((req, res) => {
    res.writeHead(status, { location, 'content-length': '0' });
    res.end();
  });
}

/**
 * A hostile server that echoes the request's credentials back: in a JSON body, in response headers,
 * in WWW-Authenticate, and (with `padTo`) in a plain-text body placed to straddle the 500-character
 * cut of the record's body, where a half key would escape a redactor that cuts before it masks.
 */
export function echoesCredentials(status = 401, { padTo = null } = {}) {
  return startHttp((req, res) => {
    const credentials = req.headers.authorization ?? req.headers['x-api-key'] ?? '';
    const token = credentials.replace(/^Bearer\s+/i, '');
    const body = padTo === null
      ? JSON.stringify({ detail: `invalid token: ${credentials}`, echo: { headers: req.headers } })
      : `${'.'.repeat(padTo)}${token} was rejected`;
    res.writeHead(status, {
      'content-type': padTo === null ? 'application/json' : 'text/plain',
      'x-echo-authorization': credentials,
      'x-echo-token': token,
      'x-ratelimit-remaining': '0',
      'retry-after': '1',
      'www-authenticate': `Bearer error="invalid_token", error_description="${token}"`,
    });
    res.end(body);
  });
}

/** Redirects to `elsewhere`, with the request's key in the Location's query string. */
export function redirectsWithKey(status, elsewhere) {
  return startHttp((req, res) => {
    const token = (req.headers.authorization ?? req.headers['x-api-key'] ?? '').replace(/^Bearer\s+/i, '');
    res.writeHead(status, { location: `${elsewhere}/steal?key=${encodeURIComponent(token)}` });
    res.end();
  });
}

/** A small JSON 200 after `latencyMs`, with rate-limit headers: for interruption tests. */
export function slowOk(latencyMs) {
  return startHttp((req, res) => {
    const timer = setTimeout(() => {
      res.writeHead(200, { 'content-type': 'application/json', 'x-ratelimit-limit': '100', 'x-ratelimit-remaining': '99' });
      res.end('{"choices":[{"message":{"content":"ok"}}]}');
    }, latencyMs);
    res.on('close', () => clearTimeout(timer));
  });
}

/** A self-signed certificate for CN=localhost, generated now with openssl into a temp dir. */
export function selfSignedCertificate() {
  const dir = mkdtempSync(join(tmpdir(), 'chutes-diag-tls-'));
  try {
    execFileSync('openssl', [
      'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=localhost',
      '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'),
    ], { stdio: 'ignore' });
    return { key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * A URL on which nothing listens: bind a port, then close it. On 127.3.4.5 rather than 127.0.0.1,
 * so another test's server that happens to get the same port number (on 127.0.0.1) cannot answer.
 */
export async function refusedUrl() {
  const server = createNetServer();
  const port = await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.3.4.5', () => resolve(/** @type {import('node:net').AddressInfo} */ (server.address()).port));
  });
  await new Promise((resolve) => server.close(resolve));
  return `http://127.3.4.5:${port}`;
}

/** A response head far larger than any client should buffer (undici's cap is 16 KiB). */
export function oversizedHeaders() {
  return startRaw((socket) => {
    socket.write(`HTTP/1.1 200 OK\r\nx-padding: ${'p'.repeat(1024 * 1024)}\r\ncontent-length: 2\r\n\r\n{}`);
  });
}

/** Something that is not HTTP at all listens on the port (an SSH banner). */
export function notHttp() {
  return startRaw((socket) => socket.end('SSH-2.0-OpenSSH_9.6\r\nProtocol mismatch.\r\n'));
}

/** Answers the first `ok` requests normally, then never answers again. */
export function answersThenHangs(ok = 1) {
  let served = 0;
  return startHttp((req, res) => {
    if (served++ >= ok) return;
    res.writeHead(200, { 'content-type': 'application/json', 'x-ratelimit-limit': '10', 'x-ratelimit-remaining': String(10 - served) });
    res.end('{"choices":[]}');
  });
}

/**
 * Answers a proxy's CONNECT (`req`, `socket`, `head` of the server's 'connect' event): opens the tunnel
 * to the host:port asked for and pipes both ways. Returns the upstream socket.
 */
export function openTunnel(req, socket, head) {
  const [host, port] = req.url.split(':');
  const upstream = netConnect(Number(port), host, () => {
    socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
    upstream.write(head);
    upstream.pipe(socket);
    socket.pipe(upstream);
  });
  return upstream;
}

/** A server that answers every request 200 with a tiny chat-completion JSON. */
export function okServer() {
  return startHttp((req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{"choices":[]}');
  });
}
