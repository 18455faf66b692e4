// The real-limiter bench's target judging (bench/real-limiters/judge.js): pure, so its edges are pinned here
// (the bench itself is not part of npm test). Also its nginx access-log parser.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gridLateness, headlineError, judgePacingRun, judgeRow, percentile, summarizePacing } from '../../bench/real-limiters/judge.js';
import { nginxConfig, parseAccessLine } from '../../bench/real-limiters/processes.js';

/** A probe `estimate` with the given rate and concurrency fields (the rest null). */
function estimate(rate = {}, concurrency = {}) {
  return {
    rate: { limit: null, windowSeconds: null, perMinute: null, burst: null, algorithm: 'unknown', bound: 'approx', source: 'observed', confidence: 'medium', explanation: 'x', requests: 20, penalty: null, ...rate },
    concurrency: { limit: null, bound: 'at-least', testedUpTo: 8, explanation: 'y', requests: 0, ...concurrency },
  };
}

const NGINX = { family: 'nginx', perMinute: 30, burst: 6, conn: 3 };
const NGINX_NO_CONN = { family: 'nginx', perMinute: 30, burst: 6, conn: null };
const WINDOW = { family: 'window', headers: false, limit: 10, windowSeconds: 10 };
const WINDOW_HEADERS = { family: 'window', headers: true, limit: 10, windowSeconds: 10 };
const PENALTY = { family: 'penalty', limit: 10, windowSeconds: 10, perMinute: 60 };

/** @type {Array<[string, any, any, Record<string, boolean>]>} name, truth, estimate, expected met per label */
const cases = [
  ['nginx: the issue\'s 20/min is 33 % low', NGINX, estimate({ perMinute: 20 }, { limit: 3, bound: 'exact' }), { perMinute: false, concurrency: true }],
  ['nginx: 27/min is exactly the −10 % edge', NGINX, estimate({ perMinute: 27 }, { limit: 3, bound: 'exact' }), { perMinute: true, concurrency: true }],
  ['nginx: 33.1/min is past +10 %', NGINX, estimate({ perMinute: 33.1 }, { limit: 3, bound: 'exact' }), { perMinute: false, concurrency: true }],
  ['nginx: concurrency 2 instead of 3', NGINX, estimate({ perMinute: 30 }, { limit: 2, bound: 'exact' }), { perMinute: true, concurrency: false }],
  ['nginx: concurrency 3 but only approx is not exact', NGINX, estimate({ perMinute: 30 }, { limit: 3, bound: 'approx' }), { perMinute: true, concurrency: false }],
  ['nginx: perMinute null fails', NGINX, estimate({}, { limit: 3, bound: 'exact' }), { perMinute: false, concurrency: true }],
  ['nginx without limit_conn: at-least is right', NGINX_NO_CONN, estimate({ perMinute: 30 }, { limit: null, bound: 'at-least' }), { perMinute: true, concurrency: true }],
  ['nginx without limit_conn: a reported cap is wrong', NGINX_NO_CONN, estimate({ perMinute: 30 }, { limit: 2, bound: 'exact' }), { perMinute: true, concurrency: false }],
  ['nginx: the right number as a lower bound is not an estimate', NGINX, estimate({ perMinute: 30.5, bound: 'at-least' }, { limit: 3, bound: 'exact' }), { perMinute: false, concurrency: true }],
  ['nginx, rate unreachable through the cap: a stated figure misses', { ...NGINX, rateReachable: false }, estimate({ perMinute: 503, bound: 'approx' }, { limit: 3, bound: 'exact' }), { perMinute: false, concurrency: true }],
  ['nginx, rate unreachable through the cap: at-least is right', { ...NGINX, rateReachable: false }, estimate({ perMinute: 480, bound: 'at-least' }, { limit: 3, bound: 'exact' }), { perMinute: true, concurrency: true }],
  ['window without headers: limit off by one, window +10 %, 30 requests', WINDOW, estimate({ limit: 11, windowSeconds: 11, requests: 30 }), { limit: true, window: true, requests: true }],
  ['window without headers: limit off by two', WINDOW, estimate({ limit: 8, windowSeconds: 10, requests: 25 }), { limit: false, window: true, requests: true }],
  ['window without headers: 31 requests is over 2L+10', WINDOW, estimate({ limit: 10, windowSeconds: 10, requests: 31 }), { limit: true, window: true, requests: false }],
  ['window without headers: window 11.2 s is over +10 %', WINDOW, estimate({ limit: 10, windowSeconds: 11.2, requests: 25 }), { limit: true, window: false, requests: true }],
  ['window with headers: the limit must be exact', WINDOW_HEADERS, estimate({ limit: 11, windowSeconds: 10 }), { limit: false, window: true }],
  ['window with headers: exact limit, window null', WINDOW_HEADERS, estimate({ limit: 10, windowSeconds: null }), { limit: true, window: false }],
  ['penalty: the issue\'s 8 per 11.2 s (42.9/min) misses', PENALTY, estimate({ limit: 8, windowSeconds: 11.2, perMinute: 42.9 }), { 'limit ±1 & perMinute ±15 %, or unknown': false }],
  ['penalty: 11 and 52/min is within both', PENALTY, estimate({ limit: 11, perMinute: 52 }), { 'limit ±1 & perMinute ±15 %, or unknown': true }],
  ['penalty: right limit but perMinute null and bound approx misses', PENALTY, estimate({ limit: 11, perMinute: null, bound: 'approx' }), { 'limit ±1 & perMinute ±15 %, or unknown': false }],
  ['penalty: bound unknown with a reason passes', PENALTY, estimate({ limit: null, bound: 'unknown', explanation: 'refusals restarted the block' }), { 'limit ±1 & perMinute ±15 %, or unknown': true }],
  ['penalty: bound unknown without a reason misses', PENALTY, estimate({ limit: null, bound: 'unknown', explanation: '  ' }), { 'limit ±1 & perMinute ±15 %, or unknown': false }],
];

