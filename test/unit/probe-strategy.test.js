// The adaptive probe (strategy + runner) on SIMULATED time against a simulated server: the emulator's
// own pure limiters and header writers, and the real header parser. Nothing waits for real time: a whole
// probe of minutes runs in milliseconds, so every limiter type, header mode and misbehaving server is
// covered, along with the hard guarantees (budget, rpm, pacing, duration).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ConcurrencyGate, createRateLimiter } from '../../dist/emulator/limiters.js';
import { rateLimitHeaders, retryAfterHeader } from '../../dist/emulator/chutes.js';
import { parseRateLimitHeaders } from '../../dist/ratelimit/parse.js';
import { ProbeStrategy } from '../../dist/probe/strategy.js';
import { driveProbe, WARM_UP_MAX_MS } from '../../dist/probe/runner.js';
import { maxInAnyWindow } from '../../dist/probe/schedule.js';
import { headerModeOf } from '../../dist/probe/estimate-rate.js';
import { random, SimClock } from '../helpers/sim-clock.js';

// ---------------------------------------------------------------------------------------------
// Simulated time: timers fire in order; between timers every pending promise settles.

const OUTCOME = { 200: 'ok', 429: 'rate_limited', 401: 'auth_error', 500: 'http_error' };

/**
 * algorithm and headers are plain strings: the tests loop over lists of names; simServer casts them where the emulator's functions take them.
 * @typedef {{
 *   algorithm?: string, limit?: number, windowMs?: number, burst?: number, headers?: string, retryAfter?: boolean,
 *   latency?: () => number, uplink?: () => number, concurrency?: number | null, prior?: number, fault?: string | null,
 * }} SimServerOptions
 */

/**
 * A server: concurrency gate → rate limiter, headers in one dialect, rejected requests answered at once
 * (as the emulator does), accepted ones after `latency()`. `prior` requests spend allowance before the probe.
 * @param {SimClock} clock
 * @param {SimServerOptions} [options]
 */
function simServer(clock, { algorithm = 'fixed-window', limit = 10, windowMs = 2000, burst, headers = 'none', retryAfter: withRetryAfter, latency = () => 1, uplink = () => 0, concurrency = null, prior = 0, fault = null } = {}) {
  const limiter = limit ? createRateLimiter({ algorithm: /** @type {import('../../dist/emulator/limiters.js').RateAlgorithm} */ (algorithm), limit, windowMs, burst }) : null;
  const gate = concurrency ? new ConcurrencyGate(concurrency) : null;
  const arrivals = [];
  for (let i = 0; i < prior; i++) limiter.tryAcquire(clock.now() - 1);
  const retryAfter = withRetryAfter ?? (headers !== 'none' && headers !== 'chutes');
  const sendOne = (ticket) =>
    new Promise((resolve) => {
      const sentAt = clock.now();
      clock.schedule(sentAt + uplink(), () => {
        const now = clock.now();
        arrivals.push(now);
        let status = 200;
        /** @type {Record<string, string>} */
        let hdrs = {};
        let holds = false;
        let delay = latency();
        if (fault === 'network') status = null;
        else if (fault === 'auth') status = 401;
        else if (fault === 'server') status = 500;
        else if (fault === 'always-429') status = 429;
        else if (gate && !gate.enter()) {
          status = 429;
          hdrs = rateLimitHeaders(/** @type {import('../../dist/emulator/chutes.js').HeaderDialect} */ (headers), limiter ? limiter.peek(now) : null, now, 'delta');
        } else {
          holds = Boolean(gate);
          const decision = limiter ? limiter.tryAcquire(now) : null;
          hdrs = rateLimitHeaders(/** @type {import('../../dist/emulator/chutes.js').HeaderDialect} */ (headers), decision, now, 'delta');
          if (decision && !decision.allowed) {
            status = 429;
            if (retryAfter) Object.assign(hdrs, retryAfterHeader(decision.retryAfterMs));
            if (holds) gate.leave();
            holds = false;
          }
        }
        if (status !== 200) delay = 1;
        clock.schedule(now + delay, () => {
          if (holds) gate.leave();
          const receivedAt = clock.now();
          const parsed = status === null ? { policies: [], retryAfterSeconds: null } : parseRateLimitHeaders(hdrs, { receivedAt });
          resolve({
            seq: ticket.seq,
            sentAt,
            receivedAt,
            status,
            outcome: status === null ? 'network_error' : OUTCOME[status],
            policies: parsed.policies,
            retryAfterSeconds: parsed.retryAfterSeconds,
            inFlight: ticket.inFlight,
          });
        });
      });
    });
  return { sendOne, arrivals };
}

const NOON = Date.UTC(2026, 0, 15, 12, 0, 0);

/**
 * @param {{
 *   phase?: number, rpm?: number, maxRequests?: number, maxDurationMs?: number,
 *   concurrency?: import('../../dist/probe/strategy.js').ConcurrencyMode, maxConcurrency?: number,
 *   server?: SimServerOptions, abortAfterMs?: number | null, allowRefusals?: number,
 * }} [options]
 */
