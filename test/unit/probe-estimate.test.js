// The pure estimators on hand-made observations: header readings, recovery timing, token-bucket
// bounds, 429 attribution, foreign usage, and the concurrency judgement.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  attributeRefusals,
  bucketCapacity,
  burstsSayWindow,
  classifyHeaderSeries,
  detectForeignUsage,
  estimateRateLimit,
  findResetCheck,
  headerModeOf,
  headerPoints,
  namedCycles,
  nextRetestAt,
  rateRuns,
  recoveryBracket,
  resetClockOf,
  resetRateInterval,
  retryFloor,
  selectRatePolicy,
  tokenRateInterval,
  windowFromCheck,
  windowTiming,
} from '../../dist/probe/estimate-rate.js';
import { batchSizes, estimateConcurrency, judgeBatch } from '../../dist/probe/estimate-concurrency.js';

const T0 = Date.UTC(2026, 0, 15, 12, 0, 0);
const STATUS = { ok: 200, rate_limited: 429, auth_error: 401, network_error: null, http_error: 500, capacity: 429 };

function obs(seq, sentAt, outcome, extra = {}) {
  return { seq, sentAt: T0 + sentAt, receivedAt: T0 + sentAt + 2, status: STATUS[outcome], outcome, policies: [], retryAfterSeconds: null, inFlight: 1, ...extra };
}

/**
 * @param {number | null} limit
 * @param {number | null} remaining
 * @param {number | null} resetSeconds
 * @param {{ windowSeconds?: number | null, dialect?: import('../../dist/types.js').Dialect, name?: string, unit?: string }} [options]
 * @returns {import('../../dist/types.js').RateLimitPolicy}
 */
function policy(limit, remaining, resetSeconds, { windowSeconds = null, dialect = 'x-ratelimit', name = 'requests', unit = 'requests' } = {}) {
  return { name, unit, limit, remaining, resetSeconds, windowSeconds, dialect, sources: [`${dialect}-limit`] };
}

/** A paced series of accepted responses, each with the policy the server would send. */
function series(steps, interval = 100) {
  return steps.map(([remaining, resetSeconds, options = {}], i) => obs(i + 1, i * interval, 'ok', { policies: [policy(10, remaining, resetSeconds, options)] }));
}

const ctx = { intervalMs: 100 };

describe('which policy describes the request rate', () => {
  it('skips daily quotas and token budgets, prefers a stated window', () => {
    const daily = policy(200, 150, 3600, { windowSeconds: 86_400, dialect: 'chutes', name: 'daily-quota' });
    const tokens = policy(40_000, 39_000, 1, { unit: 'tokens', name: 'tokens' });
    const noWindow = policy(10, 9, 5);
    const windowed = policy(20, 19, 5, { windowSeconds: 10, dialect: 'ietf-draft-8' });
    assert.equal(selectRatePolicy([daily, tokens]), null);
    assert.equal(selectRatePolicy([daily, tokens, noWindow]), noWindow);
    assert.equal(selectRatePolicy([noWindow, windowed]), windowed);
  });

  const modes = [
    { name: 'IETF limit and window', policies: [policy(10, 9, 2, { windowSeconds: 2, dialect: 'ietf-draft-8' })], kind: 'exact' },
    { name: 'limit, remaining, reset', policies: [policy(10, 9, 2)], kind: 'series' },
    { name: "Chutes' limit alone", policies: [policy(10, null, null, { dialect: 'chutes', name: 'user' })], kind: 'limit-only' },
    { name: 'nothing', policies: [], kind: 'none' },
  ];
  for (const { name, policies, kind } of modes) {
    it(`${name} → ${kind}`, () => assert.equal(headerModeOf([obs(1, 0, 'ok', { policies })]).kind, kind));
  }
});

