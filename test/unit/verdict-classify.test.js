// classifyResponse, one row per verdict: every row of chutes-facts.md "Error shapes" and every
// generic case. Each row asserts the code and outcome and that message and hint are non-empty.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { classifyResponse } from '../../dist/verdict/classify.js';
import { FALLBACK_RULE, VERDICT_RULES } from '../../dist/verdict/rules.js';

const LLM = 'https://llm.chutes.ai/v1/chat/completions';
const API = 'https://api.chutes.ai/v1/chat/completions';
const OTHER = 'https://api.example.com/v1/chat/completions';

const NGINX_429 =
  '<html>\r\n<head><title>429 Too Many Requests</title></head>\r\n<body>\r\n' +
  '<center><h1>429 Too Many Requests</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>';
const NGINX_504 =
  '<html>\r\n<head><title>504 Gateway Time-out</title></head>\r\n<body>\r\n' +
  '<center><h1>504 Gateway Time-out</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>';
const GOOGLE_403 =
  '<!DOCTYPE html>\n<html lang=en>\n  <meta charset=utf-8>\n  <title>Error 403 (Forbidden)!!1</title>\n' +
  '  <p><b>403.</b> <ins>That\u2019s an error.</ins>\n' +
  '  <p>Your client does not have permission to get URL <code>/v1/chat/completions</code> from this server.';

const HTML = { 'content-type': 'text/html', server: 'nginx', via: '1.1 google' };
const JSON_CT = { 'content-type': 'application/json', server: 'nginx', via: '1.1 google' };
const CHUTES = { ...JSON_CT, 'x-chutes-invocationid': 'a1b2c3d4-0000-4000-8000-000000000000' };

const detail = (d) => JSON.stringify({ detail: d });
const noLimits = () => ({ policies: [], retryAfterSeconds: null, warnings: [] });
const policy = (over) => ({
  name: 'requests', unit: 'requests', limit: 60, remaining: 59, resetSeconds: 20,
  windowSeconds: 60, dialect: 'x-ratelimit', sources: ['x-ratelimit-remaining'], ...over,
});
const limits = (policies, retryAfterSeconds = null) => ({ policies, retryAfterSeconds, warnings: [] });

/**
 * @typedef {Partial<import('../../dist/verdict/classify.js').ClassifyInput>
 *   & { auth?: import('../../dist/types.js').AuthScheme, url?: string, hasKey?: boolean }} Row
 */

/**
 * One response and the client context; defaults: Bearer key to llm.chutes.ai.
 * @param {Row} row
 */
function run(row) {
  return classifyResponse(
    {
      status: row.status ?? null,
      headers: row.headers ?? {},
      body: row.body ?? null,
      error: row.error ?? null,
      rateLimit: row.rateLimit ?? noLimits(),
    },
    { auth: row.auth ?? 'bearer', url: new URL(row.url ?? LLM), hasKey: row.hasKey ?? row.auth !== 'none' },
  );
}