async function simulate({ phase = 700, rpm = 600, maxRequests = 150, maxDurationMs = 600_000, concurrency = 'off', maxConcurrency = 8, server = {}, abortAfterMs = null, ...rest } = {}) {
  // X-Chutes-* headers put the probe in Chutes mode (one refusal, ban-safe): these sweeps measure the
  // estimators on the Chutes dialect, as a user who passed --allow-refusals would (banprobe-strategy.test.js
  // tests the refusal budget itself).
  const allowRefusals = rest.allowRefusals ?? (server.headers === 'chutes' ? Infinity : undefined);
  const start = NOON + phase;
  const clock = new SimClock(start);
  const { sendOne, arrivals } = simServer(clock, server);
  const strategy = new ProbeStrategy({ start, rpm, maxRequests, maxDurationMs, concurrency, maxConcurrency, ...(allowRefusals !== undefined ? { allowRefusals } : {}) });
  const sends = [];
  const controller = new AbortController();
  if (abortAfterMs !== null) clock.schedule(start + abortAfterMs, () => controller.abort());
  const outcome = await clock.run(driveProbe({
    strategy,
    ...clock.driveOptions(),
    sendOne,
    signal: controller.signal,
    drainTimeoutMs: 3000,
    onSend: (ticket) => sends.push({ ...ticket, at: clock.now() }),
  }));
  return { result: strategy.result(), observations: strategy.observations(), sends, arrivals, outcome, start, end: clock.now() };
}

/** The hard guarantees, checked on every simulated probe. */
function assertGuarantees(run, { rpm = 600, maxRequests = 150, maxDurationMs = 600_000 } = {}) {
  const { sends, start } = run;
  assert.ok(sends.length <= maxRequests, `sent ${sends.length} > budget ${maxRequests}`);
  assert.ok(maxInAnyWindow(sends.map((s) => s.at)) <= rpm, 'more than rpm sends in some 60 s');
  assert.ok(sends.every((s) => s.at <= start + maxDurationMs), 'a send after --max-duration');
  const rate = sends.filter((s) => s.purpose !== 'batch' && s.purpose !== 'lone').map((s) => s.scheduledAt);
  for (let i = 1; i < rate.length; i++) {
    assert.ok(rate[i] - rate[i - 1] >= 60_000 / rpm - 1e-6, `rate-phase sends ${i - 1} and ${i} only ${rate[i] - rate[i - 1]} ms apart`);
  }
  for (const s of sends) assert.ok(s.at >= s.scheduledAt, 'a send went out before its slot');
  assertObeysRetryAfter(run);
  assertHonestBound(run);
}

/** `exact` or `high` only where the headers state both the limit and the window (IETF `w`). */
function assertHonestBound(run) {
  const { rate } = run.result;
  if (rate.bound !== 'exact' && rate.confidence !== 'high') return;
  const mode = headerModeOf(run.observations ?? []);
  assert.equal(mode.kind, 'exact', `${rate.bound}/${rate.confidence} without a stated limit and window: ${JSON.stringify(rate)}`);
  assert.equal(rate.source, 'headers');
}

/**
 * No rate-phase send before the Retry-After of a refusal already received, unless a later-sent request
 * was accepted meanwhile (the allowance was back). With `resets`, an exhausted policy's reset binds too.
 */
function assertObeysRetryAfter(run, { resets = false } = {}) {
  const { sends, observations = [] } = run;
  for (const s of sends.filter((x) => x.purpose !== 'batch' && x.purpose !== 'lone')) {
    const known = observations.filter((o) => o.receivedAt <= s.at && o.seq !== s.seq);
    const lastOk = Math.max(-Infinity, ...known.filter((o) => o.outcome === 'ok').map((o) => o.sentAt));
    for (const o of known) {
      if (o.outcome !== 'rate_limited' || o.sentAt < lastOk) continue;
      const exhausted = o.policies.filter((p) => p.remaining === 0 && p.resetSeconds !== null).map((p) => p.resetSeconds);
      const seconds = o.retryAfterSeconds ?? (resets && exhausted.length > 0 ? Math.max(...exhausted) : null);
      if (seconds === null) continue;
      const floor = o.receivedAt + seconds * 1000;
      assert.ok(s.at >= floor - 1e-6, `#${s.seq} (${s.purpose}) went out ${Math.round(floor - s.at)} ms before the ${o.retryAfterSeconds === null ? 'reset' : 'Retry-After'} of #${o.seq} (${seconds} s)`);
    }
  }
}

/** Rate-phase 429s: what a probe that ignores Retry-After spends on certain refusals. */
function refusals(run) {
  return run.observations.filter((o) => o.outcome === 'rate_limited').length;
}

function near(actual, expected, tolerance, what) {
  assert.ok(actual !== null && Math.abs(actual - expected) <= tolerance, `${what}: ${actual}, expected ${expected} ± ${tolerance}`);
}

