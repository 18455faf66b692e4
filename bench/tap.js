#!/usr/bin/env node
// The tap's overhead (issue #16): pushes exchanges through the BUILT CLI (`chutes-diag tap --json`, as a
// service would run it) against a loopback upstream started here, and reports
//  - the added latency: per exchange, through the tap minus straight to the upstream, taken in
//    alternating blocks so machine noise hits both sides alike (target: median ≤ 1 ms);
//  - the tap process's resident memory, sampled every 5 000 exchanges (target: flat after warm-up —
//    the tap keeps counters and the latest 10 000 records, nothing that grows with traffic).
//
//   npm run build && node bench/tap.js                 # 100 000 exchanges (a few minutes on 2 cores)
//   node bench/tap.js --exchanges 20000 --json out.json
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { cpus, loadavg } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { Agent, request } from 'undici';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BIN = path.join(ROOT, 'bin', 'chutes-diag.js');
const args = process.argv.slice(2);
const option = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : fallback;
};
const EXCHANGES = Number(option('--exchanges', '100000'));
const WARM_UP = Math.min(5_000, Math.floor(EXCHANGES / 10));
const BLOCK = 500;
const SAMPLE_EVERY = 5_000;
const FAKE_KEY = `cpk_${'0'.repeat(32)}.${'f'.repeat(32)}.FAKEtestKEYdoNOTuse0000000000000`;
const BODY = JSON.stringify({ model: 'bench', messages: [{ role: 'user', content: 'hi' }], max_tokens: 1 });
const ANSWER = JSON.stringify({ id: 'x', object: 'chat.completion', choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' }] });

const upstream = createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    res.writeHead(200, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(ANSWER),
      'x-ratelimit-limit': '1000000',
      'x-ratelimit-remaining': '999999',
      'x-ratelimit-reset': '60',
    });
    res.end(ANSWER);
  });
});
await new Promise((resolve) => { upstream.listen(0, '127.0.0.1', () => resolve(undefined)); });
const upstreamUrl = `http://127.0.0.1:${/** @type {import('node:net').AddressInfo} */ (upstream.address()).port}`;

const child = spawn(process.execPath, [BIN, 'tap', '--listen', '127.0.0.1:0', '--base-url', upstreamUrl, '--json'], { stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: process.env.PATH, NO_COLOR: '1' } });
let stdout = '';
let stderr = '';
child.stdout.setEncoding('utf8').on('data', (d) => { stdout += d; });
const tapUrl = await new Promise((resolve, reject) => {
  child.stderr.setEncoding('utf8').on('data', (d) => {
    stderr += d;
    const match = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(stderr);
    if (match) resolve(match[1]);
  });
  child.on('close', (code) => reject(new Error(`tap exited ${code}: ${stderr}`)));
});

/** The tap's resident set in MiB, from /proc (Linux) or ps. */
function rssMiB(pid) {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1]) / 1024;
  } catch {
    return null;
  }
}

const agent = new Agent({ keepAliveTimeout: 10_000, connections: 4 });
async function once(base) {
  const start = performance.now();
  const { statusCode, body } = await request(`${base}/v1/chat/completions`, {
    method: 'POST', dispatcher: agent, body: BODY,
    headers: { 'content-type': 'application/json', authorization: `Bearer ${FAKE_KEY}` },
  });
  await body.text();
  if (statusCode !== 200) throw new Error(`status ${statusCode}`);
  return performance.now() - start;
}

const through = [];
const direct = [];
const rss = [];
for (let i = 0; i < WARM_UP; i++) await once(tapUrl);
rss.push({ exchanges: WARM_UP, mib: rssMiB(child.pid) });
const started = performance.now();
for (let done = 0; done < EXCHANGES; done += BLOCK) {
  for (let i = 0; i < BLOCK; i++) through.push(await once(tapUrl));
  for (let i = 0; i < BLOCK / 5; i++) direct.push(await once(upstreamUrl));
  if ((done + BLOCK) % SAMPLE_EVERY === 0) rss.push({ exchanges: WARM_UP + done + BLOCK, mib: rssMiB(child.pid) });
}
const seconds = (performance.now() - started) / 1000;
child.kill('SIGINT');
await new Promise((resolve) => child.on('close', resolve));
await agent.close();
upstream.close();

const pct = (list, p) => {
  const sorted = [...list].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
};
const round = (n, d = 3) => Math.round(n * 10 ** d) / 10 ** d;
const summary = JSON.parse(stdout).summary;
const samples = rss.filter((s) => s.mib !== null);
const afterWarmUp = samples.find((s) => s.exchanges >= WARM_UP + 10_000) ?? samples[0];
const result = {
  exchanges: EXCHANGES,
  recordedByTap: summary.sent,
  seconds: round(seconds, 1),
  latencyMs: {
    throughTap: { p50: round(pct(through, 50)), p90: round(pct(through, 90)), p99: round(pct(through, 99)) },
    direct: { p50: round(pct(direct, 50)), p90: round(pct(direct, 90)), p99: round(pct(direct, 99)) },
    addedP50: round(pct(through, 50) - pct(direct, 50)),
    addedP99: round(pct(through, 99) - pct(direct, 99)),
  },
  rssMiB: {
    peak: round(Math.max(...samples.map((s) => s.mib)), 1),
    afterWarmUp: afterWarmUp ? round(afterWarmUp.mib, 1) : null,
    end: samples.length ? round(samples.at(-1).mib, 1) : null,
    samples: samples.map((s) => [s.exchanges, round(s.mib, 1)]),
  },
  machine: { cpus: cpus().length, model: cpus()[0]?.model ?? null, loadavg: loadavg().map((n) => round(n, 2)), node: process.version },
};
const target = result.latencyMs.addedP50 <= 1 ? 'met' : 'MISSED';
console.log(`tap overhead: ${EXCHANGES} exchanges in ${result.seconds} s (the tap recorded ${summary.sent})`);
console.log(`  latency p50 through the tap ${result.latencyMs.throughTap.p50} ms, direct ${result.latencyMs.direct.p50} ms → added ${result.latencyMs.addedP50} ms (target ≤ 1 ms: ${target}); added p99 ${result.latencyMs.addedP99} ms`);
console.log(`  tap RSS: ${result.rssMiB.afterWarmUp} MiB after warm-up, ${result.rssMiB.end} MiB at the end, peak ${result.rssMiB.peak} MiB`);
console.log(`  RSS samples (exchanges, MiB): ${result.rssMiB.samples.map(([n, m]) => `${n}:${m}`).join(' ')}`);
const jsonOut = option('--json', null);
if (jsonOut) writeFileSync(jsonOut, `${JSON.stringify(result, null, 2)}\n`);
