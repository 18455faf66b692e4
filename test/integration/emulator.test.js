// The emulator over real loopback sockets. Limiter time is an injected clock, so header values are exact
// and no test waits for a window; only the concurrency and close() tests use real (short) delays.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startEmulator } from '../../dist/emulator/server.js';
import { clockedEmulatorPool } from '../helpers/cli.js';

const KEY = 'cpk_0123456789abcdef0123456789abcdef.0123456789abcdef0123456789abcdef.ABCDEFGHIJKLMNOPQRSTUVWXYZabcdef';
const BEARER = { authorization: `Bearer ${KEY}` };
const CHAT_BODY = JSON.stringify({ model: 'unsloth/gemma-3-4b-it', messages: [{ role: 'user', content: 'hi' }], max_tokens: 1 });
// 12:00:01 UTC: one second into a 60 s fixed window (windows are aligned to the epoch).
const NOON = Date.UTC(2026, 0, 15, 12, 0, 1);
const NEXT_MIDNIGHT = '2026-01-16T00:00:00.000Z';
const EDGE_429_HTML =
  '<html>\r\n<head><title>429 Too Many Requests</title></head>\r\n<body>\r\n<center><h1>429 Too Many Requests</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n';
const RATE_HEADER = /^(x-ratelimit|ratelimit|anthropic-ratelimit|x-chutes-rl|retry-after)/;

/** Emulators on a settable clock (`clock.now`), closed after the file's tests. */
const start = clockedEmulatorPool(NOON);

/**
 * @param {string} base
 * @param {string} path
 * @param {{ method?: string, headers?: Record<string, string>, body?: string }} [options]
 */
async function call(base, path, { method = 'POST', headers = BEARER, body = method === 'POST' ? CHAT_BODY : undefined } = {}) {
  const response = await fetch(base + path, {
    method,
    headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
    body,
  });
  const text = await response.text();
  return { status: response.status, headers: Object.fromEntries(response.headers), text, json: parseJson(text) };
}