// ---------------------------------------------------------------------------------------------

describe('header-less limiters (behaviour only)', () => {
  for (const algorithm of ['fixed-window', 'sliding-window']) {
    for (const phase of [150, 700, 1650]) {
      it(`${algorithm}, 10 per 2 s, probe starting ${phase} ms into a window`, async () => {
        const run = await simulate({ phase, server: { algorithm, limit: 10, windowMs: 2000 } });
        const { rate } = run.result;
        near(rate.limit, 10, 1, 'limit');
        near(rate.windowSeconds, 2, 0.2, 'window');
        assert.equal(rate.source, 'observed');
        assert.equal(rate.bound, 'approx');
        assert.equal(rate.algorithm, algorithm);
        assertGuarantees(run);
      });
    }
  }

  it('fixed or sliding is told apart at every phase (10 per 5 s, 20 phases): a pause in burst 2, a request after the second recovery', async () => {
    for (const algorithm of ['fixed-window', 'sliding-window']) {
      for (let phase = 0; phase < 5000; phase += 250) {
        const run = await simulate({ phase, maxRequests: 80, server: { algorithm, limit: 10, windowMs: 5000, latency: () => 5 } });
        const { rate } = run.result;
        assert.equal(rate.algorithm, algorithm, `phase ${phase}: ${rate.explanation}`);
        near(rate.windowSeconds, 5, 0.5, `window at phase ${phase}`);
        // Where the two recoveries' brackets alone cannot tell (a fixed window that began just before the
        // probe looks sliding), the request after the second recovery did.
        if (phase <= 750) assert.match(rate.explanation, /a request right after the second recovery was (refused|accepted)/, `phase ${phase}`);
        assertGuarantees(run, { maxRequests: 80 });
      }
    }
  });

  it('token bucket, 10 per 2 s (5/s), burst 10: perMinute ±10 %, burst ±1', async () => {
    const run = await simulate({ server: { algorithm: 'token-bucket', limit: 10, windowMs: 2000 } });
    const { rate } = run.result;
    assert.equal(rate.algorithm, 'token-bucket');
    near(rate.perMinute, 300, 30, 'perMinute');
    near(rate.burst, 10, 1, 'burst');
    assertGuarantees(run);
  });

  it('token bucket with a small burst (4) and a slow refill at 60 rpm', async () => {
    const small = await simulate({ server: { algorithm: 'token-bucket', limit: 10, windowMs: 2000, burst: 4 } });
    near(small.result.rate.perMinute, 300, 30, 'perMinute');
    near(small.result.rate.burst, 4, 1, 'burst');
    const slow = await simulate({ rpm: 60, server: { algorithm: 'token-bucket', limit: 10, windowMs: 60_000 } });
    near(slow.result.rate.perMinute, 10, 1, 'perMinute');
    near(slow.result.rate.burst, 10, 1, 'burst');
    assertGuarantees(slow, { rpm: 60 });
  });

  it('a fixed window that began before the probe, with earlier usage, still gives the full limit', async () => {
    // 4 of 10 already spent, probe 1.2 s into the 2-s window: burst 1 only gets 6.
    const run = await simulate({ phase: 1200, server: { algorithm: 'fixed-window', limit: 10, windowMs: 2000, prior: 4 } });
    const { rate } = run.result;
    assert.equal(rate.limit, 10);
    near(rate.windowSeconds, 2, 0.2, 'window');
    assert.equal(rate.algorithm, 'fixed-window');
    assert.match(rate.explanation, /first burst got 6/);
  });

  it('noisy latencies (20–320 ms, open loop) still find limit and window', async () => {
    for (const [algorithm, seed] of /** @type {Array<[string, number]>} */ ([['fixed-window', 3], ['sliding-window', 5], ['token-bucket', 9]])) {
      const rnd = random(seed);
      const run = await simulate({ server: { algorithm, limit: 10, windowMs: 2000, latency: () => 20 + rnd() * 300, uplink: () => rnd() * 4 } });
      const { rate } = run.result;
      if (algorithm === 'token-bucket') {
        near(rate.perMinute, 300, 30, `${algorithm} perMinute`);
      } else {
        near(rate.limit, 10, 1, `${algorithm} limit`);
        near(rate.windowSeconds, 2, 0.2, `${algorithm} window`);
      }
      assertGuarantees(run);
    }
  });
});

