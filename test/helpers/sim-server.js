// A simulated server built from the emulator's pure limiters stacked in front of a slow backend, for
// probes on simulated time (test/helpers/sim-clock.js): each request meets the layers in order and the
// first that refuses answers at once, without headers (nginx's own refusal pages carry none). A layer
// that admitted a request keeps what it spent even when a later layer refuses it — nginx runs limit_req
// before limit_conn, so a request limit_conn refuses has already spent its limit_req allowance.
// A gate holds its slot until the backend answers; `deliveryDelay` is the time the answer then takes to
// reach the client (0: at once), so a send can go out while the client still counts a request in flight
// that the server has already finished (the race behind the "concurrency 1 (exact)" run).
import { parseRateLimitHeaders } from '../../dist/ratelimit/parse.js';

/**
 * @typedef {{ gate: import('../../dist/emulator/limiters.js').ConcurrencyGate, status?: number }
 *   | { limiter: import('../../dist/emulator/limiters.js').RateLimiter, status?: number }} Layer
 */

const OUTCOME = { 200: 'ok', 429: 'rate_limited', 503: 'http_error' };

/**
 * @param {import('./sim-clock.js').SimClock} clock
 * @param {{ layers: Layer[], latency?: () => number, refusalLatency?: () => number, deliveryDelay?: number }} options
 */
export function layeredServer(clock, { layers, latency = () => 1, refusalLatency = () => 1, deliveryDelay = 0 }) {
  /** Arrivals at the server: when, and what it answered. */
  const log = [];
  const sendOne = (ticket) =>
    new Promise((resolve) => {
      const sentAt = clock.now();
      clock.schedule(sentAt, () => {
        const now = clock.now();
        let status = 200;
        /** @type {Array<import('../../dist/emulator/limiters.js').ConcurrencyGate>} */
        const held = [];
        for (const layer of layers) {
          if ('gate' in layer) {
            if (layer.gate.enter()) held.push(layer.gate);
            else status = layer.status ?? 429;
          } else if (!layer.limiter.tryAcquire(now).allowed) {
            status = layer.status ?? 429;
          }
          if (status !== 200) break;
        }
        if (status !== 200) for (const gate of held.splice(0)) gate.leave();
        log.push({ at: now, status, by: ticket.purpose });
        const answered = now + (status === 200 ? latency() : refusalLatency());
        clock.schedule(answered, () => {
          for (const gate of held) gate.leave();
        });
        clock.schedule(answered + deliveryDelay, () => {
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
      });
    });
  return { sendOne, log };
}
