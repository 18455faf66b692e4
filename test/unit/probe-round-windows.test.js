// Issue #15, deliverable 3: header-less windows within 2L + 10 requests, on simulated time. The probe's
// second recovery tests the instants round windows (1 s … 1 h, on the clock or from the request that began
// them) predict from the first recovery, instead of a second retest ladder (src/probe/round-windows.ts).
// Measured over the grid of test/helpers/window-grid.js (fixed windows on the clock and from the first
// request, sliding logs; W 5–60 s; L 5, 10, 30; three phases; 600 rpm): before (main at 3d1ba32) 0 of
// 162 cells within 2L + 10 and 63.6 requests on average; now the cells listed below are within it, 61.0
// on average, and every cell's estimate is within target (limit ±1, window ±10 %). Most of the cost left
// is the first recovery's fine ladder (see BENCHMARKS.md, "Header-less windows").
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { TokenBucketLimiter } from '../../dist/emulator/limiters.js';
import { ProbeStrategy } from '../../dist/probe/strategy.js';
import { driveProbe } from '../../dist/probe/runner.js';
import { SimClock } from '../helpers/sim-clock.js';
import { layeredServer } from '../helpers/sim-server.js';
import { cellName, grid, NOON, runCell } from '../helpers/window-grid.js';

/** The cells within 2L + 10 requests and on target when this was written (7 of 162): a floor. */
const CLAIMED = [
  'clock 10/5s @+23.456s',
  'first-request 30/5s @+2.345s',
  'first-request 30/5s @+23.456s',
  'first-request 30/5s @+47.123s',
  'sliding 30/5s @+2.345s',
  'sliding 30/5s @+23.456s',
  'sliding 30/5s @+47.123s',
];

