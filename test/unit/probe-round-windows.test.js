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
    // 63.6 on average before; 61.0 when this was written.
    assert.ok(requests / cells.length <= 61.5, `${(requests / cells.length).toFixed(1)} requests on average`);
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
});
