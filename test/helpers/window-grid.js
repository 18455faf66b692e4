// Header-less windows on simulated time (issue #15, deliverable 3): one probe against one limiter that
// answers 429 without any header, and the grid of cells the sweep and bench/header-less-windows.js run.
// A cell: fixed window anchored to the clock (boundaries at multiples of W since the epoch, so a whole
// minute is one) or to the first request (express-rate-limit's memory store, rate-limiter-flexible), or
// a sliding log; W in seconds; limit L; phase = where in the minute the probe starts (ms after 12:00:00).
import { FixedWindowLimiter, SlidingWindowLimiter } from '../../dist/emulator/limiters.js';
import { ProbeStrategy } from '../../dist/probe/strategy.js';
import { driveProbe } from '../../dist/probe/runner.js';
import { SimClock } from './sim-clock.js';
import { layeredServer } from './sim-server.js';

export const NOON = Date.UTC(2026, 0, 15, 12, 0, 0);
export const WINDOWS_S = [5, 10, 15, 20, 30, 60];
export const LIMITS = [5, 10, 30];
/** Start instants after a whole minute, ms: not on a round boundary, and spread over the minute. */
export const PHASES = [2_345, 23_456, 47_123];
export const KINDS = /** @type {const} */ (['clock', 'first-request', 'sliding']);
/** The pace of every cell: fast enough to reach 30 per 5 s (360/min). */
export const GRID_RPM = 600;

/** @typedef {{ kind: 'clock' | 'first-request' | 'sliding', windowS: number, limit: number, phase: number, latencyMs?: number }} Cell */

/** @returns {Cell[]} */
export function grid() {
  const cells = [];
  for (const kind of KINDS) for (const windowS of WINDOWS_S) for (const limit of LIMITS) for (const phase of PHASES) cells.push({ kind, windowS, limit, phase });
  return cells;
}

/** @param {Cell} cell */
function limiterOf(cell) {
  const windowMs = cell.windowS * 1000;
  return cell.kind === 'sliding' ? new SlidingWindowLimiter(cell.limit, windowMs) : new FixedWindowLimiter(cell.limit, windowMs, cell.kind);
}

/**
 * One probe against the cell's limiter: requests spent, the estimate, whether it is on target (limit ±1,
 * window ±10 %), and a one-line trace for failure messages.
 * @param {Cell} cell
 */
export async function runCell(cell, { rpm = GRID_RPM, maxRequests = 200, maxDurationMs = 900_000 } = {}) {
  const start = NOON + cell.phase;
  const clock = new SimClock(start);
  const latency = cell.latencyMs ?? 1;
  const server = layeredServer(clock, { layers: [{ limiter: limiterOf(cell) }], latency: () => latency, refusalLatency: () => latency });
  const strategy = new ProbeStrategy({ start, rpm, maxRequests, maxDurationMs, concurrency: 'off', maxConcurrency: 8 });
  await clock.run(driveProbe({ strategy, ...clock.driveOptions(), sendOne: server.sendOne }));
  const rate = strategy.result().rate;
  const requests = server.log.length;
  const limitOk = rate.limit !== null && Math.abs(rate.limit - cell.limit) <= 1;
  const windowOk = rate.windowSeconds !== null && Math.abs(rate.windowSeconds - cell.windowS) <= 0.1 * cell.windowS;
  const trace = strategy.observations().map((o) => `${Math.round((o.sentAt - start) / 100) / 10}:${o.status === 200 ? 'ok' : o.status}`).join(' ');
  return { requests, rate, onTarget: limitOk && windowOk, withinBudget: requests <= 2 * cell.limit + 10, trace };
}

/** @param {Cell} cell */
export function cellName(cell) {
  return `${cell.kind} ${cell.limit}/${cell.windowS}s @+${cell.phase / 1000}s`;
}
