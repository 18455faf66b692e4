// Issue #12 item 6: conflicting duplicate RateLimit headers and remaining > limit are parser
// warnings, and a 429's verdict never says there is room left. Duplicates reach the parser two
// ways: as an array (library callers) and joined with ", " (undici, then http/client.ts), or as two
// object keys that differ only in case; each path is a row.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseRateLimitHeaders } from '../../dist/ratelimit/parse.js';
import { classifyResponse } from '../../dist/verdict/classify.js';
import { FAKE_KEY, runCli } from '../helpers/cli.js';
import { closeAll, rawResponse } from '../hostile/servers.js';

after(closeAll);

const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);
const LIMIT_CONFLICT = /^ratelimit: limit: conflicting duplicate values/;
const REMAINING_CONFLICT = /^ratelimit: remaining: conflicting duplicate values/;

// [what, headers, expected {limit, remaining, resetSeconds} of the draft -07 policy, warnings that must appear]
/** @type {Array<[string, Record<string, string | string[]>, { limit: number | null, remaining: number | null, resetSeconds: number | null }, RegExp[]]>} */
const DRAFT7_DUPLICATES = [
  ['an array of two RateLimit values (library API)',
    { ratelimit: ['limit=10, remaining=3', 'limit=99, remaining=98'] },
    { limit: null, remaining: null, resetSeconds: null }, [LIMIT_CONFLICT, REMAINING_CONFLICT]],
  ['two RateLimit lines joined with ", " (undici and http/client.ts)',
    { ratelimit: 'limit=10, remaining=3, limit=99, remaining=98' },
    { limit: null, remaining: null, resetSeconds: null }, [LIMIT_CONFLICT, REMAINING_CONFLICT]],
  ['two object keys that differ only in case',
    { RateLimit: 'limit=10, remaining=3', ratelimit: 'limit=99, remaining=98' },
    { limit: null, remaining: null, resetSeconds: null }, [LIMIT_CONFLICT, REMAINING_CONFLICT]],
  ['only remaining differs: limit and reset are kept',
    { ratelimit: ['limit=10, remaining=3, reset=5', 'limit=10, remaining=2, reset=5'] },
    { limit: 10, remaining: null, resetSeconds: 5 }, [REMAINING_CONFLICT]],
  ['whitespace-only differences are the same value',
    { ratelimit: ['limit=10, remaining=3;w=60', 'limit=10,remaining=3; w=60'] },
    { limit: 10, remaining: 3, resetSeconds: null }, []],
];

for (const [what, headers, expected, warnings] of DRAFT7_DUPLICATES) {
  test(`item 6: RateLimit (draft -07), ${what}`, () => {
    const info = parseRateLimitHeaders(headers, { receivedAt: T0 });
    const policy = info.policies.find((p) => p.dialect === 'ietf-draft-7');
    assert.ok(policy, `no draft -07 policy in ${JSON.stringify(info.policies)}`);
    assert.deepEqual(
      { limit: policy.limit, remaining: policy.remaining, resetSeconds: policy.resetSeconds },
      expected,
      `policy ${JSON.stringify(policy)}, warnings ${JSON.stringify(info.warnings)}`,
    );
    for (const warning of warnings) {
      assert.ok(info.warnings.some((w) => warning.test(w)), `no warning matching ${warning} in ${JSON.stringify(info.warnings)}`);
    }
    if (warnings.length === 0) assert.deepEqual(info.warnings, []);
  });
}

test('item 6: an identical repeated RateLimit header is not a conflict (array and joined)', () => {
  for (const headers of [
    { ratelimit: ['limit=10, remaining=3', 'limit=10, remaining=3'] },
    { ratelimit: 'limit=10, remaining=3, limit=10, remaining=3' },
  ]) {
    const info = parseRateLimitHeaders(headers, { receivedAt: T0 });
    const policy = info.policies.find((p) => p.dialect === 'ietf-draft-7');
    assert.ok(policy, `no draft -07 policy for ${JSON.stringify(headers)}`);
    assert.equal(policy.limit, 10);
    assert.equal(policy.remaining, 3);
    assert.deepEqual(info.warnings, []);
  }
});

// [what, headers, warning that must appear]
/** @type {Array<[string, Record<string, string>, RegExp]>} */
const ABOVE_LIMIT = [
  ['draft -07', { ratelimit: 'limit=10, remaining=30' }, /^ratelimit: policy "default" reports remaining 30, above its limit 10/],
  ['draft -06', { 'ratelimit-limit': '10', 'ratelimit-remaining': '11' }, /^ratelimit-limit, ratelimit-remaining: policy "default" reports remaining 11, above its limit 10/],
  ['draft -08', { ratelimit: '"day";r=6', 'ratelimit-policy': '"day";q=5' }, /^ratelimit, ratelimit-policy: policy "day" reports remaining 6, above its limit 5/],
  ['x-ratelimit', { 'x-ratelimit-limit': '60', 'x-ratelimit-remaining': '61' }, /policy "default" reports remaining 61, above its limit 60/],
  ['openai', { 'x-ratelimit-limit-requests': '60', 'x-ratelimit-remaining-requests': '99' }, /policy "requests" reports remaining 99, above its limit 60/],
  ['chutes daily quota', { 'x-chutes-quota-total': '200', 'x-chutes-quota-remaining': '201' }, /policy "daily-quota" reports remaining 201, above its limit 200/],
];