function parseJson(text) {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

const chat = (emulator, options) => call(emulator.url, '/v1/chat/completions', options);

function rateHeadersOf(headers) {
  return Object.fromEntries(Object.entries(headers).filter(([name]) => RATE_HEADER.test(name)));
}

function xChutesHeadersOf(headers) {
  return Object.keys(headers).filter((name) => name.startsWith('x-chutes-'));
}

describe('inference listener: auth as Chutes reads it', () => {
  it('serves GET /v1/models without any auth', async () => {
    const { emulator } = await start();
    const res = await call(emulator.url, '/v1/models', { method: 'GET', headers: {} });
    assert.equal(res.status, 200);
    assert.equal(res.json.object, 'list');
    assert.ok(res.json.data.length > 0 && res.json.data.every((model) => model.object === 'model'));
  });

  it('answers a request with no auth with the edge HTML 429, byte for byte', async () => {
    const { emulator } = await start({ headers: 'x-ratelimit' });
    const res = await chat(emulator, { headers: {} });
    assert.equal(res.status, 429);
    assert.equal(res.text, EDGE_429_HTML);
    assert.equal(res.headers['content-type'], 'text/html');
    assert.equal(res.headers.server, 'nginx');
    assert.equal(res.headers.via, '1.1 google');
    assert.deepEqual(xChutesHeadersOf(res.headers), []);
    assert.deepEqual(rateHeadersOf(res.headers), {});
  });

  it('ignores X-API-Key: same answer as no auth, and nothing is charged', async () => {
    const { emulator } = await start({ dailyQuota: 1 });
    const anonymous = await chat(emulator, { headers: {} });
    const apiKeyOnly = await chat(emulator, { headers: { 'x-api-key': KEY } });
    const withoutDate = (/** @type {Record<string, string>} */ { date: _date, ...rest }) => rest;
    assert.deepEqual(
      { status: apiKeyOnly.status, text: apiKeyOnly.text, headers: withoutDate(apiKeyOnly.headers) },
      { status: anonymous.status, text: anonymous.text, headers: withoutDate(anonymous.headers) },
    );
    assert.equal((await chat(emulator)).status, 200, 'the quota of 1 is still unspent');
  });

  for (const [label, headers, detail] of [
    ['an unknown token', { authorization: 'Bearer not-a-chutes-key' }, 'Invalid token or user not found'],
    ['a lone scheme word', { authorization: 'Bearer' }, 'Invalid token or user not found'],
    ['an empty Authorization', { authorization: '' }, 'Missing or invalid authorization header(s)'],
  ]) {
    it(`answers ${label} with 401`, async () => {
      const { emulator } = await start();
      const res = await chat(emulator, { headers });
      assert.equal(res.status, 401);
      assert.deepEqual(res.json, { detail });
    });
  }

  it('takes the last word of Authorization: Bearer, bare and cak_ tokens all work', async () => {
    const { emulator } = await start();
    for (const authorization of [`Bearer ${KEY}`, KEY, `Token  ${KEY}`, 'Bearer cak_oauth_token']) {
      assert.equal((await chat(emulator, { headers: { authorization } })).status, 200, authorization);
    }
  });

  it('accepts only the configured apiKey when one is set', async () => {
    const { emulator } = await start({ apiKey: KEY });
    assert.equal((await chat(emulator)).status, 200);
    assert.equal((await chat(emulator, { headers: { authorization: 'Bearer cpk_someone_else' } })).status, 401);
  });

  it('answers a body that is not a JSON object with 400', async () => {
    const { emulator } = await start();
    for (const body of ['{"model": ', '', '[1,2]']) {
      const res = await chat(emulator, { body });
      assert.equal(res.status, 400, JSON.stringify(body));
      assert.deepEqual(res.json, { detail: 'Invalid JSON body' });
    }
  });

  it('returns a chat completion with the Chutes success headers', async () => {
    const { emulator } = await start();
    const res = await chat(emulator);
    assert.equal(res.status, 200);
    assert.equal(res.json.object, 'chat.completion');
    assert.equal(res.json.model, 'unsloth/gemma-3-4b-it');
    assert.deepEqual(res.json.choices, [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'length' }]);
    assert.equal(typeof res.json.usage.total_tokens, 'number');
    assert.match(res.headers['x-chutes-invocationid'], /^[0-9a-f-]{36}$/);
    assert.equal(res.headers.server, 'nginx');
    assert.equal(res.headers.via, '1.1 google');
  });

  it('serves /v1/completions as a text completion', async () => {
    const { emulator } = await start();
    const res = await call(emulator.url, '/v1/completions', { body: JSON.stringify({ model: 'Qwen/Qwen3-32B-TEE', prompt: 'hi' }) });
    assert.equal(res.status, 200);
    assert.equal(res.json.object, 'text_completion');
    assert.equal(res.json.choices[0].text, 'ok');
  });

  it('answers unknown paths with 404 JSON on both listeners', async () => {
    const { emulator } = await start();
    for (const base of [emulator.url, emulator.apiUrl]) {
      const res = await call(base, '/nope', { method: 'GET' });
      assert.equal(res.status, 404);
      assert.equal(typeof res.json.detail, 'string');
    }
  });
});