describe('rate-limit headers', () => {
  const matrix = [];
  for (const headers of ['chutes', 'x-ratelimit', 'openai', 'anthropic', 'ietf']) {
    for (const algorithm of ['fixed-window', 'sliding-window', 'token-bucket']) matrix.push({ headers, algorithm });
  }
  for (const { headers, algorithm } of matrix) {
    it(`${headers} × ${algorithm}`, async () => {
      const run = await simulate({ server: { algorithm, headers, limit: 10, windowMs: 2000 } });
      const { rate } = run.result;
      assert.equal(rate.limit, 10, 'limit');
      near(rate.perMinute, 300, 30, 'perMinute');
      if (algorithm !== 'token-bucket' || headers === 'ietf') near(rate.windowSeconds, 2, 0.2, 'window');
      if (headers !== 'chutes') assert.notEqual(rate.source, 'observed', 'the headers were used');
      if (headers === 'ietf') {
        assert.equal(rate.requests, 1, 'limit and window in the headers: one request');
        assert.equal(rate.bound, 'exact');
      }
      if (headers === 'openai') assert.ok(rate.requests <= 3, `openai: ${rate.requests} requests`);
      if (headers !== 'ietf') assert.equal(rate.algorithm, algorithm);
      assertGuarantees(run);
    });
  }

  describe('the pre-flight: the first request waits for its answer (slow answers, 250 ms at a 100 ms pace)', () => {
    const slow = () => 250;
    it('IETF headers state limit and window: one request, not the three an open-loop burst has out by then', async () => {
      for (const algorithm of ['fixed-window', 'sliding-window', 'token-bucket']) {
        const run = await simulate({ server: { algorithm, headers: 'ietf', limit: 10, windowMs: 2000, latency: slow } });
        assert.equal(run.result.rate.requests, 1, algorithm);
        assert.equal(run.result.rate.bound, 'exact');
        assertGuarantees(run);
      }
    });

    it('no rate-limit headers: burst 1 goes on when the answer came, open loop from then on', async () => {
      const run = await simulate({ server: { algorithm: 'fixed-window', limit: 10, windowMs: 2000, latency: slow } });
      const [first, second, third] = run.sends;
      assert.equal(second.at - first.at, 250, 'the second send went when the first answer came');
      assert.equal(third.at - second.at, 100, 'then the pace');
      assert.ok(run.sends.slice(1, 4).every((s) => s.at === s.scheduledAt), 'burst 1 starts on a fresh grid: no pacing error');
      assertGuarantees(run);
    });

    it('a very slow first answer holds burst 1 for three intervals at most', async () => {
      const run = await simulate({ server: { algorithm: 'fixed-window', limit: 10, windowMs: 2000, latency: () => 2000 } });
      const [first, second, third] = run.sends;
      assert.equal(second.at - first.at, 300);
      assert.equal(third.at - second.at, 100);
      assertGuarantees(run);
    });

    // Found by a sweep of every dialect × algorithm × latency (1–700 ms) × phase on simulated time.
    for (const [what, cfg, check] of /** @type {Array<[string, Parameters<typeof simulate>[0], (rate: import('../../dist/probe/strategy.js').ProbeResult['rate']) => void]>} */ ([
      ['a bucket whose token came back before the second request is not read as a 0.25-s window (OpenAI, 250 ms)',
        { server: { algorithm: 'token-bucket', headers: 'openai', limit: 10, windowMs: 2000, latency: () => 250 } },
        (r) => { assert.equal(r.algorithm, 'token-bucket'); near(r.perMinute, 300, 30, 'perMinute'); }],
      ['whole-second Retry-After leaves wide recovery brackets: the reset values narrow them (X-RateLimit sliding, 700 ms)',
        { phase: 100, maxRequests: 80, server: { algorithm: 'sliding-window', headers: 'x-ratelimit', limit: 10, windowMs: 2000, latency: () => 700 } },
        (r) => near(r.windowSeconds, 2, 0.2, 'window')],
      ['a second burst that ran through a boundary spans two windows (Anthropic fixed, 700 ms)',
        { phase: 3700, maxRequests: 80, server: { algorithm: 'fixed-window', headers: 'anthropic', limit: 10, windowMs: 2000, latency: () => 700 } },
        (r) => near(r.windowSeconds, 2, 0.2, 'window')],
      ['slow answers do not hold the second recovery\'s retests back (no headers, fixed, 700 ms)',
        { phase: 3700, maxRequests: 80, server: { algorithm: 'fixed-window', limit: 10, windowMs: 2000, latency: () => 700 } },
        (r) => near(r.windowSeconds, 2, 0.2, 'window')],
    ])) {
      it(what, async () => {
        const run = await simulate(cfg);
        check(run.result.rate);
        assertGuarantees(run, { maxRequests: cfg.maxRequests ?? 150 });
      });
    }

    it('a fast answer keeps the original grid', async () => {
      const run = await simulate({ server: { algorithm: 'fixed-window', limit: 10, windowMs: 2000, latency: () => 20 } });
      assert.deepEqual(run.sends.slice(0, 4).map((s) => s.scheduledAt - run.start), [0, 100, 200, 300]);
    });
  });

  it('a bucket that refills faster than the probe sends is reported without spending the budget', async () => {
    const run = await simulate({ server: { algorithm: 'token-bucket', headers: 'openai', limit: 30, windowMs: 2000 } });
    const { rate } = run.result;
    assert.ok(rate.requests <= 6, `${rate.requests} requests`);
    assert.equal(rate.algorithm, 'token-bucket');
    near(rate.perMinute, 900, 90, 'perMinute');
  });

  it('another client spending the same allowance is reported', async () => {
    const clock0 = NOON + 300;
    const clock = new SimClock(clock0);
    const server = simServer(clock, { algorithm: 'fixed-window', headers: 'x-ratelimit', limit: 20, windowMs: 10_000 });
    // A second client on the same key: every 150 ms, through the same server.
    for (let t = 50; t < 3000; t += 150) clock.schedule(clock0 + t, () => server.sendOne({ seq: -1, scheduledAt: 0, inFlight: 1, purpose: 'burst' }));
    const strategy = new ProbeStrategy({ start: clock0, rpm: 120, maxRequests: 12, maxDurationMs: 60_000, concurrency: 'off', maxConcurrency: 8 });
    await clock.run(driveProbe({ strategy, ...clock.driveOptions(), sendOne: server.sendOne }));
    assert.ok(strategy.result().warnings.some((w) => /another client/.test(w)), JSON.stringify(strategy.result().warnings));
  });
});

