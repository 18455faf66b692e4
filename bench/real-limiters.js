#!/usr/bin/env node
// Real-limiter bench (issue #15): the BUILT CLI (`node bin/chutes-diag.js probe … --json --yes`) against
// real, unmodified rate limiters configured as people deploy them, each in its own process on 127.0.0.1:
//   - nginx (Debian's nginx-light, installed on demand with apt-get when /usr/sbin/nginx is missing) with
//     limit_req (± nodelay) and limit_conn, generated config in a temp dir, in front of a node backend that
//     answers like an OpenAI chat completion after 0 ms, 300 ms or 1.5 s;
//   - express-rate-limit (headers draft-7, draft-8, off), @fastify/rate-limit (headers on, off),
//     rate-limiter-flexible (RateLimiterMemory: a fixed window; one with blockDuration);
//   - penalty boxes: @fastify/rate-limit with continueExceeding (each refusal restarts the window) and the
//     bench's own small sliding log that logs refused requests too;
//   - pacing on the wire (600 rpm single sends against a bare node:http recorder in its own process, 5 runs,
//     with nothing else of the bench running; after each, the baseline sender bench/pacing-baseline.js against
//     the same recorder, so a run the machine spoiled is told apart from a miss of the CLI; the load average at
//     each run) and open loop (30 sends at 600 rpm against a server answering in 2 s).
// Requests spent and refusals provoked are counted at the limiter (nginx's access log, the limiter
// process's own log), not from the CLI's JSON. Each row is judged against the issue's targets.
// Recommendations (issue #17, on unless --no-recommend): after a row's probe, when its result carries a
// recommendation with numbers, the bottleneck, p-queue and openai-node snippets it wrote are executed, each
// against a FRESH instance of the same limiter, over two windows (nginx: twice a burst's refill; at least
// 10 s, at most 60 s), and judged in the limiter's own log: zero 429s and ≥ 80 % of the true limit's
// throughput (bench/real-limiters/recommend.js). Adds about 4–5 minutes, the lanes side by side.
//
//   node bench/real-limiters.js                 # every row (about 13 minutes on 2 shared cores, the recommendation stage included)
//   node bench/real-limiters.js --quick         # fewer rows, one run of the issue's case (about 4 minutes)
//   node bench/real-limiters.js --only nginx    # rows whose name contains the text (case-insensitive; repeatable)
//   node bench/real-limiters.js --only pacing   # the pacing stage alone (5 runs, each with its baseline; about 1 minute)
//   node bench/real-limiters.js --serial        # every row one after another (default: three lanes side by
//                                               # side, one row at a time in each: nginx, windows, penalty boxes)
//   node bench/real-limiters.js --no-recommend  # the probes only, no recommendation stage
//   node bench/real-limiters.js --json out.json # also write every figure, the CLI documents and limiter logs
//   node bench/real-limiters.js --cli ../other/bin/chutes-diag.js   # run another build's CLI (compare commits)
//
// Progress goes to stderr, the table to stdout. Exit 0 whatever the targets (it measures), 1 on a crash,
// 130 on Ctrl-C (everything it started is stopped first).
import { existsSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { spawnSync } from 'node:child_process';
import { BIN, ensureNginx, killAllNow, liveCount, parseAccessLine, runCli, startNginx, startServer, stopAll, useCli } from './real-limiters/processes.js';
import { errorPercent, gridLateness, headlineError, judgePacingRun, judgeRow, PACING_TARGET_MS, percentile, summarizePacing } from './real-limiters/judge.js';
import { runBaseline } from './pacing-baseline.js';
import { cleanSnippets, judgeRecommendationRow, judgeSnippetRun, MIN_SHARE, planSpan, runSnippet, SNIPPET_CLIENTS, SPAN_CAP_MS, truePerMinute } from './real-limiters/recommend.js';

// ------------------------------------------------------------------------------------------ the rows

/**
 * nginx rows. `rate` is nginx's own notation; truth.perMinute the sustained allowance; truth.burst what
 * limit_req lets through at once from rest (burst + 1); conn the limit_conn. `rpm` is the probe's --rpm,
 * chosen as a user would: above the limit they want to find (2× to 4× the rate).
 */
function nginxRow({ rate, perMinute, burst, nodelay = true, conn = null, latencyMs, rpm, maxRequests = 60, maxDuration = '3m', quick = false, repeat = null }) {
  const name = `nginx ${rate} burst=${burst}${nodelay ? ' nodelay' : ' (delay)'}${conn ? ` conn=${conn}` : ''}, ${latencyMs >= 1000 ? `${latencyMs / 1000} s` : `${latencyMs} ms`}, --rpm ${rpm}${repeat ? ` #${repeat}` : ''}`;
  // What the configuration lets a client observe. Through a cap of `conn` requests of latencyMs each, at most
  // conn·60000/latency get through a minute: at or below the rate, the bucket never empties. Without nodelay,
  // limit_req delays requests before limit_conn sees them and releases them at the rate, so at most
  // rate·latency + 1 are in flight at limit_conn: below conn, the cap can never refuse anything.
  const rateReachable = !conn || latencyMs === 0 || (conn * 60_000) / latencyMs > perMinute;
  const connBinds = Boolean(conn) && (nodelay || (perMinute / 60) * (latencyMs / 1000) + 1 > conn);
  return {
    name,
    lane: 'nginx',
    quick,
    limiter: 'nginx',
    truth: { family: 'nginx', perMinute, burst: burst + 1, conn: connBinds ? conn : null, configuredConn: conn, rateReachable },
    nginx: { rate, burst, nodelay, conn },
    latencyMs,
    cli: { rpm, maxRequests, maxDuration },
  };
}

function nodeRow({ name, spec, truth, rpm = 120, maxRequests = 60, maxDuration = '3m', quick = false }) {
  return { name, lane: truth.family, quick, limiter: spec.kind, truth, server: spec, cli: { rpm, maxRequests, maxDuration } };
}

const ISSUE_CASE = { rate: '30r/m', perMinute: 30, burst: 5, conn: 3, latencyMs: 1500, rpm: 120 };

const ROWS = [
  // The issue's case, three times (it failed in 4 of 5 runs when the issue was filed).
  nginxRow({ ...ISSUE_CASE, quick: true, repeat: 1 }),
  nginxRow({ ...ISSUE_CASE, repeat: 2 }),
  nginxRow({ ...ISSUE_CASE, repeat: 3 }),
  nginxRow({ rate: '30r/m', perMinute: 30, burst: 5, latencyMs: 0, rpm: 120, quick: true }),
  nginxRow({ rate: '30r/m', perMinute: 30, burst: 5, conn: 3, latencyMs: 300, rpm: 120 }),
  nginxRow({ rate: '60r/m', perMinute: 60, burst: 10, latencyMs: 300, rpm: 240 }),
  nginxRow({ rate: '60r/m', perMinute: 60, burst: 10, conn: 3, latencyMs: 1500, rpm: 240, quick: true }),
  nginxRow({ rate: '10r/s', perMinute: 600, burst: 20, latencyMs: 0, rpm: 1200, maxRequests: 80 }),
  nginxRow({ rate: '10r/s', perMinute: 600, burst: 20, conn: 3, latencyMs: 100, rpm: 1200, maxRequests: 80, quick: true }),
  // Through 3 connections of 300 ms, at most 600/min get through: the rate itself cannot be reached.
  nginxRow({ rate: '10r/s', perMinute: 600, burst: 20, conn: 3, latencyMs: 300, rpm: 1200, maxRequests: 80 }),
  nginxRow({ rate: '30r/m', perMinute: 30, burst: 5, nodelay: false, latencyMs: 0, rpm: 120, quick: true }),
  nginxRow({ rate: '60r/m', perMinute: 60, burst: 10, nodelay: false, conn: 3, latencyMs: 300, rpm: 240 }),

  // Fixed windows that say so in headers (issue #3's targets: the limit exact, the window ±10 %).
  nodeRow({ name: 'express-rate-limit 10/10 s, headers draft-8', spec: { kind: 'express-rate-limit', limit: 10, windowMs: 10_000, headers: 'draft-8' }, truth: { family: 'window', headers: true, limit: 10, windowSeconds: 10 }, quick: true }),
  nodeRow({ name: 'express-rate-limit 20/1 min, headers draft-7', spec: { kind: 'express-rate-limit', limit: 20, windowMs: 60_000, headers: 'draft-7' }, truth: { family: 'window', headers: true, limit: 20, windowSeconds: 60 }, rpm: 60 }),
  nodeRow({ name: '@fastify/rate-limit 10/15 s, headers on', spec: { kind: 'fastify-rate-limit', limit: 10, windowMs: 15_000, headers: 'on' }, truth: { family: 'window', headers: true, limit: 10, windowSeconds: 15 } }),
  // Header-less fixed windows (issue #15 item 3: limit ±1, window ±10 %, ≤ 2L + 10 requests).
  nodeRow({ name: 'express-rate-limit 10/10 s, headers off', spec: { kind: 'express-rate-limit', limit: 10, windowMs: 10_000, headers: 'off' }, truth: { family: 'window', headers: false, limit: 10, windowSeconds: 10 }, quick: true }),
  nodeRow({ name: '@fastify/rate-limit 10/15 s, headers off', spec: { kind: 'fastify-rate-limit', limit: 10, windowMs: 15_000, headers: 'off' }, truth: { family: 'window', headers: false, limit: 10, windowSeconds: 15 } }),
  nodeRow({ name: 'rate-limiter-flexible Memory 10/10 s (fixed window, no headers)', spec: { kind: 'rlf', limit: 10, windowMs: 10_000 }, truth: { family: 'window', headers: false, limit: 10, windowSeconds: 10 }, quick: true }),
  nodeRow({ name: 'rate-limiter-flexible Memory 20/30 s (fixed window, no headers)', spec: { kind: 'rlf', limit: 20, windowMs: 30_000 }, truth: { family: 'window', headers: false, limit: 20, windowSeconds: 30 } }),
  // Penalty boxes (limit ±1 and sustainable perMinute ±15 %, or bound unknown with the reason).
  nodeRow({ name: 'penalty: @fastify/rate-limit 10/10 s continueExceeding, headers off', spec: { kind: 'fastify-rate-limit', limit: 10, windowMs: 10_000, headers: 'off', continueExceeding: true }, truth: { family: 'penalty', limit: 10, windowSeconds: 10, perMinute: 60 }, quick: true }),
  nodeRow({ name: 'penalty: @fastify/rate-limit 10/10 s continueExceeding, headers on', spec: { kind: 'fastify-rate-limit', limit: 10, windowMs: 10_000, headers: 'on', continueExceeding: true }, truth: { family: 'penalty', limit: 10, windowSeconds: 10, perMinute: 60 } }),
  nodeRow({ name: 'penalty: sliding log counting refusals 10/10 s (bench\'s own)', spec: { kind: 'sliding-log-all', limit: 10, windowMs: 10_000 }, truth: { family: 'penalty', limit: 10, windowSeconds: 10, perMinute: 60 } }),
  nodeRow({ name: 'penalty: rate-limiter-flexible 10/10 s blockDuration 30 s', spec: { kind: 'rlf', limit: 10, windowMs: 10_000, blockMs: 30_000 }, truth: { family: 'penalty', limit: 10, windowSeconds: 10, perMinute: 60 } }),
];

// ------------------------------------------------------------------------------------------ arguments

function usage(message) {
  if (message) process.stderr.write(`bench: ${message}\n`);
  process.stderr.write('usage: node bench/real-limiters.js [--quick] [--only <text>]… [--serial] [--no-recommend] [--json <file>] [--cli <bin/chutes-diag.js of another build>]\n');
  process.exit(message ? 2 : 0);
}

function parseArgs(argv) {
  const opts = { quick: false, only: null, serial: false, json: null, cli: null, recommend: true };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined) usage(`${arg} needs a value`);
      return v;
    };
    if (arg === '--quick') opts.quick = true;
    // Repeatable, not a comma list: row names contain commas.
    else if (arg === '--only') opts.only = [...(opts.only ?? []), value().toLowerCase()];
    else if (arg === '--serial') opts.serial = true;
    else if (arg === '--no-recommend') opts.recommend = false;
    else if (arg === '--json') opts.json = value();
    else if (arg === '--cli') opts.cli = value();
    else if (arg === '--help' || arg === '-h') usage();
    else usage(`unknown argument "${arg}"`);
  }
  return opts;
}

