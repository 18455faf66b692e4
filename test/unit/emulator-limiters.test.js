// The emulator's limiters and header writers on simulated time: every `now` is explicit, nothing sleeps.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  ConcurrencyGate,
  FixedWindowLimiter,
  SlidingWindowLimiter,
  TokenBucketLimiter,
  createRateLimiter,
} from '../../dist/emulator/limiters.js';
import { formatGoDuration, formatRfc3339, rateLimitHeaders, retryAfterHeader } from '../../dist/emulator/chutes.js';

/** @typedef {[number, Partial<import('../../dist/emulator/limiters.js').LimitDecision>, { peek?: boolean }?]} Step */

/**
 * Play a timeline of [now, expected] steps against one limiter. `expected` lists only the fields
 * that step checks; `peek: true` looks without spending.
 * @param {import('../../dist/emulator/limiters.js').RateLimiter} limiter
 * @param {Step[]} steps
 */
function playTimeline(limiter, steps) {
  steps.forEach(([now, expected, options = {}], index) => {
    const got = options.peek ? limiter.peek(now) : limiter.tryAcquire(now);
    const picked = Object.fromEntries(Object.keys(expected).map((key) => [key, got[key]]));
    assert.deepEqual(picked, expected, `step ${index} at t=${now}`);
  });
}

/** n identical expectations, one per request sent at `now`. */
function burst(now, expectations) {
  return expectations.map((expected) => [now, expected]);
}

// 1_700_000_000_000 is a multiple of 5000, so T is the start of a fixed window.
const T = 1_700_000_000_000;

describe('fixed-window limiter (10 per 5000 ms, windows aligned to the epoch)', () => {
  it('allows 10 in a window, counts remaining down, resets at the window end', () => {
    const limiter = new FixedWindowLimiter(10, 5000);
    playTimeline(limiter, [
      // First request 1 s into the window: the window began before the client arrived.
      ...burst(
        T + 1000,
        Array.from({ length: 10 }, (_, i) => ({ allowed: true, remaining: 9 - i, resetMs: 4000, retryAfterMs: 0 })),
      ),
      [T + 1000, { allowed: false, limit: 10, remaining: 0, resetMs: 4000, retryAfterMs: 4000, windowMs: 5000 }],
      [T + 4999, { allowed: false, remaining: 0, resetMs: 1, retryAfterMs: 1 }],
      [T + 5000, { allowed: true, remaining: 9, resetMs: 5000, retryAfterMs: 0 }],
      [T + 7500, { allowed: true, remaining: 8, resetMs: 2500 }],
    ]);
  });

  it('does not charge rejected requests, and peek spends nothing', () => {
    const limiter = new FixedWindowLimiter(2, 5000);
    playTimeline(limiter, [
      [T, { allowed: true, remaining: 1 }],
      [T + 1, { remaining: 1 }, { peek: true }],
      [T + 2, { allowed: true, remaining: 0 }],
      ...burst(T + 3, Array.from({ length: 5 }, () => ({ allowed: false, remaining: 0 }))),
      [T + 5000, { allowed: true, remaining: 1 }],
      [T + 5001, { allowed: true, remaining: 0 }],
    ]);
  });
});

describe('sliding-window limiter (sliding log, 10 per 5000 ms)', () => {
  it('frees one slot each time the oldest logged request leaves the window', () => {
    const limiter = new SlidingWindowLimiter(10, 5000);
    /** @type {Step[]} */
    const tenPaced = Array.from({ length: 10 }, (_, i) => [
      i * 100,
      // resetMs = until the oldest (t=0) leaves the window.
      { allowed: true, remaining: 9 - i, resetMs: 5000 - i * 100, retryAfterMs: 0 },
    ]);
    playTimeline(limiter, [
      ...tenPaced,
      [1000, { allowed: false, remaining: 0, resetMs: 4000, retryAfterMs: 4000 }],
      [4999, { allowed: false, remaining: 0, retryAfterMs: 1 }],
      // t=0 has left: one slot; the next oldest is t=100.
      [5000, { allowed: true, remaining: 0, resetMs: 100 }],
      [5050, { allowed: false, retryAfterMs: 50 }],
      [5100, { allowed: true, remaining: 0, resetMs: 100 }],
      // Everything but 5000 and 5100 has left by 5900; peek shows it without logging.
      [5900, { remaining: 8, resetMs: 4100 }, { peek: true }],
      [20_000, { remaining: 10, resetMs: 0 }, { peek: true }],
    ]);
  });

  it('does not log rejected requests', () => {
    const limiter = new SlidingWindowLimiter(1, 1000);
    playTimeline(limiter, [
      [0, { allowed: true }],
      [500, { allowed: false, retryAfterMs: 500 }],
      [999, { allowed: false, retryAfterMs: 1 }],
      // Had the rejections been logged, t=1000 would still be blocked.
      [1000, { allowed: true, remaining: 0, resetMs: 1000 }],
    ]);
  });
});

