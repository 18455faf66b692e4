// The other network commands against the same misbehaving servers: the documented exit code, no
// crash (never 70), no stack trace without --verbose, and an --out file that is valid JSONL.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { runCli, FAKE_KEY } from '../helpers/cli.js';
import { assertNoStack, readJsonl, tempDir } from './expect.js';
import {
  closeAll, htmlPage, neverAnswers, rawResponse, redirectsTo, refusedUrl, selfSignedCertificate, startHttp,
} from './servers.js';

const env = { CHUTES_API_KEY: FAKE_KEY };
const dir = tempDir();
const urls = {};
let elsewhere;
before(async () => {
  elsewhere = await startHttp((req, res) => res.end('{}'));
  Object.assign(urls, {
    never: (await neverAnswers()).url,
    refused: await refusedUrl(),
    tls: (await startHttp((req, res) => res.end('{}'), { tls: selfSignedCertificate() })).url,
    html502: (await htmlPage(502, '502 Bad Gateway')).url,
    redirect: (await redirectsTo(307, `${elsewhere.url}/elsewhere`)).url,
    garbage429: (await rawResponse(429, ['Retry-After: soon', 'X-RateLimit-Remaining: -1', 'RateLimit: '])).url,
  });
});
after(closeAll);

// headers covers every network failure (network.test.js); here one of each kind is enough.
const NETWORK = ['never', 'refused', 'tls'];

/** How each command points at a server, and the exit code each kind of server calls for (slowest first). */
const commands = {
  'wait-reset': {
    args: (url) => ['wait-reset', '--base-url', url, '--max-wait', '2s', '--interval', '500ms'],
    exit: { network: [6], html502: [5], redirect: [5], garbage429: [3] },
  },
  probe: {
    // A probe that ran to its budget did its job (0) whatever limits it hit; no answer at all is 6.
    args: (url) => ['probe', '--base-url', url, '--rpm', '600', '--max-requests', '2', '--concurrency', 'off', '--yes'],
    exit: { network: [6], html502: [0, 5], redirect: [0, 5], garbage429: [0, 3] },
  },
  quota: {
    args: (url) => ['quota', '--api-base-url', url],
    exit: { network: [6], html502: [5], redirect: [5], garbage429: [3] },
  },
  doctor: {
    // doctor reports a failing check (exit 1) for an HTTP-level failure; no answer at all is a network error (6).
    args: (url) => ['doctor', '--base-url', url, '--api-base-url', url],
    exit: { network: [6], html502: [1], redirect: [1], garbage429: [1] },
  },
};

// One suite, so wait-reset's idle --max-wait overlaps with the other commands' runs.
describe('network commands against misbehaving servers', { concurrency: 4 }, () => {
  for (const [name, { args, exit }] of Object.entries(commands)) {
    for (const server of [...NETWORK, 'html502', 'redirect', 'garbage429']) {
      const expected = exit[NETWORK.includes(server) ? 'network' : server];
      test(`${name}: ${server} → exit ${expected.join(' or ')}`, async () => {
        const out = join(dir, `${name}-${server}.jsonl`);
        const timeout = server === 'never' ? '500ms' : '5s';
        const { code, stdout, stderr } = await runCli([...args(urls[server]), '--timeout', timeout, '--out', out], { env, timeoutMs: 120_000 });
        assert.ok(expected.includes(code), `exit ${code}, expected ${expected.join(' or ')}\n${stderr}`);
        assertNoStack(stderr);
        assertNoStack(stdout);
        if (existsSync(out)) readJsonl(out);
        assert.equal(elsewhere.requests.length, 0, 'a redirect was followed to another origin');
        if (code >= 3 && code <= 6) {
          const errorLines = stderr.split('\n').filter((line) => line.startsWith('error:')).length;
          assert.equal(errorLines, 1, `one error line on stderr for exit ${code}:\n${stderr}`);
        }
      });
    }
  }
});
