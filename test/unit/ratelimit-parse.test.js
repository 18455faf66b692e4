// parseRateLimitHeaders against every dialect of shared/ratelimit-dialects.md, with the
// real example values quoted there, plus Retry-After, clock skew and hostile values.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseRateLimitHeaders } from '../../dist/ratelimit/parse.js';

const T0 = Date.UTC(2026, 0, 1, 0, 0, 0); // Thu, 01 Jan 2026 00:00:00 GMT = 1767225600 s
const GITLAB_AT = Date.UTC(2021, 0, 5, 10, 55, 0); // five minutes before RateLimit-Reset 1609844400
const OPENROUTER_AT = 1743638400000 - 45_000;
const ANTHROPIC_AT = Date.UTC(2025, 7, 21, 12, 40, 0);
const SIX_PM = Date.UTC(2026, 0, 1, 18, 0, 0);

/** A full expected policy: unknowns default to null, unit to "requests". */
function P(fields) {
  return { unit: 'requests', limit: null, remaining: null, resetSeconds: null, windowSeconds: null, ...fields };
}

const X_SOURCES = ['x-ratelimit-limit', 'x-ratelimit-remaining', 'x-ratelimit-reset'];

const IETF_ROWS = [
  {
    name: 'draft-8, express-rate-limit output with a space after each ";"',
    headers: { ratelimit: '"100-in-1min"; r=99; t=60', 'ratelimit-policy': '"100-in-1min"; q=100; w=60; pk=:MTIzNDU2Nzg5MGFi:' },
    expect: {
      policies: [P({ name: '100-in-1min', limit: 100, remaining: 99, resetSeconds: 60, windowSeconds: 60, dialect: 'ietf-draft-8', sources: ['ratelimit', 'ratelimit-policy'] })],
    },
  },
  {
    name: 'draft-8 without spaces',
    headers: { 'ratelimit-policy': '"default";q=100;w=60', ratelimit: '"default";r=50;t=30' },
    expect: {
      policies: [P({ name: 'default', limit: 100, remaining: 50, resetSeconds: 30, windowSeconds: 60, dialect: 'ietf-draft-8', sources: ['ratelimit', 'ratelimit-policy'] })],
    },
  },
  {
    name: 'draft-8 with spaces before ";" and around "=" (normalised, then parsed)',
    headers: { ratelimit: '"default" ; r = 50 ; t = 30', 'ratelimit-policy': '"default" ;q=100; w=60' },
    expect: {
      policies: [P({ name: 'default', limit: 100, remaining: 50, resetSeconds: 30, windowSeconds: 60, dialect: 'ietf-draft-8', sources: ['ratelimit', 'ratelimit-policy'] })],
    },
  },
  {
    name: 'draft-8 spaces inside a quoted name are kept',
    headers: { ratelimit: '"per ; user" ; r=1', 'ratelimit-policy': '"per ; user";q=2' },
    expect: {
      policies: [P({ name: 'per ; user', limit: 2, remaining: 1, dialect: 'ietf-draft-8', sources: ['ratelimit', 'ratelimit-policy'] })],
    },
  },
  {
    name: 'Cloudflare: "default";r=50;t=30 with policy "burst";q=100;w=60 (different names stay apart)',
    headers: { ratelimit: '"default";r=50;t=30', 'ratelimit-policy': '"burst";q=100;w=60' },
    expect: {
      policies: [
        P({ name: 'burst', limit: 100, windowSeconds: 60, dialect: 'ietf-draft-8', sources: ['ratelimit-policy'] }),
        P({ name: 'default', remaining: 50, resetSeconds: 30, dialect: 'ietf-draft-8', sources: ['ratelimit'] }),
      ],
    },
  },
  {
    name: 'draft-8 multiple policies matched by name, qu becomes unit',
    headers: {
      'ratelimit-policy': '"hour";q=1000;w=3600, "bytes";q=1000000;qu="content-bytes";w=60, "conc";q=4;qu="concurrent-requests"',
      ratelimit: '"bytes";r=999000;t=12, "hour";r=998;t=1800.5',
    },
    expect: {
      policies: [
        P({ name: 'hour', limit: 1000, remaining: 998, resetSeconds: 1800.5, windowSeconds: 3600, dialect: 'ietf-draft-8', sources: ['ratelimit', 'ratelimit-policy'] }),
        P({ name: 'bytes', unit: 'content-bytes', limit: 1000000, remaining: 999000, resetSeconds: 12, windowSeconds: 60, dialect: 'ietf-draft-8', sources: ['ratelimit', 'ratelimit-policy'] }),
        P({ name: 'conc', unit: 'concurrent-requests', limit: 4, dialect: 'ietf-draft-8', sources: ['ratelimit-policy'] }),
      ],
    },
  },
  {
    name: 'draft-11 list split across two fields (joined with ", "); identical repeat is not a conflict',
    headers: { ratelimit: '"a";r=1;t=5, "b";r=2, "a";r=1;t=5', 'ratelimit-policy': '"a";q=10;w=10, "b";q=20;w=20' },
    expect: {
      policies: [
        P({ name: 'a', limit: 10, remaining: 1, resetSeconds: 5, windowSeconds: 10, dialect: 'ietf-draft-8', sources: ['ratelimit', 'ratelimit-policy'] }),
        P({ name: 'b', limit: 20, remaining: 2, windowSeconds: 20, dialect: 'ietf-draft-8', sources: ['ratelimit', 'ratelimit-policy'] }),
      ],
    },
  },
  {
    name: 'draft-8 with token names and a token qu, and a quota without a window',
    headers: { ratelimit: 'conc;r=3', 'ratelimit-policy': 'conc;q=4;qu=concurrent-requests' },
    expect: {
      policies: [P({ name: 'conc', unit: 'concurrent-requests', limit: 4, remaining: 3, dialect: 'ietf-draft-8', sources: ['ratelimit', 'ratelimit-policy'] })],
    },
  },
  {
    name: 'draft-6 quota without w is named by its number alone',
    headers: { 'ratelimit-policy': '10, 20;w=5' },
    expect: {
      policies: [
        P({ name: '10', limit: 10, dialect: 'ietf-draft-6', sources: ['ratelimit-policy'] }),
        P({ name: '20;w=5', limit: 20, windowSeconds: 5, dialect: 'ietf-draft-6', sources: ['ratelimit-policy'] }),
      ],
    },
  },
  {
    name: 'draft-7 dictionary with a -06 style policy',
    headers: { ratelimit: 'limit=100, remaining=50, reset=5', 'ratelimit-policy': '100;w=60' },
    expect: {
      policies: [P({ name: 'default', limit: 100, remaining: 50, resetSeconds: 5, windowSeconds: 60, dialect: 'ietf-draft-7', sources: ['ratelimit', 'ratelimit-policy'] })],
    },
  },
  {
    name: 'draft-7 express-rate-limit without a policy header: window unknown',
    headers: { ratelimit: 'limit=100, remaining=99, reset=60' },
    expect: { policies: [P({ name: 'default', limit: 100, remaining: 99, resetSeconds: 60, dialect: 'ietf-draft-7', sources: ['ratelimit'] })] },
  },
  {
    name: 'draft-6 express-rate-limit',
    headers: { 'ratelimit-policy': '100;w=60', 'ratelimit-limit': '100', 'ratelimit-remaining': '99', 'ratelimit-reset': '60' },
    expect: {
      policies: [P({ name: 'default', limit: 100, remaining: 99, resetSeconds: 60, windowSeconds: 60, dialect: 'ietf-draft-6', sources: ['ratelimit-limit', 'ratelimit-remaining', 'ratelimit-reset', 'ratelimit-policy'] })],
    },
  },
  {
    name: 'draft-6 policy list 10;w=1, 50;w=60: the limit matches one window, the other is listed',
    headers: { 'ratelimit-limit': '10', 'ratelimit-remaining': '9', 'ratelimit-reset': '1', 'ratelimit-policy': '10;w=1, 50;w=60' },
    expect: {
      policies: [
        P({ name: 'default', limit: 10, remaining: 9, resetSeconds: 1, windowSeconds: 1, dialect: 'ietf-draft-6', sources: ['ratelimit-limit', 'ratelimit-remaining', 'ratelimit-reset', 'ratelimit-policy'] }),
        P({ name: '50;w=60', limit: 50, windowSeconds: 60, dialect: 'ietf-draft-6', sources: ['ratelimit-policy'] }),
      ],
    },
  },
  {
    name: 'draft-6 policy with extra parameters (burst, comment) is still read',
    headers: { 'ratelimit-limit': '50', 'ratelimit-policy': '10;w=1;burst=1000, 50;w=60;comment="sliding window"' },
    expect: {
      policies: [
        P({ name: 'default', limit: 50, windowSeconds: 60, dialect: 'ietf-draft-6', sources: ['ratelimit-limit', 'ratelimit-policy'] }),
        P({ name: '10;w=1', limit: 10, windowSeconds: 1, dialect: 'ietf-draft-6', sources: ['ratelimit-policy'] }),
      ],
    },
  },
  {
    name: 'draft -03: RateLimit-Limit: 100, 100;w=10 carries its window',
    headers: { 'ratelimit-limit': '100, 100;w=10', 'ratelimit-remaining': '50', 'ratelimit-reset': '50' },
    expect: {
      policies: [P({ name: 'default', limit: 100, remaining: 50, resetSeconds: 50, windowSeconds: 10, dialect: 'ietf-draft-6', sources: ['ratelimit-limit', 'ratelimit-remaining', 'ratelimit-reset'] })],
    },
  },
  {
    name: 'draft-6 reset 0 is "now"',
    headers: { 'ratelimit-limit': '5', 'ratelimit-remaining': '0', 'ratelimit-reset': '0' },
    expect: { policies: [P({ name: 'default', limit: 5, remaining: 0, resetSeconds: 0, dialect: 'ietf-draft-6', sources: ['ratelimit-limit', 'ratelimit-remaining', 'ratelimit-reset'] })] },
  },
  {
    name: 'a policy header alone lists its policies',
    headers: { 'ratelimit-policy': '10;w=1, 50;w=60' },
    expect: {
      policies: [
        P({ name: '10;w=1', limit: 10, windowSeconds: 1, dialect: 'ietf-draft-6', sources: ['ratelimit-policy'] }),
        P({ name: '50;w=60', limit: 50, windowSeconds: 60, dialect: 'ietf-draft-6', sources: ['ratelimit-policy'] }),
      ],
    },
  },
  {
    name: 'GitLab: epoch RateLimit-Reset, ResetTime, Observed (name clash with IETF)',
    receivedAt: GITLAB_AT,
    headers: {
      'ratelimit-limit': '60', 'ratelimit-observed': '67', 'ratelimit-remaining': '0',
      'ratelimit-reset': '1609844400', 'ratelimit-resettime': 'Tue, 05 Jan 2021 11:00:00 GMT',
    },
    expect: {
      policies: [P({ name: 'default', limit: 60, remaining: 0, resetSeconds: 300, dialect: 'gitlab', sources: ['ratelimit-limit', 'ratelimit-remaining', 'ratelimit-reset', 'ratelimit-resettime', 'ratelimit-observed'] })],
    },
  },
  {
    name: 'GitLab epoch RateLimit-Reset alone is read as epoch, not 51 years',
    receivedAt: GITLAB_AT,
    headers: { 'ratelimit-limit': '600', 'ratelimit-remaining': '599', 'ratelimit-reset': '1609844400' },
    expect: { policies: [P({ name: 'default', limit: 600, remaining: 599, resetSeconds: 300, dialect: 'gitlab', sources: ['ratelimit-limit', 'ratelimit-remaining', 'ratelimit-reset'] })] },
  },
  {
    name: 'GitLab ResetTime only, remaining from limit − observed, RateLimit-Name names the policy',
    receivedAt: GITLAB_AT,
    headers: { 'ratelimit-name': 'throttle_authenticated_api', 'ratelimit-limit': '60', 'ratelimit-observed': '20', 'ratelimit-resettime': 'Tue, 05 Jan 2021 11:00:00 GMT' },
    expect: {
      policies: [P({ name: 'throttle_authenticated_api', limit: 60, remaining: 40, resetSeconds: 300, dialect: 'gitlab', sources: ['ratelimit-limit', 'ratelimit-resettime', 'ratelimit-observed', 'ratelimit-name'] })],
    },
  },
];