describe('token-bucket limiter (burst 5, 10 per 5000 ms → one token per 500 ms)', () => {
  it('starts full, drains by the burst, refills continuously', () => {
    const limiter = new TokenBucketLimiter(10, 5000, 5);
    playTimeline(limiter, [
      // resetMs = until full again: 500 ms per missing token.
      ...burst(
        0,
        [4, 3, 2, 1, 0].map((remaining) => ({ allowed: true, remaining, resetMs: (5 - remaining) * 500, retryAfterMs: 0 })),
      ),
      [0, { allowed: false, limit: 10, remaining: 0, resetMs: 2500, retryAfterMs: 500, windowMs: 5000 }],
      [250, { allowed: false, remaining: 0, resetMs: 2250, retryAfterMs: 250 }],
      [500, { allowed: true, remaining: 0, resetMs: 2500 }],
      // 1250 ms later: 2.5 tokens → remaining shows the whole ones.
      [1750, { remaining: 2, resetMs: 1250 }, { peek: true }],
      [1750, { allowed: true, remaining: 1, resetMs: 1750 }],
      // Refill stops at the capacity.
      [60_000, { allowed: true, remaining: 4, resetMs: 500 }],
    ]);
  });

  it('defaults the burst to the limit and rounds waits up to whole ms', () => {
    const limiter = new TokenBucketLimiter(3, 1000);
    playTimeline(limiter, [
      ...burst(0, [2, 1, 0].map((remaining) => ({ allowed: true, remaining }))),
      // One token takes 333.3 ms: a client waiting the reported time must not be early.
      [0, { allowed: false, retryAfterMs: 334, resetMs: 1000 }],
      [334, { allowed: true, remaining: 0 }],
    ]);
  });

  it('does not charge rejected requests', () => {
    const limiter = new TokenBucketLimiter(1, 1000, 1);
    playTimeline(limiter, [
      [0, { allowed: true }],
      ...burst(10, Array.from({ length: 5 }, () => ({ allowed: false }))),
      [1000, { allowed: true }],
    ]);
  });
});

describe('createRateLimiter and argument checks', () => {
  for (const [algorithm, type] of /** @type {Array<[import('../../dist/emulator/limiters.js').RateAlgorithm, Function]>} */ ([
    ['fixed-window', FixedWindowLimiter],
    ['sliding-window', SlidingWindowLimiter],
    ['token-bucket', TokenBucketLimiter],
  ])) {
    it(`builds a ${algorithm} limiter`, () => {
      const limiter = createRateLimiter({ algorithm, limit: 4, windowMs: 1000 });
      assert.ok(limiter instanceof type);
      assert.equal(limiter.algorithm, algorithm);
    });
  }

  it('passes the burst to the token bucket', () => {
    const limiter = createRateLimiter({ algorithm: 'token-bucket', limit: 10, windowMs: 5000, burst: 2 });
    playTimeline(limiter, [[0, { remaining: 1 }], [0, { remaining: 0 }], [0, { allowed: false }]]);
  });

  for (const make of [
    () => new FixedWindowLimiter(0, 1000),
    () => new SlidingWindowLimiter(1.5, 1000),
    () => new TokenBucketLimiter(5, 0),
    () => new TokenBucketLimiter(5, 1000, 0),
    () => new ConcurrencyGate(-1),
  ]) {
    it(`rejects bad arguments: ${make.toString().slice(6)}`, () => assert.throws(make, RangeError));
  }
});

