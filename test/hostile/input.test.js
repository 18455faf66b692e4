// Bad user input: each exits 2 with a message that names the flag and the accepted form, and
// sends nothing (a recording server stands at --base-url). Keys pasted with a newline or quotes work.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli, FAKE_KEY } from '../helpers/cli.js';
import { assertNoStack, tempDir } from './expect.js';
import { closeAll, startHttp } from './servers.js';

const env = { CHUTES_API_KEY: FAKE_KEY };
const dir = tempDir();
let server; // answers the pasted-key runs
let quiet; // stands at --base-url for the usage errors: it must never see a request
before(async () => {
  quiet = await startHttp((req, res) => res.end('{}'));
  server = await startHttp((req, res) => {
    res.writeHead(200, { 'content-type': 'application/json', 'x-ratelimit-limit': '10', 'x-ratelimit-remaining': '9' });
    res.end('{}');
  });
});
after(closeAll);

// Functions: the servers' URLs are known only after before().
const base = () => ['--base-url', quiet.url];

/**
 * args (a function, for the URL), stderr pattern naming the flag and the accepted form
 * @type {Array<[string, () => string[], RegExp]>}
 */
const usageErrors = [
  ['probe --rpm 0', () => ['probe', ...base(), '--rpm', '0'], /--rpm <n>.*'0' is invalid.*whole number from 1 to/],
  ['probe --rpm -1', () => ['probe', ...base(), '--rpm', '-1'], /--rpm <n>.*'-1' is invalid.*whole number from 1 to/],
  ['probe --rpm abc', () => ['probe', ...base(), '--rpm', 'abc'], /--rpm <n>.*'abc' is invalid.*whole number from 1 to/],
  ['probe --rpm 1e12', () => ['probe', ...base(), '--rpm', '1e12'], /--rpm <n>.*'1e12' is invalid.*whole number from 1 to/],
  ['probe --max-requests 0', () => ['probe', ...base(), '--max-requests', '0'], /--max-requests <n>.*whole number from 1 to/],
  ['malformed --body JSON', () => ['headers', ...base(), '--body', '{"model": '], /--body: not valid JSON.*--body '<json>' or --body @file\.json/],
  ['--body @file that does not exist', () => ['headers', ...base(), '--body', `@${join(dir, 'missing.json')}`], /--body: cannot read .*missing\.json \(ENOENT\).*@file\.json/],
  ['--header without a colon', () => ['headers', ...base(), '-H', 'X-Trace 1'], /--header <name: value>.*Expected "Name: value"/],
  ['--header with an empty name', () => ['headers', ...base(), '-H', ': value'], /--header <name: value>.*Expected "Name: value"/],
  ['a URL without a scheme', () => ['headers', '--base-url', 'llm.chutes.ai'], /--base-url <url>.*did you mean https:\/\/llm\.chutes\.ai\?/],
  ['host:port without a scheme', () => ['headers', '--base-url', 'localhost:8787'], /--base-url <url>.*did you mean https:\/\/localhost:8787\?/],
  ['a non-http scheme', () => ['headers', '--base-url', 'ftp://llm.chutes.ai'], /--base-url <url>.*http:\/\/ or https:\/\//],
  ['an unknown command', () => ['frobnicate'], /unknown command 'frobnicate'/],
  ['an unknown flag', () => ['headers', ...base(), '--frobnicate'], /unknown option '--frobnicate'/],
  ['--timeout 0', () => ['headers', ...base(), '--timeout', '0'], /--timeout <duration>.*greater than zero/],
  ['--out in a directory that does not exist', () => ['headers', ...base(), '--out', join(dir, 'no', 'such', 'dir', 'out.jsonl')], /--out: cannot open .* \(ENOENT\); expected a writable file path/],
  ['--out pointing at a directory', () => ['headers', ...base(), '--out', dir], /--out: cannot open .* \(EISDIR\); expected a writable file path/],
  ['--api-key-file that does not exist', () => ['headers', ...base(), '--api-key-file', join(dir, 'nokey')], /--api-key-file: cannot read .* \(ENOENT\)/],
];

describe('usage errors exit 2, name the flag and send nothing', { concurrency: 4 }, () => {
  for (const [name, args, pattern] of usageErrors) {
    test(name, async () => {
      const { code, stdout, stderr } = await runCli(args(), { env });
      assert.equal(code, 2, stderr);
      assert.match(stderr, pattern);
      assert.equal(stderr.split('\n').filter((l) => l.startsWith('error:')).length, 1, stderr);
      assertNoStack(stderr);
      assert.equal(stdout, '');
      assert.equal(quiet.requests.length, 0, 'a usage error sent a request');
    });
  }

  test('a key with characters outside printable ASCII is refused before sending', async () => {
    const { code, stderr } = await runCli(['headers', ...base()], { env: { CHUTES_API_KEY: `${FAKE_KEY}é` } });
    assert.equal(code, 2, stderr);
    assert.match(stderr, /CHUTES_API_KEY: the key contains characters outside printable ASCII/);
  });

  test('a key that is only quotes is refused as empty', async () => {
    const { code, stderr } = await runCli(['headers', ...base()], { env: { CHUTES_API_KEY: '""\n' } });
    assert.equal(code, 2, stderr);
    assert.match(stderr, /CHUTES_API_KEY: the key is empty/);
  });
});

describe('a pasted key with a newline or quotes is trimmed, with a warning, and works', { concurrency: 4 }, () => {
  const pasted = [
    ['CHUTES_API_KEY with a trailing newline', `${FAKE_KEY}\n`, 'env'],
    ['CHUTES_API_KEY in double quotes', `"${FAKE_KEY}"`, 'env'],
    ['CHUTES_API_KEY in single quotes with spaces', `  '${FAKE_KEY}'  `, 'env'],
    ['--api-key-file with a trailing CRLF', `${FAKE_KEY}\r\n`, 'file'],
    ['--api-key-file in quotes with a newline', `"${FAKE_KEY}"\n`, 'file'],
  ];
  for (const [name, value, where] of pasted) {
    test(name, async () => {
      let args = ['headers', '--base-url', server.url, '--json'];
      /** @type {Record<string, string>} */
      let runEnv = { CHUTES_API_KEY: value };
      if (where === 'file') {
        const file = join(dir, `key-${name.replace(/\W+/g, '-')}`);
        writeFileSync(file, value);
        args = [...args, '--api-key-file', file];
        runEnv = {};
      }
      const before = server.requests.length;
      const { code, stdout, stderr } = await runCli(args, { env: runEnv });
      assert.equal(code, 0, stderr);
      assert.match(stderr, /warning: the key from (CHUTES_API_KEY|--api-key-file) had surrounding whitespace, a newline or quotes; they were removed/);
      assert.equal(JSON.parse(stdout).target.key, `cpk_…${FAKE_KEY.slice(-4)}`);
      const sent = server.requests.slice(before).map((r) => r.headers.authorization);
      assert.ok(sent.includes(`Bearer ${FAKE_KEY}`), 'the trimmed key was sent');
    });
  }
});

test('--out on a full disk: warned once, the run still finishes with its result', async () => {
  assert.ok(existsSync('/dev/full'), 'this test needs /dev/full (Linux) to simulate a full disk');
  const { code, stdout, stderr } = await runCli(['headers', '--base-url', server.url, '-n', '2', '--out', '/dev/full', '--json'], { env });
  assert.equal(JSON.parse(stdout).results.length, 2);
  assert.ok([0, 3, 4, 5].includes(code), `exit ${code}`);
  assert.equal(stderr.match(/--out: cannot write to \/dev\/full \(ENOSPC\)/g)?.length, 1, stderr);
  assertNoStack(stderr);
});
