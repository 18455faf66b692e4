// Servers that fail at the network level: each ends in exit 6, one error line on stderr, no
// stack trace, and an --out file that holds the failed request as valid JSONL.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { runCli, FAKE_KEY } from '../helpers/cli.js';
import { assertNoStack, assertOneLineError, readJsonl, tempDir } from './expect.js';
import {
  answersThenHangs, closeAll, GIB, hugeBody, neverAnswers, notHttp, oversizedHeaders, refusedUrl, resetsMidResponse,
  selfSignedCertificate, stallsBody, startHttp,
} from './servers.js';

const env = { CHUTES_API_KEY: FAKE_KEY };
const dir = tempDir();
const urls = {};
let tlsServer;
let huge;

before(async () => {
  tlsServer = await startHttp((req, res) => res.end('{}'), { tls: selfSignedCertificate() });
  huge = await hugeBody();
  Object.assign(urls, {
    never: (await neverAnswers()).url,
    stall: (await stallsBody()).url,
    reset: (await resetsMidResponse()).url,
    oversized: (await oversizedHeaders()).url,
    notHttp: (await notHttp()).url,
    refused: await refusedUrl(),
    tls: tlsServer.url,
    dns: 'http://chutes-diag-hostile.invalid',
  });
});
after(closeAll);

/**
 * name, server, record.error.code, record.outcome, stderr pattern, extra env. Only the server that
 * never answers gets --timeout 500ms (nothing it does can race the timeout); the others get 5s, over
 * 10x what a loopback answer takes on a loaded machine, so load cannot turn them into other outcomes
 * (the stalled body must be told apart from a head that never came).
 */
const cases = [
  ['never answers', 'never', 'timeout', 'timeout', /no response from 127\.0\.0\.1:\d+ within 500ms/],
  ['headers, then the body stalls', 'stall', 'body_timeout', 'timeout', /sent headers, then the body stalled/],
  ['reset mid-response', 'reset', 'reset', 'network_error', /closed or reset mid-response/],
  ['a 1 MiB response head', 'oversized', 'network', 'network_error', /127\.0\.0\.1:\d+/],
  ['not HTTP at all', 'notHttp', 'network', 'network_error', /127\.0\.0\.1:\d+/],
  ['connection refused', 'refused', 'connect_refused', 'network_error', /connection refused by 127\.3\.4\.5/],
  ['self-signed TLS certificate', 'tls', 'tls', 'network_error', /TLS failure .*self-signed certificate/],
  ['self-signed TLS even with NODE_TLS_REJECT_UNAUTHORIZED=0', 'tls', 'tls', 'network_error', /self-signed certificate.*NODE_TLS_REJECT_UNAUTHORIZED=0 is ignored/, { NODE_TLS_REJECT_UNAUTHORIZED: '0' }],
  ['DNS failure (.invalid)', 'dns', 'dns', 'network_error', /cannot resolve chutes-diag-hostile\.invalid/],
];

const timeoutFor = (server) => (server === 'never' ? '500ms' : '5s');

describe('network failures exit 6 with one error line and keep --out', { concurrency: 4 }, () => {
  for (const [name, server, code, outcome, pattern, extraEnv = {}] of cases) {
    test(`${name}: human output`, async () => {
      const out = join(dir, `${server}-${Object.keys(extraEnv).length}-human.jsonl`);
      const { code: exit, stderr } = await runCli(
        ['headers', '--base-url', urls[server], '--timeout', timeoutFor(server), '--out', out],
        { env: { ...env, ...extraEnv }, timeoutMs: 120_000 },
      );
      assert.equal(exit, 6, stderr);
      assertOneLineError(stderr, pattern);
      const lines = readJsonl(out);
      assert.equal(lines.length, 1);
      assert.equal(lines[0].error?.code, code);
      assert.equal(lines[0].outcome, outcome);
      // No insecure fallback: the handshake failed, so no request (and no key) reached the server.
      if (server === 'tls') assert.equal(tlsServer.requests.length, 0);
    });

    if (Object.keys(extraEnv).length > 0) continue; // the human run above covers the variant
    test(`${name}: --json`, async () => {
      const { code: exit, stdout, stderr } = await runCli(
        ['headers', '--base-url', urls[server], '--timeout', timeoutFor(server), '--json'],
        { env: { ...env, ...extraEnv }, timeoutMs: 120_000 },
      );
      assert.equal(exit, 6, stderr);
      const doc = JSON.parse(stdout);
      assert.equal(doc.exitCode, 6);
      assert.equal(doc.results[0].error.code, code);
      assert.ok(doc.results[0].verdict?.code, 'a verdict names the failure');
      assertOneLineError(stderr, pattern);
    });
  }

  test('--verbose: still exit 6; a stack trace is allowed but the first error line stays', async () => {
    const { code, stderr, stdout } = await runCli(['headers', '--base-url', urls.refused, '--verbose'], { env });
    assert.equal(code, 6, stderr);
    assert.match(stderr, /^error: connection refused/m);
    assert.match(stdout, /connection-refused/);
  });

  test('a 1 GiB body: at most 64 KiB is read, the client hangs up early', async () => {
    const { code, stdout, stderr } = await runCli(['headers', '--base-url', huge.url, '--json'], { env, timeoutMs: 60_000 });
    assert.equal(code, 0, stderr);
    const [record] = JSON.parse(stdout).results;
    assert.equal(record.status, 200);
    assert.ok(record.body.length <= 500, 'the record keeps at most 500 characters');
    // The server saw the connection close long before the body ended: only socket buffers were filled.
    assert.ok(huge.stats.closed, 'the client closed the connection');
    assert.ok(huge.stats.written < 64 * 1024 * 1024, `server wrote ${huge.stats.written} bytes before the close`);
    assert.ok(huge.stats.written < GIB / 16);
  });

  test('partial results survive: the first response is kept when later ones time out', async () => {
    const server = await answersThenHangs(1);
    const out = join(dir, 'partial.jsonl');
    // 3s: the first answer must come in time on a loaded machine (10x over); the two hung ones cost 6 s.
    const { code, stdout, stderr } = await runCli(
      ['headers', '--base-url', server.url, '-n', '3', '--timeout', '3s', '--out', out],
      { env, timeoutMs: 60_000 },
    );
    assert.equal(code, 6, stderr);
    assertOneLineError(stderr, /within 3s/);
    assertNoStack(stdout);
    const lines = readJsonl(out);
    assert.deepEqual(lines.map((l) => l.outcome), ['ok', 'timeout', 'timeout']);
    assert.equal(lines[0].rateLimit.policies[0].remaining, 9);
  });
});
