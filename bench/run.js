#!/usr/bin/env node
// chutes-diag benchmarks (issue 7): pacing precision, open-loop behaviour, estimation accuracy and cost,
// start-up time and memory. Starts emulators in this process on 127.0.0.1 (port 0), runs the BUILT CLI
// (`node bin/chutes-diag.js probe … --json --yes`) as a user would, and prints one table on stdout.
//
//   npm run bench                      # build, then every scenario (about 2 minutes on 2 cores)
//   node bench/run.js --only pacing    # one scenario (pacing, open-loop, estimate, startup, memory);
//                                      # a comma list, or estimate:<text> to pick matrix cells by name
//   node bench/run.js --quick          # fewer requests, matrix cells and repetitions (about 1 minute)
//   node bench/run.js --jobs 3         # estimation cells run side by side (default 3; 1 = one at a time)
//   node bench/run.js --json out.json  # also write every row and raw figure as JSON
//
// Every figure is a ratio or a distribution taken within one run, so it means the same on a noisy
// machine. Only loopback traffic: every request goes to an emulator started here. Every loop is bounded
// (--max-requests and --max-duration on each probe, a kill timer on each child process).
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, freemem, loadavg, tmpdir, totalmem } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BIN = path.join(ROOT, 'bin', 'chutes-diag.js');
const EMULATOR = path.join(ROOT, 'dist', 'emulator', 'server.js');
const INFERENCE_PATH = '/v1/chat/completions';
/** An obviously fake key in the Chutes format (as in test/helpers/cli.js); the emulator accepts any cpk_… key. */
const FAKE_KEY = `cpk_${'0'.repeat(32)}.${'f'.repeat(32)}.FAKEtestKEYdoNOTuse0000000000000`;
const GNU_TIME = '/usr/bin/time';

const SCENARIOS = ['pacing', 'open-loop', 'estimate', 'startup', 'memory'];

// ------------------------------------------------------------------------------------------ arguments

function usage(message) {
  if (message) process.stderr.write(`bench: ${message}\n`);
  process.stderr.write(
    'usage: node bench/run.js [--only <scenario>[,<scenario>…]] [--quick] [--jobs <n>] [--json <file>]\n' +
      `  scenarios: ${SCENARIOS.join(', ')}; estimate:<text> runs only the matrix cells whose name contains <text>\n`,
  );
  process.exit(message ? 2 : 0);
}

function parseArgs(argv) {
  const opts = { only: null, cellFilter: null, quick: false, jobs: 3, json: null };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined) usage(`${arg} needs a value`);
      return v;
    };
    if (arg === '--only') {
      opts.only = new Set();
      for (const item of value().split(',')) {
        const [name, filter] = item.split(':');
        if (!SCENARIOS.includes(name)) usage(`unknown scenario "${name}"`);
        opts.only.add(name);
        if (filter) opts.cellFilter = filter;
      }
    } else if (arg === '--quick') opts.quick = true;
    else if (arg === '--jobs') {
      opts.jobs = Number(value());
      if (!Number.isInteger(opts.jobs) || opts.jobs < 1 || opts.jobs > 8) usage('--jobs takes an integer from 1 to 8');
    } else if (arg === '--json') opts.json = value();
    else if (arg === '--help' || arg === '-h') usage();
    else usage(`unknown argument "${arg}"`);
  }
  return opts;
}

// ------------------------------------------------------------------------------------------ statistics

/** Nearest-rank percentile of an ascending array (the CLI's own definition). */
function percentile(sorted, p) {
  if (sorted.length === 0) return null;
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1];
}