describe('sweep: every dialect × algorithm × answer latency × phase', () => {
  // 6 dialects × 3 limiters × latencies from instant to a third of the window × 3 phases, 10 per 2 s,
  // 10 per 5 s, and a bucket of 30/min with room for 5: each estimate within the issue's tolerances
  // (perMinute ±10 %, limit ±1, a stated burst ±1) and every run within its guarantees.
  it('504 probes on simulated time, none off target', async () => {
    const off = [];
    for (const headers of ['x-ratelimit', 'openai', 'anthropic', 'ietf', 'chutes', 'none']) {
      for (const algorithm of ['fixed-window', 'sliding-window', 'token-bucket']) {
        for (const lat of [1, 60, 250, 700]) {
          for (const [limit, windowMs, burst] of [[10, 2000, undefined], [10, 5000, undefined], [30, 60000, 5]]) {
            if (algorithm !== 'token-bucket' && burst) continue;
            for (const phase of [100, 1300, 3700]) {
              const run = await simulate({ phase, maxRequests: 80, maxDurationMs: 120_000, server: { algorithm, headers, limit, windowMs, burst, latency: () => lat } });
              assertGuarantees(run, { maxRequests: 80, maxDurationMs: 120_000 });
              const r = run.result.rate;
              const perMinute = (limit * 60_000) / windowMs;
              const bad = [];
              if (r.perMinute === null || Math.abs(r.perMinute - perMinute) > perMinute * 0.1) bad.push(`perMinute ${r.perMinute}`);
              if (algorithm === 'token-bucket' && r.burst !== null && Math.abs(r.burst - burst) > 1) bad.push(`burst ${r.burst}`);
              if (algorithm !== 'token-bucket' && (r.limit === null || Math.abs(r.limit - limit) > 1)) bad.push(`limit ${r.limit}`);
              if (bad.length > 0) off.push(`${headers} ${algorithm} ${limit}/${windowMs} ${lat} ms phase ${phase}: ${bad.join(', ')}`);
            }
          }
        }
      }
    }
    assert.deepEqual(off, []);
  });
});

describe('sweep: a 1-s window against whole-second Retry-After and resets (5 per 1 s, --rpm 1200)', () => {
  // Retests obey a Retry-After of 1 s, so a recovery inside a 1-s window is timed only to within about a
  // second: then the estimate must say so (the range, low confidence) and the true window must lie in it.
  it('200 probes: every window within ±15 %, or a stated range that holds it', async () => {
    const off = [];
    for (const headers of ['anthropic', 'x-ratelimit', 'openai', 'none', 'chutes']) {
      for (const algorithm of ['fixed-window', 'sliding-window']) {
        for (let phase = 0; phase < 1000; phase += 50) {
          const run = await simulate({ phase, rpm: 1200, maxRequests: 80, maxDurationMs: 20_000, server: { algorithm, headers, limit: 5, windowMs: 1000, latency: () => 3, uplink: () => 1 } });
          assertGuarantees(run, { rpm: 1200, maxRequests: 80, maxDurationMs: 20_000 });
          const r = run.result.rate;
          const held = /timed only to within ([\d.]+)–([\d.]+) s/.exec(r.explanation);
          const ok = held ? Number(held[1]) <= 1.05 && Number(held[2]) >= 0.95 && r.confidence === 'low' : Math.abs(r.windowSeconds - 1) <= 0.15;
          if (!ok || Math.abs(r.limit - 5) > 1) off.push(`${headers} ${algorithm} phase ${phase}: ${r.limit} per ${r.windowSeconds} s, ${r.algorithm}${held ? `, ${held[0]}` : ''}`);
        }
      }
    }
    assert.deepEqual(off, []);
  });
});

