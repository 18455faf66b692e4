#!/usr/bin/env node
// Header-less windows on simulated time (issue #15): requests spent and accuracy over the whole grid of
// test/helpers/window-grid.js (fixed windows anchored to the clock or to the first request, and sliding
// logs; W 5–60 s; L 5, 10, 30; three phases). Needs a build (`npm run build`). Prints a summary per kind
// and per limit, and with --cells every cell. Not part of `npm run bench` (nothing real is measured).
import { cellName, grid, runCell } from '../test/helpers/window-grid.js';

const verbose = process.argv.includes('--cells');
const rows = [];
for (const cell of grid()) {
  const r = await runCell(cell);
  rows.push({ cell, ...r });
  if (verbose) console.log(`${cellName(cell).padEnd(28)} ${String(r.requests).padStart(4)} req  ${r.withinBudget ? '≤2L+10' : '      '}  ${r.onTarget ? 'on target' : 'OFF'}  ${r.rate.limit}/${r.rate.windowSeconds}s ${r.rate.algorithm}`);
}
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s.length ? s[Math.floor((s.length - 1) / 2)] : NaN; };
const summary = (label, list) => {
  const req = list.map((r) => r.requests);
  const mean = req.reduce((a, b) => a + b, 0) / req.length;
  const both = list.filter((r) => r.withinBudget && r.onTarget).length;
  console.log(`${label.padEnd(22)} ${String(list.length).padStart(4)} cells  requests mean ${mean.toFixed(1).padStart(5)} median ${String(median(req)).padStart(3)} max ${String(Math.max(...req)).padStart(3)}  ≤2L+10 ${String(list.filter((r) => r.withinBudget).length).padStart(3)}  on target ${String(list.filter((r) => r.onTarget).length).padStart(3)}  both ${String(both).padStart(3)}`);
};
for (const kind of ['clock', 'first-request', 'sliding']) {
  summary(kind, rows.filter((r) => r.cell.kind === kind));
  for (const L of [5, 10, 30]) summary(`  L = ${L}`, rows.filter((r) => r.cell.kind === kind && r.cell.limit === L));
}
summary('all', rows);