describe('headers: limit and window stated', () => {
  it('answers after one request: exact, from headers', () => {
    const estimate = estimateRateLimit([obs(1, 0, 'ok', { policies: [policy(10, 9, 2, { windowSeconds: 2, dialect: 'ietf-draft-8' })] })], ctx);
    assert.deepEqual(
      { limit: estimate.limit, windowSeconds: estimate.windowSeconds, perMinute: estimate.perMinute, bound: estimate.bound, source: estimate.source, confidence: estimate.confidence, requests: estimate.requests },
      { limit: 10, windowSeconds: 2, perMinute: 300, bound: 'exact', source: 'headers', confidence: 'high', requests: 1 },
    );
  });
});

describe('headers: limit, remaining, reset as a series', () => {
  it('reads the reset format from the values and the dialect', () => {
    assert.equal(resetClockOf(headerPoints(series([[9, 2], [8, 2]]), policy(10, 9, 2))).format, 'delta-seconds');
    const anthropic = /** @type {const} */ ({ dialect: 'anthropic' });
    assert.equal(resetClockOf(headerPoints(series([[9, 1.998, anthropic], [8, 1.898, anthropic]]), policy(10, 9, 1, anthropic))).format, 'absolute-seconds');
    const openai = /** @type {const} */ ({ dialect: 'openai' });
    assert.equal(resetClockOf(headerPoints(series([[9, 1.95, openai], [8, 1.85, openai]]), policy(10, 9, 1, openai))).quantumMs, 0);
  });

  const kinds = [
    // Millisecond resets whose instant stays put: a window. (instant = send + reset)
    { name: 'fine resets, constant instant → window', steps: [[9, 1.5], [8, 1.4]], expected: 'window' },
    // The instant moves 200 ms later per request: a token bucket refilling 5/s.
    { name: 'fine resets, instant drifting by 1/ρ → token bucket', steps: [[9, 0.2], [8, 0.3]], expected: 'token-bucket' },
    // remaining did not fall although we spent one: a refill.
    { name: 'remaining fails to fall → token bucket', steps: [[9, 1], [8, 1], [8, 1]], expected: 'token-bucket' },
    { name: 'allowance back in full before each send → outpaced', steps: [[9, 0.05], [9, 0.05], [9, 0.05], [9, 0.05], [9, 0.05]], expected: 'outpaced' },
    { name: 'whole seconds, two points → undecided', steps: [[9, 2], [8, 2]], expected: 'undecided' },
  ];
  for (const { name, steps, expected } of kinds) {
    it(name, () => {
      const points = headerPoints(series(steps), policy(10, 9, 1));
      assert.equal(classifyHeaderSeries(points, 10, resetClockOf(points), 100), expected);
    });
  }

  it('whole-second resets: enough requests without a refill rule out a bucket', () => {
    const steps = Array.from({ length: 8 }, (_, i) => [9 - i, 2]);
    const points = headerPoints(series(steps), policy(10, 9, 2));
    assert.equal(classifyHeaderSeries(points, 10, resetClockOf(points), 100), 'window');
  });

  it('whole-second resets: five falls in a row whose instant did not drift as a bucket must → window', () => {
    // A bucket that lost a token per request refilled < 1 in 0.4 s, so its full instant moved > 4 × 0.4 s.
    const steps = Array.from({ length: 5 }, (_, i) => [9 - i, 5]);
    const points = headerPoints(series(steps), policy(10, 9, 5));
    assert.equal(classifyHeaderSeries(points, 10, resetClockOf(points), 100), 'window');
    assert.equal(classifyHeaderSeries(points.slice(0, 4), 10, resetClockOf(points), 100), 'undecided');
  });

  it('whole-second "time until full" resets time a token bucket, 429s included (30/min, burst 5)', () => {
    // 0.5 tokens/s: the full instant F moves 2 s per accepted request and stays put across 429s.
    const at = (seq, t, outcome, remaining, reset) => obs(seq, t, outcome, { policies: [policy(30, remaining, reset)] });
    const list = [at(1, 0, 'ok', 4, 2), at(2, 100, 'ok', 3, 4), at(3, 200, 'ok', 2, 6), at(4, 300, 'ok', 1, 8), at(5, 400, 'ok', 0, 10),
      at(6, 500, 'rate_limited', 0, 10), at(7, 2500, 'ok', 0, 10), at(8, 2600, 'rate_limited', 0, 10)];
    const interval = resetRateInterval(list, 100);
    assert.ok(interval && interval.lo * 60 <= 30 && interval.hi * 60 >= 30, JSON.stringify(interval));
    assert.ok((interval.hi - interval.lo) / ((interval.hi + interval.lo) / 2) <= 0.2);
    const estimate = estimateRateLimit(list, ctx);
    assert.equal(estimate.algorithm, 'token-bucket');
    assert.ok(Math.abs(estimate.perMinute - 30) <= 3, `${estimate.perMinute}/min`);
    assert.equal(estimate.burst, 5);
  });

  it('a check just after a fixed window reset finds the allowance back and times the window', () => {
    // Window ends 1.5 s after the first send (reset values rounded up); W = 2 s.
    const pre = series([[9, 2], [8, 2], [7, 2], [6, 2]]);
    const check = obs(5, 1520, 'ok', { policies: [policy(10, 9, 2)] }); // next end at 3.5 s: ceil(1.98) = 2
    const points = headerPoints([...pre, check], policy(10, 9, 2));
    const clock = resetClockOf(points);
    const found = findResetCheck(points, clock, 100);
    assert.ok(found);
    assert.deepEqual(windowFromCheck(points, found, 10, clock), { algorithm: 'fixed-window', windowMs: 2000 });
  });

  it('a check in a sliding log finds only the oldest request gone', () => {
    // W = 2 s, log empty before: the first reset is exactly 2 s; at 2.02 s request #1 has left, #2–#4 remain.
    const pre = series([[9, 2, { dialect: 'openai' }], [8, 1.9, { dialect: 'openai' }], [7, 1.8, { dialect: 'openai' }], [6, 1.7, { dialect: 'openai' }]]);
    const check = obs(5, 2020, 'ok', { policies: [policy(10, 6, 0.08, { dialect: 'openai' })] });
    const points = headerPoints([...pre, check], policy(10, 9, 2, { dialect: 'openai' }));
    const clock = resetClockOf(points);
    const found = findResetCheck(points, clock, 100);
    assert.ok(found);
    assert.deepEqual(windowFromCheck(points, found, 10, clock), { algorithm: 'sliding-window', windowMs: 2000 });
    const estimate = estimateRateLimit([...pre, check], ctx);
    assert.equal(estimate.algorithm, 'sliding-window');
    assert.equal(estimate.perMinute, 300);
  });

  it('a token bucket with millisecond resets: rate from the drift, capacity from remaining + ρ·reset', () => {
    const openai = { dialect: 'openai' };
    const estimate = estimateRateLimit(series([[9, 0.2, openai], [8, 0.3, openai]]), ctx);
    assert.equal(estimate.algorithm, 'token-bucket');
    assert.equal(estimate.perMinute, 300);
    assert.equal(estimate.burst, 10);
    assert.equal(estimate.windowSeconds, 2);
  });
});

