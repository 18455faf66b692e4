// The passive estimator (src/analyze/passive-estimate.ts) fed irregular traffic we did not pace — bursts,
// idle gaps, several requests in flight — against each of the emulator's limiters, on simulated time.
// What it may claim: a limit never reached only as `at-least` (and never above what the limiter could
// have let through); a limit and window from behaviour only after two exhausted windows; the algorithm
// only when it is the limiter's; an exact figure only from a header that states it.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { estimatePassive, peakAccepted, observationFromRecord } from '../../dist/analyze/passive-estimate.js';
import { burstySends, exhaustions, mostAcceptedIn, playTraffic } from '../helpers/passive-traffic.js';

const T0 = Date.UTC(2026, 0, 1, 12);
const LIMITERS = [
  { algorithm: 'fixed-window', limit: 10, windowMs: 20_000 },
  { algorithm: 'sliding-window', limit: 10, windowMs: 20_000 },
  { algorithm: 'token-bucket', limit: 10, windowMs: 20_000 },
];
const DIALECTS = ['none', 'x-ratelimit', 'ietf', 'openai'];
const LIGHT = { maxBurst: 4, withinMs: 300, gapMs: [20_000, 40_000] };
const HEAVY = { maxBurst: 25, withinMs: 150, gapMs: [2_000, 15_000] };
const SEEDS = [3, 11, 29];

describe('passive estimate: a limit never reached is only a lower bound', () => {
  for (const limiter of LIMITERS) {
    for (const dialect of DIALECTS) {
      for (const seed of SEEDS) {
        it(`${limiter.algorithm}, ${dialect} headers, light bursty traffic (seed ${seed})`, () => {
          const records = playTraffic(burstySends({ seed, t0: T0, durationMs: 600_000, ...LIGHT }), { ...limiter, dialect, seed });
          assert.equal(exhaustions(records), 0, 'the scenario never reaches the limit');
          const { rate, concurrency } = estimatePassive(records);
          if (dialect === 'ietf') {
            // The header states limit and window: the server's word, whatever the traffic.
            assert.deepEqual([rate.limit, rate.windowSeconds, rate.bound, rate.source], [10, 20, 'exact', 'headers']);
            return;
          }
          assert.notEqual(rate.bound, 'exact');
          assert.equal(rate.windowSeconds, null, 'no window is claimed without a stated one or two exhausted windows');
          if (rate.perMinute !== null) {
            assert.equal(rate.bound, 'at-least');
            assert.ok(rate.perMinute <= mostAcceptedIn(60_000, limiter), `${rate.perMinute}/min is more than the limiter lets through`);
            assert.equal(rate.perMinute, peakAccepted(records.map(observationFromRecord)));
          }
          // A limit only ever quoted from a header that states it.
          assert.equal(rate.limit, dialect === 'none' ? null : 10);
          assert.equal(concurrency.bound, 'at-least');
          assert.ok(concurrency.limit <= concurrency.testedUpTo);
        });
      }
    }
  }
});

describe('passive estimate: irregular traffic that exhausts the limit many times', () => {
  for (const limiter of LIMITERS) {
    for (const dialect of DIALECTS) {
      for (const seed of SEEDS) {
        it(`${limiter.algorithm}, ${dialect} headers, heavy bursty traffic (seed ${seed})`, () => {
          const records = playTraffic(burstySends({ seed, t0: T0, durationMs: 600_000, ...HEAVY }), { ...limiter, dialect, seed });
          assert.ok(exhaustions(records) >= 2, 'the scenario exhausts the limit at least twice');
          const { rate } = estimatePassive(records);
          if (dialect === 'ietf') {
            assert.deepEqual([rate.limit, rate.windowSeconds, rate.bound], [10, 20, 'exact']);
            return;
          }
          assert.notEqual(rate.bound, 'exact', 'behaviour alone is never exact');
          // Behaviour alone may read a bucket's room a little low, or give up (saying why), never invent.
          if (dialect === 'none' && rate.limit === null) assert.match(rate.explanation, /unknown/);
          else assert.ok(Math.abs(rate.limit - 10) <= 2, `limit ${rate.limit} is not about 10`);
          if (rate.windowSeconds !== null) {
            assert.ok(Math.abs(rate.windowSeconds - 20) <= 6, `window ${rate.windowSeconds} s is not about 20 s`);
          }
          // The algorithm is named only when it is the limiter's.
          if (rate.algorithm !== 'unknown') assert.equal(rate.algorithm, limiter.algorithm);
          assert.ok(['headers', 'observed', 'both'].includes(rate.source));
          assert.match(rate.explanation, /\S/);
          assert.doesNotMatch(rate.explanation, /--rpm/, 'no advice about the probe\'s pace for traffic we did not pace');
        });
      }
    }
  }
});

