#!/usr/bin/env node
// The pacing benches' baseline (issue #15): the least a Node process can do to send on the probe's grid. A bare
// script in its own process writes pre-built HTTP/1.1 requests on one raw keep-alive `net` socket, timed the way
// the CLI's runner times its sends (src/probe/runner.ts: a timer until SPIN_MS before the instant, naps of at
// most NAP_MS with a turn of the event loop between them until BUSY_WAIT_MS before it, then a busy wait; keep
// the two in step) and under the same no-catch-up rule (a send goes out
// no sooner than one interval after the previous one really went out: src/probe/rate-pacing.ts). Like the CLI's
// probe, it sends one request, waits for its answer, then the rest one interval apart.
//
// Nothing else runs in it: no HTTP client, no strategy, no records. When this sender misses the pacing target in
// the same conditions as the CLI (the same recorder, right before or after the CLI's run), the miss is the
// machine's (the operating system not running the process at its instant), not the CLI's.
//
//   node bench/pacing-baseline.js http://127.0.0.1:PORT [rpm] [n]   # prints {"writes": [epoch ms …]} on stdout
//
// runBaseline(url, {rpm, n}) runs it as a child process and resolves the same object.
import { spawn } from 'node:child_process';
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import { setImmediate as immediate, setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

const SELF = fileURLToPath(import.meta.url);
/** As in src/probe/runner.ts: the default spin before an instant, its naps, and its busy-wait tail. */
const SPIN_MS = 2;
const NAP_MS = 0.5;
const BUSY_WAIT_MS = 1;
const napCell = new Int32Array(new SharedArrayBuffer(4));
const PATH = '/v1/chat/completions';

const now = () => performance.timeOrigin + performance.now();

/** Waits for `instant` as the CLI's runner does. */
async function waitUntil(instant) {
  while (instant - now() > SPIN_MS) await sleep(instant - now() - SPIN_MS);
  for (;;) {
    const left = instant - BUSY_WAIT_MS - now();
    if (left <= 0) break;
    Atomics.wait(napCell, 0, 0, Math.min(NAP_MS, left));
    if (instant - BUSY_WAIT_MS - now() > NAP_MS) await immediate();
  }
  busyWaitUntil(instant);
}

/** The busy wait, a small function of its own, compiled before the first send (as the CLI's runner does). */
function busyWaitUntil(instant) {
  while (now() < instant) {
    /* busy wait */
  }
}

/** One request with a body like the probe's (a one-token chat completion). */
function requestBytes(host) {
  const body = JSON.stringify({ model: 'pacing-baseline', messages: [{ role: 'user', content: 'hi' }], max_tokens: 1, stream: false });
  return Buffer.from(
    `POST ${PATH} HTTP/1.1\r\nhost: ${host}\r\ncontent-type: application/json\r\naccept: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: keep-alive\r\n\r\n${body}`,
  );
}

async function send(url, rpm, n) {
  for (let i = 0; i < 10; i++) busyWaitUntil(now() + 1);
  const target = new URL(url);
  const interval = 60_000 / rpm;
  const socket = net.connect(Number(target.port), target.hostname);
  socket.setNoDelay(true);
  await new Promise((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  const bytes = Array.from({ length: n }, () => requestBytes(target.host));
  // Answers are counted by their status lines (the recorder answers every request with a short 200).
  let answered = 0;
  const waiters = [];
  socket.setEncoding('latin1').on('data', (/** @type {string} */ chunk) => {
    answered += chunk.split('HTTP/1.1 ').length - 1;
    while (waiters.length && answered >= waiters[0].count) waiters.shift().resolve();
  });
  const answers = (count) => new Promise((resolve) => (answered >= count ? resolve() : waiters.push({ count, resolve })));
  const writes = [];
  let last = null;
  for (let i = 0; i < n; i++) {
    // The grid from the first send; never less than an interval after the previous write (no catch-up).
    const instant = i === 0 ? now() + 20 : Math.max(writes[0] + i * interval, last + interval);
    await waitUntil(instant);
    last = now();
    socket.write(bytes[i]);
    writes.push(last);
    // As the probe's pre-flight: the first answer before the rest (it comes back within the interval here).
    if (i === 0) await answers(1);
  }
  await Promise.race([answers(n), sleep(10_000)]);
  socket.end();
  return { writes, answered };
}

/** Runs the baseline sender in its own process against `url`; resolves {writes, answered} (epoch ms). */
export function runBaseline(url, { rpm = 600, n = 40 } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [SELF, url, String(rpm), String(n)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (d) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d) => (err += d));
    const killer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(killer);
      try {
        resolve(JSON.parse(out));
      } catch {
        reject(new Error(`pacing baseline exited ${code}: ${err.trim().split('\n').at(-1) ?? 'no output'}`));
      }
    });
  });
}

if (process.argv[1] === SELF) {
  const [url, rpm = '600', n = '40'] = process.argv.slice(2);
  if (!url) {
    process.stderr.write('usage: node bench/pacing-baseline.js <http://127.0.0.1:PORT> [rpm] [n]\n');
    process.exit(2);
  }
  send(url, Number(rpm), Number(n)).then(
    (result) => process.stdout.write(`${JSON.stringify(result)}\n`),
    (error) => {
      process.stderr.write(`pacing-baseline: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exit(1);
    },
  );
}