describe('Retry-After and exhausted resets', () => {
  it('Retry-After: 3 at --rpm 60: no retest before it, one 429 per cycle, the same estimate', async () => {
    // A sliding log of 5 per 8 s: the 6th request (t = 5 s) is refused with Retry-After: 3. Retests every
    // second (t = 6, 7 s) would be certain 429s; the next request must wait for t = 8 s.
    const run = await simulate({ rpm: 60, maxRequests: 40, server: { algorithm: 'sliding-window', limit: 5, windowMs: 8000, retryAfter: true } });
    const first429 = run.observations.find((o) => o.outcome === 'rate_limited');
    assert.equal(first429.retryAfterSeconds, 3);
    const next = run.sends.find((s) => s.at > first429.sentAt);
    assert.ok(next.at >= first429.receivedAt + 3000, `next send ${next.at - first429.receivedAt} ms after a Retry-After of 3 s`);
    assertGuarantees(run, { rpm: 60, maxRequests: 40 });
    assert.equal(refusals(run), 2, 'one 429 per cycle');
    const { rate } = run.result;
    assert.equal(rate.limit, 5);
    near(rate.windowSeconds, 8, 0.6, 'window');
  });

  for (const algorithm of ['fixed-window', 'sliding-window', 'token-bucket']) {
    it(`${algorithm} with Retry-After, at --rpm 60 and 600: every rate-phase send obeys it`, async () => {
      for (const [rpm, windowMs] of [[60, 20_000], [600, 2000]]) {
        const run = await simulate({ rpm, maxRequests: 60, server: { algorithm, limit: 10, windowMs, retryAfter: true } });
        assertGuarantees(run, { rpm, maxRequests: 60 });
        assert.ok(refusals(run) <= 5, `${rpm} rpm: ${refusals(run)} 429s`);
        near(run.result.rate.perMinute, (10 * 60_000) / windowMs, (10 * 60_000) / windowMs / 3, `${rpm} rpm perMinute`);
      }
    });
  }

  it('without Retry-After, the reset of an exhausted policy binds the retests (a window)', async () => {
    // 4 of 5 already spent: the second request is refused with X-RateLimit-Remaining: 0 and a reset.
    const run = await simulate({ rpm: 60, maxRequests: 40, server: { algorithm: 'fixed-window', headers: 'x-ratelimit', retryAfter: false, limit: 5, windowMs: 8000, prior: 4 } });
    assert.ok(run.observations.some((o) => o.outcome === 'rate_limited' && o.retryAfterSeconds === null));
    assertObeysRetryAfter(run, { resets: true });
    assert.ok(refusals(run) <= 3, `${refusals(run)} 429s`);
  });

  it('a token bucket\'s reset (time until full) does not hold the retests back', async () => {
    // OpenAI-style reset = time until the bucket is full again; the next token comes far sooner.
    const run = await simulate({ rpm: 600, server: { algorithm: 'token-bucket', headers: 'x-ratelimit', retryAfter: false, limit: 10, windowMs: 2000 } });
    assert.equal(run.result.rate.algorithm, 'token-bucket');
    near(run.result.rate.perMinute, 300, 30, 'perMinute');
  });

  it('a Retry-After past --max-duration ends the rate part instead of sending early', async () => {
    const run = await simulate({ rpm: 60, maxRequests: 40, maxDurationMs: 10_000, server: { algorithm: 'fixed-window', limit: 3, windowMs: 60_000, retryAfter: true } });
    assertGuarantees(run, { rpm: 60, maxRequests: 40, maxDurationMs: 10_000 });
    assert.equal(refusals(run), 1);
    assert.equal(run.result.stopReason, 'duration');
  });
});

describe('when the limit is never reached', () => {
  it('Chutes header 10, never reached at --rpm 120: at-least, the observed pace, the header said apart', async () => {
    // The review's repro: X-Chutes-RL-User: 10 (no window), 10 per 5 s, --rpm 120 --max-requests 30:
    // every request accepted, so nothing but the probe's own pace was measured.
    const run = await simulate({ rpm: 120, maxRequests: 30, concurrency: 'auto', server: { limit: 10, windowMs: 5000, headers: 'chutes' } });
    const { rate } = run.result;
    assert.equal(run.observations.filter((o) => o.outcome === 'rate_limited').length, 0);
    assert.equal(rate.bound, 'at-least');
    assert.notEqual(rate.confidence, 'high');
    assert.ok(rate.perMinute === null || rate.perMinute <= 120.5, `perMinute ${rate.perMinute} is more than was sent`);
    assert.match(rate.explanation, /x-chutes-rl-user header states 10/i);
    assert.match(rate.explanation, /never reached a limit at 120\/min/);
    assertGuarantees(run, { rpm: 120, maxRequests: 30 });
  });

  it('no rate limit at all: at-least, with a higher --rpm suggested, and budget left for concurrency', async () => {
    const run = await simulate({ maxRequests: 60, concurrency: 'auto', server: { limit: 0, concurrency: 4, latency: () => 250 } });
    const { rate, concurrency } = run.result;
    assert.equal(rate.bound, 'at-least');
    assert.ok(rate.limit >= 40, `limit ${rate.limit}`);
    assert.match(rate.explanation, /higher --rpm/);
    assert.equal(concurrency.limit, 4);
    assertGuarantees(run, { maxRequests: 60 });
  });
});