const wantedName = (opts, name) => opts.only === null || opts.only.some((t) => name.toLowerCase().includes(t));

// ------------------------------------------------------------------------------------------ formatting

function num(v, digits = 1) {
  if (v === null || v === undefined || Number.isNaN(v)) return '—';
  if (!Number.isFinite(v)) return String(v);
  return Number(v.toFixed(digits)).toString();
}

function progress(text) {
  process.stderr.write(`bench: ${new Date().toISOString().slice(11, 19)} ${text}\n`);
}

function truthText(truth) {
  if (truth.family === 'nginx') {
    const conn = truth.conn ? `, conn ${truth.conn}` : truth.configuredConn ? `, conn ${truth.configuredConn} cannot bind (delay releases at the rate)` : '';
    return `${truth.perMinute}/min, burst ${truth.burst}${conn}${truth.rateReachable === false ? ' (rate unreachable through the cap)' : ''}`;
  }
  if (truth.family === 'window') return `${truth.limit}/${truth.windowSeconds} s`;
  return `${truth.limit}/${truth.windowSeconds} s (${truth.perMinute}/min)`;
}

function estimateText(truth, estimate) {
  if (!estimate) return '—';
  const r = estimate.rate;
  const c = estimate.concurrency;
  const win = `${r.limit ?? '—'}/${r.windowSeconds === null ? '—' : `${num(r.windowSeconds, 2)} s`}`;
  const conc = c.limit === null ? (c.bound === 'at-least' ? `, conn ≥${c.testedUpTo ?? '?'}` : '') : `, conn ${c.limit}${c.bound === 'exact' ? '' : ` (${c.bound})`}`;
  if (truth.family === 'nginx') return `${num(r.perMinute)}/min, burst ${r.burst ?? '—'}${conc} [${win}]`;
  if (truth.family === 'window') return `${win} (${r.algorithm})`;
  return `${win} (${num(r.perMinute)}/min, ${r.algorithm}${r.penalty ? ', penalty' : ''})`;
}

