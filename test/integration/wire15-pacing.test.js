// Issue #15, deliverable 5: pacing on the wire. The probe hands each send to undici a little before its
// instant and holds the socket write until then (runner.ts `stagesSends`, wire.ts), so building the
// request no longer sits between the instant and the wire; and a record's sentAt is when its request was
// written, not when it was handed over. Checked on real loopback sockets by order of events and by the
// server's own log, never by how fast the machine is.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import diagnostics from 'node:diagnostics_channel';
import http from 'node:http';
import { createHttpClient, preciseNow } from '../../dist/http/client.js';
import { SendGate } from '../../dist/probe/runner.js';
import { trackWire } from '../../dist/probe/wire.js';
import { FAKE_KEY, parseJsonOutput, runCli } from '../helpers/cli.js';
import { openTunnel } from '../hostile/servers.js';

const cleanups = [];
after(async () => { for (const fn of cleanups) await fn(); });

/** Answers every request at once; logs when each arrived (epoch ms). */
async function startServer() {
  /** @type {number[]} */
  const arrivals = [];
  const server = http.createServer((req, res) => {
    arrivals.push(Date.now());
    req.resume();
    req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end('{"choices":[]}'));
  });
  await /** @type {Promise<void>} */ (new Promise((resolve) => server.listen(0, '127.0.0.1', resolve)));
  cleanups.push(() => new Promise((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }));
  return { url: `http://127.0.0.1:${/** @type {import('node:net').AddressInfo} */ (server.address()).port}`, arrivals };
}

/** @param {number} ms */
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

test('a send held by its gate reaches the server only when the gate opens, and is reported then', async () => {
  const server = await startServer();
  const client = createHttpClient({});
  cleanups.push(() => client.close());
  /** @type {import('../../dist/types.js').Target} */
  const target = {
    url: new URL('/v1/chat/completions', server.url), method: 'POST', headers: { 'content-type': 'application/json' },
    body: '{"model":"m"}', auth: 'none', keyFingerprint: null, timeoutMs: 30_000,
  };
  // undici says when it writes the request head; from then on only the gate holds it.
  let written = false;
  const onHeaders = () => { written = true; };
  diagnostics.subscribe('undici:client:sendHeaders', onHeaders);
  cleanups.push(() => diagnostics.unsubscribe('undici:client:sendHeaders', onHeaders));

  const wire = trackWire(preciseNow);
  cleanups.push(() => wire.close());
  const gate = new SendGate();
  /** @type {number | null} */
  let reportedAt = null;
  const answer = wire.track((at) => { reportedAt = at; }, () => client.send(target), gate);
  for (let i = 0; i < 1000 && !written; i++) await sleep(10);
  assert.ok(written, 'undici never wrote the request');
  await sleep(300); // an unheld request on loopback would have arrived long before
  assert.deepEqual(server.arrivals, [], 'the request reached the server before its gate opened');
  assert.equal(reportedAt, null, 'reported as gone out before its gate opened');

  const openedAt = preciseNow();
  gate.openNow();
  assert.ok(reportedAt !== null && reportedAt >= openedAt, 'reported when the gate opened');
  const raw = await answer;
  assert.equal(raw.status, 200);
  assert.equal(server.arrivals.length, 1);
});

test("a record's sentAt is when its request was written, after a slow tunnel opened, not when it was handed over", async () => {
  const TUNNEL_MS = 1000;
  const server = await startServer();
  const proxy = http.createServer((req, res) => res.writeHead(405).end());
  proxy.on('connect', (req, socket, head) => {
    socket.on('error', () => undefined);
    setTimeout(() => openTunnel(req, socket, head).on('error', () => socket.destroy()), TUNNEL_MS);
  });
  await /** @type {Promise<void>} */ (new Promise((resolve) => proxy.listen(0, '127.0.0.1', resolve)));
  cleanups.push(() => new Promise((resolve) => { proxy.closeAllConnections(); proxy.close(() => resolve()); }));
  const proxyUrl = `http://127.0.0.1:${/** @type {import('node:net').AddressInfo} */ (proxy.address()).port}`;

  const res = await runCli(
    ['probe', '--base-url', server.url, '--model', 'm', '--json', '--rpm', '60', '--max-requests', '1', '--concurrency', 'off', '--max-duration', '60s'],
    { env: { CHUTES_API_KEY: FAKE_KEY, HTTP_PROXY: proxyUrl }, timeoutMs: 60_000 },
  );
  assert.equal(res.code, 0, res.stderr);
  const doc = parseJsonOutput(res.stdout);
  const record = doc.responses[0];
  assert.equal(server.arrivals.length, 1);
  // Handed over, the request waited TUNNEL_MS for its tunnel; written, it reached the server at once
  // (half the tunnel's time is the margin for a loaded machine).
  const sentToArrival = server.arrivals[0] - Date.parse(record.sentAt);
  assert.ok(sentToArrival < TUNNEL_MS / 2, `sentAt is ${sentToArrival} ms before the request reached the server (the tunnel took ${TUNNEL_MS} ms)`);
  // The tunnel's time is the network's, not this machine's lateness: pacing does not count it, and no
  // warning blames a busy machine.
  assert.ok(doc.pacing.maxErrorMs < TUNNEL_MS / 2, `pacing error ${doc.pacing.maxErrorMs} ms counts the tunnel's set-up`);
  assert.ok(!JSON.stringify(doc).includes('this machine was busy'), 'a lateness warning for a slow tunnel');
});
