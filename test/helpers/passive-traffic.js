// Irregular traffic against the emulator's limiters, on simulated time: an app we do not control (bursts,
// idle gaps, several requests in flight, retries) turned into the records a tap would write. Pure.
import { createRateLimiter } from '../../dist/emulator/limiters.js';
import { rateLimitHeaders, retryAfterHeader } from '../../dist/emulator/chutes.js';
import { parseRateLimitHeaders } from '../../dist/ratelimit/parse.js';

/**
 * A small seeded PRNG (mulberry32): the same seed gives the same traffic.
 * @param {number} seed
 */
export function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Send instants of an app: bursts of 1..maxBurst requests `withinMs` apart (± jitter), separated by idle
 * gaps of gapMs[0]..gapMs[1]; over durationMs from t0.
 * @param {{ seed: number, t0: number, durationMs: number, maxBurst: number, withinMs: number, gapMs: number[] }} o
 */
export function burstySends(o) {
  const random = prng(o.seed);
  const sends = [];
  let t = o.t0;
  while (t < o.t0 + o.durationMs) {
    const size = 1 + Math.floor(random() * o.maxBurst);
    for (let i = 0; i < size; i++) {
      sends.push(Math.round(t));
      t += o.withinMs * (0.5 + random());
    }
    t += o.gapMs[0] + random() * (o.gapMs[1] - o.gapMs[0]);
  }
  return sends.filter((s) => s < o.t0 + o.durationMs);
}

/**
 * Plays `sends` against a limiter; each answer takes latencyMs[0]..latencyMs[1]. Returns tap records
 * (ResponseRecord shape) with the dialect's headers parsed as the tap parses them.
 * @param {number[]} sends
 * @param {{ algorithm: string, limit: number, windowMs: number, burst?: number, dialect: string, seed?: number, latencyMs?: number[] }} o
 * @returns {any[]} ResponseRecord-shaped
 */
export function playTraffic(sends, o) {
  const limiter = createRateLimiter({ algorithm: /** @type {any} */ (o.algorithm), limit: o.limit, windowMs: o.windowMs, ...(o.burst ? { burst: o.burst } : {}) });
  const random = prng(o.seed ?? 7);
  const [lo, hi] = o.latencyMs ?? [50, 600];
  const exchanges = [];
  for (const [i, sentAt] of sends.entries()) {
    const decision = limiter.tryAcquire(sentAt);
    const latencyMs = Math.round(lo + random() * (hi - lo));
    const receivedAt = sentAt + latencyMs;
    const headers = { ...rateLimitHeaders(/** @type {any} */ (o.dialect), decision, receivedAt, 'delta'), ...(decision.allowed ? {} : retryAfterHeader(decision.retryAfterMs)) };
    const parsed = parseRateLimitHeaders(headers, { receivedAt });
    exchanges.push({ seq: i + 1, sentAt, receivedAt, status: decision.allowed ? 200 : 429, parsed });
  }
  return exchanges.map((e) => ({
    seq: e.seq,
    sentAt: new Date(e.sentAt).toISOString(),
    scheduledAt: null,
    latencyMs: e.receivedAt - e.sentAt,
    status: e.status,
    // In flight at send: earlier exchanges not answered yet, and this one.
    inFlight: 1 + exchanges.filter((x) => x.sentAt < e.sentAt && x.receivedAt > e.sentAt).length,
    outcome: e.status === 200 ? 'ok' : 'rate_limited',
    verdict: null,
    headers: {},
    rateLimit: { policies: e.parsed.policies, retryAfterSeconds: e.parsed.retryAfterSeconds },
    body: null,
    error: null,
  }));
}

/**
 * The most requests a limiter can accept within any `spanMs` (the ceiling a lower bound must stay under).
 * @param {number} spanMs
 * @param {{ algorithm: string, limit: number, windowMs: number, burst?: number }} o
 */
export function mostAcceptedIn(spanMs, o) {
  const windows = Math.ceil(spanMs / o.windowMs);
  if (o.algorithm === 'token-bucket') return (o.burst ?? o.limit) + Math.ceil((o.limit * spanMs) / o.windowMs);
  if (o.algorithm === 'fixed-window') return o.limit * (windows + 1);
  return o.limit * windows;
}

/**
 * Runs of 429s that follow an accepted request, i.e. how often the allowance was seen exhausted.
 * @param {any[]} records
 */
export function exhaustions(records) {
  let count = 0;
  let previous = null;
  for (const r of [...records].sort((a, b) => Date.parse(a.sentAt) - Date.parse(b.sentAt))) {
    if (r.outcome === 'rate_limited' && previous === 'ok') count += 1;
    previous = r.outcome;
  }
  return count;
}