// ------------------------------------------------------------------------------------------ one row

/** The limiter's own count: POSTs to the inference path, refusals among them, other requests (the warm-up). */
function countNodeLog(log) {
  const posts = log.filter((e) => e.method === 'POST');
  return {
    requests: posts.length,
    refusals: posts.filter((e) => e.status === 429).length,
    other: log.length - posts.length,
    statuses: tally(posts.map((e) => e.status)),
  };
}

function countNginxLog(entries) {
  const posts = entries.filter((e) => e.method === 'POST');
  return {
    requests: posts.length,
    refusals: posts.filter((e) => e.status === 429).length,
    refusedByLimitReq: posts.filter((e) => e.lr === 'REJECTED').length,
    refusedByLimitConn: posts.filter((e) => e.lc === 'REJECTED').length,
    delayedByLimitReq: posts.filter((e) => e.lr === 'DELAYED').length,
    other: entries.length - posts.length,
    otherRefused: entries.filter((e) => e.method !== 'POST' && e.status === 429).length,
    statuses: tally(posts.map((e) => e.status)),
  };
}

function tally(values) {
  const out = {};
  for (const v of values) out[String(v)] = (out[String(v)] ?? 0) + 1;
  return out;
}

function cliArgs(url, cli, extra = []) {
  return ['probe', '--base-url', url, '--auth', 'none', '--json', '--yes', '--rpm', String(cli.rpm), '--max-requests', String(cli.maxRequests), '--max-duration', cli.maxDuration, ...extra];
}

/**
 * Starts a fresh instance of a row's limiter (nginx in front of its backend, or the limiter server); the
 * stop functions go into `stops` (first to stop first). readLog(): the limiter's own log, its counts, and the
 * POST arrivals [{t, status}] on its clock (nginx: when limit_req let it through, $msec − $upstream_response_time;
 * a refused one, its arrival, $msec − $request_time).
 */
function releasedAt(entry) {
  const upstream = entry.upstream === null ? Number.NaN : Number.parseFloat(entry.upstream);
  return Number.isFinite(upstream) ? entry.endMs - upstream * 1000 : entry.startMs;
}

