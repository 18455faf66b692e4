// Issue #12, item 14: a proxy that accepts the connection and never answers the CONNECT (or the
// proxied request) must not hold the CLI. --timeout bounds every phase of a request, the proxy's
// included (exit 6, one error line), and Ctrl-C ends the run (exit 130) within the documented
// drain time. undici does not pass the request's signal to the proxy's CONNECT, so src/http/client.ts
// stops waiting on the signal itself.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { runCli, FAKE_KEY } from '../helpers/cli.js';
import { assertNoStack, assertOneLineError, waitFor } from './expect.js';
import { closeAll, neverAnswers, startHttp } from './servers.js';

/** The probe's documented drain after Ctrl-C (src/probe/run.ts DRAIN_MS); the bound is 10 times that. */
const DRAIN_MS = 3000;
const SIGINT_BOUND_MS = 10 * DRAIN_MS;

let proxy;
let origin;
before(async () => {
  // Reads the CONNECT (or the absolute-form request) and says nothing, forever.
  proxy = await neverAnswers();
  // Never reached: the proxy forwards nothing. Its URL only gives the requests a loopback origin.
  origin = await startHttp((req, res) => res.end('{}'));
});
after(closeAll);

/**
 * Both variables, for a plain-http origin (HTTP_PROXY) and an https one (HTTPS_PROXY).
 * @type {Array<[string, () => Record<string, string>, () => string]>}
 */
const proxyEnvs = [
  ['HTTP_PROXY, http origin', () => ({ HTTP_PROXY: proxy.url }), () => origin.url],
  ['HTTPS_PROXY, https origin', () => ({ HTTPS_PROXY: proxy.url }), () => origin.url.replace('http:', 'https:')],
];

describe('a silent proxy: --timeout ends the request', { concurrency: 4 }, () => {
  for (const [name, proxyEnv, url] of proxyEnvs) {
    test(`headers --timeout 1s through ${name}: exit 6, one error line`, async () => {
      const seen = proxy.connections();
      const { code, signal, stderr } = await runCli(['headers', '--base-url', url(), '--timeout', '1s'], {
        env: { CHUTES_API_KEY: FAKE_KEY, ...proxyEnv() }, timeoutMs: 60_000,
      });
      assert.equal(signal, null, `still running after 60 s with --timeout 1s (killed):\n${stderr}`);
      assert.equal(code, 6, stderr);
      assertOneLineError(stderr, /^error: no response from 127\.0\.0\.1:\d+ within 1s/);
      assert.ok(proxy.connections() > seen, 'the proxy was not used');
      assert.equal(origin.requests.length, 0, 'the origin was reached around the proxy');
    });
  }

  test('probe --timeout 1s through HTTPS_PROXY: exit 6', async () => {
    const { code, signal, stderr } = await runCli(['probe', '--base-url', origin.url.replace('http:', 'https:'), '--timeout', '1s', '--rpm', '600', '--max-requests', '2', '--concurrency', 'off', '--yes'], {
      env: { CHUTES_API_KEY: FAKE_KEY, HTTPS_PROXY: proxy.url }, timeoutMs: 60_000,
    });
    assert.equal(signal, null, `still running after 60 s with --timeout 1s (killed):\n${stderr}`);
    assert.equal(code, 6, stderr);
    assertNoStack(stderr);
  });
});

describe('a silent proxy: Ctrl-C ends the run', { concurrency: 4 }, () => {
  /** @type {Array<[string, () => string[]]>} */
  const runs = [
    ['headers', () => ['headers', '--base-url', origin.url]],
    ['probe', () => ['probe', '--base-url', origin.url, '--rpm', '600', '--max-requests', '2', '--concurrency', 'off', '--yes']],
    ['wait-reset', () => ['wait-reset', '--base-url', origin.url]],
    ['quota', () => ['quota', '--api-base-url', origin.url]],
  ];
  for (const [name, args] of runs) {
    test(`${name} through HTTP_PROXY, --timeout 5m, SIGINT once the proxy holds the request: exit 130`, async () => {
      const seen = proxy.connections();
      let signalled = false;
      const { code, signal, stderr } = await runCli([...args(), '--timeout', '5m'], {
        env: { CHUTES_API_KEY: FAKE_KEY, HTTP_PROXY: proxy.url },
        timeoutMs: 120_000,
        onSpawn: (child) => {
          waitFor(() => proxy.connections() > seen, 60_000, 'the request at the proxy')
            .then(() => {
              signalled = true;
              child.kill('SIGINT');
              // A run still alive 10x the drain time after SIGINT ignores Ctrl-C: end it so the test says so.
              const bound = setTimeout(() => child.kill('SIGKILL'), SIGINT_BOUND_MS);
              child.once('exit', () => clearTimeout(bound));
            })
            .catch(() => child.kill('SIGKILL'));
        },
      });
      assert.ok(signalled, `the request never reached the proxy:\n${stderr}`);
      assert.equal(signal, null, `still running ${SIGINT_BOUND_MS} ms after SIGINT (killed):\n${stderr}`);
      assert.equal(code, 130, stderr);
      assertNoStack(stderr);
    });
  }
});
