// The probe's timeline: requests per time bucket, split into accepted, rate limited and errors, so the
// limiter's shape shows at a glance (a window: blocks of ok then 429; a bucket: a steady trickle).
// Pure: builds the buckets and returns strings.
import type { ChalkInstance } from 'chalk';
import type { Outcome } from '../types.js';

export interface TimelineBucket {
  /** Seconds from the start of the probe to the start of the bucket. */
  t: number;
  sent: number;
  ok: number;
  rateLimited: number;
  errors: number;
}

export interface Timeline {
  bucketSeconds: number;
  buckets: TimelineBucket[];
}

export interface TimelineEvent {
  /** Epoch ms the request was sent. */
  sentAt: number;
  /** Null while no answer came (interrupted): counted as sent only. */
  outcome: Outcome | null;
}

const NICE_STEPS = [0.1, 0.2, 0.25, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 1800, 3600];
export const MAX_BUCKETS = 60;

/** The smallest round bucket length that keeps the chart within MAX_BUCKETS columns. */
export function chooseBucketSeconds(durationSeconds: number, maxBuckets = MAX_BUCKETS): number {
  return NICE_STEPS.find((step) => Math.ceil(durationSeconds / step) <= maxBuckets) ?? (NICE_STEPS.at(-1) as number);
}

/** Buckets by send time: each request is counted in the bucket it was sent in, with its outcome. */
export function buildTimeline(events: readonly TimelineEvent[], startMs: number, endMs?: number): Timeline {
  const last = Math.max(startMs, endMs ?? startMs, ...events.map((e) => e.sentAt));
  const durationSeconds = Math.max(0.001, (last - startMs) / 1000);
  const bucketSeconds = chooseBucketSeconds(durationSeconds);
  const count = Math.max(1, Math.floor(durationSeconds / bucketSeconds) + 1);
  const buckets: TimelineBucket[] = Array.from({ length: count }, (_, i) => ({
    t: Math.round(i * bucketSeconds * 1000) / 1000,
    sent: 0,
    ok: 0,
    rateLimited: 0,
    errors: 0,
  }));
  // In whole ms: 0.3 s / 0.1 s is 2.9999… in floating point.
  const bucketMs = Math.round(bucketSeconds * 1000);
  for (const event of events) {
    const index = Math.min(count - 1, Math.max(0, Math.floor((event.sentAt - startMs) / bucketMs)));
    const bucket = buckets[index] as TimelineBucket;
    bucket.sent += 1;
    if (event.outcome === null) continue;
    if (event.outcome === 'ok') bucket.ok += 1;
    else if (event.outcome === 'rate_limited') bucket.rateLimited += 1;
    else bucket.errors += 1;
  }
  return { bucketSeconds, buckets };
}

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