async function startLimiter(row, nginxStatus, stops) {
  if (row.limiter === 'nginx') {
    const status = await nginxStatus();
    if (!status.ok) throw new Error(status.reason);
    const backend = await startServer({ kind: 'backend', latencyMs: row.latencyMs });
    stops.push(backend.stop);
    const nginx = await startNginx({ backendPort: backend.port, ...row.nginx });
    stops.unshift(nginx.stop);
    return {
      url: `http://127.0.0.1:${nginx.port}`,
      nginxConfig: nginx.config,
      // atLeastPosts: nginx writes a request's line after the client has its answer, so a reader that just saw
      // its last answer waits (up to 5 s) until the log has caught up.
      readLog: async ({ atLeastPosts = 0 } = {}) => {
        const parse = () => nginx.accessLog().split('\n').filter(Boolean).map(parseAccessLine).filter(Boolean);
        let entries = parse();
        for (const until = performance.now() + 5000; entries.filter((e) => e.method === 'POST').length < atLeastPosts && performance.now() < until; entries = parse()) {
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
        const backendLog = await backend.log();
        return {
          log: entries,
          backend: { requests: backendLog.log.filter((e) => e.method === 'POST').length, maxInFlight: backendLog.maxInFlight },
          counts: countNginxLog(entries),
          // When limit_req let the request through: its end less the upstream's time (a delayed request waited in
          // nginx before that); a refused one, its arrival.
          arrivals: entries.filter((e) => e.method === 'POST').map((e) => ({ t: releasedAt(e), status: e.status })),
        };
      },
    };
  }
  const server = await startServer({ ...row.server, latencyMs: row.latencyMs ?? 0 });
  stops.push(server.stop);
  return {
    url: `http://127.0.0.1:${server.port}`,
    nginxConfig: undefined,
    readLog: async () => {
      const { log, maxInFlight } = await server.log();
      return { log, backend: { maxInFlight }, counts: countNodeLog(log), arrivals: log.filter((e) => e.method === 'POST').map((e) => ({ t: e.t, status: e.status })) };
    },
  };
}

async function runRow(row, nginxStatus, withRecommend = false) {
  const started = performance.now();
  const load = loadavg()[0];
  const record = { name: row.name, limiter: row.limiter, truth: row.truth, cli: row.cli, latencyMs: row.latencyMs ?? 0, load, failure: null, limiterCounts: null, backend: null, estimate: null, doc: null, wallMs: null, exitCode: null };
  const stops = [];
  try {
    const limiter = await startLimiter(row, nginxStatus, stops);
    const url = limiter.url;
    record.probedUrl = url;
    record.nginxConfig = limiter.nginxConfig;
    const readLog = async () => {
      const seen = await limiter.readLog();
      record.limiterLog = seen.log;
      record.backend = seen.backend;
      return seen.counts;
    };
    const run = await runCli(cliArgs(url, row.cli), { timeoutMs: 300_000 });
    record.wallMs = run.wallMs;
    record.exitCode = run.code;
    record.limiterCounts = await readLog();
    if (run.timedOut) throw new Error(`CLI killed after ${Math.round(run.wallMs / 1000)} s`);
    if (!run.doc) throw new Error(`CLI exit ${run.code}: ${(run.stderr || run.parseError || '').trim().split('\n').at(-1)?.slice(0, 120)}`);
    record.doc = run.doc;
    record.estimate = run.doc.estimate ?? null;
    if (!record.estimate) throw new Error(`CLI exit ${run.code} without an estimate`);
  } catch (error) {
    record.failure = error instanceof Error ? error.message : String(error);
  } finally {
    for (const stop of stops) await stop();
  }
  record.checks = judgeRow(row.truth, record.failure ? null : record.estimate).map((c) => (record.failure ? { ...c, measured: `FAIL: ${record.failure}` } : c));
  record.errorPercent = record.failure ? null : headlineError(row.truth, record.estimate);
  const met = record.checks.filter((c) => c.met).length;
  progress(`done ${row.name}: ${met}/${record.checks.length} targets${record.failure ? ` (FAIL: ${record.failure})` : ''}, ${num((performance.now() - started) / 1000)} s`);
  if (withRecommend) record.recommend = await runRecommendation(row, record, nginxStatus);
  record.totalMs = performance.now() - started;
  return record;
}

// ------------------------------------------------------------------------------------------ recommendations (#17)

/**
 * The recommendation stage of one row: when the probe's recommendation has numbers, each JavaScript snippet
 * runs against its own fresh instance of the row's limiter (side by side: the instances share nothing),
 * over two windows or twice a burst's refill (SPAN_CAP_MS at most), and is judged on that limiter's log.
 */
async function runRecommendation(row, record, nginxStatus) {
  const rec = record.doc?.recommendation ?? null;
  const limitPerMinute = truePerMinute(row.truth, row.latencyMs ?? 0);
  if (!rec) return { status: 'none', reason: record.failure ? `no probe result (${record.failure})` : 'no recommendation in the probe result', limitPerMinute, runs: [] };
  if (rec.requestsPerMinute === null || rec.minIntervalMs === null) return { status: 'no-numbers', reason: rec.basis, limitPerMinute, runs: [] };
  const plan = planSpan(row.truth, rec.minIntervalMs);
  const clients = SNIPPET_CLIENTS.filter((c) => typeof rec.snippets?.[c] === 'string');
  progress(`recommend ${row.name}: ${rec.requestsPerMinute}/min (every ${rec.minIntervalMs} ms, ${rec.maxConcurrency ?? 'no'} cap), ${plan.requests} requests over ${num(plan.spanMs / 1000)} s × ${clients.join(', ')}`);
  const started = performance.now();
  const runs = await Promise.all(
    clients.map(async (client) => {
      const stops = [];
      const out = { client, failure: null, settled: null, judged: null, counts: null };
      try {
        const limiter = await startLimiter(row, nginxStatus, stops);
        out.settled = await runSnippet(client, rec.snippets[client], { url: limiter.url, probedUrl: record.probedUrl, requests: plan.requests });
        const seen = await limiter.readLog({ atLeastPosts: out.settled.fulfilled + out.settled.rejected });
        out.counts = seen.counts;
        out.judged = judgeSnippetRun(seen.arrivals, limitPerMinute, { planned: plan.requests, windowMs: plan.windowMs, pacePerMinute: rec.requestsPerMinute });
      } catch (error) {
        out.failure = error instanceof Error ? error.message : String(error);
      } finally {
        for (const stop of stops) await stop();
      }
      return out;
    }),
  );
  const met = judgeRecommendationRow(runs);
  progress(`recommend done ${row.name}: ${met ? 'PASS' : 'FAIL'} (${runs.map((r) => `${r.client} ${r.judged ? `${num((r.judged.share ?? 0) * 100)} %, ${r.judged.refusals} × 429${r.judged.met ? '' : ` ✗ ${r.judged.why}`}` : `FAIL: ${r.failure}`}`).join('; ')}), ${num((performance.now() - started) / 1000)} s`);
  return { status: 'run', requestsPerMinute: rec.requestsPerMinute, minIntervalMs: rec.minIntervalMs, maxConcurrency: rec.maxConcurrency, maxRetries: rec.retry?.maxRetries ?? null, basis: rec.basis, limitPerMinute, plan, runs, met, wallMs: performance.now() - started };
}

// ------------------------------------------------------------------------------------------ pacing, open loop

/**
 * 600 rpm single sends against a bare node:http recorder in its own process; 5 runs; arrival p99 per run. Runs
 * before the limiter lanes and alone: nothing else the bench started is running (checked: a run that finds
 * another process of the bench alive says so in its record). After each CLI run, the baseline sender
 * (bench/pacing-baseline.js: pre-built requests on a raw socket, the CLI's timer + spin and no-catch-up rule)
 * against the same recorder: what the machine allowed in that run.
 */
async function runPacing(quick) {
  const runs = [];
  const n = quick ? 30 : 40;
  const interval = 100;
  const lateness = (arrivals) => {
    const late = gridLateness(arrivals, interval);
    const sorted = [...late].sort((a, b) => a - b);
    return { late, p99: percentile(sorted, 99), p50: percentile(sorted, 50), max: sorted.at(-1) ?? null };
  };
  for (let i = 1; i <= 5; i++) {
    const load = loadavg();
    progress(`pacing run ${i}/5: 600 rpm × ${n}, --concurrency off, bare node:http recorder, then the baseline sender (load ${load.map((v) => num(v, 2)).join(' ')})`);
    const record = {
      run: i, n, failure: null, load: load[0], loadavg: load, othersRunning: liveCount(),
      serverP99Ms: null, serverP50Ms: null, serverMaxMs: null, sentAtP99Ms: null, wireP99Ms: null,
      baselineP99Ms: null, baselineP50Ms: null, baselineMaxMs: null, baselineFailure: null,
    };
    const recorder = await startServer({ kind: 'recorder' });
    try {
      // A fresh recorder's first requests run through cold code (its HTTP parser, the handler): the first one
      // was logged up to 5.6 ms late, which the grid then counted against the CLI. Warmed, it measures the sender.
      for (let k = 0; k < 30; k++) await (await fetch(`http://127.0.0.1:${recorder.port}/v1/chat/completions`, { method: 'POST', body: '{}' })).text();
      const warmed = (await recorder.log()).log.length;
      const cli = await runCli(cliArgs(`http://127.0.0.1:${recorder.port}`, { rpm: 600, maxRequests: n, maxDuration: '60s' }, ['--concurrency', 'off']), { timeoutMs: 90_000 });
      const { log } = await recorder.log();
      const posts = log.slice(warmed).filter((e) => e.method === 'POST');
      const arrivals = posts.map((e) => e.t).sort((a, b) => a - b);
      // The target: arrival at the server against the ideal grid t0 + i·100 ms (the recorder's own clock).
      const server = lateness(arrivals);
      record.arrived = arrivals.length;
      record.serverP99Ms = server.p99;
      record.serverMaxMs = server.max;
      record.serverP50Ms = server.p50;
      record.arrivalLatenessMs = server.late;
      if (cli.doc?.responses) {
        const responses = [...cli.doc.responses].sort((a, b) => Date.parse(a.sentAt) - Date.parse(b.sentAt));
        const sent = responses.map((r) => Date.parse(r.sentAt));
        const scheduled = responses.map((r) => (r.scheduledAt ? Date.parse(r.scheduledAt) : null));
        // Where the lateness comes from: the CLI's stamp against its own schedule (sentAt − scheduledAt), and
        // stamp to wire (arrival − sentAt, less the smallest such gap: the clocks of the two processes differ).
        record.sentLateMs = sent.map((t, k) => (scheduled[k] === null ? null : t - scheduled[k]));
        const lateSorted = record.sentLateMs.filter((v) => v !== null).sort((a, b) => a - b);
        record.sentAtP99Ms = percentile(lateSorted, 99);
        if (arrivals.length === sent.length) {
          const gap = arrivals.map((a, k) => a - sent[k]);
          const floor = Math.min(...gap);
          record.wireMs = gap.map((g) => g - floor);
          record.wireP99Ms = percentile([...record.wireMs].sort((a, b) => a - b), 99);
        } else record.wireP99Ms = null;
        record.cliPacing = cli.doc.pacing;
        // The pre-flight: its answer's wait decides when burst 1 begins (after slot 1 when it came late).
        const first = cli.doc.responses.find((r) => r.seq === 1);
        const firstLog = posts[0];
        record.preflight = {
          cliLatencyMs: first?.latencyMs ?? null,
          serverMs: firstLog && firstLog.end !== null ? firstLog.end - firstLog.t : null,
          secondAfterMs: arrivals.length > 1 ? arrivals[1] - arrivals[0] : null,
        };
      } else record.failure = `CLI exit ${cli.code}`;
      if (arrivals.length !== n) record.failure = `${arrivals.length}/${n} arrived`;
      // The baseline, in the same conditions: the same recorder, right after the CLI's run.
      try {
        await runBaseline(`http://127.0.0.1:${recorder.port}`, { rpm: 600, n });
        const after = (await recorder.log()).log.slice(warmed).filter((e) => e.method === 'POST').slice(posts.length).map((e) => e.t).sort((a, b) => a - b);
        if (after.length !== n) record.baselineFailure = `${after.length}/${n} arrived`;
        else {
          const base = lateness(after);
          record.baselineP99Ms = base.p99;
          record.baselineP50Ms = base.p50;
          record.baselineMaxMs = base.max;
          record.baselineLatenessMs = base.late;
        }
      } catch (error) {
        record.baselineFailure = error instanceof Error ? error.message : String(error);
      }
    } finally {
      await recorder.stop();
    }
    if (record.othersRunning > 0 && !record.failure) record.failure = `${record.othersRunning} other process(es) of the bench were running`;
    const judged = judgePacingRun({ cliP99Ms: record.serverP99Ms, baselineP99Ms: record.baselineP99Ms, failure: record.failure, baselineFailure: record.baselineFailure });
    record.met = judged.met;
    record.machineMissed = judged.machineMissed;
    record.verdict = judged.verdict;
    progress(`pacing run ${i}/5: ${judged.verdict}`);
    runs.push(record);
  }
  return runs;
}

/** 30 sends at 600 rpm against a server answering in 2 s: the CLI's wall time. */
async function runOpenLoop() {
  progress('open loop: 600 rpm × 30 against a 2 s server');
  // A slow origin: every answer takes 2 s, the warm-up's too (the issue's case).
  const server = await startServer({ kind: 'backend', latencyMs: 2000, slowEverything: true });
  try {
    const cli = await runCli(cliArgs(`http://127.0.0.1:${server.port}`, { rpm: 600, maxRequests: 30, maxDuration: '60s' }, ['--concurrency', 'off']), { timeoutMs: 90_000 });
    const { log, maxInFlight } = await server.log();
    const posts = log.filter((e) => e.method === 'POST');
    const warm = log.filter((e) => e.method !== 'POST');
    const firstPost = posts[0]?.t ?? null;
    const result = {
      wallMs: cli.wallMs,
      cliDurationSeconds: cli.doc?.summary?.durationSeconds ?? null,
      arrived: posts.length,
      maxInFlight,
      // The warm-up as the server saw it: its arrival, and how long after it the first POST came.
      warmUp: warm.length > 0 ? { requests: warm.length, method: warm[0].method, path: warm[0].path, firstPostAfterMs: firstPost === null ? null : firstPost - warm[0].t } : null,
      postSpanMs: posts.length > 1 ? posts.at(-1).t - posts[0].t : null,
      exitCode: cli.code,
    };
    return { ...result, met: cli.code === 0 && posts.length === 30 && cli.wallMs < 6000 };
  } finally {
    await server.stop();
  }
}

// ------------------------------------------------------------------------------------------ the table

function pacingText(p) {
  const baseline = p.baselineP99Ms === null ? `baseline: ${p.baselineFailure ?? 'none'}` : `baseline p99 ${num(p.baselineP99Ms, 1)} ms`;
  // A pre-flight answered after slot 1 starts burst 1 when it came (by design): the grid over all sends counts that wait.
  const late = p.preflight?.cliLatencyMs > 100 ? `; the pre-flight's answer took ${num(p.preflight.cliLatencyMs, 0)} ms (the server's ${num(p.preflight.serverMs, 1)} ms), so burst 1 began ${num(p.preflight.secondAfterMs, 0)} ms after it` : '';
  return `arrival p99 ${num(p.serverP99Ms, 1)} ms (p50 ${num(p.serverP50Ms, 1)}, max ${num(p.serverMaxMs, 1)}); of it: sentAt−scheduledAt p99 ${num(p.sentAtP99Ms, 1)} ms, arrival−sentAt p99 ${num(p.wireP99Ms, 1)} ms${late}; ${baseline}; load ${(p.loadavg ?? [p.load]).map((v) => num(v, 2)).join(' ')}`;
}

/** The targets column of a pacing row: met or missed, and whose miss (the machine's when the baseline missed too). */
function pacingTargets(p) {
  return p.met ? `1/1${p.machineMissed ? ` (${p.verdict.replace(/^met, /, '')})` : ''}` : `0/1 ${p.verdict}`;
}

function printTable(records, pacing, openLoop) {
  const header = ['row', 'true limit', 'estimate', 'error %', 'requests (limiter / rate part)', 'refusals', 'confidence', 'bound', 'wall s', 'targets'];
  const lines = records.map((r) => {
    const rate = r.estimate?.rate;
    const lc = r.limiterCounts;
    const refusals = lc ? `${lc.refusals}${lc.refusedByLimitConn ? ` (${lc.refusedByLimitReq} req, ${lc.refusedByLimitConn} conn)` : ''}` : '—';
    const failed = r.checks.filter((c) => !c.met);
    return [
      r.name,
      truthText(r.truth),
      r.failure ? `FAIL: ${r.failure}` : estimateText(r.truth, r.estimate),
      r.errorPercent === null ? '—' : `${r.errorPercent >= 0 ? '+' : ''}${num(r.errorPercent, 1)}`,
      lc ? `${lc.requests} / ${rate?.requests ?? '—'}` : '—',
      refusals,
      rate?.confidence ?? '—',
      rate?.bound ?? '—',
      r.wallMs === null ? '—' : num(r.wallMs / 1000, 1),
      failed.length === 0 ? `${r.checks.length}/${r.checks.length}` : `${r.checks.length - failed.length}/${r.checks.length} MISSED: ${failed.map((c) => `${c.label} ${c.measured} (target ${c.target})`).join('; ')}`,
    ];
  });
  if (pacing) {
    for (const p of pacing) {
      lines.push([
        `pacing 600 rpm × ${p.n}, run ${p.run}`,
        'arrival p99 ≤ 5 ms',
        p.failure ? `FAIL: ${p.failure}` : pacingText(p),
        '—', `${p.arrived ?? '—'}`, '0', '—', '—', '—', pacingTargets(p),
      ]);
    }
  }
  if (openLoop) {
    const o = openLoop;
    lines.push([
      'open loop 600 rpm × 30, 2 s server',
      'wall < 6 s',
      `wall ${num(o.wallMs / 1000, 2)} s; POST span ${num((o.postSpanMs ?? 0) / 1000, 2)} s; warm-up ${o.warmUp ? `${o.warmUp.method} ${o.warmUp.path}, first POST ${num(o.warmUp.firstPostAfterMs, 0)} ms later` : 'none'}; ${o.maxInFlight} in flight`,
      '—', `${o.arrived}`, '0', '—', '—', num(o.wallMs / 1000, 1), o.met ? '1/1' : `0/1 MISSED: wall ${num(o.wallMs / 1000, 2)} s (target < 6 s)`,
    ]);
  }
  const widths = header.map((h, c) => Math.min(c === 9 ? 400 : 80, Math.max(h.length, ...lines.map((l) => String(l[c]).length))));
  const fmt = (l) => l.map((v, c) => String(v).padEnd(widths[c])).join(' | ').trimEnd();
  process.stdout.write(`${[fmt(header), widths.map((w) => '-'.repeat(w)).join('-|-'), ...lines.map(fmt)].join('\n')}\n`);
}

/** The same table as Markdown (for BENCHMARKS.md), in the JSON too. */
function markdownTable(records, pacing, openLoop) {
  const out = ['| row | true limit | estimate | error % | requests: limiter / rate part | refusals (limit_req, limit_conn) | confidence | bound | wall s | targets |', '|---|---|---|---|---|---|---|---|---|---|'];
  const cell = (s) => String(s).replace(/\|/g, '\\|');
  for (const r of records) {
    const rate = r.estimate?.rate;
    const lc = r.limiterCounts;
    const failed = r.checks.filter((c) => !c.met);
    out.push(`| ${[
      r.name,
      truthText(r.truth),
      r.failure ? `FAIL: ${r.failure}` : estimateText(r.truth, r.estimate),
      r.errorPercent === null ? '—' : `${r.errorPercent >= 0 ? '+' : ''}${num(r.errorPercent, 1)}`,
      lc ? `${lc.requests} / ${rate?.requests ?? '—'}` : '—',
      lc ? `${lc.refusals}${lc.refusedByLimitConn !== undefined ? ` (${lc.refusedByLimitReq}, ${lc.refusedByLimitConn})` : ''}` : '—',
      rate?.confidence ?? '—',
      rate?.bound ?? '—',
      r.wallMs === null ? '—' : num(r.wallMs / 1000, 1),
      failed.length === 0 ? `**${r.checks.length}/${r.checks.length}**` : `${r.checks.length - failed.length}/${r.checks.length}: missed ${failed.map((c) => `${c.label} ${c.measured} (${c.target})`).join('; ')}`,
    ].map(cell).join(' | ')} |`);
  }
  for (const p of pacing ?? []) {
    out.push(`| pacing 600 rpm × ${p.n}, run ${p.run} | arrival p99 ≤ 5 ms | ${cell(p.failure ? `FAIL: ${p.failure}` : pacingText(p))} | — | ${p.arrived ?? '—'} | 0 | — | — | — | ${cell(p.met ? `**${pacingTargets(p)}**` : pacingTargets(p))} |`);
  }
  if (openLoop) {
    const o = openLoop;
    out.push(`| open loop 600 rpm × 30, 2 s server | wall < 6 s | wall ${num(o.wallMs / 1000, 2)} s; POST span ${num((o.postSpanMs ?? 0) / 1000, 2)} s; warm-up ${o.warmUp ? `${o.warmUp.method} ${o.warmUp.path}, first POST ${num(o.warmUp.firstPostAfterMs, 0)} ms after it` : 'none'}; ${o.maxInFlight} in flight | — | ${o.arrived} | 0 | — | — | ${num(o.wallMs / 1000, 1)} | ${o.met ? '**1/1**' : '0/1'} |`);
  }
  return out.join('\n');
}

/** One client's run: throughput share of the true limit, refusals at the limiter, the verdict. */
function clientCell(run) {
  if (!run) return '—';
  if (run.failure || !run.judged) return `FAIL: ${run.failure ?? 'no result'}`;
  const j = run.judged;
  const delayed = run.counts?.delayedByLimitReq ? `, ${run.counts.delayedByLimitReq} delayed by limit_req` : '';
  return `${j.share === null ? '—' : `${num(j.share * 100)} %`}, ${j.refusals} × 429, ${j.accepted}/${j.sent} ok${delayed}${j.met ? '' : ` ✗ ${j.why}`}`;
}

function recommendCell(rec) {
  return rec.runs.map((r) => `${r.client} ${clientCell(r)}`).join('; ');
}

function recommendLines(records) {
  return records
    .filter((r) => r.recommend)
    .map((r) => {
      const rec = r.recommend;
      const limit = `${num(rec.limitPerMinute)}/min`;
      if (rec.status !== 'run') {
        const text = rec.status === 'no-numbers' ? `no numbers (limit unknown): ${rec.reason}` : rec.reason;
        return [r.name, limit, text, '—', ...SNIPPET_CLIENTS.map(() => '—'), 'not judged'];
      }
      const span = rec.runs.find((x) => x.judged?.spanMs)?.judged;
      const windows = span?.windows ?? null;
      return [
        r.name,
        limit,
        `${rec.requestsPerMinute}/min (every ${rec.minIntervalMs} ms), cap ${rec.maxConcurrency ?? 'none'}, retries ${rec.maxRetries ?? '—'}`,
        `${rec.plan.requests} × ${num((span?.spanMs ?? rec.plan.spanMs) / 1000)} s = ${num(windows, 2)} ${r.truth.family === 'nginx' ? 'burst refills' : 'windows'}${rec.plan.capped ? ` (capped at ${SPAN_CAP_MS / 1000} s)` : ''}`,
        ...SNIPPET_CLIENTS.map((c) => clientCell(rec.runs.find((x) => x.client === c))),
        rec.met ? 'PASS' : 'FAIL',
      ];
    });
}

const RECOMMEND_HEADER = ['row', 'true limit', 'recommended', 'sent over', ...SNIPPET_CLIENTS.map((c) => `${c}: share of limit, 429s, ok`), '#17 target'];

/** The recommendation stage's table: per row, what was recommended and what each executed snippet got. */
function printRecommendTable(records) {
  const lines = recommendLines(records);
  if (lines.length === 0) return;
  const widths = RECOMMEND_HEADER.map((h, c) => Math.min(90, Math.max(h.length, ...lines.map((l) => String(l[c]).length))));
  const fmt = (l) => l.map((v, c) => String(v).padEnd(widths[c])).join(' | ').trimEnd();
  process.stdout.write(`\nrecommendations against the real limiters (issue #17: 0 × 429 and ≥ ${MIN_SHARE * 100} % of the limit, counted in the limiter's own log)\n`);
  process.stdout.write(`${[fmt(RECOMMEND_HEADER), widths.map((w) => '-'.repeat(w)).join('-|-'), ...lines.map(fmt)].join('\n')}\n`);
}

function markdownRecommendTable(records) {
  const cell = (s) => String(s).replace(/\|/g, '\\|');
  return [`| ${RECOMMEND_HEADER.join(' | ')} |`, `|${RECOMMEND_HEADER.map(() => '---').join('|')}|`, ...recommendLines(records).map((l) => `| ${l.map((v, i) => (i === l.length - 1 && v === 'PASS' ? '**PASS**' : cell(v))).join(' | ')} |`)].join('\n');
}

// ------------------------------------------------------------------------------------------ main

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  if (opts.cli) {
    const bin = path.resolve(opts.cli);
    if (!existsSync(bin) || !existsSync(path.join(path.dirname(bin), '..', 'dist', 'cli.js'))) usage(`--cli ${opts.cli}: no built CLI there (bin/chutes-diag.js with dist/ beside it)`);
    useCli(bin);
    progress(`the rows run ${bin}`);
  } else if (!existsSync(BIN) || !existsSync(new URL('../dist/cli.js', import.meta.url))) {
    process.stderr.write('bench: dist/ is missing; run `npm run build` first (npm run bench does).\n');
    process.exit(2);
  }
  const started = performance.now();
  const loadBefore = loadavg();
  const rows = ROWS.filter((r) => (!opts.quick || r.quick) && wantedName(opts, r.name));
  const wantPacing = wantedName(opts, 'pacing');
  const wantOpenLoop = wantedName(opts, 'open loop');

  // nginx is checked (and installed) once, before the first nginx row; a failure fails those rows with the reason.
  const nginxStatus = () => ensureNginx(progress);
  if (rows.some((r) => r.limiter === 'nginx')) {
    const status = await nginxStatus();
    progress(status.ok ? `nginx: ${status.how}` : `nginx unavailable: ${status.reason} (its rows FAIL)`);
  }

  // Timing-sensitive rows first and alone: nothing else of the bench runs until they are done.
  const pacing = wantPacing ? await runPacing(opts.quick) : null;
  const openLoop = wantOpenLoop ? await runOpenLoop() : null;

  // Then the limiter rows in three lanes side by side, one row at a time in each: nginx, the fixed windows,
  // the penalty boxes (they share no limiter, and each lane is mostly waiting on refills and windows, so
  // the lanes cost little CPU). --serial: one lane.
  const lanes = opts.serial ? [rows] : ['nginx', 'window', 'penalty'].map((lane) => rows.filter((r) => r.lane === lane));
  const results = new Map();
  await Promise.all(
    lanes.map(async (lane) => {
      for (const row of lane) {
        progress(`start ${row.name}`);
        results.set(row, await runRow(row, nginxStatus, opts.recommend));
      }
    }),
  );
  const records = rows.map((r) => results.get(r));
  const totalS = (performance.now() - started) / 1000;

  printTable(records, pacing, openLoop);
  if (opts.recommend) printRecommendTable(records);
  const checks = [
    ...records.flatMap((r) => r.checks.map((c) => ({ row: r.name, ...c }))),
    ...(pacing ?? []).map((p) => ({ row: `pacing run ${p.run}`, label: 'server arrival p99', target: `≤ ${PACING_TARGET_MS} ms`, measured: p.verdict, met: p.met })),
    ...(openLoop ? [{ row: 'open loop', label: 'wall time', target: '< 6 s', measured: `${num(openLoop.wallMs / 1000, 2)} s`, met: openLoop.met }] : []),
    ...(opts.recommend ? records.filter((r) => r.recommend?.status === 'run').map((r) => ({ row: r.name, label: 'recommendation (#17)', target: `0 × 429 and ≥ ${MIN_SHARE * 100} % of the limit, every snippet`, measured: recommendCell(r.recommend), met: r.recommend.met })) : []),
  ];
  const missed = checks.filter((c) => !c.met);
  const machine = `${cpus().length} × ${cpus()[0]?.model ?? '?'}, ${num(totalmem() / 2 ** 30, 1)} GiB, node ${process.version}`;
  const version = spawnSync('/usr/sbin/nginx', ['-v'], { encoding: 'utf8' });
  const nginxVersion = version.status === 0 ? `${version.stderr}${version.stdout}`.trim() : null;
  process.stdout.write(
    `\ntargets met ${checks.length - missed.length} of ${checks.length}${missed.length ? `; missed (${missed.length}):` : ''}\n` +
      missed.map((c) => `  - ${c.row} · ${c.label}: ${c.measured} (target ${c.target})\n`).join('') +
      (pacing ? `pacing: ${summarizePacing(pacing.map((p) => ({ met: p.met, machineMissed: p.machineMissed })), 5).text}; CLI p99 ${pacing.map((p) => num(p.serverP99Ms, 2)).join(', ')} ms, baseline p99 ${pacing.map((p) => num(p.baselineP99Ms, 2)).join(', ')} ms, load ${pacing.map((p) => num(p.load, 2)).join(', ')}\n` : '') +
      `machine: ${machine}; load average ${loadBefore.map((v) => num(v, 2)).join(' ')} at start, ${loadavg().map((v) => num(v, 2)).join(' ')} at end; bench wall ${num(totalS, 1)} s${opts.quick ? ' (--quick)' : ''}${opts.serial ? ' (--serial)' : ''}\n`,
  );
  if (opts.json) {
    const doc = {
      when: new Date().toISOString(),
      quick: opts.quick,
      serial: opts.serial,
      cli: opts.cli ? path.resolve(opts.cli) : BIN,
      totalSeconds: totalS,
      machine,
      loadBefore,
      loadAfter: loadavg(),
      nginxVersion,
      targetsMet: checks.length - missed.length,
      targetsJudged: checks.length,
      missed,
      markdown: markdownTable(records, pacing, openLoop),
      recommendMarkdown: opts.recommend ? markdownRecommendTable(records) : null,
      rows: records.map((r) => ({ ...r, errorPercentLimit: r.estimate ? errorPercent(r.estimate.rate?.limit, r.truth.limit ?? r.truth.burst) : null })),
      pacing,
      openLoop,
    };
    writeFileSync(opts.json, `${JSON.stringify(doc, null, 1)}\n`);
    progress(`wrote ${opts.json}`);
  }
}

let interrupted = false;
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    if (interrupted) return;
    interrupted = true;
    progress(`${signal}: stopping everything the bench started`);
    void stopAll().finally(() => process.exit(130));
  });
}
process.on('exit', () => {
  killAllNow();
  cleanSnippets();
});

try {
  await main();
  await stopAll();
} catch (error) {
  process.stderr.write(`bench: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  await stopAll();
  process.exit(1);
}