// [code, outcome, row, text the message (or hint) must contain]
/** @type {Array<[string, string, Row, RegExp]>} */
const VERDICTS = [
  // chutes-facts.md, "Error shapes and what they mean"
  ['anonymous-edge-limit', 'rate_limited', { status: 429, headers: HTML, body: NGINX_429, auth: 'none' }, /never reached Chutes/],
  ['x-api-key-ignored', 'rate_limited', { status: 429, headers: HTML, body: NGINX_429, auth: 'x-api-key' }, /ignores X-API-Key/],
  // An authenticated request refused by the edge's bare page (no Retry-After): Chutes' escalating ban (#14).
  ['edge-ban', 'rate_limited', { status: 429, headers: HTML, body: NGINX_429, auth: 'bearer' }, /every refused request lengthens the ban \(up to a day\)/],
  // An edge page that says when it resets is an edge limit, not the bare ban shape.
  ['edge-rate-limit', 'rate_limited', { status: 429, headers: { ...HTML, 'retry-after': '20' }, body: NGINX_429, auth: 'bearer', rateLimit: limits([], 20) }, /before Chutes saw/],
  ['account-rate-limit', 'rate_limited', { status: 429, headers: CHUTES, body: detail('Too many requests') }, /per-user/],
  ['capacity-at-maximum', 'capacity', { status: 429, headers: CHUTES, body: detail('Infrastructure is at maximum capacity, try again later') }, /not your quota/],
  ['free-model-daily-cap', 'quota_exceeded',
    { status: 429, headers: CHUTES, body: detail('Free models limit reached for today - maintain >= $10 balance or upgrade subscription to pro to unlock more.') },
    /00:00 UTC/],
  ['identical-prompt-spam', 'rate_limited', { status: 429, headers: CHUTES, body: detail('Stop spamming this prompt, please...') }, /prompt/],
  ['daily-quota-exhausted', 'quota_exceeded',
    {
      status: 402, headers: CHUTES,
      body: detail({
        message: 'Quota exceeded and account balance is $0.0, please pay with fiat or send tao to 5FakeAddress',
        quota_reset_timestamp: '2026-05-02T00:00:00+00:00',
      }),
    },
    /2026-05-02T00:00:00\+00:00/],
  ['subscription-cap-exceeded', 'quota_exceeded', { status: 402, headers: CHUTES, body: detail('Subscription usage cap exceeded. Please add balance to continue.') }, /cap/],
  // the 2026 shapes (issue #14)
  ['openrouter-chutes-upstream-limit', 'rate_limited',
    { status: 429, headers: JSON_CT, url: 'https://openrouter.ai/api/v1/chat/completions',
      body: JSON.stringify({ error: { message: 'Provider returned error', code: 429, metadata: {
        raw: 'deepseek/deepseek-chat-v3-0324:free is temporarily rate-limited upstream. Please retry shortly.', provider_name: 'Chutes' } } }) },
    /not OpenRouter's limit/],
  ['model-under-maintenance', 'capacity', { status: 429, headers: CHUTES, body: detail('model is under maintenance') }, /another model/],
  ['tee-model-needs-balance', 'quota_exceeded', { status: 402, headers: CHUTES, body: detail('TEE models require an active subscription or positive balance.') }, /non-TEE model/],
  ['model-tier-required', 'quota_exceeded', { status: 402, headers: CHUTES, body: detail('This model requires a higher subscription tier or positive balance.') }, /higher subscription tier/],
  ['missing-api-key', 'auth_error', { status: 401, headers: JSON_CT, body: detail('Missing or invalid authorization header(s)'), auth: 'none' }, /no key was sent/],
  ['x-api-key-rejected', 'auth_error',
    { status: 401, headers: JSON_CT, body: detail("Can't find a user with that api key in our db :("), auth: 'x-api-key', url: 'https://api.chutes.ai/users/me' },
    /X-API-Key/],
  ['invalid-api-key', 'auth_error', { status: 401, headers: JSON_CT, body: detail('Invalid token or user not found') }, /Invalid token/],
  ['wrong-host', 'http_error', { status: 404, headers: JSON_CT, body: detail('No matching chute found!'), url: API }, /api\.chutes\.ai/],
  ['model-cold', 'http_error',
    { status: 503, headers: CHUTES, body: detail('No instances available (yet) for chute_id=0a1b2c3d-1111-5222-8333-444455556666') },
    /not a rate limit/],
  ['model-disabled', 'http_error', { status: 503, headers: CHUTES, body: detail('This chute is currently disabled.') }, /disabled/],
  ['model-not-found', 'http_error', { status: 404, headers: CHUTES, body: detail('model not found: unsloth/gemma-3-4b-it') }, /v1\/models/],
  ['no-infrastructure', 'http_error', { status: 500, headers: CHUTES, body: detail('No infrastructure available to serve request') }, /not your rate limit/],
  ['edge-blocked', 'http_error', { status: 403, headers: { 'content-type': 'text/html; charset=UTF-8', via: '1.1 google' }, body: GOOGLE_403 }, /via: 1\.1 google/],
  ['edge-timeout', 'http_error', { status: 504, headers: HTML, body: NGINX_504 }, /not a rate limit/],

  // generic HTTP
  ['ok', 'ok', { status: 200, headers: CHUTES, body: '{"choices":[]}', rateLimit: limits([policy({})]) }, /59 of 60 requests left/],
  ['ok-limit-exhausted', 'ok', { status: 200, headers: JSON_CT, body: '{"choices":[]}', rateLimit: limits([policy({ remaining: 0, resetSeconds: 12 })]) }, /12s/],
  ['rate-limited-with-headers', 'rate_limited',
    { status: 429, headers: JSON_CT, body: '{"error":{"message":"Rate limit reached"}}', url: OTHER,
      rateLimit: limits([policy({ name: 'tokens', unit: 'tokens', limit: 1000, remaining: 800 }), policy({ remaining: 0, resetSeconds: 20 })]) },
    /"requests".*0 of 60 requests left.*20s/],
  ['rate-limited-no-headers', 'rate_limited', { status: 429, headers: JSON_CT, body: '{"error":{"message":"Too many requests"}}', url: OTHER }, /no rate-limit headers/],
  ['payment-required', 'quota_exceeded', { status: 402, headers: CHUTES, body: detail('Account balance is $0.0, please send tao to 5FakeAddress') }, /Account balance/],
  ['unauthorized', 'auth_error', { status: 401, headers: JSON_CT, body: '{"error":{"message":"Incorrect API key provided"}}', url: OTHER }, /Incorrect API key/],
  ['forbidden', 'auth_error', { status: 403, headers: JSON_CT, body: '{"error":{"message":"Project does not have access to model"}}', url: OTHER }, /access to model/],
  ['not-found', 'http_error', { status: 404, headers: JSON_CT, body: detail('Not Found'), url: 'https://llm.chutes.ai/v1/chat/complete' }, /\/v1\/chat\/complete/],
  ['request-timeout', 'http_error', { status: 408, headers: {}, body: '' }, /408/],
  ['client-error', 'http_error', { status: 422, headers: JSON_CT, body: '{"detail":[{"loc":["body","model"],"msg":"Field required","type":"missing"}]}' }, /Field required/],
  ['service-unavailable', 'http_error', { status: 503, headers: { 'retry-after': '30' }, body: 'Service Unavailable', rateLimit: limits([], 30) }, /30s/],
  ['server-error', 'http_error', { status: 502, headers: CHUTES, body: detail('Bad gateway') }, /Bad gateway/],
  ['unexpected-status', 'http_error', { status: 304, headers: {}, body: null }, /304/],

  // network level
  ['timeout', 'timeout', { error: { code: 'timeout', message: 'no response from llm.chutes.ai within 30s' } }, /timeout/],
  ['dns-failure', 'network_error', { error: { code: 'dns', message: 'cannot resolve llm.chutes.ai (ENOTFOUND)' } }, /llm\.chutes\.ai/],
  ['connection-refused', 'network_error', { error: { code: 'connect_refused', message: 'connection refused by 127.0.0.1:9' }, url: 'http://127.0.0.1:9/v1/chat/completions' }, /refused/],
  ['tls-error', 'network_error', { error: { code: 'tls', message: 'TLS failure (SELF_SIGNED_CERT_IN_CHAIN)' } }, /NODE_EXTRA_CA_CERTS/],
  ['connection-reset', 'network_error', { error: { code: 'reset', message: 'connection reset' } }, /reset/],
  ['cross-origin-redirect', 'http_error', { status: 302, headers: { location: 'https://evil.example/' }, error: { code: 'redirect', message: 'redirect to https://evil.example/ not followed' } }, /key was not sent/],
  ['redirect-not-followed', 'http_error', { status: 301, headers: { location: '/v1/chat/completions/' }, error: { code: 'redirect_not_followed', message: 'redirected (HTTP 301) to /v1/chat/completions/; not followed' } }, /not followed/],
  ['request-aborted', 'network_error', { error: { code: 'aborted', message: 'request aborted by the user' } }, /aborted/],
  ['network-error', 'network_error', { error: { code: 'network', message: 'llm.chutes.ai is unreachable (ENETUNREACH)' } }, /ENETUNREACH/],
];

for (const [code, outcome, row, mentions] of VERDICTS) {
  test(`verdict ${code}`, () => {
    const { outcome: got, verdict } = run(row);
    assert.equal(verdict.code, code);
    assert.equal(got, outcome);
    assert.ok(verdict.message.length > 0, 'message is empty');
    assert.ok(verdict.hint.length > 0, 'hint is empty');
    assert.match(`${verdict.message}\n${verdict.hint}`, mentions);
    assert.doesNotMatch(`${verdict.message} ${verdict.hint}`, /undefined|null|NaN|\[object/);
  });
}

test('the verdict table has one row per code and covers every rule', () => {
  const codes = VERDICTS.map(([code]) => code);
  assert.equal(new Set(codes).size, codes.length, 'two rows share a code');
  const ruleCodes = [...VERDICT_RULES.map((r) => r.code), FALLBACK_RULE.code];
  assert.deepEqual([...codes].sort(), [...ruleCodes].sort());
});

// How tolerant the matching is, and the decisions between neighbouring rules.
/** @type {Array<[string, Row, string]>} */
const DETAILS = [
  ['edge 429 with no content-type is still recognised by its <title>', { status: 429, body: NGINX_429, auth: 'raw' }, 'edge-ban'],
  ['edge 429 to an authenticated request on any host is an edge ban (the emulator is on 127.0.0.1)', { status: 429, headers: HTML, body: NGINX_429, url: 'http://127.0.0.1:8787/v1/chat/completions' }, 'edge-ban'],
  ['edge 429 to an X-API-Key request keeps its own verdict, not edge-ban', { status: 429, headers: HTML, body: NGINX_429, auth: 'x-api-key' }, 'x-api-key-ignored'],
  ['edge 429 to a keyless request keeps its own verdict, not edge-ban', { status: 429, headers: HTML, body: NGINX_429, auth: 'none' }, 'anonymous-edge-limit'],
  ['edge 429 with --auth bearer but no key is anonymous, not a ban', { status: 429, headers: HTML, body: NGINX_429, auth: 'bearer', hasKey: false }, 'anonymous-edge-limit'],
  ['edge 429 with an X-API-Key header but no key is anonymous', { status: 429, headers: HTML, body: NGINX_429, auth: 'x-api-key', hasKey: false }, 'anonymous-edge-limit'],
  ['an HTML 429 carrying X-Chutes-* headers came from Chutes, not the edge', { status: 429, headers: { ...CHUTES, 'content-type': 'text/html' }, body: NGINX_429 }, 'rate-limited-no-headers'],
  ['detail as an object with message', { status: 401, headers: JSON_CT, body: detail({ message: 'Invalid token or user not found' }) }, 'invalid-api-key'],
  ['phrases match case-insensitively', { status: 429, body: detail('INFRASTRUCTURE IS AT MAXIMUM CAPACITY') }, 'capacity-at-maximum'],
  ['plain-text capacity body without JSON', { status: 429, body: 'Infrastructure is at maximum capacity, try again later' }, 'capacity-at-maximum'],
  ['a plain "Too many requests" text is a generic 429, not the account limit', { status: 429, body: 'Too many requests, please try again later.' }, 'rate-limited-no-headers'],
  ['account limit keeps its name when headers are present too', { status: 429, headers: CHUTES, body: detail('Too many requests'), rateLimit: limits([], 5) }, 'account-rate-limit'],
  ['402 timestamp survives a truncated body', { status: 402, body: '{"detail": {"message": "Quota exceeded", "quota_reset_timestamp": "2026-05-02T00:00:00Z", "x": "aaaa' }, 'daily-quota-exhausted'],
  ['"No matching chute found!" on the inference host means the model is unknown', { status: 404, headers: JSON_CT, body: detail('No matching chute found!') }, 'not-found'],
  ['Bearer key rejected on the api host with "Can\'t find a user"', { status: 401, body: detail("Can't find a user with that api key in our db :("), url: 'https://api.chutes.ai/users/me' }, 'invalid-api-key'],
  ['X-API-Key rejected by a non-Chutes server is a plain 401', { status: 401, headers: JSON_CT, body: '{"type":"error","error":{"type":"authentication_error","message":"invalid x-api-key"}}', auth: 'x-api-key', url: OTHER }, 'unauthorized'],
  ['a 403 JSON from Chutes is a permission error', { status: 403, headers: CHUTES, body: detail('Not authorized to use this chute') }, 'forbidden'],
  ['a 503 without Retry-After is a server error', { status: 503, headers: JSON_CT, body: detail('Service temporarily unavailable') }, 'server-error'],
  ['body timeout after a 200 is a timeout', { status: 200, error: { code: 'body_timeout', message: 'body stalled' } }, 'timeout'],
  ['no status and no error is a network error', {}, 'network-error'],
  ['a non-2xx with rate-limit headers and no 429 is not rate limited', { status: 500, rateLimit: limits([policy({ remaining: 0 })]) }, 'server-error'],
];

for (const [name, row, code] of DETAILS) {
  test(name, () => {
    const { verdict } = run(row);
    assert.equal(verdict.code, code);
  });
}

test('the edge-ban verdict says what to do, in the words of the issue (#14)', () => {
  const { outcome, verdict } = run({ status: 429, headers: HTML, body: NGINX_429, auth: 'raw' });
  assert.equal(verdict.code, 'edge-ban');
  assert.equal(outcome, 'rate_limited', 'exit 3');
  assert.match(verdict.message, /the edge refused this authenticated request: a temporary edge ban \(or the edge's per-minute limit\)/i);
  assert.match(verdict.hint, /stop all traffic from this key and address; every refused request lengthens the ban \(up to a day\); wait, then send one request/i);
});

test('Retry-After wins over the policy reset in the wait', () => {
  const { verdict } = run({ status: 429, rateLimit: limits([policy({ remaining: 0, resetSeconds: 50 })], 7) });
  assert.match(verdict.hint, /Wait 7s/);
});

test('with several exhausted policies the one that resets last is named', () => {
  const { verdict } = run({
    status: 429,
    rateLimit: limits([policy({ name: 'minute', remaining: 0, resetSeconds: 10 }), policy({ name: 'day', remaining: 0, resetSeconds: 3600 })]),
  });
  assert.match(verdict.message, /"day"/);
});

test('quoted server text never carries a key-shaped token', () => {
  const key = 'cpk_0123456789abcdef0123456789abcdef.0123456789abcdef0123456789abcdef.ABCDEFGHIJKLMNOPQRSTUVWXYZ012345';
  const { verdict } = run({ status: 401, url: OTHER, body: JSON.stringify({ error: { message: `Incorrect API key provided: ${key}` } }) });
  assert.equal(verdict.code, 'unauthorized');
  assert.ok(!verdict.message.includes(key.slice(5, 20)), verdict.message);
});

test('GET /v1/models on the inference host: a 200 proves nothing about the key', () => {
  const { verdict } = run({ status: 200, url: 'https://llm.chutes.ai/v1/models' });
  assert.equal(verdict.code, 'ok');
  assert.match(verdict.hint, /needs no key/);
});

test('commands in hints use the request origin, so they work against a local emulator too', () => {
  const { verdict } = run({ error: { code: 'reset', message: 'reset' }, url: 'http://127.0.0.1:8787/v1/chat/completions' });
  assert.match(verdict.hint, /curl -sv http:\/\/127\.0\.0\.1:8787\//);
});

test('network hints name the option that set the URL (--api-base-url for management lookups)', () => {
  const input = { status: null, headers: {}, body: null, error: { code: 'connect_refused', message: 'refused' }, rateLimit: { policies: [], retryAfterSeconds: null, warnings: [] } };
  /** @type {import('../../dist/verdict/classify.js').ClassifyContext} */
  const base = { auth: 'bearer', url: new URL('http://127.0.0.1:1/users/me'), hasKey: true };
  assert.match(classifyResponse(input, base).verdict.hint, /`--base-url`/);
  assert.match(classifyResponse(input, { ...base, urlOption: '--api-base-url' }).verdict.hint, /`--api-base-url`/);
});