describe('passive estimate: one exhausted window is not enough', () => {
  for (const limiter of LIMITERS) {
    it(`${limiter.algorithm}: one burst over the limit, then nothing — no limit claimed`, () => {
      // 14 requests 200 ms apart (the first ones of a recording that began mid-window), then silence.
      const sends = Array.from({ length: 14 }, (_, i) => T0 + i * 200);
      const records = playTraffic(sends, { ...limiter, dialect: 'none', latencyMs: [50, 60] });
      assert.equal(exhaustions(records), 1);
      const { rate } = estimatePassive(records);
      assert.deepEqual([rate.limit, rate.windowSeconds, rate.perMinute, rate.bound], [null, null, null, 'unknown']);
      assert.match(rate.explanation, /two exhausted windows/);
    });
  }

  it('a recording that began mid-window: the first refusal after few acceptances does not void a later reading', () => {
    // 7 of the fixed window's 10 were spent before the tap started; then a steady, retrying app.
    const limiter = { algorithm: 'fixed-window', limit: 10, windowMs: 20_000 };
    const early = Array.from({ length: 7 }, (_, i) => T0 - 5_000 + i * 100);
    const sends = [...early, ...Array.from({ length: 300 }, (_, i) => T0 + i * 400)];
    const records = playTraffic(sends, { ...limiter, dialect: 'none', latencyMs: [50, 60] }).slice(early.length);
    const { rate } = estimatePassive(records);
    assert.equal(rate.limit, 10, rate.explanation);
    assert.ok(rate.windowSeconds !== null && Math.abs(rate.windowSeconds - 20) <= 6, rate.explanation);
  });

  it('with a stated limit but no window, one exhaustion quotes the header and claims no window', () => {
    const sends = Array.from({ length: 14 }, (_, i) => T0 + i * 200);
    const records = playTraffic(sends, { algorithm: 'sliding-window', limit: 10, windowMs: 20_000, dialect: 'x-ratelimit', latencyMs: [50, 60] });
    const { rate } = estimatePassive(records);
    assert.equal(rate.limit, 10);
    assert.equal(rate.windowSeconds, null);
    assert.notEqual(rate.bound, 'exact');
  });

  it('nothing accepted or limited: unknown, and says why', () => {
    const records = playTraffic([T0], { algorithm: 'fixed-window', limit: 1, windowMs: 1000, dialect: 'none' })
      .map((r) => ({ ...r, status: 500, outcome: 'http_error' }));
    const { rate, concurrency } = estimatePassive(records);
    assert.equal(rate.bound, 'unknown');
    assert.match(rate.explanation, /nothing to estimate/);
    assert.equal(concurrency.limit, null);
  });
});

describe('passive estimate: many requests in flight', () => {
  it('the concurrency figure is the most accepted at once, as a lower bound', () => {
    // Eight requests sent together, each answered after 2 s: all in flight at once.
    const sends = Array.from({ length: 8 }, (_, i) => T0 + i);
    const records = playTraffic(sends, { algorithm: 'fixed-window', limit: 100, windowMs: 60_000, dialect: 'none', latencyMs: [2000, 2001] });
    const { concurrency } = estimatePassive(records);
    assert.deepEqual([concurrency.limit, concurrency.bound, concurrency.testedUpTo], [8, 'at-least', 8]);
  });
});

describe('passive estimate: a concurrency gate under irregular traffic', () => {
  it('gate 429s are not taken for the rate limit, and the concurrency figure stays a lower bound at or under the gate', async () => {
    const { ConcurrencyGate } = await import('../../dist/emulator/limiters.js');
    const { prng } = await import('../helpers/passive-traffic.js');
    const gate = new ConcurrencyGate(3);
    const random = prng(5);
    /** @type {Array<{ end: number }>} */
    const holding = [];
    const records = [];
    let t = T0;
    for (let seq = 1; seq <= 300; seq++) {
      t += random() < 0.3 ? 5 : 200 + random() * 1500; // bursts of near-simultaneous sends, then gaps
      for (const h of holding.filter((x) => x.end <= t)) { gate.leave(); holding.splice(holding.indexOf(h), 1); }
      const inFlight = records.filter((r) => Date.parse(r.sentAt) < t && Date.parse(r.sentAt) + r.latencyMs > t).length + 1;
      const admitted = gate.enter();
      const latencyMs = admitted ? 800 + Math.round(random() * 800) : 5;
      if (admitted) holding.push({ end: t + latencyMs });
      records.push({
        seq, sentAt: new Date(t).toISOString(), scheduledAt: null, latencyMs, status: admitted ? 200 : 429, inFlight,
        outcome: admitted ? 'ok' : 'rate_limited', verdict: null, headers: {}, rateLimit: { policies: [], retryAfterSeconds: null }, body: null, error: null,
      });
    }
    assert.ok(records.some((r) => r.status === 429), 'the scenario reaches the gate');
    const { rate, concurrency } = estimatePassive(/** @type {any} */ (records));
    assert.equal(concurrency.bound, 'at-least');
    assert.ok(concurrency.limit !== null && concurrency.limit <= 3, `concurrency ${concurrency.limit} claims more than the gate allows`);
    assert.match(concurrency.explanation, /concurrency gate of about/);
    // No rate limit exists here: the gate's refusals must not be read as a window.
    assert.deepEqual([rate.windowSeconds, rate.bound === 'exact'], [null, false], rate.explanation);
  });
});
