// wait-reset's GitHub Actions report, built from results of the pure loop: the headline says
// whether and when it reset; still limited at --max-wait is a warning, a failure exit an error.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { waitResetCiReport } from '../../dist/render/wait.js';
import { observeResponse, waitForReset } from '../../dist/wait/wait-for-reset.js';

const BASE = Date.UTC(2026, 0, 15, 12, 0, 0);

/** Runs the loop on simulated time against `answer(n, t)` → [status, headers]. */
async function simulate(answer, options = {}) {
  let t = BASE;
  let n = 0;
  const sendOne = async () => {
    n += 1;
    const sentAt = t;
    const [status, headers = {}] = answer(n, t - BASE);
    t += 5;
    // A partial record on purpose: the fields the report reads.
    return observeResponse({ status, headers, body: null, sentAt, receivedAt: t }, /** @type {import('../../dist/types.js').ResponseRecord} */ ({ status, outcome: status === 200 ? 'ok' : 'rate_limited' }));
  };
  return waitForReset({ sendOne, now: () => t, sleep: async (ms) => { t += ms; }, marginMs: 250, ...options });
}

const rowsOf = (report) => Object.fromEntries(report.rows);

it('reset: the headline says after how long; rows give attempts, time waited and the hint source; no annotation', async () => {
  const result = await simulate((n) => (n === 1 ? [429, { 'retry-after': '2' }] : [200]));
  const report = waitResetCiReport(result, 600_000, BASE, null);
  assert.equal(report.command, 'wait-reset');
  assert.match(report.headline, /^Reset: the limit cleared about .* after the first limited response/);
  const rows = rowsOf(report);
  assert.deepEqual([rows.reset, rows.attempts, rows['hint source']], ['yes', '2', 'Retry-After']);
  assert.match(rows.waited, /^2\.[23]s$/);
  assert.deepEqual([report.warnings, report.errors], [[], []]);
});

it('a hint that proved wrong: the source row says only the tests bound the reset', async () => {
  const result = await simulate((n, ms) => (ms < 6000 ? [429, { 'retry-after': '1' }] : [200]));
  assert.equal(rowsOf(waitResetCiReport(result, 600_000, BASE, null))['hint source'], "tests only (the server's hint proved wrong)");
});

it('still limited at --max-wait: a warning, no error', async () => {
  const result = await simulate(() => [429], { intervalMs: 300, maxWaitMs: 1000 });
  const report = waitResetCiReport(result, 1000, BASE + 1000, 'error: HTTP 429: rate limited');
  assert.match(report.headline, /^Still limited after --max-wait 1s/);
  assert.equal(rowsOf(report).reset, 'no');
  assert.equal(report.warnings.length, 1);
  assert.match(report.warnings[0], /^Still limited after --max-wait 1s/);
  assert.deepEqual(report.errors, []);
});

it('a failure exit (neither OK nor limited): an error naming it', async () => {
  const result = await simulate(() => [401]);
  const report = waitResetCiReport({ ...result, stop: 'error' }, 600_000, BASE, 'error: 401 Unauthorized: the key was rejected');
  assert.deepEqual(report.errors, ['401 Unauthorized: the key was rejected']);
  assert.deepEqual(report.warnings, []);
});
