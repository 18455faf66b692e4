// A simulated server built from the emulator's pure limiters stacked in front of a slow backend, for
// probes on simulated time (test/helpers/sim-clock.js): each request meets the layers in order and the
// first that refuses answers at once, without headers (nginx's own refusal pages carry none). A layer
// that admitted a request keeps what it spent even when a later layer refuses it — nginx runs limit_req
// before limit_conn, so a request limit_conn refuses has already spent its limit_req allowance.
// A gate holds its slot until the backend answers; `deliveryDelay` is the time the answer then takes to
// reach the client (0: at once), so a send can go out while the client still counts a request in flight
// that the server has already finished (the race behind the "concurrency 1 (exact)" run).
// `arrivalDelay` is the time a send takes to reach the server (0: at once). Either may be a function of
// the send's sequence number, to replay the timings of one recorded run.
import { parseRateLimitHeaders } from '../../dist/ratelimit/parse.js';

/**
 * @typedef {{ gate: import('../../dist/emulator/limiters.js').ConcurrencyGate, status?: number }
 *   | { limiter: import('../../dist/emulator/limiters.js').RateLimiter, status?: number }
 *   | { delay: NginxDelayingLimitReq, status?: number }} Layer
 */

const OUTCOME = { 200: 'ok', 429: 'rate_limited', 503: 'http_error' };

/**
 * @param {import('./sim-clock.js').SimClock} clock
 * @param {{ layers: Layer[], latency?: () => number, refusalLatency?: () => number,
 *   deliveryDelay?: number | ((seq: number) => number), arrivalDelay?: number | ((seq: number) => number) }} options
 */
export function layeredServer(clock, { layers, latency = () => 1, refusalLatency = () => 1, deliveryDelay = 0, arrivalDelay = 0 }) {
  const deliveryOf = typeof deliveryDelay === 'function' ? deliveryDelay : () => deliveryDelay;
  const arrivalOf = typeof arrivalDelay === 'function' ? arrivalDelay : () => arrivalDelay;
  /** Arrivals at the server: when, and what it answered. */
  const log = [];
  const sendOne = (ticket) =>
    new Promise((resolve) => {
      const sentAt = clock.now();
      /** @type {Array<import('../../dist/emulator/limiters.js').ConcurrencyGate>} */
      const held = [];
      const answer = (status, arrivedAt) => {
        if (status !== 200) for (const gate of held.splice(0)) gate.leave();
        log.push({ at: arrivedAt, status, by: ticket.purpose });
        const answered = clock.now() + (status === 200 ? latency() : refusalLatency());
        clock.schedule(answered, () => {
          for (const gate of held) gate.leave();
        });
        clock.schedule(answered + deliveryOf(ticket.seq), () => {
          const receivedAt = clock.now();
          const parsed = parseRateLimitHeaders({}, { receivedAt });
          resolve({
            seq: ticket.seq,
            sentAt,
            receivedAt,
            status,
            outcome: OUTCOME[status] ?? 'http_error',
            policies: parsed.policies,
            retryAfterSeconds: parsed.retryAfterSeconds,
            inFlight: ticket.inFlight,
          });
        });
      };
      // Layers from the i-th on, at the current instant; a delaying layer resumes the rest later.
      const pass = (i, arrivedAt) => {
        for (let j = i; j < layers.length; j++) {
          const layer = layers[j];
          if ('gate' in layer) {
            if (layer.gate.enter()) held.push(layer.gate);
            else return answer(layer.status ?? 429, arrivedAt);
          } else if ('delay' in layer) {
            const { allowed, delayMs } = layer.delay.admit(clock.now());
            if (!allowed) return answer(layer.status ?? 429, arrivedAt);
            if (delayMs > 0) {
              clock.schedule(clock.now() + delayMs, () => pass(j + 1, arrivedAt));
              return;
            }
          } else if (!layer.limiter.tryAcquire(clock.now()).allowed) {
            return answer(layer.status ?? 429, arrivedAt);
          }
        }
        answer(200, arrivedAt);
      };
      clock.schedule(sentAt + arrivalOf(ticket.seq), () => pass(0, clock.now()));
    });
  return { sendOne, log };
}

/**
 * nginx `limit_req zone=… rate=R burst=B` WITHOUT nodelay (ngx_http_limit_req_module): a request is
 * refused when the excess would pass B, else held until the excess drains: excess ← max(0, excess − R·Δt
 * + 1) (in requests), delay = excess / R; a client's first request finds a new node and passes at once.
 * So answers leave at R, one every 1/R, and a queue of up to B waits in front of the backend (checked
 * against the bench's access logs: latencies 0.95, 1.70, 2.45 s … for 1 r/s, a 0.3-s backend and sends 0.35, 0.26, 0.25 s apart).
 */
export class NginxDelayingLimitReq {
  /** @param {{ perMinute: number, burst: number }} config */
  constructor({ perMinute, burst }) {
    this.ratePerMs = perMinute / 60_000;
    this.burst = burst;
    /** @type {number | null} */
    this.last = null;
    this.excess = 0;
  }

  /** @param {number} now */
  admit(now) {
    if (this.last === null) {
      this.last = now;
      return { allowed: true, delayMs: 0 };
    }
    const excess = Math.max(0, this.excess - this.ratePerMs * (now - this.last) + 1);
    if (excess > this.burst) return { allowed: false, delayMs: 0 };
    this.excess = excess;
    this.last = now;
    return { allowed: true, delayMs: excess / this.ratePerMs };
  }
}
