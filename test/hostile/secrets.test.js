// A canary key must appear in no stdout, stderr, --out file, JSON document, step summary or
// error message: only its masked fingerprint. Also with --verbose, also when a hostile server
// echoes the key back (body, headers, a redirect's Location), and on error paths.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startEmulator } from '../../dist/emulator/server.js';
import { keyFingerprint } from '../../dist/redact.js';
import { runCli } from '../helpers/cli.js';
import { tempDir } from './expect.js';
import { closeAll, echoesCredentials, redirectsWithKey, refusedUrl, startHttp } from './servers.js';

/** Valid Chutes format, distinctive tail; its fingerprint is cpk_…T6yH. */
const CANARY = 'cpk_5ec7e75ec7e75ec7e75ec7e75ec7e75e.c4a7c4a7c4a7c4a7c4a7c4a7c4a7c4a7.CANARYtailQ9x7ZpL0mK3vN8bW2rT6yH';
const FINGERPRINT = 'cpk_…T6yH';
/** A gateway key in no known shape: only the redactor's own list can mask it. */
const GATEWAY_CANARY = 'gw-CANARY2-q8r7s6t5u4v3w2x1y0z9a8b7c6d5e4f3';
const dir = tempDir();
let fileCounter = 0;

/** No 12-character window of the key (nor the whole key, nor its URL-encoded form) in `text`. */
function assertNoKey(text, key, where) {
  assert.ok(!text.includes(key), `${where}: the whole key leaked`);
  assert.ok(!text.includes(encodeURIComponent(key)), `${where}: the URL-encoded key leaked`);
  for (let i = 0; i + 12 <= key.length; i++) {
    const window = key.slice(i, i + 12);
    assert.ok(!text.includes(window), `${where}: part of the key leaked ("${window}" at ${text.indexOf(window)}: …${text.slice(Math.max(0, text.indexOf(window) - 40), text.indexOf(window) + 20)}…)`);
  }
}

/**
 * Runs the CLI with the key, an --out file and a GitHub step summary, then checks every output.
 * Returns the run for further assertions.
 */
async function runWithKey(args, { key = CANARY, keyVia = 'env', timeoutMs = 20_000 } = {}) {
  const out = join(dir, `out-${++fileCounter}.jsonl`);
  const summary = join(dir, `summary-${fileCounter}.md`);
  writeFileSync(summary, '');
  const env = { GITHUB_ACTIONS: 'true', GITHUB_STEP_SUMMARY: summary };
  const keyArgs = [];
  if (keyVia === 'env') env.CHUTES_API_KEY = key;
  if (keyVia === 'file') {
    const file = join(dir, `key-${fileCounter}`);
    writeFileSync(file, `${key}\n`);
    keyArgs.push('--api-key-file', file);
  }
  if (keyVia === 'argv') keyArgs.push('--api-key', key);
  const run = await runCli([...args, ...keyArgs, '--out', out], { env, timeoutMs });
  const label = `${args.slice(0, 1).join(' ')} ${args.slice(3).join(' ')}`;
  assertNoKey(run.stdout, key, `${label}: stdout`);
  assertNoKey(run.stderr, key, `${label}: stderr`);
  if (existsSync(out)) assertNoKey(readFileSync(out, 'utf8'), key, `${label}: --out`);
  assertNoKey(readFileSync(summary, 'utf8'), key, `${label}: step summary`);
  if (args.includes('--json') && run.stdout.trim().startsWith('{')) {
    const doc = JSON.parse(run.stdout);
    if (doc.target?.key) assert.equal(doc.target.key, keyFingerprint(key.trim()), 'the document names the key by its fingerprint');
  }
  return { ...run, out };
}

let echo401;
let echo429;
let echoPadded;
let elsewhere;
let redirect;
let emulator;
before(async () => {
  echo401 = await echoesCredentials(401);
  echo429 = await echoesCredentials(429);
  echoPadded = await echoesCredentials(200, { padTo: 480 });
  elsewhere = await startHttp((req, res) => res.end('{}'));
  redirect = await redirectsWithKey(307, elsewhere.url);
  emulator = await startEmulator({ port: 0, apiPort: 0, limit: 2, windowMs: 2_000, headers: 'chutes' });
});
after(async () => {
  await emulator?.close();
  await closeAll();
});

