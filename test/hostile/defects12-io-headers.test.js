// Issue #12, item 3: -H headers that undici refuses (characters it cannot send, headers the client
// sets itself) are usage errors found before any request: exit 2 and one line naming the header,
// never exit 6 "network error … check connectivity". The value is never echoed (it may be a key).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { runCli, FAKE_KEY } from '../helpers/cli.js';
import { assertOneLineError } from './expect.js';
import { closeAll, okServer } from './servers.js';
import * as options from '../../dist/options.js';

const env = { CHUTES_API_KEY: FAKE_KEY };
/** The refused runs point here: nothing may reach it. */
let untouched;
before(async () => {
  untouched = await okServer();
});
after(closeAll);

/**
 * [-H argument, the header the message names, what it says]; every one of these fails in undici.
 * @type {Array<[string, string, RegExp]>}
 */
const refused = [
  ['Transfer-Encoding: chunked', 'Transfer-Encoding', /cannot be set with -H: the body is sent with a Content-Length/],
  ['Content-Length: 5', 'Content-Length', /cannot be set with -H: it is computed from the body/],
  ['Upgrade: h2c', 'Upgrade', /cannot be set with -H: protocol upgrades are not supported/],
  ['Expect: 100-continue', 'Expect', /cannot be set with -H: "Expect: 100-continue" is not supported/],
  ['Keep-Alive: timeout=5', 'Keep-Alive', /cannot be set with -H/],
  ['X-Arrow: a → b', 'X-Arrow', /contains a character outside Latin-1 \(U\+2192\)/],
  ['X-Emoji: 😀', 'X-Emoji', /contains a character outside Latin-1 \(U\+1F600\)/],
  ['X-Quote: “curly”', 'X-Quote', /contains a character outside Latin-1 \(U\+201C\)/],
  ['X-Ctl: a\u0001b', 'X-Ctl', /contains a control character \(U\+0001\)/],
  ['X-Esc: \u001b[31m', 'X-Esc', /contains a control character \(U\+001B\)/],
  ['X-Del: a\u007fb', 'X-Del', /contains a control character \(U\+007F\)/],
  ['X-Break: a\nb', 'X-Break', /contains a line break \(U\+000A\)/],
  ['X-Nul: a\u0000b', 'X-Nul', /contains a control character \(U\+0000\)/],
  ['Connection: not a token', 'Connection', /must be a comma-separated list of tokens/],
];

describe('headerProblem', () => {
  for (const [arg, name, pattern] of refused) {
    test(`${JSON.stringify(arg)} → refused, naming ${name}`, () => {
      assert.equal(typeof options.headerProblem, 'function', 'dist/options.js exports headerProblem');
      const colon = arg.indexOf(':');
      const problem = options.headerProblem(arg.slice(0, colon), arg.slice(colon + 1).trim());
      assert.ok(problem !== null, `${arg} was accepted`);
      assert.match(problem, new RegExp(`\\b${name}\\b`));
      assert.match(problem, pattern);
    });
  }
  // What undici sends: printable ASCII, tabs, Latin-1 (one byte each), and Connection tokens.
  for (const [name, value] of [['X-Trace', '1'], ['X-Tab', 'a\tb'], ['X-Latin1', 'café'], ['Connection', 'close'], ['connection', 'keep-alive, Upgrade'], ['Host', 'example.com'], ['X-Empty', '']]) {
    test(`${name}: ${JSON.stringify(value)} → accepted`, () => {
      assert.equal(typeof options.headerProblem, 'function', 'dist/options.js exports headerProblem');
      assert.equal(options.headerProblem(name, value), null);
    });
  }
});

describe('refused -H headers exit 2 before any request, naming the header', { concurrency: 4 }, () => {
  // argv cannot carry a NUL byte: that one is for headerProblem only.
  for (const [arg, name, pattern] of refused.filter(([arg]) => !arg.includes('\0'))) {
    test(`headers -H ${JSON.stringify(arg)}: exit 2`, async () => {
      const { code, stderr } = await runCli(['headers', '--base-url', untouched.url, '-H', arg], { env });
      assert.equal(code, 2, `exit ${code}, expected 2:\n${stderr}`);
      assertOneLineError(stderr, new RegExp(`^error: -H, --header: .*\\b${name}\\b`));
      assert.match(stderr, pattern);
      assert.equal(untouched.requests.length, 0, 'a request was sent');
    });
  }
  // Every network command parses -H the same way.
  for (const command of [['probe', '--rpm', '600', '--max-requests', '1', '--yes'], ['wait-reset'], ['doctor'], ['quota']]) {
    test(`${command[0]} -H "Transfer-Encoding: chunked": exit 2`, async () => {
      const url = untouched.url;
      const { code, stderr } = await runCli([...command, '--base-url', url, '--api-base-url', url, '-H', 'Transfer-Encoding: chunked'], { env });
      assert.equal(code, 2, `exit ${code}, expected 2:\n${stderr}`);
      assertOneLineError(stderr, /^error: -H, --header: Transfer-Encoding cannot be set/);
      assert.equal(untouched.requests.length, 0, 'a request was sent');
    });
  }

  test('a credential in a refused value is not echoed', async () => {
    const { code, stderr } = await runCli(['headers', '--base-url', untouched.url, '--auth', 'none', '-H', `Authorization: Bearer ${FAKE_KEY}\u2019`]);
    assert.equal(code, 2, stderr);
    assertOneLineError(stderr, /^error: -H, --header: the value of Authorization contains a character outside Latin-1 \(U\+2019\)/);
    assert.ok(!stderr.includes(FAKE_KEY.slice(4, 40)), `the key was echoed:\n${stderr}`);
  });

  test('headers undici accepts are still sent: Connection: close, a tab, Latin-1', async () => {
    const server = await okServer();
    const { code, stderr } = await runCli(['headers', '--base-url', server.url, '-H', 'Connection: close', '-H', 'X-Tab: a\tb', '-H', 'X-Latin1: café'], { env });
    assert.equal(code, 0, stderr);
    assert.equal(server.requests.length, 1);
    assert.equal(server.requests[0].headers['x-tab'], 'a\tb');
    assert.equal(server.requests[0].headers['x-latin1'], 'café');
  });
});
