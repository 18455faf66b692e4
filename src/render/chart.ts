// The probe's timeline chart: requests per time bucket (probe/timeline.ts builds them), split into
// accepted, rate limited and errors, so the limiter's shape shows at a glance (a window: blocks of ok
// then 429; a bucket: a steady trickle). Pure: returns strings.
import type { ChalkInstance } from 'chalk';
import type { Timeline } from '../probe/timeline.js';

const BLOCKS = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

/** One character per bucket: blank for none, else a block whose height is the share of the largest count. */
function sparkline(values: readonly number[], max: number): string {
  return values
    .map((v) => (v <= 0 || max <= 0 ? ' ' : BLOCKS[Math.min(BLOCKS.length - 1, Math.max(0, Math.ceil((v / max) * BLOCKS.length) - 1))]))
    .join('');
}

function formatAxisSeconds(seconds: number): string {
  if (seconds >= 120) return `${Math.round(seconds / 60)}m`;
  return `${Number(seconds.toFixed(seconds < 10 ? 1 : 0))}s`;
}

/** Labels at the start, middle and end of the axis, each under its column. */
function axis(columns: number, bucketSeconds: number): string {
  const chars = Array.from({ length: columns + 8 }, () => ' ');
  const place = (column: number, label: string) => {
    const start = Math.max(0, Math.min(column, chars.length - label.length));
    for (let i = 0; i < label.length; i++) chars[start + i] = label[i] as string;
  };
  place(0, formatAxisSeconds(0));
  if (columns >= 20) place(Math.floor(columns / 2), formatAxisSeconds(Math.floor(columns / 2) * bucketSeconds));
  if (columns >= 8) place(columns - 1, formatAxisSeconds((columns - 1) * bucketSeconds));
  return chars.join('').trimEnd();
}

/** Three rows (ok, 429, errors) on a shared scale, an axis, and the bucket length. */
export function renderTimelineChart(timeline: Timeline, color: ChalkInstance): string {
  const { buckets, bucketSeconds } = timeline;
  if (buckets.every((b) => b.sent === 0)) return color.dim('No requests were sent.');
  const max = Math.max(...buckets.map((b) => Math.max(b.ok, b.rateLimited, b.errors)));
  const rows: Array<[string, number[], (s: string) => string]> = [
    ['ok ', buckets.map((b) => b.ok), color.green],
    ['429', buckets.map((b) => b.rateLimited), color.yellow],
    ['err', buckets.map((b) => b.errors), color.red],
  ];
  const lines = rows
    .filter(([label, values]) => label === 'ok ' || values.some((v) => v > 0))
    .map(([label, values, paint]) => `  ${label} │${paint(sparkline(values, max))}`);
  const legend = `each column ${formatAxisSeconds(bucketSeconds).replace(/\.0s$/, 's')}, full height ${max} request${max === 1 ? '' : 's'}`;
  return [...lines, `      ${axis(buckets.length, bucketSeconds)}`, color.dim(`      ${legend}`)].join('\n');
}
