// Issue #15: the probe against limiters as people deploy them, on simulated time. nginx `limit_req`
// (a leaky bucket: rate, burst, nodelay) behind or beside `limit_conn` (requests in flight) in front of a
// slow backend; a penalty box that counts refused requests too. The servers are the emulator's pure
// limiters stacked by test/helpers/sim-server.js.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ConcurrencyGate, createNginxLimitReq, FixedWindowLimiter, PenaltyBoxLimiter, SlidingWindowLimiter } from '../../dist/emulator/limiters.js';
import { ProbeStrategy } from '../../dist/probe/strategy.js';
import { driveProbe } from '../../dist/probe/runner.js';
import { maxInAnyWindow } from '../../dist/probe/schedule.js';
import { SimClock } from '../helpers/sim-clock.js';
import { layeredServer, NginxDelayingLimitReq } from '../helpers/sim-server.js';

const NOON = Date.UTC(2026, 0, 15, 12, 0, 0);

/**
 * @param {{ layers: () => import('../helpers/sim-server.js').Layer[], latency?: () => number, refusalLatency?: () => number,
 *   deliveryDelay?: number | ((seq: number) => number), arrivalDelay?: number | ((seq: number) => number), phase?: number,
 *   rpm?: number, maxRequests?: number, maxDurationMs?: number, concurrency?: 'auto' | 'off' | number }} options
 */
async function simulate({ layers, latency = () => 1, refusalLatency = () => 1, deliveryDelay = 0, arrivalDelay = 0, phase = 0, rpm = 120, maxRequests = 60, maxDurationMs = 300_000, concurrency = 'auto' }) {
  const start = NOON + phase;
  const clock = new SimClock(start);
  const server = layeredServer(clock, { layers: layers(), latency, refusalLatency, deliveryDelay, arrivalDelay });
  const strategy = new ProbeStrategy({ start, rpm, maxRequests, maxDurationMs, concurrency, maxConcurrency: 8 });
  const sends = [];
  await clock.run(driveProbe({ strategy, ...clock.driveOptions(), sendOne: server.sendOne, onSend: (t) => sends.push({ ...t, at: clock.now() }) }));
  return { result: strategy.result(), observations: strategy.observations(), sends, log: server.log, start };
}

function assertGuarantees(run, { rpm, maxRequests }) {
  assert.ok(run.sends.length <= maxRequests, `sent ${run.sends.length} > budget ${maxRequests}`);
  assert.ok(maxInAnyWindow(run.sends.map((s) => s.at)) <= rpm, 'more than rpm sends in some 60 s');
}

/**
 * nginx `limit_req … rate=perMinute r/m burst=… nodelay` and `limit_conn … conn` (null: none), both with
 * status 429, in the given order.
 * @returns {() => import('../helpers/sim-server.js').Layer[]}
 */
function nginx({ perMinute, burst, conn, order }) {
  return () => {
    const req = { limiter: createNginxLimitReq({ perMinute, burst }) };
    if (conn === null) return [req];
    const gate = { gate: new ConcurrencyGate(conn) };
    return order.startsWith('limit_req') ? [req, gate] : [gate, req];
  };
}

/** What a run did, in one line, for failure messages. */
function trace(run) {
  return run.observations.map((o) => `${Math.round((o.sentAt - run.start) / 100) / 10}:${o.status}${o.inFlight > 1 ? `/${o.inFlight}` : ''}`).join(' ');
}

