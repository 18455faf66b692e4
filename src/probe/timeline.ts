// The probe's timeline: requests per time bucket, split into accepted, rate limited and errors (the
// `timeline` of the probe's JSON document; render/chart.ts draws it). Buckets by send time, of the
// smallest round length that keeps the chart within MAX_BUCKETS columns. Pure.
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