describe('cycles: recoveries and refills', () => {
  it('retests grow 10 % from the anchor and never come closer than the pace', () => {
    assert.equal(nextRetestAt(0, 1000, 100), 1100);
    assert.equal(nextRetestAt(0, 100, 100), 200);
    assert.equal(nextRetestAt(500, 2500, 100), 2700);
  });

  it('names the runs: a leading 429 means burst 1 was empty', () => {
    const cycles = namedCycles(rateRuns([obs(1, 0, 'rate_limited'), obs(2, 100, 'ok'), obs(3, 200, 'rate_limited')]));
    assert.equal(cycles.burst1, null);
    assert.equal(cycles.limited1.length, 1);
    assert.equal(cycles.burst2.length, 1);
  });

  it('a second burst as long as the first means a window; a short one a bucket', () => {
    const run = (n1, n2) => {
      const list = [];
      let t = 0;
      for (let i = 0; i < n1; i++) list.push(obs(list.length + 1, (t += 100), 'ok'));
      list.push(obs(list.length + 1, (t += 100), 'rate_limited'));
      for (let i = 0; i < n2; i++) list.push(obs(list.length + 1, (t += 100), 'ok'));
      list.push(obs(list.length + 1, t + 100, 'rate_limited'));
      return namedCycles(rateRuns(list));
    };
    assert.equal(burstsSayWindow(run(10, 10)), true);
    assert.equal(burstsSayWindow(run(4, 10)), true); // a window that began before the probe
    assert.equal(burstsSayWindow(run(20, 1)), false);
  });

  it('sliding log: both recoveries one window after the oldest request; fixed: boundaries a window apart', () => {
    const cycles = /** @type {import('../../dist/probe/estimate-rate.js').Cycles} */ ({ burst1: [obs(1, 0, 'ok')] }); // only the run windowTiming reads
    // Sliding, W = 2 s: recoveries at 2.0 s after #1 and 2.0 s after the recovering request.
    const sliding = windowTiming(cycles, { lastFail: T0 + 1950, firstOk: T0 + 2050, mid: T0 + 2000 }, { lastFail: T0 + 3950 + 100, firstOk: T0 + 4050 + 100, mid: T0 + 4100 });
    // Without the request after the second recovery, a fixed window that began with the probe fits too.
    assert.equal(sliding.algorithm, 'unknown');
    assert.equal(sliding.settled, false);
    // Between the sliding reading (2025, the brackets' overlap) and the fixed one (2100, mid to mid), with
    // a range that holds both.
    assert.equal(sliding.windowMs, 2062.5);
    assert.ok(sliding.loMs <= 2000 && sliding.hiMs >= 2100);
    // With it: refused right after the second recovery, so sliding.
    const refused = windowTiming({ ...cycles, burst3: [obs(20, 4150, 'ok')], limited3: [obs(21, 4250, 'rate_limited')] }, { lastFail: T0 + 1950, firstOk: T0 + 2050, mid: T0 + 2000 }, { lastFail: T0 + 4050, firstOk: T0 + 4150, mid: T0 + 4100 });
    assert.deepEqual([refused.algorithm, refused.settled], ['sliding-window', true]);
    // Fixed, W = 2 s, boundary 0.8 s after the probe began.
    const fixed = windowTiming(cycles, { lastFail: T0 + 700, firstOk: T0 + 850, mid: T0 + 775 }, { lastFail: T0 + 2700, firstOk: T0 + 2900, mid: T0 + 2800 });
    assert.equal(fixed.algorithm, 'fixed-window');
    assert.equal(fixed.windowMs, 2025);
    assert.deepEqual(recoveryBracket([obs(1, 700, 'rate_limited')], [obs(2, 850, 'ok')]), { lastFail: T0 + 700, firstOk: T0 + 850, mid: T0 + 775 });
  });

  it('token bucket: 429s bound the refill rate; burst 1 gives the capacity', () => {
    // ρ = 5/s, capacity 10, paced at 100 ms from a full bucket: 20 successes, then the trickle.
    const list = [];
    let tokens = 10;
    let last = 0;
    for (let i = 0; i < 40; i++) {
      const t = i * 100;
      tokens = Math.min(10, tokens + ((t - last) / 1000) * 5);
      last = t;
      const ok = tokens >= 1;
      if (ok) tokens -= 1;
      list.push(obs(i + 1, t, ok ? 'ok' : 'rate_limited'));
    }
    const firstLimited = list.find((o) => o.outcome === 'rate_limited');
    const interval = tokenRateInterval(list.filter((o) => o.sentAt >= firstLimited.sentAt));
    assert.ok(interval.lo <= 5 && interval.hi >= 5, JSON.stringify(interval));
    const burst1 = list.slice(0, list.indexOf(firstLimited));
    assert.equal(bucketCapacity(burst1, firstLimited, 5), 10);
  });
});