describe('headers: the key never leaves the process, even when the server echoes it', { concurrency: 4 }, () => {
  /** @type {Array<[string, string[]]>} */
  const variants = [
    ['bearer', ['--verbose', '--all']],
    ['bearer', ['--json', '--all']],
    ['bearer', ['--json', '--verbose', '--all']],
    ['raw', ['--verbose', '--all']],
    ['x-api-key', ['--json', '--verbose', '--all']],
  ];
  for (const [auth, mode] of variants) {
    test(`401 that echoes the key: --auth ${auth} ${mode.join(' ')}`, async () => {
      const run = await runWithKey(['headers', '--base-url', echo401.url, '--auth', auth, ...mode]);
      assert.equal(run.code, 4, run.stderr);
      assert.ok(run.stdout.includes(FINGERPRINT), 'the fingerprint stands in for the key');
    });
  }

  test('429 that echoes the key, key from --api-key-file, -n 2', async () => {
    const run = await runWithKey(['headers', '--base-url', echo429.url, '-n', '2', '--all', '--verbose'], { keyVia: 'file' });
    assert.equal(run.code, 3, run.stderr);
  });

  test('--api-key on the command line: warned about, still never printed', async () => {
    const run = await runWithKey(['headers', '--base-url', echo401.url, '--all', '--verbose'], { keyVia: 'argv' });
    assert.equal(run.code, 4, run.stderr);
    assert.match(run.stderr, /--api-key puts the key in the process list/);
  });

  test('a redirect whose Location carries the key: reported, masked, not followed', async () => {
    const run = await runWithKey(['headers', '--base-url', redirect.url, '--all', '--verbose']);
    assert.equal(run.code, 5, run.stderr);
    assert.match(run.stdout, /cross-origin-redirect/);
    assert.equal(elsewhere.requests.length, 0);
  });

  test('a key of no known shape, echoed so it straddles the 500-character body cut', async () => {
    const run = await runWithKey(['headers', '--base-url', echoPadded.url, '--all', '--json', '--auth', 'raw'], { key: GATEWAY_CANARY });
    assert.equal(run.code, 0, run.stderr);
    const [record] = JSON.parse(run.stdout).results;
    assert.ok(record.body.length <= 500);
  });

  test('a key of no known shape sent with -H Authorization: Bearer … and echoed without the scheme', async () => {
    const args = ['headers', '--base-url', echo401.url, '--auth', 'none', '-H', `Authorization: Bearer ${GATEWAY_CANARY}`, '--all', '--verbose'];
    const run = await runWithKey(args, { key: GATEWAY_CANARY, keyVia: 'none' });
    assert.equal(run.code, 4, run.stderr);
  });

  test('a short token sent with -H Authorization: Bearer … and echoed bare', async () => {
    const token = 's3cr3tT0k';
    const args = ['headers', '--base-url', echo401.url, '--auth', 'none', '-H', `Authorization: Bearer ${token}`, '--all', '--verbose'];
    const run = await runWithKey(args, { key: token, keyVia: 'none' });
    assert.equal(run.code, 4, run.stderr);
  });

  test('a network error path with --verbose', async () => {
    const run = await runWithKey(['headers', '--base-url', await refusedUrl(), '--verbose']);
    assert.equal(run.code, 6, run.stderr);
  });

  test('a key with a newline, trimmed: the warning does not quote it', async () => {
    const run = await runWithKey(['headers', '--base-url', echo401.url, '--json'], { key: `${CANARY}\n` });
    assert.equal(run.code, 4, run.stderr);
    assert.match(run.stderr, /removed/);
  });

  test('a key pasted as the command is not echoed back', async () => {
    const run = await runCli([CANARY], { env: {} });
    assert.equal(run.code, 2);
    assertNoKey(run.stderr, CANARY, 'unknown command');
  });

  test('a password in --base-url is not echoed back by the usage error', async () => {
    const run = await runCli(['headers', '--base-url', 'https://user:hunter2hunter2@llm.chutes.ai'], { env: {} });
    assert.equal(run.code, 2);
    assert.match(run.stderr, /Credentials in the URL are not accepted/);
    assert.ok(!run.stderr.includes('hunter2hunter2'), run.stderr);
  });
});

/**
 * The other network commands, against the emulator and against the echoing server.
 * @type {Array<[string, (e: import('../../dist/emulator/server.js').Emulator) => string[], (s: { url: string }) => string[]]>}
 */
const commands = [
  ['quota', (e) => ['--api-base-url', e.apiUrl], (s) => ['--api-base-url', s.url]],
  ['doctor', (e) => ['--base-url', e.url, '--api-base-url', e.apiUrl], (s) => ['--base-url', s.url, '--api-base-url', s.url]],
  ['wait-reset', (e) => ['--base-url', e.url, '--max-wait', '4s', '--interval', '500ms'], (s) => ['--base-url', s.url, '--max-wait', '3s', '--interval', '500ms']],
  ['probe', (e) => ['--base-url', e.url, '--rpm', '600', '--max-requests', '4', '--concurrency', 'off'], (s) => ['--base-url', s.url, '--rpm', '600', '--max-requests', '3', '--concurrency', 'off']],
];

describe('every network command keeps the key out of its output', { concurrency: 4 }, () => {
  for (const [name, emulatorArgs, echoArgs] of commands) {
    test(`${name} --verbose against the emulator`, async () => {
      const run = await runWithKey([name, ...emulatorArgs(emulator), '--verbose']);
      assert.ok([0, 1, 3].includes(run.code), `exit ${run.code}: ${run.stderr}`);
    });
    test(`${name} --json --verbose against a server that echoes the key`, async () => {
      const run = await runWithKey([name, ...echoArgs(echo401), '--json', '--verbose']);
      assert.notEqual(run.code, 0);
      assert.ok(run.code !== 70, `internal error: ${run.stderr}`);
    });
  }
});
