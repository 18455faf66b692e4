// Servers that answer, but badly: HTML error pages, garbage rate-limit headers, terminal escapes,
// and redirects to another origin. Exit code per status, nulls and warnings instead of NaN, no crash.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { runCli, FAKE_KEY } from '../helpers/cli.js';
import { assertFiniteNumbers, assertOneLineError, assertPolicyFields, readJsonl, tempDir } from './expect.js';
import { closeAll, htmlPage, rawResponse, redirectsTo, startHttp } from './servers.js';

const env = { CHUTES_API_KEY: FAKE_KEY };
const dir = tempDir();
after(closeAll);

describe('HTML error pages from proxies and CDNs', { concurrency: 4 }, () => {
  // The 403 page with `via: 1.1 google` is the Chutes edge blocking the request before the API saw
  // it: exit 5 (HTTP error), not 4, because the key was never checked (see verdict/rules.ts).
  /** @type {Array<[number, string, Record<string, string>, string, number]>} */
  const pages = [
    [502, '502 Bad Gateway', {}, 'server-error', 5],
    [503, '503 Service Temporarily Unavailable', {}, 'server-error', 5],
    [504, '504 Gateway Time-out', {}, 'edge-timeout', 5],
    [403, '403 Forbidden', { via: '1.1 google' }, 'edge-blocked', 5],
  ];
  for (const [status, title, headers, verdict, exitCode] of pages) {
    test(`HTTP ${status} HTML page → exit ${exitCode}, verdict ${verdict}`, async () => {
      const server = await htmlPage(status, title, headers);
      const out = join(dir, `html-${status}.jsonl`);
      const human = await runCli(['headers', '--base-url', server.url, '--out', out], { env });
      assert.equal(human.code, exitCode, human.stderr);
      assert.match(human.stdout, new RegExp(`HTTP ${status}`));
      assert.match(human.stdout, new RegExp(`\\[${verdict}\\]`));
      assert.doesNotMatch(human.stdout, /<html|<body/i, 'the page is summarised, not dumped');
      assertOneLineError(human.stderr, new RegExp(`${status}`));
      const [line] = readJsonl(out);
      assert.equal(line.status, status);
      assert.equal(line.verdict.code, verdict);

      const json = await runCli(['headers', '--base-url', server.url, '--json'], { env });
      const doc = JSON.parse(json.stdout);
      assert.equal(doc.exitCode, exitCode);
      assert.equal(doc.results[0].outcome, 'http_error');
      assert.match(doc.results[0].verdict.message, new RegExp(title.split(' ')[0]));
    });
  }
});

/**
 * name, status, raw header lines, the exit code the status calls for, warnings that must appear
 * @type {Array<[string, number, Array<string | Buffer>, number, RegExp[]]>}
 */
const garbage = [
  ['Retry-After: soon', 429, ['Retry-After: soon'], 3, [/retry-after: .*"soon"/]],
  ['negative values', 429, ['Retry-After: -5', 'X-RateLimit-Limit: -10', 'X-RateLimit-Remaining: -1', 'X-RateLimit-Reset: -30'], 3,
    [/retry-after/, /x-ratelimit-limit: negative/, /x-ratelimit-remaining: negative/]],
  ['10^20 and 1e20', 200, ['X-RateLimit-Limit: 10^20', 'X-RateLimit-Remaining: 100000000000000000000', 'X-RateLimit-Reset: 1e20', 'Retry-After: 100000000000000000000'], 0,
    [/x-ratelimit-limit/, /x-ratelimit-remaining: exceeds/, /x-ratelimit-reset/, /retry-after/]],
  ['empty structured fields', 429, ['RateLimit: ', 'RateLimit-Policy: ', 'RateLimit-Limit:', 'RateLimit-Remaining: ', 'RateLimit-Reset: '], 3,
    [/ratelimit: empty/, /ratelimit-policy: empty/]],
  ['malformed structured fields', 200, ['RateLimit: "default";r=;t=', 'RateLimit-Policy: "default";q=-1;w=0', 'RateLimit: default;r=NaN'], 0,
    [/ratelimit-policy/, /ratelimit/]],
  ['duplicate headers with conflicting values', 429, ['Retry-After: 5', 'Retry-After: 60', 'X-RateLimit-Limit: 10', 'X-RateLimit-Limit: 100', 'X-RateLimit-Remaining: 0', 'X-RateLimit-Remaining: 7'], 3,
    [/retry-after: conflicting duplicate values/, /x-ratelimit-limit: conflicting duplicate values/]],
  ['non-ASCII bytes in values', 429, [
    Buffer.concat([Buffer.from('X-RateLimit-Remaining: 5'), Buffer.from([0xff, 0xfe, 0xe9])]),
    Buffer.concat([Buffer.from('Retry-After: '), Buffer.from([0xd9, 0xa3])]), // Arabic-Indic digit three, as UTF-8 bytes
    Buffer.concat([Buffer.from('X-RateLimit-Limit: '), Buffer.from('１０', 'utf8')]), // full-width digits
  ], 3, [/x-ratelimit-remaining/, /retry-after/, /x-ratelimit-limit/]],
  ['NaN, Infinity, hex and exponents', 200, ['x-ratelimit-limit-requests: 0x10', 'x-ratelimit-remaining-requests: NaN', 'x-ratelimit-reset-requests: Infinity', 'retry-after-ms: 1e3'], 0,
    [/x-ratelimit-limit-requests/, /x-ratelimit-remaining-requests/, /x-ratelimit-reset-requests/, /retry-after-ms/]],
];