describe('Retry-After and exhausted resets', () => {
  const limited = (seq, sentAt, extra = {}) => obs(seq, sentAt, 'rate_limited', extra);

  it('the next send waits for the latest refusal\'s Retry-After, which takes precedence over a reset', () => {
    // Retry-After: 1 with a policy at 0 resetting in 5 s: Retry-After wins (IETF draft-11).
    const both = limited(2, 100, { retryAfterSeconds: 1, policies: [policy(10, 0, 5)] });
    assert.equal(retryFloor([obs(1, 0, 'ok'), both]), both.receivedAt + 1000);
    // Without Retry-After the exhausted policy's reset binds (not when it is a token bucket's).
    const reset = limited(2, 100, { policies: [policy(10, 0, 5)] });
    assert.equal(retryFloor([obs(1, 0, 'ok'), reset]), reset.receivedAt + 5000);
    assert.equal(retryFloor([obs(1, 0, 'ok'), reset], false), null);
    // A policy with room left promises nothing; a later success clears every earlier hint.
    assert.equal(retryFloor([limited(1, 0, { policies: [policy(10, 3, 5)] })]), null);
    assert.equal(retryFloor([limited(1, 0, { retryAfterSeconds: 3 }), obs(2, 4000, 'ok')]), null);
    // The latest hint among refusals since the last success: a second 429 can push the floor later.
    const a = limited(2, 100, { retryAfterSeconds: 3 });
    const b = limited(3, 1200, { retryAfterSeconds: 4 });
    assert.equal(retryFloor([obs(1, 0, 'ok'), a, b]), b.receivedAt + 4000);
  });

  it('a Retry-After narrows the recovery bracket: the allowance was not back before it (less 1 s of rounding)', () => {
    // Refused at 5.0 s with Retry-After: 3; the retest at 8.0 s succeeds: the recovery is in (7 s, 8 s].
    const bracket = recoveryBracket([limited(6, 5000, { retryAfterSeconds: 3 })], [obs(7, 8002, 'ok')]);
    assert.deepEqual(bracket, { lastFail: T0 + 7000, firstOk: T0 + 8002, mid: T0 + 7501 });
    // A hint the recovery contradicts (a success before it) is ignored.
    const wrong = recoveryBracket([limited(6, 5000, { retryAfterSeconds: 30 })], [obs(7, 8002, 'ok')]);
    assert.equal(wrong.lastFail, T0 + 5000);
  });
});

