// A limiter that delays instead of refusing (nginx `limit_req` without `nodelay`, a leaky bucket that
// queues): accepted requests wait in a queue and leave it at the limiter's rate, so their answer times
// climb in steps above the backend's own and the answers come back evenly spaced, one every 1/rate,
// whatever the pace of the sends. Counting accepted requests by send time then says "at least 79/min"
// where only 60/min can be answered (issue #15, the bench's nginx 60 r/m burst 10 delaying row): the
// sustainable rate is the answers' spacing. Pure.
import { isAccepted, type Observation } from './observation.js';

export interface DelayQueue {
  /** The answers' median spacing while the queue was busy, ms. */
  spacingMs: number;
  /** Answers that waited in the queue (latency well above the backend's own). */
  held: number;
  /** The most requests seen waiting ahead of one (its extra latency / spacingMs), rounded. */
  depth: number;
  /** The backend's own answer time: the fastest accepted answer, ms. */
  baseMs: number;
}

/** At least this many held answers, most of them evenly spaced, before a queue is read. */
const MIN_HELD = 6;
/** Spacings within ±10 % of the median count as even; at least 70 % of them must be. */
const EVEN = 0.1;
const EVEN_SHARE = 0.7;

/**
 * The queue the answers show, or null: accepted answers that took well over the fastest one (by 100 ms
 * and a quarter of it), read in the order they came back; consecutive held answers (none between them
 * answered at the backend's own speed) give the spacing, and their latencies must span at least two
 * spacings (the queue grew or drained by two places).
 */
export function detectDelayQueue(observations: readonly Observation[]): DelayQueue | null {
  const accepted = observations.filter(isAccepted).sort((a, b) => a.receivedAt - b.receivedAt || a.seq - b.seq);
  if (accepted.length < MIN_HELD) return null;
  const latency = (o: Observation): number => o.receivedAt - o.sentAt;
  const baseMs = Math.min(...accepted.map(latency));
  const isHeld = (o: Observation): boolean => latency(o) > baseMs + Math.max(100, baseMs / 4);
  const spacings: number[] = [];
  let held = 0;
  for (let i = 0; i < accepted.length; i++) {
    const o = accepted[i] as Observation;
    if (!isHeld(o)) continue;
    held += 1;
    const prev = accepted[i - 1];
    if (prev !== undefined && isHeld(prev)) spacings.push(o.receivedAt - prev.receivedAt);
  }
  if (held < MIN_HELD || spacings.length < MIN_HELD - 1) return null;
  const sorted = [...spacings].sort((a, b) => a - b);
  const spacingMs = sorted[Math.floor(sorted.length / 2)] as number;
  if (spacingMs <= 0) return null;
  const even = spacings.filter((s) => Math.abs(s - spacingMs) <= spacingMs * EVEN).length;
  if (even < spacings.length * EVEN_SHARE) return null;
  // A queue's answers wait longer the deeper they sit: their latencies climb by whole spacings. Answers
  // merely slower than the fastest one, paced by our sends, come back evenly too but at a steady latency.
  const heldLatencies = accepted.filter(isHeld).map(latency);
  if (Math.max(...heldLatencies) - Math.min(...heldLatencies) < 2 * spacingMs) return null;
  const depth = Math.round((Math.max(...heldLatencies) - baseMs) / spacingMs);
  return { spacingMs, held, depth, baseMs };
}