describe('header-less windows: round windows first (issue #15)', () => {
  it('every cell of the grid: limit ±1, window ±10 %; the claimed cells within 2L + 10 requests', async () => {
    const off = [];
    const over = [];
    let requests = 0;
    let rounds = 0;
    const cells = grid();
    for (const cell of cells) {
      const run = await runCell(cell);
      requests += run.requests;
      const name = cellName(cell);
      // A round window stated in the sentence is the true one (reason code window-from-cycles, `round`).
      const stated = /as a round ([\d.]+)-s window predicts/.exec(run.rate.explanation);
      if (stated) {
        rounds += 1;
        if (Number(stated[1]) !== cell.windowS) off.push(`${name}: says a round ${stated[1]}-s window`);
      }
      if (!run.onTarget) off.push(`${name}: ${run.rate.limit} per ${run.rate.windowSeconds} s (${run.rate.explanation}) ${run.trace}`);
      if (CLAIMED.includes(name) && !(run.withinBudget && run.onTarget)) over.push(`${name}: ${run.requests} requests > ${2 * cell.limit + 10} ${run.trace}`);
    }
    assert.deepEqual(off, []);
    assert.deepEqual(over, []);
    assert.equal(rounds, cells.length, "every estimate says which round window both recoveries confirmed");
    // 63.6 on average before; 61.0 with the predicted second recovery; 60.0 with burst 2's held request.
    assert.ok(requests / cells.length <= 60.5, `${(requests / cells.length).toFixed(1)} requests on average`);
  });

  it('a header-less token bucket is not read as a window (280 buckets, refill 0.5–8 s, burst 3–20, 60–600 rpm)', async () => {
    // A guard for any round plan: the previous attempt's coarse first-recovery waits let slow buckets
    // refill enough to pass for windows (3 of these 280 read as fixed windows, 4 more rates off by > 10 %).
    const off = [];
    for (const perToken of [500, 1000, 1500, 2000, 3000, 5000, 8000]) {
      for (const burst of [3, 5, 8, 12, 20]) {
        for (const rpm of [60, 120, 240, 600]) {
          for (const phase of [2345, 47123]) {
            const start = NOON + phase;
            const clock = new SimClock(start);
            const server = layeredServer(clock, { layers: [{ limiter: new TokenBucketLimiter(1, perToken, burst) }] });
            const strategy = new ProbeStrategy({ start, rpm, maxRequests: 150, maxDurationMs: 600_000, concurrency: 'off', maxConcurrency: 8 });
            await clock.run(driveProbe({ strategy, ...clock.driveOptions(), sendOne: server.sendOne }));
            const rate = strategy.result().rate;
            const truth = 60_000 / perToken;
            const measured = rate.perMinute !== null && rate.bound !== 'at-least' && rate.bound !== 'unknown';
            if (rate.algorithm === 'fixed-window' || rate.algorithm === 'sliding-window' || (measured && Math.abs(rate.perMinute - truth) > truth * 0.1)) {
              off.push(`1 per ${perToken} ms, burst ${burst}, ${rpm} rpm, phase ${phase}: ${rate.algorithm} ${rate.perMinute}/min`);
            }
          }
        }
      }
    }
    assert.deepEqual(off, []);
  });

  it("burst 2's request after as many as burst 1 got waits until just before the predicted second recovery: its refusal ends burst 2 and bounds that recovery (one request fewer)", async () => {
    // The real-limiter bench's header-less rows (express-rate-limit, @fastify/rate-limit and
    // rate-limiter-flexible memory stores: windows from the first request) at --rpm 120. Before: burst 2
    // ended on a refusal at the pace, then one more request went just before the predicted recovery.
    for (const [limit, windowS, before] of [[10, 10, 32], [10, 15, 36], [20, 30, 56]]) {
      const run = await runCell({ kind: 'first-request', limit, windowS, phase: 2345 }, { rpm: 120 });
      assert.ok(run.onTarget, `${limit}/${windowS}: ${run.rate.limit} per ${run.rate.windowSeconds} s`);
      assert.ok(run.requests <= before - 1, `${limit}/${windowS}: ${run.requests} requests (before: ${before}) ${run.trace}`);
      // Burst 2's refusal lies within 10 % of W before the second recovery, and no other refusal between.
      const marks = run.trace.split(' ').map((m) => { const [t, s] = m.split(':'); return { t: Number(t), ok: s === 'ok' }; });
      const firstOk = marks.findIndex((m, i) => i > 0 && m.ok && !marks[i - 1].ok);
      const end2 = marks.findIndex((m, i) => i > firstOk && !m.ok);
      const recovery2 = marks[end2 + 1];
      assert.ok(recovery2?.ok, `the request after burst 2's refusal recovered ${run.trace}`);
      assert.ok(recovery2.t - marks[end2].t <= 0.1 * windowS + 0.2, `burst 2's refusal ${marks[end2].t} s, recovery ${recovery2.t} s ${run.trace}`);
    }
  });

  it('windows of no round length (first-request and sliding, 12.5, 25 and 45 s): limit ±1, window ±10 % whenever the pace reaches the limit', async () => {
    // The held request once went just before a round window's prediction (15 s for 12.5 s), was accepted
    // by the next window and burst 2 ran on: "20 per 28 s" for 10 per 12.5 s. It is now bounded by what the
    // refused retests show (the window lasts at least from the first request to the last refused retest).
    // Before burst 2's held request (main at c6d99ee), 16 of these cells were off too (10 per 12.5 s read
    // as 10.7 s, 5 per 12.5 s as 10.5–11.1 s).
    const off = [];
    for (const kind of /** @type {const} */ (['first-request', 'sliding'])) {
      for (const windowS of [12.5, 25, 45]) {
        for (const limit of [5, 10, 20]) {
          for (const rpm of [120, 600]) {
            for (const phase of [2345, 47123]) {
              const run = await runCell({ kind, limit, windowS, phase }, { rpm });
              if (!run.onTarget) off.push(`${kind} ${limit}/${windowS}s ${rpm} rpm +${phase}: ${run.rate.limit} per ${run.rate.windowSeconds} s ${run.trace}`);
            }
          }
        }
      }
    }
    assert.deepEqual(off, []);
  });
});