describe('garbage rate-limit headers: nulls and warnings, never NaN, exit code per status', { concurrency: 4 }, () => {
  for (const [name, status, lines, exitCode, warnings] of garbage) {
    test(name, async () => {
      const server = await rawResponse(status, lines);
      const json = await runCli(['headers', '--base-url', server.url, '--json'], { env });
      assert.equal(json.code, exitCode, json.stderr);
      const doc = JSON.parse(json.stdout);
      assert.equal(doc.exitCode, exitCode);
      const [record] = doc.results;
      assert.equal(record.status, status);
      assertFiniteNumbers(doc);
      assertPolicyFields(record);
      for (const pattern of warnings) {
        assert.ok(doc.warnings.some((w) => pattern.test(w)), `no warning matching ${pattern} in ${JSON.stringify(doc.warnings)}`);
      }

      const human = await runCli(['headers', '--base-url', server.url], { env });
      assert.equal(human.code, exitCode, human.stderr);
      // The header table and the warnings quote the server's raw values; everything we computed must not.
      const computed = human.stdout.split('\n').filter((l) => !l.startsWith('! ') && !Object.keys(record.headers).some((h) => l.startsWith(`│ ${h} `)));
      assert.doesNotMatch(computed.join('\n'), /\bNaN\b|\bInfinity\b|undefined/, 'no NaN/Infinity/undefined in what was computed');
      assert.match(human.stdout, /^! /m, 'the warnings are shown');
      if (exitCode !== 0) assertOneLineError(human.stderr);
      else assert.equal(human.stderr, '');
    });
  }
});

test('terminal escapes from a hostile server are neutralised in every output', async () => {
  const esc = '\x1b]0;pwned\x07\x1b[2J\x1b[31m';
  // Raw bytes, not JSON escapes: what a hostile server (or a compromised proxy) would send.
  const body = `{"error":{"message":"slow down${esc}\rOK all good \u202eevil"}}`;
  const server = await rawResponse(429, [
    Buffer.concat([Buffer.from('X-RateLimit-Remaining: 0'), Buffer.from([0x9b, 0x32, 0x4a])]), // C1 CSI "2J"
    'Retry-After: 1',
  ], body);
  const out = join(dir, 'escapes.jsonl');
  for (const args of [['--all', '--verbose', '--out', out], ['--all', '--json']]) {
    const { code, stdout, stderr } = await runCli(['headers', '--base-url', server.url, ...args], { env });
    assert.equal(code, 3, stderr);
    for (const text of [stdout, stderr]) {
      assert.doesNotMatch(text, /[\x00-\x08\x0b-\x1f\x7f-\x9f]/, `raw control characters reached the terminal: ${JSON.stringify(text.slice(0, 300))}`);
    }
  }
  const [line] = readJsonl(out);
  assert.doesNotMatch(JSON.stringify(line), /\\u001b|\\r|\u009b/, 'the --out record carries no raw control characters');
  assert.match(line.body, /\\x1b\[2J/, 'escapes stay visible, as text');
});

describe('a 307 or 308 to another origin is reported, not followed: the key never reaches it', { concurrency: true }, () => {
  for (const status of [307, 308]) {
    test(`HTTP ${status} → exit 5, verdict cross-origin-redirect`, async () => {
      const elsewhere = await startHttp((req, res) => res.end('{}'));
      const server = await redirectsTo(status, `${elsewhere.url}/v1/chat/completions?stolen=1`);
      const out = join(dir, `redirect-${status}.jsonl`);
      const human = await runCli(['headers', '--base-url', server.url, '--out', out], { env });
      assert.equal(human.code, 5, human.stderr);
      assert.match(human.stdout, /cross-origin-redirect/);
      assertOneLineError(human.stderr, new RegExp(`redirected \\(HTTP ${status}\\) to another origin \\(${elsewhere.url}\\)`));
      const [line] = readJsonl(out);
      assert.equal(line.status, status);
      assert.equal(line.error.code, 'redirect');
      assert.equal(line.verdict.code, 'cross-origin-redirect');

      const json = await runCli(['headers', '--base-url', server.url, '--json', '--auth', 'x-api-key'], { env });
      assert.equal(json.code, 5, json.stderr);
      assert.equal(JSON.parse(json.stdout).results[0].verdict.code, 'cross-origin-redirect');

      assert.equal(server.requests.length, 2, 'the first origin got both requests');
      assert.ok(server.requests.every((r) => r.headers.authorization || r.headers['x-api-key']), 'the key went to the first origin');
      assert.equal(elsewhere.requests.length, 0, 'the other origin saw no request, so no key');
    });
  }

  test('a same-origin 307 is reported, not followed: each hop would be an unbudgeted request', async () => {
    const server = await startHttp((req, res) => {
      res.writeHead(307, { location: '/moved/1' });
      res.end();
    });
    const { code, stdout, stderr } = await runCli(['headers', '--base-url', server.url, '--json'], { env });
    assert.equal(code, 5, stderr);
    const [record] = JSON.parse(stdout).results;
    assert.equal(record.status, 307);
    assert.equal(record.error.code, 'redirect_not_followed');
    assert.equal(record.verdict.code, 'redirect-not-followed');
    assert.equal(server.requests.length, 1, 'exactly one request was sent');
  });

  test('a redirect with an unparsable Location is reported, not a crash', async () => {
    const server = await redirectsTo(307, 'http://[::1');
    const { code, stderr } = await runCli(['headers', '--base-url', server.url], { env });
    assert.equal(code, 5, stderr);
    assertOneLineError(stderr, /invalid location/);
  });
});
