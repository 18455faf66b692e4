// Issue #12, item 7: Ctrl-C while a response body is arriving is an interruption, never a completed
// `ok` response. The request is reported like one interrupted before its headers (error code
// `aborted`, outcome `network_error`, verdict `request-aborted`), and the commands keep it out of
// their results and --out, as they do for any request Ctrl-C cut short; the run exits 130.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { runCli, FAKE_KEY } from '../helpers/cli.js';
import { assertNoStack, readJsonl, tempDir, waitFor } from './expect.js';
import { closeAll, startHttp } from './servers.js';
import { send } from '../../dist/http/client.js';
import { buildRecord } from '../../dist/record.js';
import { buildTarget } from '../../dist/target.js';
import { Redactor } from '../../dist/redact.js';

const env = { CHUTES_API_KEY: FAKE_KEY };
const dir = tempDir();
/** Loopback delivers a written head in about a millisecond; the signal goes this long after it. */
const HEAD_MARGIN_MS = 1000;

/** A 200 with rate-limit headers and the start of a JSON body, then nothing: `heads` counts the heads written. */
async function stallsMidBody() {
  const state = { heads: 0 };
  const server = await startHttp((req, res) => {
    res.writeHead(200, { 'content-type': 'application/json', 'x-ratelimit-limit': '10', 'x-ratelimit-remaining': '9' });
    res.write('{"id":"chatcmpl-1","choices":[', () => { state.heads += 1; });
  });
  return Object.assign(server, { state });
}

let stalling;
before(async () => {
  stalling = await stallsMidBody();
});
after(closeAll);

/** Sends SIGINT `HEAD_MARGIN_MS` after the server has written `heads` response heads. */
function interruptAfterHeads(heads) {
  return (child) => {
    waitFor(() => stalling.state.heads >= heads, 30_000, `${heads} response heads written`)
      .then(() => new Promise((resolve) => setTimeout(resolve, HEAD_MARGIN_MS)))
      .then(() => child.kill('SIGINT'))
      .catch(() => child.kill('SIGKILL'));
  };
}

test('send(): aborted by the caller while the body arrives → error aborted, and the record is not ok', async () => {
  const controller = new AbortController();
  const target = buildTarget({ base: new URL(stalling.url), path: '/v1/chat/completions', auth: 'bearer', key: FAKE_KEY, body: '{}', timeoutMs: 60_000 });
  const before = stalling.state.heads;
  const pending = send(target, { signal: controller.signal });
  await waitFor(() => stalling.state.heads > before, 30_000, 'the response head');
  await new Promise((resolve) => setTimeout(resolve, HEAD_MARGIN_MS));
  controller.abort('SIGINT');
  const raw = await pending;
  assert.ok(raw.error, `no error on an aborted body read (status ${raw.status})`);
  assert.equal(raw.error.code, 'aborted', `error ${JSON.stringify(raw.error)}`);
  const { record } = buildRecord(raw, { seq: 1, target, redactor: new Redactor() });
  assert.notEqual(record.outcome, 'ok');
  assert.equal(record.outcome, 'network_error');
  assert.equal(record.verdict?.code, 'request-aborted');
});

// One at a time: each run's signal waits for its own response head on the shared server.
describe('Ctrl-C mid-body: exit 130 and no ok record', () => {
  test('headers --json --out', async () => {
    const out = join(dir, 'headers.jsonl');
    const heads = stalling.state.heads + 1;
    const { code, stdout, stderr } = await runCli(['headers', '--base-url', stalling.url, '--out', out, '--json'], { env, timeoutMs: 60_000, onSpawn: interruptAfterHeads(heads) });
    assert.equal(code, 130, stderr);
    assertNoStack(stderr);
    const doc = JSON.parse(stdout);
    assert.equal(doc.exitCode, 130);
    for (const record of [...doc.results, ...readJsonl(out)]) {
      assert.notEqual(record.outcome, 'ok', `a request cut short by Ctrl-C is recorded as ok: ${JSON.stringify(record).slice(0, 400)}`);
    }
    assert.match(stderr, /interrupted by SIGINT after 0 of 1 request/);
  });

  // probe and wait-reset: the same interruption, through their own send paths (probe aborts what is
  // still in flight after its drain time).
  const others = [
    ['probe', ['probe', '--rpm', '600', '--max-requests', '1', '--concurrency', 'off', '--yes']],
    ['wait-reset', ['wait-reset', '--max-wait', '5m']],
  ];
  for (const [name, args] of others) {
    test(`${name} --json --out`, async () => {
      const out = join(dir, `${name}.jsonl`);
      const heads = stalling.state.heads + 1;
      const { code, stdout, stderr } = await runCli([...args, '--base-url', stalling.url, '--out', out, '--json'], { env, timeoutMs: 60_000, onSpawn: interruptAfterHeads(heads) });
      assert.equal(code, 130, stderr);
      assertNoStack(stderr);
      const doc = JSON.parse(stdout);
      assert.equal(doc.exitCode, 130);
      const records = [...(doc.responses ?? []), ...(doc.final ? [doc.final] : []), ...readJsonl(out)];
      for (const record of records) {
        assert.notEqual(record.outcome, 'ok', `a request cut short by Ctrl-C is recorded as ok: ${JSON.stringify(record).slice(0, 400)}`);
      }
    });
  }
});