for (const [what, headers, warning] of ABOVE_LIMIT) {
  test(`item 6: remaining above the limit is a warning (${what})`, () => {
    const info = parseRateLimitHeaders(headers, { receivedAt: T0 });
    assert.ok(info.warnings.some((w) => warning.test(w)), `no warning matching ${warning} in ${JSON.stringify(info.warnings)}`);
  });
}

test('item 6: remaining equal to the limit is not a warning', () => {
  const info = parseRateLimitHeaders({ ratelimit: 'limit=10, remaining=10' }, { receivedAt: T0 });
  assert.deepEqual(info.warnings, []);
});

/** The verdict for one response, as the CLI builds it: parse, then classify. */
function verdictFor(status, headers) {
  const rateLimit = parseRateLimitHeaders(headers, { receivedAt: T0 });
  const flat = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), [v].flat().join(', ')]));
  return classifyResponse(
    { status, headers: { 'content-type': 'application/json', ...flat }, body: '{"error":{"message":"slow down"}}', error: null, rateLimit },
    { auth: 'bearer', url: new URL('https://api.example.com/v1/chat/completions'), hasKey: true },
  );
}

const ROOM_LEFT = /\b\d+ (of \d+ )?\w+ left\b/;

// A 429 whose headers claim room: conflicting duplicates, a stale header, a policy for another limit.
const REFUSALS_WITH_ROOM = [
  ['the review\'s conflicting duplicates', { ratelimit: ['limit=10, remaining=3', 'limit=99, remaining=98'] }],
  ['one RateLimit claiming 98 of 99 left', { ratelimit: 'limit=99, remaining=98' }],
  ['x-ratelimit claiming 5 of 60 left, with Retry-After', { 'x-ratelimit-limit': '60', 'x-ratelimit-remaining': '5', 'retry-after': '7' }],
  ['remaining with no limit', { 'x-ratelimit-remaining': '12' }],
];

for (const [what, headers] of REFUSALS_WITH_ROOM) {
  test(`item 6: a 429 verdict never says there is room left (${what})`, () => {
    const { outcome, verdict } = verdictFor(429, headers);
    assert.equal(outcome, 'rate_limited');
    assert.ok(verdict, 'a verdict');
    assert.doesNotMatch(verdict.message, ROOM_LEFT, `the 429 verdict says there is room: ${verdict.message}`);
    assert.match(verdict.message, /^429 Too Many Requests/);
  });
}

test('item 6: a 429 with an exhausted policy still names it', () => {
  const { verdict } = verdictFor(429, { 'x-ratelimit-limit': '60', 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': '20' });
  assert.ok(verdict, 'a verdict');
  assert.equal(verdict.code, 'rate-limited-with-headers');
  assert.match(verdict.message, /policy "default" \(x-ratelimit\) has 0 of 60 requests left; it resets in 20s/);
});

describe('item 6: end to end, two RateLimit lines on a 429 from a loopback server', () => {
  test('headers --json: the verdict does not read "98 of 99 left" and the conflict is a warning', async () => {
    const server = await rawResponse(429, ['RateLimit: limit=10, remaining=3', 'RateLimit: limit=99, remaining=98']);
    const env = { CHUTES_API_KEY: FAKE_KEY };
    const json = await runCli(['headers', '--base-url', server.url, '--json'], { env });
    assert.equal(json.code, 3, json.stderr);
    const doc = JSON.parse(json.stdout);
    const record = doc.results?.[0];
    assert.ok(record?.verdict, `no verdict in ${json.stdout}`);
    assert.equal(record.outcome, 'rate_limited');
    assert.doesNotMatch(record.verdict.message, ROOM_LEFT, `the 429 verdict says there is room: ${record.verdict.message}`);
    assert.ok(
      doc.warnings?.some((w) => /ratelimit: remaining: conflicting duplicate values/.test(w)),
      `no conflict warning in ${JSON.stringify(doc.warnings)}`,
    );

    const human = await runCli(['headers', '--base-url', server.url], { env });
    assert.equal(human.code, 3, human.stderr);
    assert.match(human.stdout, /! ratelimit: limit: conflicting duplicate values/);
    assert.doesNotMatch(human.stdout, /98 of 99/);
  });
});
