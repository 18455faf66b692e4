// Issue #12, item 8, end to end: the built CLI against the emulator, through a forward proxy whose tunnels
// are slow to open, as a TLS handshake with a far server or a corporate proxy can be: the first tunnel
// takes 300 ms, then 800 and 200 ms in turn. The proxy closes a tunnel 100 ms after its last
// answer (a short keep-alive), and answers take 1.5 s, longer than the 1-s pace: every probe request opens
// a tunnel of its own (through a proxy the warm-up opens none). Checked on the emulator's own arrival log (the
// times it recorded): no 60-s span over --rpm, and arrivals at least 60 000/rpm ms apart.
//
// The defect timed each send from when the one before was handed to the HTTP client, so a request on a
// 200-ms tunnel reached the server 400 ms after one that had waited 800 ms for its own. Timed from when
// requests really went out, every gap here is at least 1 200 ms (the interval plus the next tunnel): that
// 200-ms margin absorbs the emulator stamping an arrival when its event loop (in this test process) gets
// to it, which on a loaded machine can be some ms late for one arrival and not the next. So the tolerance
// itself is only 1 ms, for clock granularity.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { startEmulator } from '../../dist/emulator/server.js';
import { maxInAnyWindow } from '../../dist/probe/schedule.js';
import { FAKE_KEY, parseJsonOutput, runCli } from '../helpers/cli.js';
import { openTunnel } from '../hostile/servers.js';

const TOLERANCE_MS = 1;
/** How long tunnel k takes to open: the first 300 ms, then 800 and 200 ms in turn. */
const tunnelDelayMs = (k) => (k === 0 ? 300 : k % 2 === 1 ? 800 : 200);
/** A tunnel idle this long after an answer is closed. */
const KEEP_ALIVE_MS = 100;

const cleanups = [];
after(async () => { for (const fn of cleanups) await fn(); });

/** A CONNECT proxy on loopback: tunnel k opens tunnelDelayMs(k) after it is asked for, and closes when idle. */
async function startSlowProxy() {
  const tunnels = [];
  const server = http.createServer((req, res) => res.writeHead(405).end());
  server.on('connect', (req, socket, head) => {
    const k = tunnels.length;
    tunnels.push(req.url);
    socket.on('error', () => undefined);
    setTimeout(() => {
      const upstream = openTunnel(req, socket, head);
      let idle = null;
      const close = () => { socket.destroy(); upstream.destroy(); };
      // Idle: an answer went back and no request followed it.
      upstream.on('data', () => { clearTimeout(idle); idle = setTimeout(close, KEEP_ALIVE_MS); });
      socket.on('data', () => clearTimeout(idle));
      upstream.on('error', close);
      socket.on('close', () => { clearTimeout(idle); upstream.destroy(); });
    }, tunnelDelayMs(k));
  });
  await /** @type {Promise<void>} */ (new Promise((resolve) => server.listen(0, '127.0.0.1', resolve)));
  cleanups.push(() => new Promise((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }));
  return { url: `http://127.0.0.1:${/** @type {import('node:net').AddressInfo} */ (server.address()).port}`, tunnels };
}

test('probe through slow-to-open connections: never faster than --rpm at the server', async () => {
  const rpm = 60;
  const interval = 60_000 / rpm;
  // No X-Chutes-* headers: on Chutes the probe keeps one request in flight (ban-guard.ts), and this test is about open loop.
  const e = await startEmulator({ port: 0, apiPort: 0, limit: 0, dailyQuota: null, latencyMs: 1500, headers: 'none' });
  cleanups.push(() => e.close());
  const proxy = await startSlowProxy();
  const res = await runCli(
    ['probe', '--base-url', e.url, '--json', '--rpm', String(rpm), '--max-requests', '6', '--max-duration', '60s', '--concurrency', 'off'],
    { env: { CHUTES_API_KEY: FAKE_KEY, HTTP_PROXY: proxy.url }, timeoutMs: 120_000 },
  );
  assert.equal(res.code, 0, res.stderr);
  const doc = parseJsonOutput(res.stdout);
  assert.equal(doc.summary.sent, 6, `sent ${doc.summary.sent}`);
  assert.ok(proxy.tunnels.length >= 6, `the proxy opened ${proxy.tunnels.length} tunnel(s), expected one per request`);

  const arrivals = e.arrivals.filter((a) => a.path === '/v1/chat/completions').map((a) => a.t).sort((a, b) => a - b);
  assert.equal(arrivals.length, 6, `${arrivals.length} inference requests reached the emulator`);
  assert.ok(maxInAnyWindow(arrivals) <= rpm, `more than ${rpm} arrivals in some 60 s`);
  for (let i = 1; i < arrivals.length; i++) {
    const gap = arrivals[i] - arrivals[i - 1];
    assert.ok(gap >= interval - TOLERANCE_MS, `arrivals ${i - 1} and ${i} only ${gap.toFixed(1)} ms apart (interval ${interval} ms, tolerance ${TOLERANCE_MS} ms): ${arrivals.map((t) => Math.round(t - arrivals[0])).join(', ')}`);
  }
  // Still open loop (the CLI saw its requests go out and did not wait for their answers): with 1.5-s
  // answers at a 1-s pace, requests overlapped at the server.
  assert.ok(e.stats().maxInFlight >= 2, `at most ${e.stats().maxInFlight} request(s) in flight: sends waited for answers`);
});