describe('concurrency gate', () => {
  it('admits up to the limit and frees a slot on leave', () => {
    const gate = new ConcurrencyGate(2);
    assert.deepEqual([gate.enter(), gate.enter(), gate.enter()], [true, true, false]);
    assert.equal(gate.inFlight, 2);
    gate.leave();
    assert.equal(gate.enter(), true);
    gate.leave();
    gate.leave();
    gate.leave(); // one leave too many is ignored
    assert.equal(gate.inFlight, 0);
  });
});

describe('header value formats', () => {
  for (const [ms, text] of /** @type {Array<[number, string]>} */ ([
    [0, '0s'],
    [20, '20ms'],
    [999, '999ms'],
    [1000, '1s'],
    [1500, '1.5s'],
    [59_999, '59.999s'],
    [60_000, '1m0s'],
    [360_000, '6m0s'],
    [3_723_500, '1h2m3.5s'],
  ])) {
    it(`Go duration ${ms} ms → ${text}`, () => assert.equal(formatGoDuration(ms), text));
  }

  it('RFC 3339 rounds up to the whole second', () => {
    assert.equal(formatRfc3339(Date.UTC(2025, 7, 21, 12, 40, 58, 200)), '2025-08-21T12:40:59Z');
    assert.equal(formatRfc3339(Date.UTC(2025, 7, 21, 12, 40, 59)), '2025-08-21T12:40:59Z');
  });

  it('Retry-After is whole seconds rounded up', () => {
    assert.deepEqual(retryAfterHeader(1), { 'retry-after': '1' });
    assert.deepEqual(retryAfterHeader(1500), { 'retry-after': '2' });
    assert.deepEqual(retryAfterHeader(4000), { 'retry-after': '4' });
  });

  // 3 of 10 left, 12.5 s to the reset, in a 60 s window; now = 2026-01-01T00:00:00Z.
  const state = { allowed: true, limit: 10, remaining: 3, resetMs: 12_500, retryAfterMs: 0, windowMs: 60_000 };
  const now = Date.UTC(2026, 0, 1);
  const nowSec = now / 1000;
  /** @typedef {import('../../dist/emulator/chutes.js').HeaderDialect} HeaderDialect */
  /** @typedef {import('../../dist/emulator/chutes.js').ResetFormat} ResetFormat */
  for (const [dialect, format, expected] of /** @type {Array<[HeaderDialect, ResetFormat, Record<string, string>]>} */ ([
    ['chutes', 'delta', { 'x-chutes-rl-user': '10' }],
    ['x-ratelimit', 'delta', { 'x-ratelimit-limit': '10', 'x-ratelimit-remaining': '3', 'x-ratelimit-reset': '13' }],
    ['x-ratelimit', 'epoch', { 'x-ratelimit-limit': '10', 'x-ratelimit-remaining': '3', 'x-ratelimit-reset': String(nowSec + 13) }],
    ['x-ratelimit', 'epoch-ms', { 'x-ratelimit-limit': '10', 'x-ratelimit-remaining': '3', 'x-ratelimit-reset': String(now + 12_500) }],
    ['ietf', 'delta', { 'ratelimit-policy': '"default";q=10;w=60', ratelimit: '"default";r=3;t=13' }],
    [
      'openai',
      'delta',
      { 'x-ratelimit-limit-requests': '10', 'x-ratelimit-remaining-requests': '3', 'x-ratelimit-reset-requests': '12.5s' },
    ],
    [
      'anthropic',
      'delta',
      {
        'anthropic-ratelimit-requests-limit': '10',
        'anthropic-ratelimit-requests-remaining': '3',
        'anthropic-ratelimit-requests-reset': '2026-01-01T00:00:13Z',
      },
    ],
    ['none', 'delta', {}],
  ])) {
    it(`${dialect} (${format}) headers`, () => assert.deepEqual(rateLimitHeaders(dialect, state, now, format), expected));
  }

  it('with no rate limit Chutes says inf and the other dialects say nothing', () => {
    assert.deepEqual(rateLimitHeaders('chutes', null, now, 'delta'), { 'x-chutes-rl-user': 'inf' });
    assert.deepEqual(rateLimitHeaders('x-ratelimit', null, now, 'delta'), {});
  });
});