function distribution(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return { n: sorted.length, p50: percentile(sorted, 50), p99: percentile(sorted, 99), max: sorted.at(-1) ?? null, min: sorted[0] ?? null };
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return null;
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

// ------------------------------------------------------------------------------------------ formatting

function num(v, digits = 1) {
  if (v === null || v === undefined || Number.isNaN(v)) return '—';
  if (!Number.isFinite(v)) return String(v);
  return Number(v.toFixed(digits)).toString();
}

function ms(v) {
  return v === null || v === undefined ? '—' : `${num(v, v < 10 ? 2 : 1)}`;
}

function ratio(v) {
  if (v === null || v === undefined || !Number.isFinite(v)) return '—';
  return v >= 0.9 && v <= 1.1 ? v.toFixed(3) : v >= 100 ? v.toFixed(0) : v.toFixed(2);
}

const rows = [];
let currentScenario = '';

/**
 * One line of the table: `met` is true / false against a stated target, null when informational.
 * `ratio` is measured / reference.
 */
function row(caseName, metric, measured, reference, ratioValue, target, met) {
  rows.push({ scenario: currentScenario, case: caseName, metric, measured, reference, ratio: ratioValue, target, met });
}

function printTable() {
  const header = ['scenario', 'case', 'metric', 'measured', 'reference', 'ratio', 'target', 'met'];
  const cells = rows.map((r) => [r.scenario, r.case, r.metric, r.measured, r.reference, ratio(r.ratio), r.target, r.met === null ? '—' : r.met ? 'yes' : 'NO']);
  // Repeated scenario and case labels are left blank so the groups stand out.
  for (let i = cells.length - 1; i > 0; i--) {
    if (cells[i][0] === cells[i - 1][0]) {
      if (cells[i][1] === cells[i - 1][1]) cells[i][1] = '';
      cells[i][0] = '';
    }
  }
  const widths = header.map((h, c) => Math.max(h.length, ...cells.map((line) => String(line[c]).length)));
  const right = new Set([5]);
  const fmt = (line) => line.map((v, c) => (right.has(c) ? String(v).padStart(widths[c]) : String(v).padEnd(widths[c]))).join('  ').trimEnd();
  const lines = [fmt(header), widths.map((w) => '-'.repeat(w)).join('  ')];
  let previousScenario = null;
  rows.forEach((r, i) => {
    if (previousScenario !== null && r.scenario !== previousScenario) lines.push('');
    previousScenario = r.scenario;
    lines.push(fmt(cells[i]));
  });
  process.stdout.write(`${lines.join('\n')}\n`);
}

function progress(text) {
  process.stderr.write(`bench: ${text}\n`);
}

// ------------------------------------------------------------------------------------------ processes

/**
 * Runs `node <args>` with a minimal environment, resolving {code, signal, stdout, stderr, wallMs, peakRssKb}.
 * Peak RSS comes from GNU time (-f %M) when asked and present, else from polling VmHWM in /proc.
 */
function runNode(args, { env = {}, timeoutMs = 60_000, measureRss = false } = {}) {
  return new Promise((resolve, reject) => {
    let command = process.execPath;
    let argv = args;
    let rssFile = null;
    if (measureRss && existsSync(GNU_TIME)) {
      rssFile = path.join(mkdtempSync(path.join(tmpdir(), 'chutes-bench-')), 'rss');
      command = GNU_TIME;
      argv = ['-f', '%M', '-o', rssFile, process.execPath, ...args];
    }
    const started = performance.now();
    const child = spawn(command, argv, {
      cwd: ROOT,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, NO_COLOR: '1', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let polledKb = null;
    child.stdout.setEncoding('utf8').on('data', (d) => {
      stdout += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d) => {
      stderr += d;
    });
    const poll = measureRss && rssFile === null
      ? setInterval(() => {
          try {
            const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
            if (match) polledKb = Math.max(polledKb ?? 0, Number(match[1]));
          } catch {
            // gone already
          }
        }, 10)
      : null;
    const killer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      const wallMs = performance.now() - started;
      clearTimeout(killer);
      if (poll) clearInterval(poll);
      let peakRssKb = polledKb;
      if (rssFile !== null) {
        try {
          peakRssKb = Number(readFileSync(rssFile, 'utf8').trim().split('\n').at(-1));
        } catch {
          peakRssKb = null;
        }
        rmSync(path.dirname(rssFile), { recursive: true, force: true });
      }
      resolve({ code, signal, stdout, stderr, wallMs, peakRssKb, timedOut: signal === 'SIGKILL' });
    });
  });
}

let startEmulator;

/**
 * Starts an emulator on loopback, runs one `probe --json --yes` against it and returns the JSON
 * document, the wall time of the CLI process, and the emulator's arrival log (inference requests only;
 * the probe's warm-up HEAD / is left out).
 */
async function probeAgainst(emulatorOptions, probeArgs, { timeoutMs = 120_000, measureRss = false } = {}) {
  const emulator = await startEmulator({ host: '127.0.0.1', port: 0, apiPort: 0, dailyQuota: null, ...emulatorOptions });
  try {
    if (!emulator.url.startsWith('http://127.0.0.1:')) throw new Error(`emulator is not on loopback: ${emulator.url}`);
    const run = await runNode([BIN, 'probe', '--base-url', emulator.url, ...probeArgs, '--json', '--yes'], {
      env: { CHUTES_API_KEY: FAKE_KEY, CHUTES_API_BASE_URL: emulator.apiUrl },
      timeoutMs,
      measureRss,
    });
    let doc = null;
    let parseError = null;
    try {
      doc = JSON.parse(run.stdout);
    } catch (error) {
      parseError = error instanceof Error ? error.message : String(error);
    }
    const arrivals = emulator.arrivals.filter((a) => a.listener === 'llm' && a.path === INFERENCE_PATH).map((a) => ({ ...a }));
    return { run, doc, parseError, arrivals, stats: emulator.stats() };
  } finally {
    await emulator.close();
  }
}

/** A failed CLI run becomes one visible row rather than a crash of the whole bench. */
function failureText(result) {
  const { run, parseError } = result;
  if (run.timedOut) return `killed after its time limit (${Math.round(run.wallMs)} ms)`;
  const detail = (run.stderr || parseError || '').trim().split('\n').slice(-1)[0] ?? '';
  return `exit ${run.code}${detail ? `: ${detail.slice(0, 80)}` : ''}`;
}

/** Whole-run rate: (n − 1) intervals over the span from the first to the last time. */
function achievedRpm(times) {
  if (times.length < 2) return null;
  const span = times.at(-1) - times[0];
  return span > 0 ? ((times.length - 1) * 60_000) / span : Infinity;
}

/**
 * Lateness of each time against the ideal grid t0 + i·interval, the grid placed at the most punctual
 * send (so the fixed network/processing delay cancels): what the server saw of |sentAt − scheduledAt|.
 */
function gridLateness(times, intervalMs) {
  const offset = Math.min(...times.map((t, i) => t - i * intervalMs));
  return times.map((t, i) => t - i * intervalMs - offset);
}

/** The most times in any half-open window [t, t + windowMs). */
function maxInAnyWindow(times, windowMs) {
  const sorted = [...times].sort((a, b) => a - b);
  let best = 0;
  let lo = 0;
  for (let hi = 0; hi < sorted.length; hi++) {
    while (sorted[hi] - sorted[lo] >= windowMs) lo++;
    best = Math.max(best, hi - lo + 1);
  }
  return best;
}

function gaps(times) {
  return times.slice(1).map((t, i) => t - times[i]);
}

// ------------------------------------------------------------------------------------------ 1. pacing

/**
 * The emulators run inside this process, so the first inference requests it ever serves go through cold
 * code: their arrival is late by the server's own start-up, not by the probe. Twenty requests to a
 * throw-away emulator first, so the pacing rows measure the probe.
 */
async function warmServerPath() {
  const emulator = await startEmulator({ host: '127.0.0.1', port: 0, apiPort: 0, dailyQuota: null, limit: 0, headers: 'none' });
  try {
    for (let i = 0; i < 20; i++) {
      const res = await fetch(emulator.url + INFERENCE_PATH, {
        method: 'POST',
        headers: { authorization: `Bearer ${FAKE_KEY}`, 'content-type': 'application/json' },
        body: '{"model":"warm-up","messages":[{"role":"user","content":"hi"}],"max_tokens":1}',
      });
      await res.text();
    }
  } finally {
    await emulator.close();
  }
}

async function benchPacing(opts) {
  currentScenario = 'pacing';
  await warmServerPath();
  const levels = opts.quick
    ? [{ rpm: 60, n: 3 }, { rpm: 600, n: 20 }, { rpm: 6000, n: 200 }, { rpm: 60000, n: 1000 }]
    : [{ rpm: 60, n: 5 }, { rpm: 600, n: 40 }, { rpm: 6000, n: 400 }, { rpm: 60000, n: 2000 }];
  const raw = [];
  for (const { rpm, n } of levels) {
    const interval = 60_000 / rpm;
    const caseName = `${rpm} rpm × ${n}`;
    progress(`pacing ${caseName}`);
    const result = await probeAgainst(
      { limit: 0, latencyMs: 0, headers: 'none', concurrencyLimit: null },
      ['--rpm', String(rpm), '--max-requests', String(n), '--concurrency', 'off', '--max-duration', '60s'],
      { timeoutMs: 90_000 },
    );
    const { doc, arrivals } = result;
    if (!doc || !Array.isArray(doc.responses)) {
      row(caseName, 'probe run', failureText(result), '—', null, 'exit 0 + JSON', false);
      continue;
    }
    const responses = [...doc.responses].sort((a, b) => a.seq - b.seq);
    const sent = responses.map((r) => Date.parse(r.sentAt));
    const scheduled = responses.map((r) => Date.parse(r.scheduledAt));
    // As the CLI reports it: against the scheduledAt of each record.
    const reported = distribution(responses.map((_, i) => Math.abs(sent[i] - scheduled[i])));
    // Against the schedule issue 3 defines, slot i = start + i·60000/rpm (start = the first slot).
    const fromStart = distribution(sent.map((t, i) => Math.abs(t - (scheduled[0] + i * interval))));
    const drift = scheduled.length > 0 ? scheduled.at(-1) - (scheduled[0] + (scheduled.length - 1) * interval) : null;
    const arrivalTimes = arrivals.map((a) => a.t).sort((a, b) => a - b);
    const clientRpm = achievedRpm(sent);
    const serverRpm = achievedRpm(arrivalTimes);
    const server = distribution(gridLateness(arrivalTimes, interval));
    const spacing = distribution(gaps(arrivalTimes));
    const strict = rpm <= 6000;
    const rateTarget = strict ? '≥ 0.99' : 'report';
    const p99Target = strict ? 'p99 ≤ 5 ms' : 'report';
    const dist = (d) => `${ms(d.p50)} / ${ms(d.p99)} / ${ms(d.max)} ms`;
    row(caseName, 'rate, client sentAt', `${num(clientRpm, 1)} rpm (${responses.length}/${n} sent)`, `${rpm} rpm`, clientRpm / rpm, rateTarget, strict ? clientRpm / rpm >= 0.99 && responses.length === n : null);
    row(caseName, 'rate, server arrivals', `${num(serverRpm, 1)} rpm (${arrivalTimes.length} arrived)`, `${rpm} rpm`, serverRpm / rpm, rateTarget, strict ? serverRpm / rpm >= 0.99 : null);
    row(caseName, 'client |sentAt−scheduledAt| p50/p99/max', dist(reported), '5 ms', reported.p99 / 5, p99Target, strict ? reported.p99 <= 5 : null);
    row(caseName, 'client |sentAt−(start+i·I)| p50/p99/max', dist(fromStart), '5 ms', fromStart.p99 / 5, p99Target, strict ? fromStart.p99 <= 5 : null);
    row(caseName, 'server arrival−(t0+i·I) p50/p99/max', dist(server), '5 ms', server.p99 / 5, p99Target, strict ? server.p99 <= 5 : null);
    row(caseName, 'server arrival gaps min/p50/max', `${ms(spacing.min)} / ${ms(spacing.p50)} / ${ms(spacing.max)} ms`, `I = ${num(interval, 2)} ms`, spacing.p50 / interval, '—', null);
    const quarter = Math.max(2, Math.floor(arrivalTimes.length / 4));
    const firstQ = achievedRpm(arrivalTimes.slice(0, quarter));
    const lastQ = achievedRpm(arrivalTimes.slice(-quarter));
    row(caseName, 'server rate, first / last quarter', `${num(firstQ, 0)} / ${num(lastQ, 0)} rpm`, `${rpm} rpm`, lastQ / firstQ, '—', null);
    row(caseName, 'scheduledAt drift, last slot', `${ms(drift)} ms`, `${num(interval * (n - 1), 0)} ms span`, drift === null ? null : drift / (interval * (n - 1)), '—', null);
    raw.push({ rpm, n, clientRpm, serverRpm, reported, fromStart, server, spacing, drift, cliPacing: doc.pacing, wallMs: result.run.wallMs });
  }
  return raw;
}

// ------------------------------------------------------------------------------------------ 2. open loop

async function benchOpenLoop() {
  currentScenario = 'open-loop';
  const caseName = '2 s latency, 600 rpm × 30';
  progress(`open loop ${caseName}`);
  const result = await probeAgainst(
    { limit: 0, latencyMs: 2000, headers: 'none', concurrencyLimit: null },
    ['--rpm', '600', '--max-requests', '30', '--concurrency', 'off', '--max-duration', '60s'],
    { timeoutMs: 60_000 },
  );
  const { doc, arrivals, run, stats } = result;
  if (!doc) {
    row(caseName, 'probe run', failureText(result), '—', null, 'exit 0 + JSON', false);
    return null;
  }
  const arrivalTimes = arrivals.map((a) => a.t).sort((a, b) => a - b);
  const spacing = distribution(gaps(arrivalTimes));
  const wallS = run.wallMs / 1000;
  row(caseName, 'wall time (process)', `${num(wallS, 2)} s (CLI: ${num(doc.summary?.durationSeconds, 2)} s)`, '6 s', wallS / 6, '< 6 s', wallS < 6);
  row(caseName, 'ideal: 29 gaps + 1 latency', `${num(wallS, 2)} s`, '4.9 s', wallS / 4.9, '—', null);
  row(caseName, 'arrival gaps p50/max', `${ms(spacing.p50)} / ${ms(spacing.max)} ms`, '100 ms', spacing.p50 / 100, '—', null);
  row(caseName, 'max in flight at server', `${stats.maxInFlight} (${arrivalTimes.length}/30 arrived)`, '20', stats.maxInFlight / 20, '≥ 20 (open loop)', stats.maxInFlight >= 20 && arrivalTimes.length === 30);
  return { wallMs: run.wallMs, durationSeconds: doc.summary?.durationSeconds, spacing, maxInFlight: stats.maxInFlight };
}

// ------------------------------------------------------------------------------------------ 3. estimation

const WINDOW_TRUTH = { limit: 10, windowSeconds: 5, perMinute: 120, burst: 10 };
const BUCKET_TRUTH = { limit: 30, windowSeconds: 60, perMinute: 30, burst: 5 };
const CAP = 3;
/** The capped cells answer in 200 ms so a batch overlaps on the server; the uncapped ones answer at once. */
const LATENCY_CAPPED_MS = 200;
const LATENCY_UNCAPPED_MS = 0;

function matrixCells(quick) {
  const cells = [];
  for (const algorithm of ['fixed-window', 'sliding-window', 'token-bucket']) {
    const dialects = algorithm === 'token-bucket' ? ['x-ratelimit', 'ietf', 'openai', 'none'] : ['x-ratelimit', 'ietf', 'none'];
    for (const headers of dialects) {
      for (const capped of [false, true]) {
        if (quick && !((headers === 'none' && capped) || (headers === 'x-ratelimit' && !capped))) continue;
        cells.push({ algorithm, headers, capped, name: `${algorithm} ${headers === 'none' ? 'no headers' : headers} ${capped ? `cap ${CAP} ${LATENCY_CAPPED_MS}ms` : `no cap ${LATENCY_UNCAPPED_MS}ms`}` });
      }
    }
  }
  return cells;
}

function within(estimate, truth, tolerance) {
  return typeof estimate === 'number' && Math.abs(estimate - truth) <= tolerance;
}

async function runCell(cell) {
  const bucket = cell.algorithm === 'token-bucket';
  const truth = bucket ? BUCKET_TRUTH : WINDOW_TRUTH;
  const emulatorOptions = {
    algorithm: cell.algorithm,
    limit: truth.limit,
    windowMs: truth.windowSeconds * 1000,
    ...(bucket ? { burst: truth.burst } : {}),
    headers: cell.headers,
    concurrencyLimit: cell.capped ? CAP : null,
    latencyMs: cell.capped ? LATENCY_CAPPED_MS : LATENCY_UNCAPPED_MS,
  };
  const result = await probeAgainst(emulatorOptions, ['--rpm', '600', '--max-requests', '80', '--max-duration', '90s'], { timeoutMs: 120_000 });
  return { cell, truth, result };
}

function reportCell({ cell, truth, result }) {
  const { doc, run } = result;
  const bucket = cell.algorithm === 'token-bucket';
  const headers = cell.headers !== 'none';
  const name = cell.name;
  if (!doc || !doc.estimate) {
    row(name, 'probe run', failureText(result), '—', null, 'exit 0 + JSON', false);
    return { name, failed: true };
  }
  const rate = doc.estimate.rate;
  const conc = doc.estimate.concurrency;
  const checks = [];
  const check = (label, met) => {
    if (met !== null) checks.push({ label, met });
    return met;
  };

  // Which issue-3 targets apply. "Headers advertise the limit (limit, window, reset)": only IETF states a
  // window (`w`), so only there the target is the exact limit and window for at most 2 requests. X-RateLimit
  // and OpenAI state the limit but not the window: the limit must be exact, the window (or refill) is
  // measured, so the measured targets apply (window or perMinute ±10 %, at most L + 5 requests for a window).
  // Header-less: limit ±1, window ±10 %, ≤ L + 5 requests; header-less bucket: perMinute ±10 %, burst ±1.
  const statesWindow = cell.headers === 'ietf';
  const limitTol = headers ? 0 : 1;
  // A header-less token bucket is described as burst per time-to-refill (no advertised limit/window to compare).
  const advertised = headers || !bucket;
  row(name, 'limit', `${rate.limit ?? '—'} (${rate.bound}, ${rate.source}, ${rate.confidence})`, advertised ? String(truth.limit) : '— (bucket)',
    advertised && rate.limit !== null ? rate.limit / truth.limit : null,
    advertised ? (headers ? 'exact' : '±1') : '—', advertised ? check('limit', within(rate.limit, truth.limit, limitTol)) : null);
  // "Exact" for a window read from headers: within 0.5 s (IETF w carries whole seconds).
  const windowTol = statesWindow ? 0.5 : truth.windowSeconds * 0.1;
  row(name, 'window s', `${rate.windowSeconds ?? '—'}`, advertised ? String(truth.windowSeconds) : '— (bucket)',
    advertised && rate.windowSeconds !== null ? rate.windowSeconds / truth.windowSeconds : null,
    advertised ? (statesWindow ? 'exact (±0.5 s)' : '±10 %') : '—', advertised ? check('window', within(rate.windowSeconds, truth.windowSeconds, windowTol)) : null);
  const perMinuteApplies = bucket || !headers;
  row(name, 'perMinute', `${rate.perMinute ?? '—'}`, String(truth.perMinute), rate.perMinute === null ? null : rate.perMinute / truth.perMinute,
    perMinuteApplies ? '±10 %' : '—', perMinuteApplies ? check('perMinute', within(rate.perMinute, truth.perMinute, truth.perMinute * 0.1)) : null);
  // Issue 3 asks for the burst of a header-less bucket. With headers it is not a target, but a burst the
  // probe does state must still be right (null, "unknown", is allowed by the contract).
  const burstJudged = bucket && (!headers || rate.burst !== null);
  row(name, 'burst', `${rate.burst ?? '—'}`, `${truth.burst}${bucket ? '' : ' (= L)'}`, rate.burst === null ? null : rate.burst / truth.burst,
    bucket ? (headers ? '±1 if stated' : '±1') : '—', burstJudged ? check('burst', within(rate.burst, truth.burst, 1)) : null);
  // Fixed or sliding cannot be told apart by some header dialects without spending more requests; shown, not judged,
  // except that a header-less estimate must name the algorithm it measured.
  const algorithmMet = rate.algorithm === cell.algorithm;
  row(name, 'algorithm', rate.algorithm, cell.algorithm, null, headers ? '—' : 'same', headers ? null : check('algorithm', algorithmMet));
  if (!headers) {
    row(name, 'source / bound', `${rate.source} / ${rate.bound}`, 'observed', null, 'observed, not at-least', check('source', rate.source === 'observed' && rate.bound !== 'at-least'));
  }

  const minimum = headers ? 1 : (bucket ? truth.burst : truth.limit) + 1;
  const requestTarget = statesWindow ? '≤ 2' : bucket ? '—' : `≤ L+5 = ${truth.limit + 5}${headers ? ' (no window stated)' : ''}`;
  const requestMet = statesWindow ? rate.requests <= 2 : bucket ? null : rate.requests <= truth.limit + 5;
  row(name, 'requests, rate part', `${rate.requests}`, `min ${minimum}`, rate.requests / minimum, requestTarget, requestMet === null ? null : check('rate requests', requestMet));

  if (cell.capped) {
    const budget = 3 * CAP + 4;
    row(name, 'concurrency', `${conc.limit ?? '—'} (${conc.bound}, tested ${conc.testedUpTo ?? '—'})`, String(CAP), conc.limit === null ? null : conc.limit / CAP, 'exact', check('concurrency', conc.limit === CAP && conc.bound === 'exact'));
    row(name, 'requests, concurrency part', `${conc.requests}`, `3C+4 = ${budget}`, conc.requests / budget, `≤ ${budget}`, check('concurrency requests', conc.requests <= budget));
  } else {
    row(name, 'concurrency', `${conc.limit ?? '—'} (${conc.bound}, tested ${conc.testedUpTo ?? '—'})`, 'unlimited', null, 'not capped (at-least)', check('concurrency', conc.bound === 'at-least' || conc.limit === null));
    row(name, 'requests, concurrency part', `${conc.requests}`, '—', null, '—', null);
  }
  const wallS = run.wallMs / 1000;
  row(name, 'wall time', `${num(wallS, 1)} s (${doc.summary.sent} sent, stop: ${doc.stopReason ?? '—'})`, `window ${truth.windowSeconds} s`, wallS / truth.windowSeconds, '—', null);
  const arrivalTimes = result.arrivals.map((a) => a.t);
  return { name, arrivals: arrivalTimes.length, perMinuteMax: maxInAnyWindow(arrivalTimes, 60_000), rate, concurrency: conc, sent: doc.summary.sent, wallMs: run.wallMs, stopReason: doc.stopReason, warnings: doc.warnings, checks };
}

async function benchEstimate(opts) {
  currentScenario = 'estimate';
  let cells = matrixCells(opts.quick);
  if (opts.cellFilter) cells = cells.filter((c) => c.name.includes(opts.cellFilter));
  // Cells run `jobs` at a time (each is mostly waiting on windows and refills); results are reported in matrix order.
  const results = new Array(cells.length);
  let next = 0;
  const worker = async () => {
    while (next < cells.length) {
      const index = next++;
      progress(`estimate ${cells[index].name}`);
      results[index] = await runCell(cells[index]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(opts.jobs, cells.length) }, worker));
  const reports = results.map(reportCell);
  // Whatever the limiter answered: never more than --max-requests (80), never more than --rpm (600) in any 60 s.
  const done = reports.filter((r) => !r.failed);
  if (done.length > 0) {
    const most = Math.max(...done.map((r) => r.arrivals));
    const densest = Math.max(...done.map((r) => r.perMinuteMax));
    row(`all ${done.length} cells`, 'server arrivals: most / densest 60 s', `${most} / ${densest}`, '80 budget / 600 rpm', Math.max(most / 80, densest / 600), '≤ budget, ≤ rpm', most <= 80 && densest <= 600);
  }
  return reports;
}

// ------------------------------------------------------------------------------------------ 4. start-up

async function benchStartup(opts) {
  currentScenario = 'startup';
  const runs = opts.quick ? 5 : 11;
  const variants = [
    { name: 'node -e 0', args: ['-e', '0'] },
    { name: '--help', args: [BIN, '--help'] },
    { name: '--version', args: [BIN, '--version'] },
    // The floor any commander-based ESM CLI pays: node plus the import of commander alone.
    { name: "import 'commander'", args: ['--input-type=module', '-e', "import 'commander';"] },
  ];
  const times = new Map(variants.map((v) => [v.name, []]));
  progress(`start-up, ${runs} runs of each`);
  // One warm-up of each (file cache), then interleaved so drift on a busy machine hits all three alike.
  for (const v of variants) await runNode(v.args, { timeoutMs: 20_000 });
  for (let i = 0; i < runs; i++) {
    for (const v of variants) {
      const run = await runNode(v.args, { timeoutMs: 20_000 });
      if (run.code !== 0) {
        row(v.name, 'run', failureText({ run, parseError: null }), '—', null, 'exit 0', false);
        return null;
      }
      times.get(v.name).push(run.wallMs);
    }
  }
  const base = median(times.get('node -e 0'));
  const figures = {};
  for (const v of variants) {
    const m = median(times.get(v.name));
    const d = distribution(times.get(v.name));
    figures[v.name] = { median: m, min: d.min, max: d.max };
    if (v.name === 'node -e 0') continue;
    if (v.name.startsWith('import')) {
      row(`node -e "${v.name}"`, `wall, median of ${runs}`, `${num(m, 1)} ms (min ${num(d.min, 1)}, max ${num(d.max, 1)})`, `node -e 0: ${num(base, 1)} ms`, m / base, '—', null);
      continue;
    }
    row(`chutes-diag ${v.name}`, `wall, median of ${runs}`, `${num(m, 1)} ms (min ${num(d.min, 1)}, max ${num(d.max, 1)})`, `node -e 0: ${num(base, 1)} ms`, m / base, '≤ 2×', m / base <= 2);
  }
  return figures;
}

// ------------------------------------------------------------------------------------------ 5. memory

async function benchMemory() {
  currentScenario = 'memory';
  const n = 2000;
  const small = 200;
  const caseName = `probe × ${n}, instant server`;
  progress(`memory ${caseName}`);
  const baseline = await runNode(['-e', '0'], { measureRss: true, timeoutMs: 20_000 });
  const version = await runNode([BIN, '--version'], { measureRss: true, timeoutMs: 20_000 });
  const probeRss = (count) =>
    probeAgainst(
      { limit: 0, latencyMs: 0, headers: 'none', concurrencyLimit: null },
      ['--rpm', '60000', '--max-requests', String(count), '--concurrency', 'off', '--max-duration', '60s'],
      { timeoutMs: 90_000, measureRss: true },
    );
  const big = await probeRss(n);
  // A short probe too: the slope between the two is what each request costs, apart from loading the HTTP stack.
  const little = await probeRss(small);
  const how = existsSync(GNU_TIME) ? 'GNU time %M' : '/proc VmHWM';
  for (const result of [big, little]) {
    if (!result.doc || result.run.peakRssKb === null) {
      row(caseName, 'peak RSS', failureText(result), '—', null, 'exit 0 + JSON', false);
      return null;
    }
  }
  const mb = (kb) => kb / 1024;
  const perRequestKb = (big.run.peakRssKb - little.run.peakRssKb) / (n - small);
  row(caseName, `peak RSS (${how})`, `${num(mb(big.run.peakRssKb), 1)} MB (${big.doc.summary.sent} sent, JSON ${num(big.run.stdout.length / 2 ** 20, 1)} MB)`, `node -e 0: ${num(mb(baseline.peakRssKb), 1)} MB`, big.run.peakRssKb / baseline.peakRssKb, '—', null);
  row(caseName, 'against --version', `${num(mb(big.run.peakRssKb), 1)} MB`, `--version: ${num(mb(version.peakRssKb), 1)} MB`, big.run.peakRssKb / version.peakRssKb, '—', null);
  row(caseName, `against a ${small}-request probe`, `${num(mb(big.run.peakRssKb), 1)} MB`, `× ${small}: ${num(mb(little.run.peakRssKb), 1)} MB`, big.run.peakRssKb / little.run.peakRssKb, '—', null);
  row(caseName, 'marginal RSS per request', `${num(perRequestKb, 1)} KB`, `JSON: ${num(big.run.stdout.length / n / 1024, 2)} KB`, perRequestKb / (big.run.stdout.length / n / 1024), '—', null);
  return { peakRssKb: big.run.peakRssKb, smallPeakRssKb: little.run.peakRssKb, baselineKb: baseline.peakRssKb, versionKb: version.peakRssKb, perRequestKb, jsonBytes: big.run.stdout.length };
}

// ------------------------------------------------------------------------------------------ main

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  if (!existsSync(EMULATOR) || !existsSync(BIN)) {
    process.stderr.write('bench: dist/ is missing; run `npm run bench` (it builds first) or `npx tsc -p tsconfig.json`.\n');
    process.exit(2);
  }
  ({ startEmulator } = await import(pathToFileURL(EMULATOR).href));
  const wanted = (name) => opts.only === null || opts.only.has(name);
  const started = performance.now();
  const loadBefore = loadavg()[0];
  const raw = {};
  // Timing-sensitive scenarios first and alone; the estimation matrix (which runs cells side by side) after.
  if (wanted('startup')) raw.startup = await benchStartup(opts);
  if (wanted('pacing')) raw.pacing = await benchPacing(opts);
  if (wanted('open-loop')) raw.openLoop = await benchOpenLoop();
  if (wanted('memory')) raw.memory = await benchMemory();
  if (wanted('estimate')) raw.estimate = await benchEstimate(opts);
  const totalS = (performance.now() - started) / 1000;

  // Present the scenarios in the issue's order whatever order they ran in.
  const order = ['pacing', 'open-loop', 'estimate', 'startup', 'memory'];
  rows.sort((a, b) => order.indexOf(a.scenario) - order.indexOf(b.scenario));
  printTable();
  const judged = rows.filter((r) => r.met !== null);
  const missed = judged.filter((r) => !r.met);
  process.stdout.write(
    `\n${judged.length - missed.length}/${judged.length} targets met${missed.length ? `; missed (${missed.length}):` : ''}\n` +
      missed.map((r) => `  - ${r.scenario} · ${r.case} · ${r.metric}: ${r.measured} (target ${r.target})\n`).join('') +
      `machine: ${cpus().length} × ${cpus()[0]?.model ?? '?'}, ${num(totalmem() / 2 ** 30, 1)} GiB (${num(freemem() / 2 ** 30, 1)} free), node ${process.version}; ` +
      `load average ${num(loadBefore, 2)} at start, ${num(loadavg()[0], 2)} at end; bench wall ${num(totalS, 1)} s${opts.quick ? ' (--quick)' : ''}\n`,
  );
  if (opts.json) writeFileSync(opts.json, `${JSON.stringify({ when: new Date().toISOString(), quick: opts.quick, totalSeconds: totalS, rows, raw }, null, 2)}\n`);
}

await main();