for (const [name, truth, est, expected] of cases) {
  test(`judge: ${name}`, () => {
    const got = Object.fromEntries(judgeRow(truth, est).map((c) => [c.label, c.met]));
    assert.deepEqual(got, expected);
  });
}

test('judge: a failed run (no estimate) fails every check of its family', () => {
  for (const truth of [NGINX, NGINX_NO_CONN, WINDOW, WINDOW_HEADERS, PENALTY]) {
    const checks = judgeRow(truth, null);
    assert.ok(checks.length > 0);
    assert.ok(checks.every((c) => c.met === false), JSON.stringify(checks));
  }
});

test('judge: an unknown family is a bench bug, not a silent pass', () => {
  assert.throws(() => judgeRow({ family: 'leaky' }, estimate()), /unknown truth family/);
});

test('headline error: perMinute for buckets and penalty boxes, the limit for windows', () => {
  assert.equal(Math.round(headlineError(NGINX, estimate({ perMinute: 20 }))), -33);
  assert.equal(headlineError(WINDOW, estimate({ limit: 12 })), 20);
  assert.equal(headlineError(PENALTY, estimate({ perMinute: null })), null);
});

test('grid lateness: placed at the most punctual arrival; p99 by nearest rank', () => {
  const late = gridLateness([1000, 1101, 1200, 1318, 1400], 100);
  assert.deepEqual(late, [0, 1, 0, 18, 0]);
  assert.equal(percentile([...late].sort((a, b) => a - b), 99), 18);
  assert.deepEqual(gridLateness([], 100), []);
});

test('nginx access log: which limiter refused, and when the request began', () => {
  const line = '1764486000.250 429 POST /v1/chat/completions 0.000 7 3 lr=PASSED lc=REJECTED up=-';
  const e = parseAccessLine(line);
  assert.ok(e);
  assert.equal(e.status, 429);
  assert.equal(e.lr, 'PASSED');
  assert.equal(e.lc, 'REJECTED');
  assert.equal(e.upstream, null);
  assert.equal(e.startMs, 1764486000250);
  const slow = parseAccessLine('1764486001.750 200 POST /v1/chat/completions 1.500 7 4 lr=PASSED lc=PASSED up=1.500');
  assert.equal(slow?.startMs, 1764486000250);
  // limit_req refused: limit_conn never ran, so its variable is empty ("-").
  assert.equal(parseAccessLine('1764486000.250 429 POST / 0.000 8 1 lr=REJECTED lc=- up=-')?.lc, null);
  assert.equal(parseAccessLine('garbage'), null);
});