describe('concurrency', () => {
  for (const C of [1, 3, 5]) {
    it(`a gate of ${C} in flight is found exactly, within 3·C + 4 requests`, async () => {
      const run = await simulate({ concurrency: 'auto', server: { algorithm: 'fixed-window', headers: 'ietf', limit: 20, windowMs: 2000, concurrency: C, latency: () => 250 } });
      const { concurrency } = run.result;
      assert.equal(concurrency.limit, C);
      assert.equal(concurrency.bound, 'exact');
      assert.ok(concurrency.requests <= 3 * C + 4, `${concurrency.requests} requests`);
      assertGuarantees(run);
    });
  }

  it('a batch waits until the headers\' remaining covers it (IETF bucket 30/min with room for 5, after one rate request)', async () => {
    const run = await simulate({ concurrency: 'auto', server: { algorithm: 'token-bucket', headers: 'ietf', limit: 30, windowMs: 60_000, burst: 5, concurrency: 3, latency: () => 200 } });
    assert.equal(run.result.rate.requests, 1);
    assert.deepEqual([run.result.concurrency.limit, run.result.concurrency.bound], [3, 'exact'], run.result.concurrency.explanation);
    assertGuarantees(run);
  });

  it('no gate up to the cap: at-least the cap', async () => {
    const run = await simulate({ concurrency: 'auto', maxConcurrency: 4, server: { headers: 'ietf', limit: 20, windowMs: 2000, latency: () => 250 } });
    assert.deepEqual([run.result.concurrency.limit, run.result.concurrency.bound, run.result.concurrency.testedUpTo], [4, 'at-least', 4]);
  });

  it('a rate limit smaller than the batch is not mistaken for a concurrency limit', async () => {
    // 3 per 2 s: a batch of 4 can never fit; the test stops at what the rate allows.
    const run = await simulate({ concurrency: 'auto', server: { headers: 'ietf', limit: 3, windowMs: 2000, latency: () => 250 } });
    const { concurrency } = run.result;
    assert.notEqual(concurrency.bound, 'exact');
    assert.ok(concurrency.limit === null || concurrency.limit >= 2);
  });

  it('--concurrency off sends no batch', async () => {
    const run = await simulate({ concurrency: 'off', server: { headers: 'ietf' } });
    assert.ok(run.sends.every((s) => s.purpose !== 'batch' && s.purpose !== 'lone'));
    assert.match(run.result.concurrency.explanation, /--concurrency off/);
  });
});

