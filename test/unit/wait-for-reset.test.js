// The wait-reset loop on simulated time: a fake clock, a sleep that advances it, and small servers
// that answer like the emulator (fixed windows, Retry-After, x-ratelimit-*, a Chutes 402).
// Every scenario runs in microseconds, so the request-count targets are checked over many phases.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  backoffDelayMs, estimateResetWindow, hintResolutionMs, nextTestDelay, observeResponse, readQuotaResetTimestamp,
  readResetHint, waitForReset,
} from '../../dist/wait/wait-for-reset.js';
import { steppingClock } from '../helpers/sim-clock.js';

const MARGIN = 250;
const BASE = Date.UTC(2026, 0, 15, 12, 0, 0);

const simClock = (start = BASE) => steppingClock(start);

/**
 * A fixed window of `limit` requests per `windowMs` (aligned to the epoch, as the emulator does),
 * already exhausted in the current window. Headers: Retry-After and/or x-ratelimit-*, in whole
 * seconds rounded up, like the emulator. `latencyMs` passes between send and response.
 */
function fixedWindowServer(clock, { limit = 2, windowMs = 2000, retryAfter = true, resetHeader = false, latencyMs = 3 } = {}) {
  const counts = new Map();
  const windowOf = (t) => Math.floor(t / windowMs);
  counts.set(windowOf(clock.t), limit); // exhausted before the first test
  const sends = [];
  const sendOne = async () => {
    const sentAt = clock.t;
    sends.push(sentAt);
    const w = windowOf(sentAt);
    const used = counts.get(w) ?? 0;
    const allowed = used < limit;
    if (allowed) counts.set(w, used + 1);
    const resetMs = (w + 1) * windowMs - sentAt;
    /** @type {Record<string, string>} */
    const headers = {};
    if (!allowed && retryAfter) headers['retry-after'] = String(Math.max(1, Math.ceil(resetMs / 1000)));
    if (resetHeader) {
      headers['x-ratelimit-limit'] = String(limit);
      headers['x-ratelimit-remaining'] = String(allowed ? limit - used - 1 : 0);
      headers['x-ratelimit-reset'] = String(Math.ceil(resetMs / 1000));
    }
    clock.t += latencyMs;
    return observeResponse({ status: allowed ? 200 : 429, headers, body: null, sentAt, receivedAt: clock.t }, { sentAt });
  };
  /** When the window of the first limited request ended: the true reset. */
  const truthAfter = (t) => (windowOf(t) + 1) * windowMs;
  return { sendOne, sends, truthAfter };
}

function run(clock, sendOne, options = {}) {
  return waitForReset({ sendOne, now: clock.now, sleep: clock.sleep, marginMs: MARGIN, ...options });
}

const plain = (status, headers = {}, body = null) => ({ status, headers, body });

