// Politeness under hostile answers: probe never runs ahead of its --rpm schedule nor past
// --max-requests, even when the server answers instantly or only with errors; wait-reset never
// retests before the server's Retry-After.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { runCli, FAKE_KEY } from '../helpers/cli.js';
import { closeAll, startHttp } from './servers.js';

const env = { CHUTES_API_KEY: FAKE_KEY };
after(closeAll);

const instant = (status) => (req, res) => {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(status === 200 ? '{"choices":[]}' : '{"detail":"Internal Server Error"}');
};

/**
 * The requests that count against the budget. probe may first open the connection with a HEAD /
 * (no key, no body: it spends nothing), so the first paced send is as punctual as the rest.
 */
function inferenceRequests(server) {
  const warmUps = server.requests.filter((r) => r.method === 'HEAD');
  assert.ok(warmUps.every((r) => !r.headers.authorization && !r.headers['x-api-key']), 'a warm-up request carried the key');
  return server.requests.filter((r) => r.method !== 'HEAD');
}

// One suite, run concurrently: wait-reset's idle Retry-After overlaps with the probe runs.
describe('politeness', { concurrency: true }, () => {
  test('wait-reset: no retest before Retry-After: 2, then reset', async () => {
    let served = 0;
    const server = await startHttp((req, res) => {
      if (served++ === 0) {
        res.writeHead(429, { 'content-type': 'application/json', 'retry-after': '2' });
        return res.end('{"detail":"Too many requests"}');
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"choices":[]}');
    });
    const { code, stdout, stderr } = await runCli(
      ['wait-reset', '--base-url', server.url, '--max-wait', '20s', '--interval', '250ms', '--json'],
      { env, timeoutMs: 120_000 },
    );
    assert.equal(code, 0, stderr);
    assert.equal(JSON.parse(stdout).reset, true);
    assert.equal(server.requests.length, 2);
    const gap = server.requests[1].t - server.requests[0].t;
    assert.ok(gap >= 2_000 - 10, `retested ${Math.round(gap)} ms after a Retry-After of 2 s`);
  });

  for (const [name, status] of [['answers instantly', 200], ['answers only with 500s', 500]]) {
    test(`probe: a server that ${name} gets at most --max-requests, never ahead of the --rpm schedule`, async () => {
      const server = await startHttp(instant(status));
      const rpm = 300; // one send every 200 ms
      const { code, stdout, stderr } = await runCli(
        ['probe', '--base-url', server.url, '--rpm', String(rpm), '--max-requests', '5', '--concurrency', 'off', '--yes', '--json'],
        { env, timeoutMs: 120_000 },
      );
      assert.ok(code !== 2 && code !== 70, `exit ${code}: ${stderr}`);
      const sent = inferenceRequests(server);
      assert.ok(sent.length <= 5, `${sent.length} requests for --max-requests 5`);
      // The schedule is one slot per 200 ms and no send goes before its slot (open loop: late, never early).
      const responses = JSON.parse(stdout).responses.toSorted((a, b) => a.seq - b.seq);
      assert.equal(responses.length, sent.length, 'every request the server saw is reported');
      responses.forEach((r, k) => {
        assert.ok(Date.parse(r.sentAt) >= Date.parse(r.scheduledAt), `request ${r.seq} was sent before its slot`);
        if (k > 0) assert.ok(Date.parse(r.scheduledAt) - Date.parse(responses[k - 1].scheduledAt) >= 60_000 / rpm - 1, `slots ${k} and ${k + 1} closer than 200 ms`);
      });
      // As the server saw it: n requests span at least (n − 1) slots, less a generous allowance for a late first send.
      const span = (sent.at(-1)?.t ?? 0) - (sent[0]?.t ?? 0);
      assert.ok(span >= (sent.length - 1) * (60_000 / rpm) - 150, `${sent.length} requests within ${Math.round(span)} ms`);
    });
  }

  test('probe: with the concurrency test on, the budget still holds', async () => {
    const server = await startHttp(instant(200));
    const { code, stderr } = await runCli(
      ['probe', '--base-url', server.url, '--rpm', '600', '--max-requests', '8', '--max-concurrency', '4', '--yes', '--json'],
      { env, timeoutMs: 120_000 },
    );
    assert.ok(code !== 2 && code !== 70, `exit ${code}: ${stderr}`);
    const sent = inferenceRequests(server);
    assert.ok(sent.length <= 8, `${sent.length} requests for --max-requests 8`);
  });
});