describe('a second burst that waited for Retry-After', () => {
  it('more than the stated limit is a straddled boundary, not a bigger limit', () => {
    // 5 per 1 s (X-Chutes-RL-User: 5): burst 2 began at the Retry-After, ~0.8 s into a window, and ran
    // into the next one: 7 accepted. The limit stays the header's 5.
    const chutes = policy(5, null, null, { dialect: 'chutes', name: 'user' });
    const at = (seq, t, outcome, extra = {}) => obs(seq, t, outcome, { policies: [chutes], ...extra });
    const list = [
      ...[0, 50, 100, 150, 200].map((t, i) => at(i + 1, t, 'ok')),
      at(6, 250, 'rate_limited', { retryAfterSeconds: 1 }),
      ...[1260, 1310, 1360, 1410, 1460, 1510, 1560].map((t, i) => at(7 + i, t, 'ok')),
      at(14, 1610, 'rate_limited', { retryAfterSeconds: 1 }),
      at(15, 2620, 'ok'),
    ];
    const estimate = estimateRateLimit(list, { intervalMs: 50 });
    assert.equal(estimate.limit, 5, estimate.explanation);
    assert.match(estimate.explanation, /second burst got 7, more than the header's 5: it straddled a window boundary/);
    assert.doesNotMatch(estimate.explanation, /other traffic/);
  });
});

describe('exact only where the headers state limit and window', () => {
  it('a limit-only header never reached (Chutes): at-least, observed pace, the header said apart', () => {
    // X-Chutes-RL-User: 60, --rpm 120: 30 accepted in 15 s. Not "60 per minute, exact", not "120/min, exact".
    const chutes = policy(60, null, null, { dialect: 'chutes', name: 'user' });
    chutes.sources = ['x-chutes-rl-user'];
    const list = Array.from({ length: 30 }, (_, i) => obs(i + 1, i * 500, 'ok', { policies: [chutes] }));
    const estimate = estimateRateLimit(list, { intervalMs: 500 });
    assert.equal(estimate.bound, 'at-least');
    assert.equal(estimate.perMinute, 120);
    assert.deepEqual([estimate.limit, estimate.windowSeconds], [30, 15]);
    assert.notEqual(estimate.confidence, 'high');
    assert.equal(estimate.source, 'observed');
    assert.match(estimate.explanation, /the x-chutes-rl-user header states 60, but the probe never reached a limit at 120\/min/);
  });

  it('a single accepted request: no per-minute figure at all', () => {
    const estimate = estimateRateLimit([obs(1, 0, 'ok')], ctx);
    assert.equal(estimate.bound, 'at-least');
    assert.equal(estimate.perMinute, null);
  });

  it('a stated limit whose window was timed from reset values: approx, not exact or high', () => {
    const pre = series([[9, 2], [8, 2], [7, 2], [6, 2]]);
    const check = obs(5, 1520, 'ok', { policies: [policy(10, 9, 2)] });
    const estimate = estimateRateLimit([...pre, check], ctx);
    assert.equal(estimate.windowSeconds, 2);
    assert.equal(estimate.bound, 'approx');
    assert.notEqual(estimate.confidence, 'high');
  });

  it('a stated limit whose window was never measured: no exact bound', () => {
    // A window (remaining falls, reset stays put) but no request after the reset.
    const steps = Array.from({ length: 8 }, (_, i) => [9 - i, 2]);
    const estimate = estimateRateLimit(series(steps), { intervalMs: 100, stoppedBy: 'budget' });
    assert.equal(estimate.windowSeconds, null);
    assert.notEqual(estimate.bound, 'exact');
    assert.notEqual(estimate.confidence, 'high');
  });

  it('limited, recovered, never limited again: a stated limit is not exact', () => {
    const chutes = policy(10, null, null, { dialect: 'chutes', name: 'user' });
    const list = [
      ...Array.from({ length: 10 }, (_, i) => obs(i + 1, i * 100, 'ok', { policies: [chutes] })),
      obs(11, 1000, 'rate_limited', { policies: [chutes] }),
      ...Array.from({ length: 5 }, (_, i) => obs(12 + i, 2000 + i * 100, 'ok', { policies: [chutes] })),
    ];
    const estimate = estimateRateLimit(list, ctx);
    assert.equal(estimate.windowSeconds, null);
    assert.notEqual(estimate.bound, 'exact');
  });

  it('a token bucket timed from millisecond resets: approx, not high', () => {
    const openai = { dialect: 'openai' };
    const estimate = estimateRateLimit(series([[9, 0.2, openai], [8, 0.3, openai]]), ctx);
    assert.equal(estimate.bound, 'approx');
    assert.notEqual(estimate.confidence, 'high');
  });
});

describe('estimates when the limit was not reached, or nothing came back', () => {
  it('never limited: a lower bound, and a higher --rpm suggested', () => {
    const estimate = estimateRateLimit(Array.from({ length: 20 }, (_, i) => obs(i + 1, i * 100, 'ok')), ctx);
    assert.equal(estimate.bound, 'at-least');
    assert.equal(estimate.limit, 20);
    assert.equal(estimate.perMinute, 600);
    assert.match(estimate.explanation, /--rpm 1200/);
  });

  it('only errors: unknown, every figure null', () => {
    const estimate = estimateRateLimit([obs(1, 0, 'network_error'), obs(2, 100, 'network_error')], ctx);
    assert.deepEqual(
      [estimate.limit, estimate.windowSeconds, estimate.perMinute, estimate.burst, estimate.algorithm, estimate.bound],
      [null, null, null, null, 'unknown', 'unknown'],
    );
  });
});

describe('whose 429 is it', () => {
  it('a 429 with allowance left in its rate policy is not a rate refusal', () => {
    const gated = obs(2, 100, 'rate_limited', { policies: [policy(10, 7, 1)] });
    const [, relabelled] = attributeRefusals([obs(1, 0, 'ok'), gated]);
    assert.equal(relabelled.outcome, 'capacity');
  });

  it('a crowded 429 followed at once by a success is the concurrency gate; one followed by 429s is the rate', () => {
    const gate = attributeRefusals([obs(1, 0, 'ok', { inFlight: 2 }), obs(2, 100, 'rate_limited', { inFlight: 3 }), obs(3, 200, 'ok', { inFlight: 2 })]);
    assert.equal(gate[1].outcome, 'capacity');
    const rate = attributeRefusals([obs(1, 0, 'ok', { inFlight: 2 }), obs(2, 100, 'rate_limited', { inFlight: 3 }), obs(3, 200, 'rate_limited', { inFlight: 1 })]);
    assert.equal(rate[1].outcome, 'rate_limited');
  });
});

describe('foreign usage', () => {
  it('remaining falling faster than our requests explain is reported', () => {
    const list = series([[9, 2], [8, 2], [5, 2]]);
    const [warning] = detectForeignUsage(list);
    assert.match(warning, /another client is using the same key or address/);
    assert.deepEqual(detectForeignUsage(series([[9, 2], [8, 2], [7, 2]])), []);
  });
});

describe('concurrency', () => {
  it('batch sizes double up to the cap', () => {
    assert.deepEqual(batchSizes(8), [2, 4, 8]);
    assert.deepEqual(batchSizes(6), [2, 4, 6]);
    assert.deepEqual(batchSizes(2), [2]);
  });

  const ok = (seq) => obs(seq, 0, 'ok', { receivedAt: T0 + 250 });
  const refused = (seq, remaining = 5) => obs(seq, 0, 'rate_limited', { policies: remaining === null ? [] : [policy(10, remaining, 1)] });
  const judgements = [
    { name: 'all accepted', trial: { size: 2, responses: [ok(1), ok(2)], lone: null }, kind: 'all-accepted' },
    { name: '429s, no lone retry yet', trial: { size: 4, responses: [ok(1), ok(2), ok(3), refused(4, null)], lone: null }, kind: 'needs-lone' },
    { name: 'lone retry accepted: concurrency', trial: { size: 4, responses: [ok(1), ok(2), ok(3), refused(4, null)], lone: ok(5) }, kind: 'concurrency' },
    { name: 'lone retry refused: rate', trial: { size: 4, responses: [ok(1), refused(2, null)], lone: refused(3, null) }, kind: 'rate' },
    { name: 'rate policy at 0: rate, no retry needed', trial: { size: 4, responses: [ok(1), refused(2, 0)], lone: null }, kind: 'rate' },
  ];
  for (const { name, trial, kind } of judgements) {
    it(name, () => assert.equal(judgeBatch(trial).kind, kind));
  }

  it('exact when a batch over the limit was confirmed by a lone request', () => {
    const estimate = estimateConcurrency([
      { size: 2, responses: [ok(1), ok(2)], lone: null },
      { size: 4, responses: [ok(3), ok(4), ok(5), refused(6, null)], lone: ok(7) },
    ], 8);
    assert.deepEqual([estimate.limit, estimate.bound, estimate.testedUpTo, estimate.requests], [3, 'exact', 4, 7]);
  });

  it('at least the cap when nothing was refused', () => {
    const estimate = estimateConcurrency([
      { size: 2, responses: [ok(1), ok(2)], lone: null },
      { size: 4, responses: [ok(3), ok(4), ok(5), ok(6)], lone: null },
    ], 4);
    assert.deepEqual([estimate.limit, estimate.bound, estimate.testedUpTo], [4, 'at-least', 4]);
  });
});