describe('waitForReset: guided by the server', () => {
  it('honours Retry-After exactly: the second test is at receivedAt + Retry-After + margin, never earlier', async () => {
    const clock = simClock(BASE + 700); // 1.3 s left in the 2 s window → Retry-After: 2
    const server = fixedWindowServer(clock);
    const result = await run(clock, server.sendOne);
    assert.equal(result.stop, 'reset');
    assert.equal(result.reset, true);
    assert.equal(result.attempts, 2);
    const [first, second] = result.observations;
    assert.equal(first.retryAfterSeconds, 2);
    assert.equal(second.sentAt, first.receivedAt + 2000 + MARGIN);
  });

  it('never tests before Retry-After, whatever the window phase (200 phases)', async () => {
    for (let phase = 0; phase < 2000; phase += 10) {
      const clock = simClock(BASE + phase);
      const server = fixedWindowServer(clock);
      const result = await run(clock, server.sendOne);
      for (let i = 1; i < result.observations.length; i++) {
        const prev = result.observations[i - 1];
        if (prev.retryAfterSeconds === null) continue;
        assert.ok(result.observations[i].sentAt >= prev.receivedAt + prev.retryAfterSeconds * 1000, `phase ${phase}`);
      }
    }
  });

  it('follows the exhausted policy reset when there is no Retry-After', async () => {
    const clock = simClock(BASE + 300);
    const server = fixedWindowServer(clock, { retryAfter: false, resetHeader: true });
    const result = await run(clock, server.sendOne);
    assert.equal(result.stop, 'reset');
    assert.equal(result.attempts, 2);
    assert.equal(result.window.basis, 'hint');
    assert.equal(result.window.source, 'reset-header');
    assert.equal(result.window.origin, 'x-ratelimit-reset');
  });

  for (const [label, server] of /** @type {Array<[string, { retryAfter?: boolean, resetHeader?: boolean }]>} */ ([['Retry-After', { retryAfter: true }], ['x-ratelimit-reset', { retryAfter: false, resetHeader: true }]])) {
    it(`${label}: at most 2 requests for one reset, and the reset estimate within 0.5 s of the truth (every phase)`, async () => {
      let worst = 0;
      for (let phase = 0; phase < 2000; phase += 7) {
        const clock = simClock(BASE + phase);
        const sim = fixedWindowServer(clock, server);
        const result = await run(clock, sim.sendOne);
        assert.equal(result.stop, 'reset', `phase ${phase}`);
        assert.ok(result.attempts <= 2, `phase ${phase}: ${result.attempts} requests`);
        const truth = sim.truthAfter(result.observations[0].sentAt);
        worst = Math.max(worst, Math.abs(result.window.resetAt - truth));
        assert.ok(result.window.earliestAt <= truth + 5 && truth <= result.window.latestAt, `phase ${phase}: truth outside the bounds`);
      }
      assert.ok(worst <= 505, `worst error ${worst} ms`);
    });
  }

  it('takes the latest of several binding hints: all of them must pass', () => {
    const obs = observeResponse(
      { ...plain(429, { 'retry-after': '2', 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': '30', 'x-ratelimit-limit': '10' }), sentAt: BASE, receivedAt: BASE },
      null,
    );
    const hint = readResetHint(obs);
    assert.equal(hint.binding, true);
    assert.equal(hint.source, 'reset-header');
    assert.equal(hint.atMs, BASE + 30_000);
  });
});

describe('waitForReset: a daily quota that resets hours away', () => {
  const midnight = Date.UTC(2026, 0, 16);
  const quota402 = () => JSON.stringify({ detail: { message: 'Quota exceeded and account balance is $0.0', quota_reset_timestamp: new Date(midnight).toISOString() } });

  it('402 with quota_reset_timestamp beyond --max-wait: one request, no polling, the reset time reported', async () => {
    const clock = simClock(BASE);
    let sent = 0;
    const sendOne = async () => {
      sent += 1;
      return observeResponse({ ...plain(402, {}, quota402()), sentAt: clock.t, receivedAt: clock.t + 2 }, null);
    };
    const result = await run(clock, sendOne, { maxWaitMs: 600_000 });
    assert.equal(sent, 1);
    assert.equal(result.stop, 'reset-beyond-max-wait');
    assert.equal(result.reset, false);
    assert.equal(result.pendingHint.source, 'quota-reset-timestamp');
    assert.equal(result.pendingHint.atMs, midnight);
    assert.deepEqual(clock.sleeps, []);
  });

  it('402 with a --max-wait that covers the reset: one sleep to the timestamp, then the test', async () => {
    const clock = simClock(BASE);
    const sendOne = async () => {
      const limited = clock.t < midnight;
      return observeResponse({ ...plain(limited ? 402 : 200, {}, limited ? quota402() : '{}'), sentAt: clock.t, receivedAt: clock.t }, null);
    };
    const result = await run(clock, sendOne, { maxWaitMs: 24 * 3_600_000 });
    assert.equal(result.stop, 'reset');
    assert.equal(result.attempts, 2);
    assert.equal(result.observations[1].sentAt, midnight + MARGIN);
  });

  it('a non-exhausted daily quota on a 429 is only a guess: it never makes the wait give up', async () => {
    const clock = simClock(BASE);
    let n = 0;
    const sendOne = async () => {
      n += 1;
      const headers = { 'x-chutes-quota-total': '200', 'x-chutes-quota-used': '50', 'x-chutes-quota-remaining': '150' };
      return observeResponse({ ...plain(n < 3 ? 429 : 200, headers), sentAt: clock.t, receivedAt: clock.t }, null);
    };
    const result = await run(clock, sendOne, { intervalMs: 1000, maxIntervalMs: 4000 });
    assert.equal(readResetHint(result.observations[0]).binding, false);
    assert.equal(result.stop, 'reset');
    assert.deepEqual(clock.sleeps, [1000, 2000]);
  });
});

describe('waitForReset: unguided backoff', () => {
  const alwaysLimited = (clock) => async () => observeResponse({ ...plain(429), sentAt: clock.t, receivedAt: clock.t }, null);

  it('doubles from --interval and caps at --max-interval', async () => {
    const clock = simClock();
    const result = await run(clock, alwaysLimited(clock), { intervalMs: 1000, maxIntervalMs: 8000, maxWaitMs: 40_000 });
    assert.deepEqual(clock.sleeps.slice(0, 6), [1000, 2000, 4000, 8000, 8000, 8000]);
    assert.equal(result.stop, 'max-wait');
  });

  it('gives up at --max-wait, with a last test at the deadline rather than stopping early', async () => {
    const clock = simClock();
    const result = await run(clock, alwaysLimited(clock), { intervalMs: 5000, maxIntervalMs: 60_000, maxWaitMs: 20_000 });
    const offsets = result.observations.map((o) => o.sentAt - BASE);
    assert.deepEqual(offsets, [0, 5000, 15_000, 20_000]);
    assert.equal(result.reset, false);
    assert.equal(result.stop, 'max-wait');
    assert.equal(result.waitedMs, 20_000);
    assert.ok(result.attempts <= Math.ceil(20_000 / 5000) + 1);
  });

  it('slow responses: never gives up before --max-wait − margin, and never tests after --max-wait', async () => {
    for (let seed = 1; seed <= 200; seed++) {
      const clock = simClock();
      let state = seed;
      const latency = () => ((state = (state * 16807) % 2147483647) % 900); // deterministic 0–899 ms
      const sendOne = async () => {
        const sentAt = clock.t;
        clock.t += latency();
        return observeResponse({ ...plain(429), sentAt, receivedAt: clock.t }, null);
      };
      const result = await run(clock, sendOne, { intervalMs: 300, maxIntervalMs: 600, maxWaitMs: 1000 });
      assert.equal(result.stop, 'max-wait');
      assert.ok(result.waitedMs >= 1000 - MARGIN, `seed ${seed}: gave up after ${result.waitedMs} ms`);
      assert.ok(result.observations.every((o) => o.sentAt <= BASE + 1000), `seed ${seed}: tested after the deadline`);
    }
  });

  it('at most ⌈wait / interval⌉ + 1 requests, and the reset within 1 s, for windows with no hints (every phase)', async () => {
    for (const [interval, maxInterval] of [[300, 500], [500, 1000], [1000, 1000]]) {
      for (let phase = 0; phase < 2000; phase += 13) {
        const clock = simClock(BASE + phase);
        const sim = fixedWindowServer(clock, { retryAfter: false });
        const result = await run(clock, sim.sendOne, { intervalMs: interval, maxIntervalMs: maxInterval });
        assert.equal(result.stop, 'reset');
        assert.ok(result.attempts <= Math.ceil(result.waitedMs / interval) + 1, `interval ${interval}, phase ${phase}: ${result.attempts} requests in ${result.waitedMs} ms`);
        const truth = sim.truthAfter(result.observations[0].sentAt);
        assert.ok(Math.abs(result.window.resetAt - truth) <= maxInterval / 2 + 5, `interval ${interval}, phase ${phase}`);
        assert.equal(result.window.basis, 'observed');
      }
    }
  });

  it('a server answering "Retry-After: 0" forever earns backoff after the first miss', async () => {
    const clock = simClock();
    const sendOne = async () => observeResponse({ ...plain(429, { 'retry-after': '0' }), sentAt: clock.t, receivedAt: clock.t }, null);
    const result = await run(clock, sendOne, { intervalMs: 1000, maxIntervalMs: 4000, maxWaitMs: 20_000 });
    assert.deepEqual(clock.sleeps.slice(0, 5), [MARGIN, 1000, 2000, 4000, 4000]);
    assert.ok(result.attempts <= 9, `${result.attempts} requests`);
  });
});

describe('waitForReset: a server whose Retry-After is wrong', () => {
  /** 429 with `Retry-After: 1` until `resetMs` after the first request, then 200 (the repro). */
  function lyingServer(clock, resetMs = 6000) {
    const truth = clock.t + resetMs;
    const sendOne = async () => {
      const sentAt = clock.t;
      clock.t += 4;
      const limited = sentAt < truth;
      return observeResponse({ ...plain(limited ? 429 : 200, limited ? { 'retry-after': '1' } : {}), sentAt, receivedAt: clock.t }, null);
    };
    return { sendOne, truth };
  }

  it('default --interval: the window is bracketed by the tests, not by the hint that proved wrong, and holds the truth', async () => {
    const clock = simClock();
    const sim = lyingServer(clock);
    const result = await run(clock, sim.sendOne);
    assert.equal(result.stop, 'reset');
    const w = result.window;
    assert.equal(w.basis, 'observed');
    assert.equal(w.source, null);
    assert.ok(w.missedHints >= 1);
    assert.ok(w.earliestAt <= sim.truth && sim.truth <= w.latestAt, `truth ${sim.truth - BASE} outside [${w.earliestAt - BASE}, ${w.latestAt - BASE}]`);
    const last = result.observations.at(-2);
    assert.deepEqual([w.earliestAt, w.latestAt], [last.sentAt, result.final.sentAt]);
  });

  it('the bracket holds the truth whenever the lie ends, and is within 1 s of it when retests are ≤ 1.5 s apart', async () => {
    for (let resetMs = 2000; resetMs <= 30_000; resetMs += 170) {
      for (const settings of [{}, { intervalMs: 1000, maxIntervalMs: 1500 }]) {
        const clock = simClock();
        const sim = lyingServer(clock, resetMs);
        const result = await run(clock, sim.sendOne, settings);
        const w = result.window;
        assert.equal(result.stop, 'reset');
        assert.equal(w.basis, 'observed', `reset at ${resetMs}`);
        assert.ok(w.earliestAt <= sim.truth && sim.truth <= w.latestAt, `reset at ${resetMs}: truth outside the bracket`);
        if (settings.intervalMs === undefined) continue;
        const error = Math.abs(w.resetAt - sim.truth);
        assert.ok(error <= 1000, `reset at ${resetMs}: off by ${error} ms`);
      }
    }
  });
});

describe('waitForReset: other endings', () => {
  it('the first response is not limited: 1 request, reset, no wait', async () => {
    const clock = simClock();
    const result = await run(clock, async () => observeResponse({ ...plain(200), sentAt: clock.t, receivedAt: clock.t }, null));
    assert.equal(result.stop, 'not-limited');
    assert.equal(result.reset, true);
    assert.equal(result.attempts, 1);
    assert.equal(result.window, null);
  });

  it('a response that is neither OK nor limited ends the wait (401)', async () => {
    const clock = simClock();
    const result = await run(clock, async () => observeResponse({ ...plain(401), sentAt: clock.t, receivedAt: clock.t }, null));
    assert.equal(result.stop, 'error');
    assert.equal(result.reset, false);
  });

  it('an abort during the wait stops it and keeps what was seen', async () => {
    const clock = simClock();
    const controller = new AbortController();
    const sendOne = async () => observeResponse({ ...plain(429), sentAt: clock.t, receivedAt: clock.t }, null);
    const sleep = async (ms) => {
      clock.t += ms;
      controller.abort();
    };
    const result = await waitForReset({ sendOne, now: clock.now, sleep, signal: controller.signal, intervalMs: 1000 });
    assert.equal(result.stop, 'aborted');
    assert.equal(result.attempts, 1);
    assert.equal(result.nextTest.source, 'backoff');
  });
});

describe('nextTestDelay', () => {
  const opts = { intervalMs: 1000, maxIntervalMs: 8000, marginMs: MARGIN };
  const hint = (over) => ({ source: 'retry-after', origin: 'retry-after', atMs: 10_000, binding: true, resolutionMs: 1000, ...over });
  /** @type {Array<[string, import('../../dist/wait/wait-for-reset.js').NextTestInput, number, string]>} */
  const rows = [
    ['binding hint: its time plus the margin', { now: 0, hint: hint(), backoffStep: 0, missedHints: 0 }, 10_250, 'retry-after'],
    ['binding hint already past: margin only', { now: 20_000, hint: hint(), backoffStep: 0, missedHints: 0 }, 20_250, 'retry-after'],
    ['binding hint that missed once: at least the interval', { now: 9_900, hint: hint(), backoffStep: 0, missedHints: 1 }, 10_900, 'retry-after'],
    ['binding hint later than the backoff floor wins', { now: 0, hint: hint(), backoffStep: 0, missedHints: 3 }, 10_250, 'retry-after'],
    ['guess sooner than the backoff: taken', { now: 0, hint: hint({ binding: false, source: 'policy-reset', atMs: 500 }), backoffStep: 0, missedHints: 0 }, 750, 'policy-reset'],
    ['guess later than the backoff: backoff', { now: 0, hint: hint({ binding: false, source: 'policy-reset' }), backoffStep: 0, missedHints: 0 }, 1000, 'backoff'],
    ['guess that missed: backoff', { now: 0, hint: hint({ binding: false, source: 'policy-reset', atMs: 500 }), backoffStep: 2, missedHints: 1 }, 4000, 'backoff'],
    ['no hint, step 0', { now: 0, hint: null, backoffStep: 0, missedHints: 0 }, 1000, 'backoff'],
    ['no hint, step 3 (capped at 8 s)', { now: 0, hint: null, backoffStep: 3, missedHints: 0 }, 8000, 'backoff'],
    ['no hint, step 10 (capped at 8 s)', { now: 0, hint: null, backoffStep: 10, missedHints: 0 }, 8000, 'backoff'],
  ];
  for (const [name, input, atMs, source] of rows) {
    it(name, () => {
      const next = nextTestDelay(input, opts);
      assert.equal(next.atMs, atMs);
      assert.equal(next.delayMs, atMs - input.now);
      assert.equal(next.source, source);
    });
  }

  it('backoffDelayMs never goes below the interval, even with a smaller cap', () => {
    assert.equal(backoffDelayMs(0, { intervalMs: 5000, maxIntervalMs: 1000 }), 5000);
    assert.equal(backoffDelayMs(4, { intervalMs: 5000, maxIntervalMs: 60_000 }), 60_000);
  });
});

describe('reading hints', () => {
  it('names the header the hint came from and its precision', () => {
    const at = (headers) => readResetHint(observeResponse({ ...plain(429, headers), sentAt: BASE, receivedAt: BASE }, null));
    assert.deepEqual(
      [at({ 'retry-after': '3' }).origin, at({ 'retry-after': '3' }).resolutionMs, at({ 'retry-after': '3' }).atMs - BASE],
      ['retry-after', 1000, 3000],
    );
    const ms = at({ 'retry-after-ms': '1234' });
    assert.deepEqual([ms.origin, ms.resolutionMs, ms.atMs - BASE], ['retry-after-ms', 1, 1234]);
    assert.equal(at({ ratelimit: '"default";r=0;t=7', 'ratelimit-policy': '"default";q=10;w=60' }).origin, 'ratelimit');
    assert.equal(at({}), null);
  });

  it('hintResolutionMs', () => {
    assert.equal(hintResolutionMs('retry-after', '5'), 1000);
    assert.equal(hintResolutionMs('retry-after-ms', '5'), 1);
    assert.equal(hintResolutionMs('x-ratelimit-reset', '1.5'), 1);
    assert.equal(hintResolutionMs('x-ratelimit-reset', '1767225600123'), 1);
    assert.equal(hintResolutionMs(null, undefined), 1000);
  });

  it('readQuotaResetTimestamp reads a Chutes 402 body, even clipped', () => {
    const body = '{"detail":{"message":"Quota exceeded","quota_reset_timestamp":"2026-01-16T00:00:00Z"}}';
    assert.equal(readQuotaResetTimestamp(body), Date.UTC(2026, 0, 16));
    assert.equal(readQuotaResetTimestamp(body.slice(0, body.indexOf('Z"') + 2)), Date.UTC(2026, 0, 16));
    assert.equal(readQuotaResetTimestamp('{"detail":"Too many requests"}'), null);
    assert.equal(readQuotaResetTimestamp(null), null);
  });

  it('observeResponse reads the 402 timestamp only on a 402, and classifies by status without an outcome', () => {
    const body = '{"detail":{"quota_reset_timestamp":"2026-01-16T00:00:00Z"}}';
    assert.equal(observeResponse({ ...plain(402, {}, body), sentAt: 0, receivedAt: 0 }, null).quotaResetAt, Date.UTC(2026, 0, 16));
    assert.equal(observeResponse({ ...plain(200, {}, body), sentAt: 0, receivedAt: 0 }, null).quotaResetAt, null);
    assert.deepEqual(
      [200, 429, 402, 401, 503, null].map((status) => observeResponse({ ...plain(status), sentAt: 0, receivedAt: 0 }, null).state),
      ['ok', 'limited', 'limited', 'error', 'error', 'error'],
    );
    assert.equal(observeResponse({ ...plain(429), sentAt: 0, receivedAt: 0 }, null, { outcome: 'auth_error' }).state, 'error');
  });
});

describe('estimateResetWindow', () => {
  const obs = (state, sentAt, headers = {}) =>
    observeResponse({ ...plain(state === 'ok' ? 200 : 429, headers), sentAt, receivedAt: sentAt + 10 }, null);

  it('with no hint: between the last limited and the first OK send', () => {
    const w = estimateResetWindow([obs('limited', 0), obs('limited', 1000), obs('ok', 3000)]);
    assert.deepEqual([w.earliestAt, w.latestAt, w.resetAt, w.basis, w.firstLimitedAt], [1000, 3000, 2000, 'observed', 10]);
  });

  it('a hint that the observations contradict is not used', () => {
    const w = estimateResetWindow([obs('limited', 0, { 'retry-after': '60' }), obs('ok', 3000)]);
    assert.equal(w.basis, 'observed');
  });

  it('a hint already missed once is not trusted: the bracket is last limited send → first OK send', () => {
    // Retry-After: 1 at 0 s, still limited at 1.25 s (the hint missed), next test at 6.25 s passes.
    const w = estimateResetWindow([obs('limited', 0, { 'retry-after': '1' }), obs('limited', 1250, { 'retry-after': '1' }), obs('ok', 6250)]);
    assert.deepEqual([w.basis, w.earliestAt, w.latestAt, w.resetAt, w.source, w.origin, w.missedHints], ['observed', 1250, 6250, 3750, null, null, 1]);
  });

  it('a hint that held (the test at its time passed) still narrows the window', () => {
    const w = estimateResetWindow([obs('limited', 0, { 'retry-after': '1' }), obs('limited', 500, { 'retry-after': '1' }), obs('ok', 1760)]);
    assert.deepEqual([w.basis, w.source, w.earliestAt, w.latestAt, w.missedHints], ['hint', 'retry-after', 510, 1510, 0]);
  });

  it('null when nothing was limited or nothing passed', () => {
    assert.equal(estimateResetWindow([obs('ok', 0)]), null);
    assert.equal(estimateResetWindow([obs('limited', 0)]), null);
  });
});