test('nginx config: limit_conn only when asked, nodelay only when asked, 429 for both', () => {
  const base = { dir: '/tmp/x', port: 8080, backendPort: 9090, rate: '30r/m', burst: 5 };
  const withConn = nginxConfig({ ...base, nodelay: true, conn: 3 });
  assert.match(withConn, /limit_req zone=perip burst=5 nodelay;/);
  assert.match(withConn, /limit_conn connperip 3;/);
  assert.match(withConn, /limit_conn_status 429;/);
  assert.match(withConn, /limit_req_status 429;/);
  const delayed = nginxConfig({ ...base, nodelay: false, conn: null });
  assert.match(delayed, /limit_req zone=perip burst=5;/);
  assert.doesNotMatch(delayed, /limit_conn /);
  assert.doesNotMatch(delayed, /limit_conn_zone/);
  assert.match(delayed, /listen 127\.0\.0\.1:8080;/);
});

/** Pacing runs (issue #15): the CLI's arrival p99 judged next to the baseline's, in the same conditions. */
const pacingCases = [
  { name: 'both within 5 ms: met, nothing to say about the machine', run: { cliP99Ms: 3.2, baselineP99Ms: 1.1 }, met: true, machineMissed: false, verdict: /^met, p99 3\.2 ms$/ },
  { name: 'exactly 5 ms is met', run: { cliP99Ms: 5, baselineP99Ms: 5 }, met: true, machineMissed: false, verdict: /^met/ },
  { name: 'the CLI misses where the baseline met it: the CLI\'s own miss', run: { cliP99Ms: 7.02, baselineP99Ms: 1.4 }, met: false, machineMissed: false, verdict: /MISSED, p99 7\.02 ms \(machine: baseline p99 1\.4 ms: the CLI's own miss\)/ },
  { name: 'both miss: still a miss, and the row says the machine\'s baseline missed too', run: { cliP99Ms: 26.5, baselineP99Ms: 24.1 }, met: false, machineMissed: true, verdict: /^MISSED, p99 26\.5 ms \(machine: baseline p99 24\.1 ms, over 5 ms too\)$/ },
  { name: 'the CLI met it though the baseline missed: met, and the row says the machine missed', run: { cliP99Ms: 4.9, baselineP99Ms: 6.3 }, met: true, machineMissed: true, verdict: /^met, p99 4\.9 ms \(machine: baseline p99 6\.3 ms, over 5 ms too\)$/ },
  { name: 'no baseline figure: judged on the CLI alone, and said so', run: { cliP99Ms: 8, baselineP99Ms: null, baselineFailure: 'baseline exited 1' }, met: false, machineMissed: null, verdict: /machine: no baseline \(baseline exited 1\)/ },
  { name: 'a failed CLI run fails whatever the baseline', run: { cliP99Ms: null, baselineP99Ms: 1, failure: '38/40 arrived' }, met: false, machineMissed: false, verdict: /^FAIL: 38\/40 arrived/ },
];

for (const c of pacingCases) {
  test(`pacing run: ${c.name}`, () => {
    const j = judgePacingRun(c.run);
    assert.equal(j.met, c.met);
    assert.equal(j.machineMissed, c.machineMissed);
    assert.match(j.verdict, c.verdict);
  });
}

test('pacing over the runs: counts met runs and tells the machine\'s misses from the CLI\'s own', () => {
  const judged = [
    judgePacingRun({ cliP99Ms: 3, baselineP99Ms: 1 }),
    judgePacingRun({ cliP99Ms: 9, baselineP99Ms: 12 }),
    judgePacingRun({ cliP99Ms: 7, baselineP99Ms: 2 }),
    judgePacingRun({ cliP99Ms: 4, baselineP99Ms: 1 }),
    judgePacingRun({ cliP99Ms: 2, baselineP99Ms: 1 }),
  ];
  const s = summarizePacing(judged);
  assert.equal(s.met, 3);
  assert.equal(s.machineMisses, 1);
  assert.equal(s.ownMisses, 1);
  assert.equal(s.allMet, false);
  assert.equal(s.text, '3 of 5 runs met p99 ≤ 5 ms; missed 2: 1 where the baseline missed too (the machine), 1 where the baseline met it (the CLI\'s own)');
  const all = summarizePacing(judged.filter((j) => j.met).concat(judgePacingRun({ cliP99Ms: 1, baselineP99Ms: 1 }), judgePacingRun({ cliP99Ms: 1, baselineP99Ms: 1 })));
  assert.equal(all.allMet, true);
  assert.equal(summarizePacing(judged.slice(0, 1)).allMet, false, 'one run is not the five the target asks for');
});