const VENDOR_ROWS = [
  {
    name: 'express-rate-limit legacy X-RateLimit-Reset: 1767225660 is epoch seconds',
    headers: { 'x-ratelimit-limit': '100', 'x-ratelimit-remaining': '99', 'x-ratelimit-reset': '1767225660', date: 'Thu, 01 Jan 2026 00:00:00 GMT' },
    expect: { policies: [P({ name: 'default', limit: 100, remaining: 99, resetSeconds: 60, dialect: 'x-ratelimit', sources: X_SOURCES })] },
  },
  {
    name: 'OpenRouter X-RateLimit-Reset: 1743638400000 is epoch milliseconds',
    receivedAt: OPENROUTER_AT,
    headers: { 'x-ratelimit-limit': '20', 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': '1743638400000' },
    expect: { policies: [P({ name: 'default', limit: 20, remaining: 0, resetSeconds: 45, dialect: 'x-ratelimit', sources: X_SOURCES })] },
  },
  {
    name: 'fastify x-ratelimit-reset: 42 is seconds from now, with retry-after 42',
    headers: { 'x-ratelimit-limit': '10', 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': '42', 'retry-after': '42' },
    expect: { policies: [P({ name: 'default', limit: 10, remaining: 0, resetSeconds: 42, dialect: 'x-ratelimit', sources: X_SOURCES })], retryAfterSeconds: 42 },
  },
  {
    name: 'GitHub: used and resource (name "core")',
    headers: { 'x-ratelimit-limit': '5000', 'x-ratelimit-remaining': '4999', 'x-ratelimit-used': '1', 'x-ratelimit-reset': '1767229200', 'x-ratelimit-resource': 'core' },
    expect: {
      policies: [P({ name: 'core', limit: 5000, remaining: 4999, resetSeconds: 3600, dialect: 'x-ratelimit', sources: [...X_SOURCES, 'x-ratelimit-used', 'x-ratelimit-resource'] })],
    },
  },
  {
    name: 'GitHub search without remaining: limit − used',
    headers: { 'x-ratelimit-limit': '30', 'x-ratelimit-used': '12', 'x-ratelimit-resource': 'search' },
    expect: { policies: [P({ name: 'search', limit: 30, remaining: 18, dialect: 'x-ratelimit', sources: ['x-ratelimit-limit', 'x-ratelimit-used', 'x-ratelimit-resource'] })] },
  },
  {
    name: 'Twitter X-Rate-Limit-*',
    headers: { 'x-rate-limit-limit': '900', 'x-rate-limit-remaining': '899', 'x-rate-limit-reset': '1767226500' },
    expect: { policies: [P({ name: 'default', limit: 900, remaining: 899, resetSeconds: 900, dialect: 'x-ratelimit', sources: ['x-rate-limit-limit', 'x-rate-limit-remaining', 'x-rate-limit-reset'] })] },
  },
  {
    name: 'Reddit-style decimal remaining',
    headers: { 'x-ratelimit-remaining': '598.0', 'x-ratelimit-used': '2', 'x-ratelimit-reset': '120' },
    expect: { policies: [P({ name: 'default', remaining: 598, resetSeconds: 120, dialect: 'x-ratelimit', sources: ['x-ratelimit-remaining', 'x-ratelimit-reset', 'x-ratelimit-used'] })] },
  },
  {
    name: 'Discord reset-after (a delay) wins over the epoch reset',
    headers: { 'x-ratelimit-limit': '5', 'x-ratelimit-remaining': '4', 'x-ratelimit-reset': '1767225601.5', 'x-ratelimit-reset-after': '1.25' },
    expect: {
      policies: [P({ name: 'default', limit: 5, remaining: 4, resetSeconds: 1.25, dialect: 'x-ratelimit', sources: [...X_SOURCES, 'x-ratelimit-reset-after'] })],
    },
  },
  {
    name: 'OpenAI requests and tokens, resets 1s and 6m0s',
    headers: {
      'x-ratelimit-limit-requests': '60', 'x-ratelimit-limit-tokens': '150000',
      'x-ratelimit-remaining-requests': '59', 'x-ratelimit-remaining-tokens': '149984',
      'x-ratelimit-reset-requests': '1s', 'x-ratelimit-reset-tokens': '6m0s',
    },
    expect: {
      policies: [
        P({ name: 'requests', limit: 60, remaining: 59, resetSeconds: 1, dialect: 'openai', sources: ['x-ratelimit-limit-requests', 'x-ratelimit-remaining-requests', 'x-ratelimit-reset-requests'] }),
        P({ name: 'tokens', unit: 'tokens', limit: 150000, remaining: 149984, resetSeconds: 360, dialect: 'openai', sources: ['x-ratelimit-limit-tokens', 'x-ratelimit-remaining-tokens', 'x-ratelimit-reset-tokens'] }),
      ],
    },
  },
  {
    name: 'OpenAI 12ms reset and the tokens_usage_based variant',
    headers: {
      'x-ratelimit-remaining-tokens': '0', 'x-ratelimit-reset-tokens': '12ms',
      'x-ratelimit-limit-tokens_usage_based': '40000', 'x-ratelimit-remaining-tokens_usage_based': '39000', 'x-ratelimit-reset-tokens_usage_based': '1m0.5s',
    },
    expect: {
      policies: [
        P({ name: 'tokens', unit: 'tokens', remaining: 0, resetSeconds: 0.012, dialect: 'openai', sources: ['x-ratelimit-remaining-tokens', 'x-ratelimit-reset-tokens'] }),
        P({ name: 'tokens_usage_based', unit: 'tokens', limit: 40000, remaining: 39000, resetSeconds: 60.5, dialect: 'openai', sources: ['x-ratelimit-limit-tokens_usage_based', 'x-ratelimit-remaining-tokens_usage_based', 'x-ratelimit-reset-tokens_usage_based'] }),
      ],
    },
  },
  {
    name: 'Groq: 14400 requests/day, 2m59.56s and 7.66s, retry-after on 429',
    headers: {
      'x-ratelimit-limit-requests': '14400', 'x-ratelimit-limit-tokens': '18000',
      'x-ratelimit-remaining-requests': '14370', 'x-ratelimit-remaining-tokens': '17997',
      'x-ratelimit-reset-requests': '2m59.56s', 'x-ratelimit-reset-tokens': '7.66s', 'retry-after': '2',
    },
    expect: {
      policies: [
        P({ name: 'requests', limit: 14400, remaining: 14370, resetSeconds: 179.56, dialect: 'openai', sources: ['x-ratelimit-limit-requests', 'x-ratelimit-remaining-requests', 'x-ratelimit-reset-requests'] }),
        P({ name: 'tokens', unit: 'tokens', limit: 18000, remaining: 17997, resetSeconds: 7.66, dialect: 'openai', sources: ['x-ratelimit-limit-tokens', 'x-ratelimit-remaining-tokens', 'x-ratelimit-reset-tokens'] }),
      ],
      retryAfterSeconds: 2,
    },
  },
  {
    name: 'Azure OpenAI remaining only (19913)',
    headers: { 'x-ratelimit-remaining-requests': '99', 'x-ratelimit-remaining-tokens': '19913' },
    expect: {
      policies: [
        P({ name: 'requests', remaining: 99, dialect: 'openai', sources: ['x-ratelimit-remaining-requests'] }),
        P({ name: 'tokens', unit: 'tokens', remaining: 19913, dialect: 'openai', sources: ['x-ratelimit-remaining-tokens'] }),
      ],
    },
  },
  {
    name: 'Anthropic: four policies, reset RFC 3339 2025-08-21T12:40:59Z, retry-after 30',
    receivedAt: ANTHROPIC_AT,
    headers: {
      'anthropic-ratelimit-requests-limit': '50', 'anthropic-ratelimit-requests-remaining': '49', 'anthropic-ratelimit-requests-reset': '2025-08-21T12:40:59Z',
      'anthropic-ratelimit-tokens-limit': '100000', 'anthropic-ratelimit-tokens-remaining': '99000', 'anthropic-ratelimit-tokens-reset': '2025-08-21T12:40:01.5Z',
      'anthropic-ratelimit-input-tokens-limit': '80000', 'anthropic-ratelimit-input-tokens-remaining': '80000', 'anthropic-ratelimit-input-tokens-reset': '2025-08-21T12:40:00Z',
      'anthropic-ratelimit-output-tokens-limit': '16000', 'anthropic-ratelimit-output-tokens-remaining': '15000', 'anthropic-ratelimit-output-tokens-reset': '2025-08-21T14:41:00+02:00',
      'retry-after': '30',
    },
    expect: {
      policies: ['requests', 'tokens', 'input-tokens', 'output-tokens'].map((name, i) =>
        P({
          name, unit: name, dialect: 'anthropic',
          limit: [50, 100000, 80000, 16000][i], remaining: [49, 99000, 80000, 15000][i], resetSeconds: [59, 1.5, 0, 60][i],
          sources: ['limit', 'remaining', 'reset'].map((f) => `anthropic-ratelimit-${name}-${f}`),
        })),
      retryAfterSeconds: 30,
    },
  },
  {
    name: 'Anthropic reset in the past is clamped to 0 with a warning',
    receivedAt: ANTHROPIC_AT,
    headers: { 'anthropic-ratelimit-requests-reset': '2025-08-21T12:39:00Z' },
    expect: {
      policies: [P({ name: 'requests', resetSeconds: 0, dialect: 'anthropic', sources: ['anthropic-ratelimit-requests-reset'] })],
      warnings: [/^anthropic-ratelimit-requests-reset: reset time is 60 s in the past; using 0/],
    },
  },
  {
    name: 'Chutes: RL-User, RL-Chute and the daily quota resetting at 00:00 UTC',
    receivedAt: SIX_PM,
    headers: {
      'x-chutes-invocationid': 'abc', 'x-chutes-quota-total': '200', 'x-chutes-quota-used': '12', 'x-chutes-quota-remaining': '188',
      'x-chutes-rl-user': '60', 'x-chutes-rl-chute': '30',
    },
    expect: {
      policies: [
        P({ name: 'user', limit: 60, dialect: 'chutes', sources: ['x-chutes-rl-user'] }),
        P({ name: 'chute', limit: 30, dialect: 'chutes', sources: ['x-chutes-rl-chute'] }),
        P({ name: 'daily-quota', limit: 200, remaining: 188, resetSeconds: 21600, windowSeconds: 86400, dialect: 'chutes', sources: ['x-chutes-quota-total', 'x-chutes-quota-used', 'x-chutes-quota-remaining'] }),
      ],
    },
  },
  {
    name: 'Chutes: RL-User inf means no known limit, without a warning',
    headers: { 'x-chutes-rl-user': 'inf' },
    expect: { policies: [P({ name: 'user', dialect: 'chutes', sources: ['x-chutes-rl-user'] })] },
  },
  {
    name: 'Chutes: remaining falls back to total − used; exactly at midnight the reset is a full day',
    headers: { 'x-chutes-quota-total': '300', 'x-chutes-quota-used': '301' },
    expect: {
      policies: [P({ name: 'daily-quota', limit: 300, remaining: 0, resetSeconds: 86400, windowSeconds: 86400, dialect: 'chutes', sources: ['x-chutes-quota-total', 'x-chutes-quota-used'] })],
    },
  },
  {
    name: 'no rate-limit headers at all (nginx limit_req)',
    headers: { server: 'nginx', 'content-type': 'text/html', date: 'Thu, 01 Jan 2026 00:00:00 GMT' },
    expect: { policies: [] },
  },
  {
    name: 'several dialects at once: IETF first, then vendors in header order',
    headers: {
      'x-chutes-rl-user': '60', 'x-ratelimit-limit-requests': '60', 'x-ratelimit-limit': '10', ratelimit: '"d";r=1', 'anthropic-ratelimit-tokens-limit': '5',
    },
    expect: {
      policies: [
        P({ name: 'd', remaining: 1, dialect: 'ietf-draft-8', sources: ['ratelimit'] }),
        P({ name: 'default', limit: 10, dialect: 'x-ratelimit', sources: ['x-ratelimit-limit'] }),
        P({ name: 'requests', limit: 60, dialect: 'openai', sources: ['x-ratelimit-limit-requests'] }),
        P({ name: 'tokens', unit: 'tokens', limit: 5, dialect: 'anthropic', sources: ['anthropic-ratelimit-tokens-limit'] }),
        P({ name: 'user', limit: 60, dialect: 'chutes', sources: ['x-chutes-rl-user'] }),
      ],
    },
  },
];

const RETRY_AFTER_ROWS = [
  { name: 'Retry-After delay-seconds', headers: { 'retry-after': '30' }, expect: { retryAfterSeconds: 30 } },
  { name: 'Retry-After IMF-fixdate', headers: { 'retry-after': 'Thu, 01 Jan 2026 00:01:00 GMT' }, expect: { retryAfterSeconds: 60 } },
  { name: 'Retry-After RFC 850 date', headers: { 'retry-after': 'Thursday, 01-Jan-26 00:01:30 GMT' }, expect: { retryAfterSeconds: 90 } },
  { name: 'Retry-After asctime date', headers: { 'retry-after': 'Thu Jan  1 00:02:00 2026' }, expect: { retryAfterSeconds: 120 } },
  { name: 'Retry-After repeated identically', headers: { 'retry-after': 'Thu, 01 Jan 2026 00:01:00 GMT, Thu, 01 Jan 2026 00:01:00 GMT' }, expect: { retryAfterSeconds: 60 } },
  {
    name: 'Retry-After date in the past means now, with a warning',
    headers: { 'retry-after': 'Wed, 31 Dec 2025 23:59:00 GMT' },
    expect: { retryAfterSeconds: 0, warnings: [/^retry-after: reset time is 60 s in the past/] },
  },
  { name: 'retry-after-ms is milliseconds', headers: { 'retry-after-ms': '1500' }, expect: { retryAfterSeconds: 1.5 } },
  { name: 'x-ms-retry-after-ms is milliseconds', headers: { 'x-ms-retry-after-ms': '250' }, expect: { retryAfterSeconds: 0.25 } },
  { name: 'retry-after-ms takes precedence over retry-after (within rounding, no warning)', headers: { 'retry-after-ms': '2500', 'retry-after': '3' }, expect: { retryAfterSeconds: 2.5 } },
  { name: 'retry-after-ms before x-ms-retry-after-ms', headers: { 'x-ms-retry-after-ms': '9000', 'retry-after-ms': '8000' }, expect: { retryAfterSeconds: 8 } },
  {
    name: 'retry-after-ms 0 with a non-zero retry-after: the larger, with a warning',
    headers: { 'retry-after-ms': '0', 'retry-after': '5' },
    expect: { retryAfterSeconds: 5, warnings: [/^retry-after-ms: 0 s disagrees with retry-after \(5 s\); using the later, retry-after/] },
  },
  { name: 'retry-after-ms 0 and retry-after 0', headers: { 'retry-after-ms': '0', 'retry-after': '0' }, expect: { retryAfterSeconds: 0 } },
  {
    name: 'retry-after-ms and retry-after disagree: the later wins, with a warning',
    headers: { 'retry-after-ms': '20000', 'retry-after': '5' },
    expect: { retryAfterSeconds: 20, warnings: [/^retry-after-ms: 20 s disagrees with retry-after \(5 s\); using the later, retry-after-ms/] },
  },
  {
    name: 'a shorter retry-after-ms never cuts a longer Retry-After short (never retest too soon)',
    headers: { 'retry-after-ms': '1000', 'retry-after': '6' },
    expect: { retryAfterSeconds: 6, warnings: [/^retry-after-ms: 1 s disagrees with retry-after \(6 s\); using the later, retry-after$/] },
  },
  {
    name: 'garbage retry-after-ms falls through to retry-after',
    headers: { 'retry-after-ms': 'abc', 'retry-after': '7' },
    expect: { retryAfterSeconds: 7, warnings: [/^retry-after-ms: not a non-negative number/] },
  },
  {
    name: 'Retry-After is never an epoch: 1767225660 seconds is over ten years',
    headers: { 'retry-after': '1767225660' },
    expect: { retryAfterSeconds: null, warnings: [/^retry-after: reset more than 10 years away/] },
  },
  { name: 'Retry-After with a decimal, as the SDKs tolerate', headers: { 'retry-after': '1.5' }, expect: { retryAfterSeconds: 1.5 } },
];

const CLOCK_SKEW_ROWS = [
  {
    name: 'server date 120 s ahead: epoch reset measured against the server date',
    headers: { 'x-ratelimit-reset': '1767225780', date: 'Thu, 01 Jan 2026 00:02:00 GMT' },
    expect: {
      policies: [P({ name: 'default', resetSeconds: 60, dialect: 'x-ratelimit', sources: ['x-ratelimit-reset'] })],
      warnings: [/^clock skew: the server's date header is 120 s ahead of the local clock/],
    },
  },
  {
    name: 'server date 90 s behind: Retry-After date measured against it',
    headers: { 'retry-after': 'Wed, 31 Dec 2025 23:59:00 GMT', date: 'Wed, 31 Dec 2025 23:58:30 GMT' },
    expect: { retryAfterSeconds: 30, warnings: [/^clock skew: the server's date header is 90 s behind the local clock/] },
  },
  {
    name: 'server date 2 s off is within tolerance: local clock, no warning',
    headers: { 'x-ratelimit-reset': '1767225660', date: 'Thu, 01 Jan 2026 00:00:02 GMT' },
    expect: { policies: [P({ name: 'default', resetSeconds: 60, dialect: 'x-ratelimit', sources: ['x-ratelimit-reset'] })] },
  },
  {
    name: 'skew does not touch delay values (and needs no warning)',
    headers: { 'x-ratelimit-reset': '42', 'retry-after': '42', date: 'Thu, 01 Jan 2026 01:00:00 GMT' },
    expect: { policies: [P({ name: 'default', resetSeconds: 42, dialect: 'x-ratelimit', sources: ['x-ratelimit-reset'] })], retryAfterSeconds: 42 },
  },
  {
    name: 'Anthropic RFC 3339 reset against a skewed server date',
    receivedAt: ANTHROPIC_AT,
    headers: { 'anthropic-ratelimit-requests-reset': '2025-08-21T12:40:59Z', date: 'Thu, 21 Aug 2025 12:40:30 GMT' },
    expect: {
      policies: [P({ name: 'requests', resetSeconds: 29, dialect: 'anthropic', sources: ['anthropic-ratelimit-requests-reset'] })],
      warnings: [/^clock skew: the server's date header is 30 s ahead/],
    },
  },
  {
    name: 'Chutes midnight is the server\'s midnight when clocks differ',
    receivedAt: SIX_PM,
    headers: { 'x-chutes-quota-remaining': '5', date: 'Thu, 01 Jan 2026 23:00:00 GMT' },
    expect: {
      policies: [P({ name: 'daily-quota', remaining: 5, resetSeconds: 3600, windowSeconds: 86400, dialect: 'chutes', sources: ['x-chutes-quota-remaining'] })],
      warnings: [/^clock skew: the server's date header is 18000 s ahead/],
    },
  },
  {
    name: 'an unparseable date header: local clock, with a warning',
    headers: { 'x-ratelimit-reset': '1767225660', date: 'yesterday' },
    expect: {
      policies: [P({ name: 'default', resetSeconds: 60, dialect: 'x-ratelimit', sources: ['x-ratelimit-reset'] })],
      warnings: [/^date: not a valid HTTP-date/],
    },
  },
];

/** One x-ratelimit-<field> garbage row: the field is null and a warning names the header. */
function garbageRow(field, value, reason) {
  return {
    name: `x-ratelimit-${field}: ${JSON.stringify(value)} → null + warning`,
    headers: { [`x-ratelimit-${field}`]: value },
    expect: {
      policies: [P({ name: 'default', dialect: 'x-ratelimit', sources: [`x-ratelimit-${field}`] })],
      warnings: [new RegExp(`^x-ratelimit-${field}: ${reason}`)],
    },
  };
}

const GARBAGE_ROWS = [
  garbageRow('reset', 'soon', 'neither a number nor a valid date'),
  garbageRow('reset', '-5', 'negative value'),
  garbageRow('reset', '1e20', 'neither a number nor a valid date'),
  garbageRow('reset', '10^20', 'not a non-negative number'),
  garbageRow('reset', '', 'empty value'),
  garbageRow('reset', 'NaN', 'neither a number nor a valid date'),
  garbageRow('reset', 'Infinity', 'neither a number nor a valid date'),
  garbageRow('reset', '5, 7', 'conflicting duplicate values'),
  garbageRow('reset', '99999999999', 'reset more than 10 years away'),
  garbageRow('reset', '999999999999999', 'reset more than 10 years away'),
  garbageRow('reset', '9999999999999999', 'exceeds Number.MAX_SAFE_INTEGER'),
  garbageRow('reset', '2025-13-45T00:00:00Z', 'neither a number nor a valid date'),
  garbageRow('reset', 'Thu, 01 Jan 2026 00:01:00 GMT, Fri, 02 Jan 2026 00:01:00 GMT', 'conflicting duplicate values'),
  garbageRow('limit', 'soon', 'not a non-negative number'),
  garbageRow('limit', '-5', 'negative value'),
  garbageRow('limit', '1e20', 'not a non-negative number'),
  garbageRow('limit', '10^20', 'not a non-negative number'),
  garbageRow('limit', '', 'empty value'),
  garbageRow('limit', 'NaN', 'not a non-negative number'),
  garbageRow('limit', 'Infinity', 'not a non-negative number'),
  garbageRow('limit', '٥٠', 'not a non-negative number'),
  garbageRow('limit', '６０', 'not a non-negative number'),
  garbageRow('limit', '0x10', 'not a non-negative number'),
  garbageRow('limit', '5, 7', 'conflicting duplicate values'),
  garbageRow('limit', '100000000000000000000', 'exceeds Number.MAX_SAFE_INTEGER'),
  garbageRow('remaining', '-1', 'negative value'),
  garbageRow('remaining', '9007199254740993', 'exceeds Number.MAX_SAFE_INTEGER'),
  {
    name: 'identical duplicates "5, 5" are one value',
    headers: { 'x-ratelimit-limit': '5, 5', 'x-ratelimit-remaining': ' 4 ' },
    expect: { policies: [P({ name: 'default', limit: 5, remaining: 4, dialect: 'x-ratelimit', sources: ['x-ratelimit-limit', 'x-ratelimit-remaining'] })] },
  },
  {
    name: 'OpenAI reset garbage: soon, -1s, 1e20, 10 years of hours',
    headers: {
      'x-ratelimit-reset-requests': 'soon', 'x-ratelimit-reset-tokens': '-1s',
      'x-ratelimit-reset-a': '1e20', 'x-ratelimit-reset-b': '99999999h', 'x-ratelimit-reset-c': '1s, 2s',
    },
    expect: {
      policies: [
        P({ name: 'requests', dialect: 'openai', sources: ['x-ratelimit-reset-requests'] }),
        P({ name: 'tokens', unit: 'tokens', dialect: 'openai', sources: ['x-ratelimit-reset-tokens'] }),
        P({ name: 'a', unit: 'a', dialect: 'openai', sources: ['x-ratelimit-reset-a'] }),
        P({ name: 'b', unit: 'b', dialect: 'openai', sources: ['x-ratelimit-reset-b'] }),
        P({ name: 'c', unit: 'c', dialect: 'openai', sources: ['x-ratelimit-reset-c'] }),
      ],
      warnings: [
        /^x-ratelimit-reset-requests: not a duration/,
        /^x-ratelimit-reset-tokens: negative value/,
        /^x-ratelimit-reset-a: not a duration/,
        /^x-ratelimit-reset-b: reset more than 10 years away/,
        /^x-ratelimit-reset-c: conflicting duplicate values/,
      ],
    },
  },
  {
    name: 'OpenAI bare-number reset is seconds',
    headers: { 'x-ratelimit-reset-requests': '20' },
    expect: { policies: [P({ name: 'requests', resetSeconds: 20, dialect: 'openai', sources: ['x-ratelimit-reset-requests'] })] },
  },
  {
    name: 'Anthropic garbage: invalid date, negative limit',
    headers: { 'anthropic-ratelimit-tokens-reset': '2025-02-30T00:00:00Z', 'anthropic-ratelimit-tokens-limit': '-100' },
    expect: {
      policies: [P({ name: 'tokens', unit: 'tokens', dialect: 'anthropic', sources: ['anthropic-ratelimit-tokens-limit', 'anthropic-ratelimit-tokens-reset'] })],
      warnings: [/^anthropic-ratelimit-tokens-limit: negative value/, /^anthropic-ratelimit-tokens-reset: neither a number nor a valid date/],
    },
  },
  {
    name: 'Chutes garbage: lots, -1',
    headers: { 'x-chutes-rl-user': 'lots', 'x-chutes-quota-total': '-1' },
    expect: {
      policies: [
        P({ name: 'user', dialect: 'chutes', sources: ['x-chutes-rl-user'] }),
        P({ name: 'daily-quota', resetSeconds: 86400, windowSeconds: 86400, dialect: 'chutes', sources: ['x-chutes-quota-total'] }),
      ],
      warnings: [/^x-chutes-rl-user: not a non-negative number/, /^x-chutes-quota-total: negative value/],
    },
  },
  {
    name: 'Retry-After garbage: soon',
    headers: { 'retry-after': 'soon' },
    expect: { retryAfterSeconds: null, warnings: [/^retry-after: neither a number nor a valid date/] },
  },
  { name: 'Retry-After garbage: -5', headers: { 'retry-after': '-5' }, expect: { retryAfterSeconds: null, warnings: [/^retry-after: negative value/] } },
  { name: 'Retry-After garbage: 5, 7', headers: { 'retry-after': '5, 7' }, expect: { retryAfterSeconds: null, warnings: [/^retry-after: conflicting duplicate values/] } },
  { name: 'Retry-After garbage: empty', headers: { 'retry-after': '' }, expect: { retryAfterSeconds: null, warnings: [/^retry-after: empty value/] } },
  { name: 'Retry-After garbage: 1e20', headers: { 'retry-after': '1e20' }, expect: { retryAfterSeconds: null, warnings: [/^retry-after: neither a number nor a valid date/] } },
  {
    name: 'IETF draft-8 garbage: negative r, t too far, q missing, non-number q, w=0',
    headers: { ratelimit: '"a";r=-5;t=999999999999', 'ratelimit-policy': '"a";w=0, "b";q="many"' },
    expect: {
      policies: [
        P({ name: 'a', dialect: 'ietf-draft-8', sources: ['ratelimit', 'ratelimit-policy'] }),
        P({ name: 'b', dialect: 'ietf-draft-8', sources: ['ratelimit-policy'] }),
      ],
      warnings: [
        /^ratelimit-policy: policy "a" q is missing/,
        /^ratelimit-policy: policy "a" w is 0/,
        /^ratelimit-policy: policy "b" q is not a number/,
        /^ratelimit: policy "a" r: negative value/,
        /^ratelimit: policy "a" t: reset more than 10 years away/,
      ],
    },
  },
  {
    name: 'IETF unparseable structured fields',
    headers: { ratelimit: '"a";r=1e20', 'ratelimit-policy': '"unterminated;q=1' },
    expect: { policies: [], warnings: [/^ratelimit-policy: not a valid structured field/, /^ratelimit: not a valid structured field/] },
  },
  {
    name: 'IETF draft-6 garbage: soon, conflicting, negative, far reset',
    headers: { 'ratelimit-limit': 'soon', 'ratelimit-remaining': '5, 7', 'ratelimit-reset': '-5' },
    expect: {
      policies: [P({ name: 'default', dialect: 'ietf-draft-6', sources: ['ratelimit-limit', 'ratelimit-remaining', 'ratelimit-reset'] })],
      warnings: [/^ratelimit-limit: not a non-negative number/, /^ratelimit-remaining: conflicting duplicate values/, /^ratelimit-reset: negative value/],
    },
  },
  {
    name: 'IETF RateLimit-Limit conflicting duplicates "5, 7"',
    headers: { 'ratelimit-limit': '5, 7' },
    expect: {
      policies: [P({ name: 'default', dialect: 'ietf-draft-6', sources: ['ratelimit-limit'] })],
      warnings: [/^ratelimit-limit: conflicting duplicate values/],
    },
  },
  {
    name: 'IETF RateLimit-Limit too large for a structured integer, read as plain text',
    headers: { 'ratelimit-limit': '1000000000000000', 'ratelimit-remaining': '100000000000000000000' },
    expect: {
      policies: [P({ name: 'default', limit: 1e15, dialect: 'ietf-draft-6', sources: ['ratelimit-limit', 'ratelimit-remaining'] })],
      warnings: [/^ratelimit-remaining: exceeds Number.MAX_SAFE_INTEGER/],
    },
  },
  {
    name: 'draft-7 dictionary garbage: negative remaining, token reset',
    headers: { ratelimit: 'limit=10, remaining=-1, reset=soon' },
    expect: {
      policies: [P({ name: 'default', limit: 10, dialect: 'ietf-draft-7', sources: ['ratelimit'] })],
      warnings: [/^ratelimit: remaining: negative value/, /^ratelimit: reset is not a number/],
    },
  },
  {
    name: 'GitHub resource with control characters is not used as a name',
    headers: { 'x-ratelimit-limit': '1', 'x-ratelimit-resource': 'co\u0000re' },
    expect: {
      policies: [P({ name: 'default', limit: 1, dialect: 'x-ratelimit', sources: ['x-ratelimit-limit', 'x-ratelimit-resource'] })],
      warnings: [/^x-ratelimit-resource: not a resource name/],
    },
  },
];

const ALL_ROWS = [...IETF_ROWS, ...VENDOR_ROWS, ...RETRY_AFTER_ROWS, ...CLOCK_SKEW_ROWS, ...GARBAGE_ROWS];

/** Every number in the result is finite and no reset or retry delay is negative. */
function assertSaneNumbers(info) {
  const numbers = [info.retryAfterSeconds, ...info.policies.flatMap((p) => [p.limit, p.remaining, p.resetSeconds, p.windowSeconds])];
  for (const value of numbers) {
    if (value === null) continue;
    assert.equal(typeof value, 'number');
    assert.ok(Number.isFinite(value) && value >= 0 && value <= Number.MAX_SAFE_INTEGER, `bad number ${value}`);
  }
  assert.deepEqual(JSON.parse(JSON.stringify(info)), info);
}

function assertWarnings(actual, patterns = []) {
  assert.equal(actual.length, patterns.length, `warnings: ${JSON.stringify(actual)}`);
  for (const pattern of patterns) {
    assert.ok(actual.some((warning) => pattern.test(warning)), `no warning matches ${pattern} in ${JSON.stringify(actual)}`);
  }
}

for (const row of ALL_ROWS) {
  test(row.name, () => {
    const info = parseRateLimitHeaders(row.headers, { receivedAt: row.receivedAt ?? T0 });
    assertSaneNumbers(info);
    if (row.expect.policies !== undefined) assert.deepEqual(info.policies, row.expect.policies);
    assert.equal(info.retryAfterSeconds, row.expect.retryAfterSeconds ?? null);
    assertWarnings(info.warnings, row.expect.warnings);
  });
}

test('receivedAt defaults to the current time', () => {
  const info = parseRateLimitHeaders({ 'x-ratelimit-reset': String(Math.floor(Date.now() / 1000) + 100) });
  const reset = info.policies[0].resetSeconds;
  assert.ok(reset > 98 && reset <= 100, String(reset));
});

test('hostile inputs from plain JavaScript never throw', () => {
  /** @type {any[]} wrong value types on purpose */
  const inputs = [
    {},
    { 'x-ratelimit-limit': undefined, 'retry-after': null, ratelimit: 42 },
    { 'X-RateLimit-Limit': '10', 'x-ratelimit-limit': '10' },
    { 'x-ratelimit-limit': ['5', '7'] },
    { ratelimit: '"a";r=1;t=1;pk=:not base64!:', 'ratelimit-policy': '((((' },
    { ratelimit: '\u0000\uffff\ud800', 'ratelimit-limit': '\u202e99', 'x-chutes-quota-used': '1'.repeat(400) },
    Object.fromEntries(Array.from({ length: 200 }, (_, i) => [`x-ratelimit-limit-p${i}`, String(i)])),
  ];
  for (const headers of inputs) {
    const info = parseRateLimitHeaders(headers, { receivedAt: T0 });
    assertSaneNumbers(info);
  }
  assert.deepEqual(parseRateLimitHeaders({ 'X-RateLimit-Limit': '10' }, { receivedAt: T0 }).policies[0].limit, 10);
  assert.equal(parseRateLimitHeaders(/** @type {any} an array value on purpose */ ({ 'x-ratelimit-limit': ['5', '7'] }), { receivedAt: T0 }).policies[0].limit, null);
});
