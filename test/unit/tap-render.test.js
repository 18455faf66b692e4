// The tap's text (src/render/traffic.ts): the live line, the per-exchange line and /metrics — label values
// from the upstream escaped, the format ended by # EOF.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { exchangeLine, liveStatusLine, renderOpenMetrics } from '../../dist/render/traffic.js';
import { TapStats } from '../../dist/tap/stats.js';

const T0 = Date.UTC(2026, 0, 1);
/**
 * @param {number} seq @param {number | null} status @param {string | null} code @param {any[]} [policies]
 * @returns {any} a ResponseRecord
 */
const record = (seq, status, code, policies = []) => ({
  seq, sentAt: new Date(T0).toISOString(), scheduledAt: null, latencyMs: 12.3, status, inFlight: 1,
  outcome: status === 200 ? 'ok' : status === 429 ? 'rate_limited' : 'network_error',
  verdict: code ? { code, message: code, hint: '' } : null, headers: {}, rateLimit: { policies, retryAfterSeconds: null }, body: null,
  error: status === null ? { code: 'connect_refused', message: 'refused' } : null,
});

describe('TapStats and its text', () => {
  it('counts, rates per minute over the last 60 s, and 429s by cause', () => {
    const stats = new TapStats();
    const policy = { name: 'we"ird\\name\n', unit: 'requests', limit: 10, remaining: 3, resetSeconds: 5, windowSeconds: null, dialect: 'x-ratelimit', sources: [] };
    /** @type {Array<[number | null, string]>} */
    const answers = [[200, 'ok'], [200, 'ok'], [429, 'edge-ban'], [429, 'account-rate-limit'], [429, 'edge-ban'], [null, 'connection-refused']];
    for (const [i, [status, code]] of answers.entries()) {
      stats.started();
      stats.completed(record(i + 1, status, code, status === 200 ? [policy] : []), T0 + i * 20_000);
    }
    const snapshot = stats.snapshot(T0 + 100_000);
    assert.deepEqual([snapshot.exchanges, snapshot.ok, snapshot.rateLimited, snapshot.errors, snapshot.inFlight], [6, 2, 3, 1, 0]);
    assert.equal(snapshot.perMinute, 3, 'completions at 60, 80 and 100 s are within the last minute');
    assert.equal(liveStatusLine(snapshot), 'tap: 3/min · in flight 0 · ok 2 · 429 3 (edge-ban 2, account-rate-limit 1) · errors 1 · latest: — connection-refused');
    const metrics = renderOpenMetrics(snapshot);
    assert.match(metrics, /^chutes_diag_tap_requests_total\{status="429",verdict="edge-ban"\} 2$/m);
    assert.match(metrics, /^chutes_diag_tap_requests_total\{status="none",verdict="connection-refused"\} 1$/m);
    assert.match(metrics, /^chutes_diag_tap_ratelimit_remaining\{policy="we\\"ird\\\\name\\n",dialect="x-ratelimit",unit="requests"\} 3$/m);
    assert.match(metrics, /# EOF\n$/);
  });

  it('keeps only the latest records, counts all', () => {
    const stats = new TapStats();
    for (let i = 1; i <= 10_005; i++) {
      stats.started();
      stats.completed(record(i, 200, 'ok'), T0 + i);
    }
    const kept = stats.records();
    assert.equal(kept.length, 10_000);
    assert.deepEqual([kept[0].seq, kept.at(-1).seq], [6, 10_005]);
    assert.equal(stats.counts().exchanges, 10_005);
  });

  it('one plain line per exchange', () => {
    assert.equal(exchangeLine(record(7, 429, 'edge-ban'), { method: 'POST', path: '/v1/chat/completions' }), '#7 POST /v1/chat/completions → 429 12 ms edge-ban (in flight 1)\n');
  });
});