describe('nginx limit_req (30 r/m, burst 5, nodelay) with limit_conn 3, backend 1.5 s, --rpm 120', () => {
  // The issue's measurement: the rate came out 20/min instead of 30 in 4 runs of 5, once concurrency 2.
  // After the first recovery each refill burst was cut at 3 by the connection limit, and those 3
  // successes were read as the whole refill.
  for (const order of ['limit_req first (nginx)', 'limit_conn first']) {
    for (const backendMs of [1500, 1510, 1620]) {
      it(`${order}, backend ${backendMs} ms: perMinute 30 ± 10 %, concurrency exactly 3`, async () => {
        const run = await simulate({ layers: nginx({ perMinute: 30, burst: 5, conn: 3, order }), latency: () => backendMs });
        const { rate, concurrency } = run.result;
        assertGuarantees(run, { rpm: 120, maxRequests: 60 });
        assert.ok(rate.perMinute !== null && Math.abs(rate.perMinute - 30) <= 3, `perMinute ${rate.perMinute} (${rate.explanation}) ${trace(run)}`);
        assert.deepEqual([concurrency.limit, concurrency.bound], [3, 'exact'], `${concurrency.explanation} ${trace(run)}`);
      });
    }
  }
});

/** A small seeded generator (numerical recipes' LCG), so jittered runs repeat exactly. */
function lcg(seed) {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

describe('nginx issue case with jittered answers that reach the client after the server freed the connection', () => {
  // The bench's "concurrency 1 (exact)" / "2 (at-least)" runs (BENCHMARKS.md, main at 039c714, #1): an
  // answer left nginx just before the next send arrived but reached the client 1–3 ms after it, so the
  // client counted 4 in flight for a request nginx accepted with 3; the 4th-in-flight refusal right after
  // was then read as the rate limit, the refill came out 61/min "room for 3", and the concurrency batch of
  // 2 went out when the bucket held one token: limit_req refused one, the lone retry 1.5 s later met a
  // refilled token, and the probe said "at most 1 in flight". Seeds 47 and 158 are those runs.
  for (const seed of [47, 158, 1, 2, 3, 4, 5, 6, 7, 8]) {
    it(`seed ${seed}: perMinute 30 ± 10 %, concurrency exactly 3`, async () => {
      const r = lcg(seed);
      const phase = Math.floor(r() * 2000);
      const run = await simulate({
        layers: nginx({ perMinute: 30, burst: 5, conn: 3, order: 'limit_req first (nginx)' }),
        latency: () => 1500 + Math.floor(r() * 150),
        refusalLatency: () => 1 + Math.floor(r() * 5),
        deliveryDelay: 3,
        phase,
      });
      const { rate, concurrency } = run.result;
      assertGuarantees(run, { rpm: 120, maxRequests: 60 });
      assert.ok(rate.perMinute !== null && Math.abs(rate.perMinute - 30) <= 3, `perMinute ${rate.perMinute} (${rate.explanation}) ${trace(run)}`);
      assert.deepEqual([concurrency.limit, concurrency.bound], [3, 'exact'], `${concurrency.explanation} ${trace(run)}`);
    });
  }
});

describe("nginx issue case, the bench's final run #1 replayed: an answer that left nginx as the next send arrived, read 21.5 ms after it", () => {
  // BENCHMARKS.md "Final run on main", issue case run #1: "conn 2 (at-least)" for 3 (rate 32.4/min, room
  // for 4). nginx's access log: request 2 ended and request 5 started in the same millisecond (2.521 s;
  // request 5 passed limit_conn with 3 held); the client had stamped request 5 at 2.514 s and read request
  // 2's answer at 2.5355 s, 21.5 ms after the send (over the 20 ms the race allowed, so "4 in flight,
  // accepted"). Request 6 was then refused by limit_conn with 4 in flight (lr=PASSED lc=REJECTED) but read
  // as the rate limit: the bucket came out 4 deep, the concurrency batch of 4 did not fit it, and the batch
  // of 2 said "at least 2". Request 2's answer had come 36 ms slower than the median. Replayed with the
  // run's timings: arrival and delivery delays per request, the backend's times from the access log.
  it('perMinute 30 ± 10 %, concurrency exactly 3', async () => {
    const backend = [1527, 1500, 1505, 1495, 1480];
    /** @type {Record<number, number>} */
    const arrival = { 1: 0, 2: 5, 3: 2, 4: 1, 5: 7, 6: 2 };
    /** @type {Record<number, number>} */
    const delivery = { 1: 27, 2: 17, 3: 1 };
    const run = await simulate({
      layers: nginx({ perMinute: 30, burst: 5, conn: 3, order: 'limit_req first (nginx)' }),
      latency: () => backend.shift() ?? 1502,
      arrivalDelay: (seq) => arrival[seq] ?? 1,
      deliveryDelay: (seq) => delivery[seq] ?? 1,
      maxDurationMs: 180_000,
    });
    // The replay meets the run's race: request 5 arrived after request 2 left, and request 2's answer came
    // more than 20 ms after request 5 was sent.
    const [two, five] = [2, 5].map((seq) => run.observations.find((o) => o.seq === seq));
    assert.ok(two && five && two.receivedAt - five.sentAt > 20 && five.status === 200 && five.inFlight === 4, trace(run));
    const { rate, concurrency } = run.result;
    assertGuarantees(run, { rpm: 120, maxRequests: 60 });
    assert.ok(rate.perMinute !== null && Math.abs(rate.perMinute - 30) <= 3, `perMinute ${rate.perMinute} (${rate.explanation}) ${trace(run)}`);
    assert.deepEqual([concurrency.limit, concurrency.bound], [3, 'exact'], `${concurrency.explanation} ${trace(run)}`);
  });
});

describe('nginx issue case, a bench run (A/B, 09:55 UTC) replayed: a bucket estimated 4.4995 deep', () => {
  // BENCHMARKS.md "After nginxconc15": on this branch's first fix, one run of six said "conn 2 (at-least)",
  // "32/min, room for about 4". The gate refusal (request 6, lr=PASSED lc=REJECTED: it spent a token) was
  // rightly set aside; the first burst then had 6 accepted in 3.5 s and a 429 at 4.0 s, so the bucket held
  // 4.13-4.87 at 32/min, rounded from 4.4995 to 4, and a batch needed half a request to spare under that:
  // the batch of 4 never went out. A full bucket surely held 4.13, so a batch of 4 fits it. Replayed: the
  // first request reaches nginx 5 ms after its stamp (the 429 at 4.0 s then comes a fraction short).
  it('perMinute 30 ± 10 %, concurrency exactly 3', async () => {
    const backend = [1510, 1498, 1502, 1502, 1502];
    const run = await simulate({
      layers: nginx({ perMinute: 30, burst: 5, conn: 3, order: 'limit_req first (nginx)' }),
      latency: () => backend.shift() ?? 1502,
      arrivalDelay: (seq) => (seq === 1 ? 5 : 0),
      deliveryDelay: 1,
      maxDurationMs: 180_000,
    });
    const { rate, concurrency } = run.result;
    assertGuarantees(run, { rpm: 120, maxRequests: 60 });
    assert.ok(rate.perMinute !== null && Math.abs(rate.perMinute - 30) <= 3, `perMinute ${rate.perMinute} (${rate.explanation}) ${trace(run)}`);
    assert.deepEqual([concurrency.limit, concurrency.bound], [3, 'exact'], `${concurrency.explanation} ${trace(run)}`);
  });
});

describe('nginx issue case on a loaded client: one answer in five reaches it 15-45 ms after the server freed the connection', () => {
  // The same race as the replay above, at random: sends reach nginx 0-8 ms after their stamp, and one
  // answer in five is read 15-45 ms late (the bench's lanes share two cores). Before the race allowance
  // grew with the answers' slowness, these 8 of seeds 1-100 said "2 (at-least)", 4 of them
  // with the issue's doubled rate (61.5/min: the 4th-in-flight refusal read as the rate limit).
  for (const seed of [4, 18, 41, 46, 48, 65, 69, 97]) {
    it(`seed ${seed}: perMinute 30 ± 10 %, concurrency exactly 3`, async () => {
      const r = lcg(seed);
      const phase = Math.floor(r() * 2000);
      const run = await simulate({
        layers: nginx({ perMinute: 30, burst: 5, conn: 3, order: 'limit_req first (nginx)' }),
        latency: () => 1500 + Math.floor(r() * 10),
        refusalLatency: () => 1 + Math.floor(r() * 5),
        deliveryDelay: () => (r() < 0.2 ? 15 + Math.floor(r() * 30) : 1),
        arrivalDelay: () => Math.floor(r() * 8),
        phase,
      });
      const { rate, concurrency } = run.result;
      assertGuarantees(run, { rpm: 120, maxRequests: 60 });
      assert.ok(rate.perMinute !== null && Math.abs(rate.perMinute - 30) <= 3, `perMinute ${rate.perMinute} (${rate.explanation}) ${trace(run)}`);
      assert.deepEqual([concurrency.limit, concurrency.bound], [3, 'exact'], `${concurrency.explanation} ${trace(run)}`);
    });
  }
});

describe('nginx 10r/s burst 20 with limit_conn 3, backend 100 ms, --rpm 1200, --max-requests 80', () => {
  // The bench: the refill bursts spent 78 of the 80 requests and the cap was never tested (main at
  // 039c714: "conn — unknown"); on nginx15 before the rate part's gate evidence was tightened, "2 exact".
  for (const seed of [1, 2, 3]) {
    it(`seed ${seed}: perMinute 600 ± 10 %, concurrency exactly 3`, async () => {
      const r = lcg(seed);
      const run = await simulate({
        layers: nginx({ perMinute: 600, burst: 20, conn: 3, order: 'limit_req first (nginx)' }),
        latency: () => 100 + Math.floor(r() * 10),
        refusalLatency: () => 1 + Math.floor(r() * 3),
        deliveryDelay: 3,
        phase: Math.floor(r() * 2000),
        rpm: 1200,
        maxRequests: 80,
      });
      assertGuarantees(run, { rpm: 1200, maxRequests: 80 });
      const { rate, concurrency } = run.result;
      assert.ok(rate.perMinute !== null && Math.abs(rate.perMinute - 600) <= 60, `perMinute ${rate.perMinute} (${rate.explanation}) ${trace(run)}`);
      assert.deepEqual([concurrency.limit, concurrency.bound], [3, 'exact'], `${concurrency.explanation} ${trace(run)}`);
    });
  }
});

describe('sweep: nginx limit_req × limit_conn × backend latency × --rpm', () => {
  // 2 orders × 2 zones × no cap or 2, 3, 5 in flight × 4 latencies × 2 paces = 128 probes. Each rate is
  // within ±10 % (the issue's bench target), or honestly not measured: perMinute null, or `at-least` no
  // higher than the truth (a cap of 2 with 3-s answers lets no client send 60/min, so the limit is never
  // reached); every exact concurrency is the cap, and no concurrency figure is above it.
  it('no estimate off target', async () => {
    const off = [];
    const counts = { onTarget: 0, unmeasured: 0, concurrencyExact: 0 };
    for (const order of ['limit_req first (nginx)', 'limit_conn first']) {
      for (const [perMinute, burst] of [[30, 5], [60, 10]]) {
        for (const conn of [null, 2, 3, 5]) {
          for (const backendMs of [50, 400, 1500, 3000]) {
            for (const rpm of [120, 240]) {
              const run = await simulate({ layers: nginx({ perMinute, burst, conn, order }), latency: () => backendMs, rpm, maxRequests: 80 });
              assertGuarantees(run, { rpm, maxRequests: 80 });
              const { rate, concurrency } = run.result;
              const bad = [];
              if (rate.perMinute !== null && Math.abs(rate.perMinute - perMinute) <= perMinute * 0.1) counts.onTarget += 1;
              else if (rate.perMinute === null || (rate.bound === 'at-least' && rate.perMinute <= perMinute * 1.1)) counts.unmeasured += 1;
              else bad.push(`perMinute ${rate.perMinute} ${rate.bound}`);
              if (conn !== null && concurrency.bound === 'exact' && concurrency.limit === conn) counts.concurrencyExact += 1;
              else if (conn !== null && concurrency.bound === 'exact') bad.push(`concurrency ${concurrency.limit} exact`);
              if (conn !== null && concurrency.limit !== null && concurrency.limit > conn) bad.push(`concurrency ${concurrency.limit} ${concurrency.bound}`);
              if (bad.length > 0) off.push(`${order} ${perMinute}/min burst ${burst} conn ${conn} ${backendMs} ms --rpm ${rpm}: ${bad.join(', ')}`);
            }
          }
        }
      }
    }
    assert.deepEqual(off, []);
    // Measured when this was written: 123 of 128 on target, 5 unmeasured (a cap of 2 with slow answers),
    // 78 of the 96 capped probes found the cap exactly (before #15's fixes: 93 on target, 21 off by more
    // than 10 %, 59 caps found). Kept as floors, so a regression shows.
    assert.ok(counts.onTarget >= 120 && counts.concurrencyExact >= 75, JSON.stringify(counts));
  });
});

describe('a penalty box: refused requests count too', () => {
  // Every request, refused or not, stays in a sliding window; retests during the block keep it full.
  // Before #15 the estimate came out low (8 per 11.2 s for 10 per 10 s), read as a fixed window.
  // Target: limit ±1 and the sustainable per-minute ±15 %, or `bound: unknown` with the reason.
  it('limit and sustainable rate, or honestly unknown, over limits, windows, paces and latencies', async () => {
    const off = [];
    let timed = 0;
    let cells = 0;
    for (const [limit, windowMs] of [[5, 2000], [10, 10_000], [10, 20_000], [30, 60_000]]) {
      for (const rpm of [60, 120, 600]) {
        for (const backendMs of [5, 300]) {
          for (const phase of [0, 450]) {
            const run = await simulate({ layers: () => [{ limiter: new PenaltyBoxLimiter(limit, windowMs) }], latency: () => backendMs, rpm, phase, maxRequests: 80, concurrency: 'off' });
            assertGuarantees(run, { rpm, maxRequests: 80 });
            const { rate } = run.result;
            const truth = (limit * 60_000) / windowMs;
            cells += 1;
            if (rate.bound === 'unknown' || rate.bound === 'at-least') {
              // Honestly unmeasured: no figure above the truth, and the reason said.
              if (rate.perMinute !== null && rate.perMinute > truth * 1.15) off.push(`${limit}/${windowMs} ${rpm} rpm ${backendMs} ms: ${rate.perMinute} ${rate.bound}`);
              continue;
            }
            timed += 1;
            if (rate.limit === null || Math.abs(rate.limit - limit) > 1 || rate.perMinute === null || Math.abs(rate.perMinute - truth) > truth * 0.15) {
              off.push(`${limit}/${windowMs} ${rpm} rpm ${backendMs} ms phase ${phase}: ${rate.limit} per ${rate.windowSeconds} s, ${rate.perMinute}/min, ${rate.bound}: ${rate.explanation}`);
            }
          }
        }
      }
    }
    assert.deepEqual(off, []);
    // Measured when this was written: 32 of 48 timed, all within target (before #15: none; 32 off by more
    // than 15 %). The other 16 are at-least: a pace under the limit (5 per 2 s at 60 and 120 rpm, 10 per
    // 10 s at 60 rpm) never meets it, and 30 per minute at 600 rpm runs out of budget in its second burst.
    assert.ok(timed >= 30, `${timed} of ${cells} timed`);
  });

  it('says so, and what to do', async () => {
    const run = await simulate({ layers: () => [{ limiter: new PenaltyBoxLimiter(10, 10_000) }], latency: () => 50, rpm: 120, concurrency: 'off' });
    const { rate } = run.result;
    assert.deepEqual([rate.limit, rate.algorithm, rate.bound], [10, 'sliding-window', 'approx']);
    assert.match(rate.explanation, /Refused requests count against the limit too \(a penalty box\).*keep under the limit rather than retrying into it/);
  });

  it('ordinary windows (fixed on the clock, from the first request, at an offset; sliding logs) are never read as one (at most as fitting both)', async () => {
    const seen = [];
    for (const [make, name] of /** @type {Array<[(l: number, w: number) => any, string]>} */ ([
      [(l, w) => new FixedWindowLimiter(l, w), 'clock'],
      [(l, w) => new FixedWindowLimiter(l, w, 'first-request'), 'first-request'],
      [(l, w) => new FixedWindowLimiter(l, w, 1234), 'offset'],
      [(l, w) => new SlidingWindowLimiter(l, w), 'sliding'],
    ])) {
      for (const [limit, windowMs] of [[5, 5000], [10, 10_000], [30, 5000]]) {
        for (const phase of [130, 2610, 4870]) {
          const run = await simulate({ layers: () => [{ limiter: make(limit, windowMs) }], latency: () => 5, rpm: 600, phase, maxRequests: 150, concurrency: 'off' });
          if (/^Refused requests count against the limit too/.test(run.result.rate.explanation)) seen.push(`${name} ${limit}/${windowMs} phase ${phase}`);
        }
      }
    }
    assert.deepEqual(seen, []);
  });
});

describe('nginx limit_req without nodelay (delaying): answers leave the queue at the rate', () => {
  // The bench (main at 039c714): 60 r/m burst 10 + limit_conn 3, 300 ms, --rpm 240 → "at least 78.7/min",
  // a lower bound above the truth: the probe counted requests accepted into nginx's queue by send time,
  // while their answers came back one per second. The simulated server reproduces that run to the digit
  // (44 accepted in 33.6 s). 30 r/m burst 5, 0 ms, --rpm 120: "at least 34.5/min" here.
  for (const [perMinute, burst, conn, backendMs, rpm] of [[60, 10, 3, 300, 240], [30, 5, null, 0, 120], [60, 10, null, 100, 240], [30, 5, 3, 300, 120]]) {
    it(`${perMinute} r/m burst ${burst}${conn ? ` + limit_conn ${conn}` : ''}, ${backendMs} ms, --rpm ${rpm}: perMinute within ±10 %, never a lower bound above the truth`, async () => {
      const layers = () => {
        const delaying = { delay: new NginxDelayingLimitReq({ perMinute, burst }) };
        return conn === null ? [delaying] : [delaying, { gate: new ConcurrencyGate(conn) }];
      };
      const run = await simulate({ layers, latency: () => backendMs, rpm, maxRequests: 60, maxDurationMs: 180_000 });
      assertGuarantees(run, { rpm, maxRequests: 60 });
      const { rate } = run.result;
      assert.ok(rate.perMinute !== null && Math.abs(rate.perMinute - perMinute) <= perMinute * 0.1, `perMinute ${rate.perMinute} ${rate.bound} (${rate.explanation}) ${trace(run)}`);
      assert.notEqual(rate.bound, 'at-least');
      // The queue's overflow is refused at a fixed depth: never a concurrency cap (none is configured, or
      // limit_conn sits behind the delay and cannot bind). The bench once said "5 exact" here.
      assert.notEqual(run.result.concurrency.bound, 'exact', run.result.concurrency.explanation);
    });
  }
});

describe('a concurrency cap that holds the pace under the rate limit', () => {
  it('says the limit was not reached because of the cap, not for want of --rpm', async () => {
    // 2 in flight with 3-s answers: at most 40/min can be sent, under limit_req's 60/min.
    const run = await simulate({ layers: nginx({ perMinute: 60, burst: 10, conn: 2, order: 'limit_conn first' }), latency: () => 3000, rpm: 120, maxRequests: 80 });
    const { rate } = run.result;
    assert.equal(rate.bound, 'at-least');
    assert.ok(rate.perMinute !== null && rate.perMinute <= 60, `${rate.perMinute}`);
    assert.match(rate.explanation, /a concurrency limit held the probe to 2 in flight.*a higher --rpm would not reach it/);
    assert.doesNotMatch(rate.explanation, /rerun with a higher --rpm/);
  });
});