describe('rate-limit header dialects (limit 2 per 60 s, clock 1 s into the window)', () => {
  const resetEpochSec = Date.UTC(2026, 0, 15, 12, 1, 0) / 1000;
  // [mode options, headers on the 1st success, headers on the 429 after two successes]
  const cases = [
    [
      { headers: 'chutes' },
      { 'x-chutes-rl-user': '2' },
      { 'x-chutes-rl-user': '2' }, // Chutes sends no Retry-After
    ],
    [
      { headers: 'x-ratelimit' },
      { 'x-ratelimit-limit': '2', 'x-ratelimit-remaining': '1', 'x-ratelimit-reset': '59' },
      { 'x-ratelimit-limit': '2', 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': '59', 'retry-after': '59' },
    ],
    [
      { headers: 'x-ratelimit', resetFormat: 'epoch' },
      { 'x-ratelimit-limit': '2', 'x-ratelimit-remaining': '1', 'x-ratelimit-reset': String(resetEpochSec) },
      { 'x-ratelimit-limit': '2', 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': String(resetEpochSec), 'retry-after': '59' },
    ],
    [
      { headers: 'x-ratelimit', resetFormat: 'epoch-ms' },
      { 'x-ratelimit-limit': '2', 'x-ratelimit-remaining': '1', 'x-ratelimit-reset': String(resetEpochSec * 1000) },
      {
        'x-ratelimit-limit': '2',
        'x-ratelimit-remaining': '0',
        'x-ratelimit-reset': String(resetEpochSec * 1000),
        'retry-after': '59',
      },
    ],
    [
      { headers: 'ietf' },
      { 'ratelimit-policy': '"default";q=2;w=60', ratelimit: '"default";r=1;t=59' },
      { 'ratelimit-policy': '"default";q=2;w=60', ratelimit: '"default";r=0;t=59', 'retry-after': '59' },
    ],
    [
      { headers: 'openai' },
      { 'x-ratelimit-limit-requests': '2', 'x-ratelimit-remaining-requests': '1', 'x-ratelimit-reset-requests': '59s' },
      {
        'x-ratelimit-limit-requests': '2',
        'x-ratelimit-remaining-requests': '0',
        'x-ratelimit-reset-requests': '59s',
        'retry-after': '59',
      },
    ],
    [
      { headers: 'anthropic' },
      {
        'anthropic-ratelimit-requests-limit': '2',
        'anthropic-ratelimit-requests-remaining': '1',
        'anthropic-ratelimit-requests-reset': '2026-01-15T12:01:00Z',
      },
      {
        'anthropic-ratelimit-requests-limit': '2',
        'anthropic-ratelimit-requests-remaining': '0',
        'anthropic-ratelimit-requests-reset': '2026-01-15T12:01:00Z',
        'retry-after': '59',
      },
    ],
    [{ headers: 'none' }, {}, {}],
    [{ headers: 'chutes', retryAfter: true }, { 'x-chutes-rl-user': '2' }, { 'x-chutes-rl-user': '2', 'retry-after': '59' }],
    [
      { headers: 'x-ratelimit', retryAfter: false },
      { 'x-ratelimit-limit': '2', 'x-ratelimit-remaining': '1', 'x-ratelimit-reset': '59' },
      { 'x-ratelimit-limit': '2', 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': '59' },
    ],
  ];

  for (const [options, onSuccess, onLimited] of cases) {
    it(`${JSON.stringify(options)}`, async () => {
      const { emulator } = await start({ limit: 2, windowMs: 60_000, ...options });
      const first = await chat(emulator);
      await chat(emulator);
      const limited = await chat(emulator);
      assert.equal(first.status, 200);
      assert.deepEqual(rateHeadersOf(first.headers), onSuccess);
      assert.equal(limited.status, 429);
      assert.deepEqual(limited.json, { detail: 'Too many requests' });
      assert.deepEqual(rateHeadersOf(limited.headers), onLimited);
      assert.equal(limited.headers['x-chutes-quota-total'], undefined, 'quota headers only on success');
    });
  }

  it('openai mode writes a Go duration for a 6 minute window', async () => {
    const { emulator, clock } = await start({ headers: 'openai', limit: 5, windowMs: 360_000 });
    clock.now = Date.UTC(2026, 0, 15, 12, 0, 0); // a multiple of 6 min: a window starts here
    assert.equal((await chat(emulator)).headers['x-ratelimit-reset-requests'], '6m0s');
  });

  it('chutes mode sends the daily quota headers on success only', async () => {
    const { emulator } = await start({ dailyQuota: 200, quotaUsed: 7 });
    const res = await chat(emulator);
    assert.deepEqual(
      Object.fromEntries(Object.entries(res.headers).filter(([name]) => name.startsWith('x-chutes-quota'))),
      { 'x-chutes-quota-total': '200', 'x-chutes-quota-used': '8', 'x-chutes-quota-remaining': '192' },
    );
  });

  it('chutes mode omits quota headers when the quota is unlimited', async () => {
    const { emulator } = await start({ dailyQuota: null });
    const res = await chat(emulator);
    assert.deepEqual(xChutesHeadersOf(res.headers).sort(), ['x-chutes-invocationid', 'x-chutes-rl-user']);
  });

  for (const limit of [0, Infinity]) {
    it(`limit ${limit} means no rate limit (chutes says inf, x-ratelimit says nothing)`, async () => {
      const chutes = (await start({ limit })).emulator;
      const statuses = [];
      for (let i = 0; i < 15; i += 1) statuses.push((await chat(chutes)).status);
      assert.deepEqual(new Set(statuses), new Set([200]));
      assert.equal((await chat(chutes)).headers['x-chutes-rl-user'], 'inf');
      const xRate = (await start({ limit, headers: 'x-ratelimit' })).emulator;
      assert.deepEqual(rateHeadersOf((await chat(xRate)).headers), {});
    });
  }
});

describe('rate limiting on the injected clock', () => {
  it('opens again when the fixed window rolls over', async () => {
    const { emulator, clock } = await start({ limit: 1, windowMs: 2000, headers: 'x-ratelimit' });
    clock.now = Date.UTC(2026, 0, 15, 12, 0, 0, 500);
    assert.equal((await chat(emulator)).status, 200);
    const limited = await chat(emulator);
    assert.equal(limited.status, 429);
    assert.equal(limited.headers['retry-after'], '2'); // 1500 ms, rounded up
    clock.now += 1500;
    assert.equal((await chat(emulator)).status, 200);
  });

  it('refills a token bucket continuously', async () => {
    const { emulator, clock } = await start({ algorithm: 'token-bucket', limit: 10, windowMs: 5000, burst: 2, headers: 'x-ratelimit' });
    const statuses = [];
    for (let i = 0; i < 3; i += 1) statuses.push((await chat(emulator)).status);
    assert.deepEqual(statuses, [200, 200, 429]);
    clock.now += 500; // one token per 500 ms
    assert.equal((await chat(emulator)).status, 200);
    assert.equal((await chat(emulator)).status, 429);
  });

  it('keeps separate limits per key', async () => {
    const { emulator } = await start({ limit: 1 });
    assert.equal((await chat(emulator)).status, 200);
    assert.equal((await chat(emulator)).status, 429);
    assert.equal((await chat(emulator, { headers: { authorization: 'Bearer cpk_second_key' } })).status, 200);
  });
});

describe('daily quota (402, not 429)', () => {
  it('answers 402 with the reset timestamp when the quota is already used up', async () => {
    const { emulator } = await start({ dailyQuota: 5, quotaUsed: 5 });
    const res = await chat(emulator);
    assert.equal(res.status, 402);
    assert.match(res.json.detail.message, /^Quota exceeded and account balance is \$0\.0, please pay with fiat or send tao to /);
    assert.equal(res.json.detail.quota_reset_timestamp, NEXT_MIDNIGHT);
  });

  it('counts accepted requests only, and resets at 00:00 UTC', async () => {
    const { emulator, clock } = await start({ dailyQuota: 2, limit: 2, windowMs: 60_000 });
    const statuses = [];
    for (let i = 0; i < 3; i += 1) statuses.push((await chat(emulator)).status);
    assert.deepEqual(statuses, [200, 200, 402]);
    const usage = await call(emulator.apiUrl, '/users/me/quota_usage/me', { method: 'GET' });
    assert.deepEqual(usage.json, { quota: 2, used: 2 });
    clock.now = Date.parse(NEXT_MIDNIGHT);
    assert.equal((await chat(emulator)).status, 200);
  });

  it('does not spend quota on rate-limited requests', async () => {
    const { emulator } = await start({ dailyQuota: 10, limit: 1 });
    await chat(emulator);
    await chat(emulator);
    await chat(emulator);
    const usage = await call(emulator.apiUrl, '/users/me/quota_usage/me', { method: 'GET' });
    assert.deepEqual(usage.json, { quota: 10, used: 1 });
  });

  it('answers 402 when a subscription cap is reached', async () => {
    const { emulator } = await start({
      subscription: { monthlyPrice: 10, monthly: { usage: 3, cap: 50 }, fourHour: { usage: 5, cap: 5 } },
    });
    const res = await chat(emulator);
    assert.equal(res.status, 402);
    assert.deepEqual(res.json, { detail: 'Subscription usage cap exceeded. Please add balance to continue.' });
  });
});

describe('faults', () => {
  /** @type {Array<[string, number, string, RegExp]>} */
  const cases = [
    ['capacity', 429, 'application/json', /^Infrastructure is at maximum capacity, try again later$/],
    ['no-instances', 503, 'application/json', /^No instances available \(yet\) for chute_id=[0-9a-f-]{36}$/],
    ['disabled', 503, 'application/json', /^This chute is currently disabled\.$/],
    ['no-infrastructure', 500, 'application/json', /^No infrastructure available to serve request$/],
    ['free-limit', 429, 'application/json', /^Free models limit reached for today - /],
    ['spam', 429, 'application/json', /^Stop spamming this prompt, please\.\.\.$/],
    ['edge-403', 403, 'text/html', /<b>403\.<\/b> <ins>That\u2019s an error/],
    ['gateway-timeout', 504, 'text/html', /<title>504 Gateway Time-out<\/title>/],
  ];
  for (const [fault, status, type, pattern] of cases) {
    it(`${fault} → ${status} ${type}`, async () => {
      const { emulator } = await start({ fault, headers: 'x-ratelimit' });
      const res = await chat(emulator);
      assert.equal(res.status, status);
      assert.equal(res.headers['content-type'], type);
      assert.equal(res.headers.via, '1.1 google');
      assert.match(type === 'text/html' ? res.text : res.json.detail, pattern);
      assert.deepEqual(rateHeadersOf(res.headers), {}, 'a fault is not the account limiter');
    });
  }

  it('still answers anonymous requests at the edge first', async () => {
    const { emulator } = await start({ fault: 'capacity' });
    assert.equal((await chat(emulator, { headers: {} })).text, EDGE_429_HTML);
  });
});

describe('concurrency gate (real time: latency 3 s, 10x what three requests take to arrive on a busy machine)', () => {
  it('rejects requests beyond the in-flight limit with the same 429 body, and frees the slot after the response', async () => {
    const { emulator } = await start({ concurrencyLimit: 1, latencyMs: 3000, limit: 100, headers: 'x-ratelimit' });
    const results = await Promise.all([chat(emulator), chat(emulator), chat(emulator)]);
    const byStatus = results.map((r) => r.status).sort();
    assert.deepEqual(byStatus, [200, 429, 429]);
    for (const limited of results.filter((r) => r.status === 429)) {
      assert.deepEqual(limited.json, { detail: 'Too many requests' });
      // The rate limiter still has room: that is how a client tells the two 429s apart here.
      assert.equal(limited.headers['x-ratelimit-remaining'], '99');
      assert.equal(limited.headers['retry-after'], undefined);
    }
    assert.equal((await chat(emulator)).status, 200, 'the slot was released');
    assert.ok(emulator.stats().maxInFlight >= 2);
  });
});

describe('management listener', () => {
  it('answers inference with 404 "No matching chute found!"', async () => {
    const { emulator } = await start();
    const res = await chat({ url: emulator.apiUrl });
    assert.equal(res.status, 404);
    assert.deepEqual(res.json, { detail: 'No matching chute found!' });
  });

  for (const [label, headers, detail] of /** @type {Array<[string, Record<string, string>, string]>} */ ([
    ['X-API-Key only', { 'x-api-key': KEY }, "Can't find a user with that api key in our db :("],
    ['an invalid token', { authorization: 'Bearer nope' }, 'Invalid token or user not found'],
    ['no auth', {}, 'Missing or invalid authorization header(s)'],
  ])) {
    it(`answers ${label} with 401`, async () => {
      const { emulator } = await start();
      const res = await call(emulator.apiUrl, '/users/me', { method: 'GET', headers });
      assert.equal(res.status, 401);
      assert.deepEqual(res.json, { detail });
    });
  }

  it('GET /users/me', async () => {
    const { emulator } = await start();
    const res = await call(emulator.apiUrl, '/users/me', { method: 'GET' });
    assert.equal(res.status, 200);
    assert.match(res.json.user_id, /^[0-9a-f-]{36}$/);
    assert.equal(res.json.username, 'emulator');
    assert.equal(res.json.balance, 0);
  });

  const quotaCases = [
    [{}, 200, { '*': 200 }],
    [{ dailyQuota: 2000 }, 200, { '*': 2000 }],
    [{ quotasEndpoint: 'list', dailyQuota: 300 }, 200, [{ chute_id: '*', quota: 300, is_default: true }]],
    [{ quotasEndpoint: 'missing' }, 404, null],
    [{ dailyQuota: null }, 200, {}],
  ];
  for (const [options, status, expected] of quotaCases) {
    it(`GET /users/me/quotas with ${JSON.stringify(options)}`, async () => {
      const { emulator } = await start(options);
      const res = await call(emulator.apiUrl, '/users/me/quotas', { method: 'GET' });
      assert.equal(res.status, status);
      if (Array.isArray(expected)) {
        const { user_id: userId, ...row } = res.json[0];
        assert.match(userId, /^[0-9a-f-]{36}$/);
        assert.deepEqual({ chute_id: row.chute_id, quota: row.quota, is_default: row.is_default }, expected[0]);
      } else if (expected !== null) {
        assert.deepEqual(res.json, expected);
      }
    });
  }

  for (const [options, expected] of [
    [{ dailyQuota: 200, quotaUsed: 42 }, { quota: 200, used: 42 }],
    [{ dailyQuota: null }, { quota: 'unlimited', used: 0 }],
  ]) {
    it(`GET /users/me/quota_usage/me with ${JSON.stringify(options)}`, async () => {
      const { emulator } = await start(options);
      const res = await call(emulator.apiUrl, '/users/me/quota_usage/me', { method: 'GET' });
      assert.deepEqual(res.json, expected);
    });
  }

  it('shares the account with the inference listener', async () => {
    const { emulator } = await start({ dailyQuota: 100 });
    await chat(emulator);
    await chat(emulator);
    const res = await call(emulator.apiUrl, '/users/me/quota_usage/me', { method: 'GET' });
    assert.deepEqual(res.json, { quota: 100, used: 2 });
  });

  it('GET /users/me/subscription_usage without and with a subscription', async () => {
    const none = (await start()).emulator;
    assert.deepEqual((await call(none.apiUrl, '/users/me/subscription_usage', { method: 'GET' })).json, { subscription: false });
    const subscribed = (
      await start({ subscription: { monthlyPrice: 20, monthly: { usage: 5.5, cap: 100 }, fourHour: { usage: 1, cap: 10 } } })
    ).emulator;
    // The 2026 shape (chutes-facts.md, Plans): reset_at per cap, the monthly period from the anchor date.
    const monthStart = new Date(Date.UTC(new Date(NOON).getUTCFullYear(), new Date(NOON).getUTCMonth(), 1)).toISOString();
    const nextMonth = new Date(Date.UTC(new Date(NOON).getUTCFullYear(), new Date(NOON).getUTCMonth() + 1, 1)).toISOString();
    assert.deepEqual((await call(subscribed.apiUrl, '/users/me/subscription_usage', { method: 'GET' })).json, {
      subscription: true,
      custom: false,
      monthly_price: 20,
      anchor_date: monthStart,
      effective_date: monthStart,
      updated_at: monthStart,
      monthly: { usage: 5.5, cap: 100, remaining: 94.5, reset_at: nextMonth },
      four_hour: { usage: 1, cap: 10, remaining: 9, reset_at: '2026-01-15T16:00:00.000Z' }, // the next fixed UTC 4-hour bucket
    });
  });
});

describe('bookkeeping and robustness', () => {
  it('records every arrival with its listener, path and status, and counts by status', async () => {
    const { emulator } = await start({ limit: 1 });
    await chat(emulator);
    await chat(emulator);
    await call(emulator.apiUrl, '/users/me', { method: 'GET' });
    assert.deepEqual(
      emulator.arrivals.map(({ listener, path, status }) => [listener, path, status]),
      [
        ['llm', '/v1/chat/completions', 200],
        ['llm', '/v1/chat/completions', 429],
        ['api', '/users/me', 200],
      ],
    );
    const [first, second] = emulator.arrivals;
    assert.ok(second.t >= first.t && typeof first.wall === 'number');
    assert.deepEqual(emulator.stats(), { requests: 3, byStatus: { 200: 2, 429: 1 }, maxInFlight: 1 });
  });

  it('keeps only the latest maxArrivals arrivals (a long-running mock stays bounded) but counts them all', async () => {
    const { emulator } = await start({ limit: 0, maxArrivals: 5 });
    for (let i = 0; i < 12; i++) await chat(emulator);
    assert.ok(emulator.arrivals.length <= 5 && emulator.arrivals.length >= 4, `${emulator.arrivals.length} kept`);
    assert.equal(emulator.stats().requests, 12);
  });

  it('rejects an oversized body and keeps serving', async () => {
    const { emulator } = await start();
    const res = await chat(emulator, { body: `{"x":"${'a'.repeat(2 * 1024 * 1024)}"}` });
    assert.equal(res.status, 413);
    assert.equal((await chat(emulator)).status, 200);
  });

  it('rejects bad options', async () => {
    /** @type {any[]} deliberately invalid options */
    const bad = [
      { limit: -1 },
      { limit: 1.5 },
      { windowMs: 0 },
      { burst: 0 },
      { concurrencyLimit: -2 },
      { dailyQuota: -1 },
      { latencyMs: Number.NaN },
      { headers: 'x-rate' },
      { fault: 'boom' },
      { algorithm: 'leaky' },
    ];
    for (const options of bad) {
      await assert.rejects(startEmulator(options), RangeError, JSON.stringify(options));
    }
  });

  it('close() ends promptly even with a request in flight', async () => {
    const emulator = await startEmulator({ latencyMs: 10_000 });
    const pending = chat(emulator).then(
      (res) => res.status,
      (error) => error.name,
    );
    while (emulator.arrivals.length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    await emulator.close();
    // Told apart by what the client got, not by the clock: a close that waited would have let the
    // 10-s answer through (200); a prompt one cuts the connection, so the request fails.
    const outcome = await pending;
    assert.notEqual(outcome, 200, 'close() waited for the answer in flight');
    assert.equal(typeof outcome, 'string', `the request in flight failed (got ${outcome})`);
    await assert.rejects(fetch(`${emulator.url}/v1/models`));
  });
});
