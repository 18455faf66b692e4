// Issue #12, item 2: --api-key-file and --body @file are read with a size cap. An endless device
// (/dev/zero, /dev/urandom) or a huge file is refused with one `error:` line and exit 2 after
// reading at most the cap (a regular file's size is checked before reading), instead of growing
// to a gigabyte while Ctrl-C waits. The runner timeout is a kill bound, far above what a capped read needs.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli, FAKE_KEY } from '../helpers/cli.js';
import { assertOneLineError, tempDir } from './expect.js';
import { closeAll, okServer } from './servers.js';
import * as target from '../../dist/target.js';

const KIB = 1024;
const MIB = 1024 * 1024;
const dir = tempDir();
/** A capped read takes milliseconds; 60 s only stops a run that reads without end. */
const BOUND_MS = 60_000;
/** The refused runs point here: nothing may reach it. */
let untouched;
before(async () => {
  untouched = await okServer();
});
after(closeAll);

/** A file of `size` bytes: `text`, then spaces. */
function fileOf(name, size, text = '') {
  const path = join(dir, name);
  const content = Buffer.alloc(size, ' ');
  content.write(text);
  writeFileSync(path, content);
  return path;
}

/** A sparse file of `size` zero bytes: takes no disk space, and only a size check avoids reading it all. */
function sparseFile(name, size) {
  const path = join(dir, name);
  writeFileSync(path, '');
  truncateSync(path, size);
  return path;
}

test('the limits are the documented ones: 16 KiB for a key file, 10 MiB for a body file', () => {
  assert.equal(target.MAX_KEY_FILE_BYTES, 16 * KIB);
  assert.equal(target.MAX_BODY_FILE_BYTES, 10 * MIB);
});

test('the --body help states the limit', async () => {
  const { code, stdout } = await runCli(['headers', '--help']);
  assert.equal(code, 0);
  assert.match(stdout.replace(/\s+/g, ' '), /--body <json\|@file> .*@file of at most 10 MiB/);
});

describe('readFileCapped', () => {
  /** @type {Array<[string, () => string, number, string | null]>} */
  const cases = [
    ['an empty file', () => fileOf('empty', 0), 8, ''],
    ['a file at the limit', () => fileOf('at-limit', 8, 'abcdefgh'), 8, 'abcdefgh'],
    ['a file one byte over', () => fileOf('over', 9, 'abcdefghi'), 8, null],
    ['/dev/zero (endless)', () => '/dev/zero', 8, null],
    ['/dev/urandom (endless)', () => '/dev/urandom', 1024, null],
    ['a sparse 600 MB file (refused by its size)', () => sparseFile('sparse-600mb', 600 * MIB), 16 * KIB, null],
  ];
  for (const [name, path, limit, expected] of cases) {
    test(`${name}, limit ${limit} → ${expected === null ? 'too large (null)' : JSON.stringify(expected)}`, () => {
      assert.equal(typeof target.readFileCapped, 'function', 'dist/target.js exports readFileCapped');
      assert.equal(target.readFileCapped(path(), limit), expected);
    });
  }
  test('a missing file throws its errno code (the callers name it)', () => {
    assert.equal(typeof target.readFileCapped, 'function', 'dist/target.js exports readFileCapped');
    assert.throws(() => target.readFileCapped(join(dir, 'missing'), 8), { code: 'ENOENT' });
  });
});

describe('oversized files are usage errors (exit 2), before anything is sent', { concurrency: 4 }, () => {
  /** @type {Array<[string, () => string[], RegExp]>} */
  const cases = [
    ['--api-key-file /dev/zero', () => ['--api-key-file', '/dev/zero'], /^error: --api-key-file: \/dev\/zero is larger than 16 KiB; expected a file containing only the key\.$/],
    ['--api-key-file /dev/urandom', () => ['--api-key-file', '/dev/urandom'], /^error: --api-key-file: \/dev\/urandom is larger than 16 KiB/],
    ['--api-key-file: a 600 MB file', () => ['--api-key-file', sparseFile('key-600mb', 600 * MIB)], /^error: --api-key-file: .*key-600mb is larger than 16 KiB/],
    ['--api-key-file: a file one byte over 16 KiB', () => ['--api-key-file', fileOf('key-over', 16 * KIB + 1, FAKE_KEY)], /^error: --api-key-file: .*key-over is larger than 16 KiB/],
    ['--body @/dev/zero', () => ['--body', '@/dev/zero'], /^error: --body: \/dev\/zero is larger than 10 MiB, the most --body @file sends/],
    ['--body @/dev/urandom', () => ['--body', '@/dev/urandom'], /^error: --body: \/dev\/urandom is larger than 10 MiB/],
    ['--body @file one byte over 10 MiB', () => ['--body', `@${fileOf('body-over.json', 10 * MIB + 1, '{"a":1}')}`], /^error: --body: .*body-over\.json is larger than 10 MiB/],
  ];
  for (const [name, args, pattern] of cases) {
    test(`${name}: exit 2, one error line`, async () => {
      const { code, signal, stderr } = await runCli(['headers', '--base-url', untouched.url, ...args()], { env: { CHUTES_API_KEY: FAKE_KEY }, timeoutMs: BOUND_MS });
      assert.equal(signal, null, `the run did not end within ${BOUND_MS} ms (killed):\n${stderr}`);
      assert.equal(code, 2, stderr);
      assertOneLineError(stderr, pattern);
      assert.equal(untouched.requests.length, 0, 'a request was sent');
    });
  }

  test('a key file of exactly 16 KiB (the key, then padding) is read, trimmed with a warning, and used', async () => {
    const server = await okServer();
    const { code, stderr } = await runCli(['headers', '--base-url', server.url, '--api-key-file', fileOf('key-at-limit', 16 * KIB, FAKE_KEY)], { timeoutMs: BOUND_MS });
    assert.equal(code, 0, stderr);
    assert.match(stderr, /the key from --api-key-file had surrounding whitespace/);
    assert.equal(server.requests.length, 1);
    assert.equal(server.requests[0].headers.authorization, `Bearer ${FAKE_KEY}`);
  });

  test('a body file of exactly 10 MiB is sent', async () => {
    const server = await okServer();
    const { code, stderr } = await runCli(['headers', '--base-url', server.url, '--body', `@${fileOf('body-at-limit.json', 10 * MIB, '{"a":1}')}`], { env: { CHUTES_API_KEY: FAKE_KEY }, timeoutMs: BOUND_MS });
    assert.equal(code, 0, stderr);
    assert.equal(server.requests.length, 1);
    assert.equal(server.requests[0].headers['content-length'], String(10 * MIB));
  });
});