describe('hard guarantees against misbehaving servers', () => {
  const servers = [
    { name: 'answers every request with 429 at once', server: { fault: 'always-429' } },
    { name: 'only network errors', server: { fault: 'network' } },
    { name: 'only 401', server: { fault: 'auth' } },
    { name: 'only 500', server: { fault: 'server' } },
    { name: 'accepts everything instantly', server: { limit: 0, latency: () => 0 } },
  ];
  for (const { name, server } of servers) {
    it(`${name}: never over budget, rpm or duration`, async () => {
      const limits = { rpm: 120, maxRequests: 40, maxDurationMs: 90_000 };
      const run = await simulate({ ...limits, concurrency: 'auto', server });
      assertGuarantees(run, limits);
    });
  }

  it('errors stop the probe early instead of spending the budget', async () => {
    const network = await simulate({ maxRequests: 100, server: { fault: 'network' } });
    assert.ok(network.sends.length <= 5, `${network.sends.length} sends to a dead server`);
    assert.equal(network.result.stopReason, 'errors');
    const auth = await simulate({ maxRequests: 100, server: { fault: 'auth' } });
    assert.ok(auth.sends.length <= 4, `${auth.sends.length} sends with a rejected key`);
  });

  it('stops sending at --max-duration', async () => {
    const run = await simulate({ rpm: 60, maxRequests: 1000, maxDurationMs: 30_000, server: { limit: 0 } });
    assert.ok(run.sends.length <= 31);
    assert.ok(run.sends.every((s) => s.at <= run.start + 30_000));
    assert.equal(run.result.rate.bound, 'at-least');
  });

  it('the budget is never exceeded, whatever the stage it runs out in', async () => {
    for (const maxRequests of [1, 2, 5, 12, 23]) {
      for (const algorithm of ['fixed-window', 'token-bucket']) {
        const run = await simulate({ maxRequests, concurrency: 'auto', server: { algorithm, limit: 10, windowMs: 2000, latency: () => 250, concurrency: 3 } });
        assert.ok(run.sends.length <= maxRequests, `${algorithm}: ${run.sends.length} > ${maxRequests}`);
      }
    }
  });

  it('Ctrl-C with nothing in flight: the drain timer is cancelled, nothing waits for it', async () => {
    const start = NOON;
    const clock = new SimClock(start);
    const { sendOne } = simServer(clock, { limit: 0, latency: () => 1 });
    const strategy = new ProbeStrategy({ start, rpm: 60, maxRequests: 10, maxDurationMs: 60_000, concurrency: 'off', maxConcurrency: 8 });
    const controller = new AbortController();
    clock.schedule(start + 1500, () => controller.abort()); // between two sends: nothing in flight
    const sleeps = [];
    const sleep = (ms, signal) => {
      sleeps.push({ ms, signal });
      return clock.sleep(ms, signal);
    };
    const outcome = await clock.run(driveProbe({ strategy, ...clock.driveOptions(), sleep, sendOne, signal: controller.signal, drainTimeoutMs: 3000 }));
    assert.equal(outcome.interrupted, true);
    const drain = sleeps.find((s) => s.ms === 3000);
    assert.ok(drain, 'the runner bounds the drain with a sleep');
    assert.equal(drain.signal?.aborted, true, 'the drain sleep was cancelled once the drain ended');
    assert.deepEqual(clock.timers, [], 'no timer left behind to hold the process');
    assert.equal(clock.now(), start + 1500);
  });

  it('Ctrl-C with a request in flight: the drain ends when it comes back, not at the timeout', async () => {
    const start = NOON;
    const clock = new SimClock(start);
    const { sendOne } = simServer(clock, { limit: 0, latency: () => 400 });
    const strategy = new ProbeStrategy({ start, rpm: 60, maxRequests: 10, maxDurationMs: 60_000, concurrency: 'off', maxConcurrency: 8 });
    const controller = new AbortController();
    clock.schedule(start + 1100, () => controller.abort()); // the send at 1 s answers at 1.4 s
    const outcome = await clock.run(driveProbe({ strategy, ...clock.driveOptions(), sendOne, signal: controller.signal, drainTimeoutMs: 3000 }));
    assert.deepEqual([outcome.interrupted, outcome.abandoned], [true, 0]);
    assert.deepEqual(clock.timers, []);
    assert.ok(clock.now() <= start + 1401, `returned at +${clock.now() - start} ms`);
  });

  it('a warm-up that hangs is cut after WARM_UP_MAX_MS (and aborted); the first send follows it', async () => {
    const start = NOON;
    const clock = new SimClock(start);
    const { sendOne } = simServer(clock, { limit: 0 });
    const strategy = new ProbeStrategy({ start, rpm: 60, maxRequests: 3, maxDurationMs: 60_000, concurrency: 'off', maxConcurrency: 8 });
    /** @type {AbortSignal | null} */
    let warmUpSignal = null;
    const warmUp = (signal) => {
      warmUpSignal = signal;
      return new Promise(() => {}); // a connection that never opens
    };
    const sends = [];
    await clock.run(driveProbe({ strategy, ...clock.driveOptions(), sendOne, warmUp, startLeadMs: 20, onSend: () => sends.push(clock.now()) }));
    assert.equal(warmUpSignal?.aborted, true, 'the warm-up was told to stop');
    assert.equal(sends[0], start + WARM_UP_MAX_MS + 20);
    assert.equal(strategy.deadline, start + 60_000, 'the deadline did not move with the warm-up');
  });

  it('--max-duration counts the warm-up: nothing is sent after start + maxDuration', async () => {
    for (const [warmUpMs, maxDurationMs] of [[1500, 10_000], [5000, 1500]]) {
      const start = NOON;
      const clock = new SimClock(start);
      const { sendOne } = simServer(clock, { limit: 0 });
      const strategy = new ProbeStrategy({ start, rpm: 60, maxRequests: 100, maxDurationMs, concurrency: 'off', maxConcurrency: 8 });
      const sends = [];
      await clock.run(driveProbe({ strategy, ...clock.driveOptions(), sendOne, warmUp: () => clock.sleep(warmUpMs), warmUpMaxMs: 10_000, startLeadMs: 20, onSend: () => sends.push(clock.now()) }));
      assert.ok(sends.every((t) => t <= start + maxDurationMs), `warm-up ${warmUpMs} ms, --max-duration ${maxDurationMs} ms: a send at +${Math.max(...sends) - start} ms`);
      assert.ok(clock.now() <= start + maxDurationMs + 1000, `ran until +${clock.now() - start} ms`);
      if (maxDurationMs === 10_000) assert.equal(sends.length, 9, 'sends from +1.52 s to +9.52 s');
      else assert.equal(sends.length, 0, 'the warm-up used all of --max-duration');
    }
  });

  it('Ctrl-C: stops sending, keeps what came back, reports interrupted', async () => {
    const run = await simulate({ abortAfterMs: 550, server: { limit: 10, windowMs: 2000, latency: () => 200 } });
    assert.equal(run.outcome.interrupted, true);
    assert.equal(run.result.stopReason, 'interrupted');
    assert.ok(run.sends.every((s) => s.at <= run.start + 550));
    assert.ok(run.sends.length >= 5);
  });
});
