// wait-reset against a header-less escalating ban (issue #14: "Edge bans escalate — never make a ban
// longer"), on simulated time: a fake clock, a sleep that advances it, and a server that bans like
// Chutes' edge (chutes-facts.md): every request during a ban is a violation that restarts a ban of
// base · 2^(violations − 1), capped at a day, answered with the edge's HTML 429 (no X-Chutes-*, no
// Retry-After). Everything is counted from the server's own log; nothing depends on machine speed.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Chalk } from 'chalk';
import {
  BAN_SAFE_GROWTH, CHUTES_EDGE_WINDOW_MS, banSafeDelayMs, isEdgeBanAnswer, nextTestDelay, observeResponse, waitForReset,
} from '../../dist/wait/wait-for-reset.js';
import { waitResetExitCode } from '../../dist/wait/retest.js';
import { BAN_BACKOFF_REASON, formatCountdown } from '../../dist/render/countdown.js';
import { CHUTES_EDGE_BAN, EdgeBan } from '../../dist/emulator/edge-ban.js';
import { renderNextTest, renderWaitSummary, waitResetJson } from '../../dist/render/wait.js';
import { steppingClock } from '../helpers/sim-clock.js';

const MARGIN = 250;
const BASE = Date.UTC(2026, 0, 15, 12, 0, 0);
const SECOND = 1000;
const DAY = 86_400_000;
const EDGE_HTML = '<html>\r\n<head><title>429 Too Many Requests</title></head>\r\n<body>\r\n<center><h1>429 Too Many Requests</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n';
const EDGE_HEADERS = { 'content-type': 'text/html', server: 'nginx', via: '1.1 google' };
const noColor = new Chalk({ level: 0 });

const simClock = (start = BASE) => steppingClock(start);

/**
 * An escalating edge ban. `violations` already happened and the ban is still on, so the first test
 * is violation `violations + 1`, which arms a ban of base · 2^violations. `authenticated` is what the
 * client knows about its own request (wait-reset: a key in Authorization).
 */
function edgeBanServer(clock, { violations = 0, baseMs = 3 * SECOND, growth = 2, maxMs = DAY, latencyMs = 3, authenticated = true } = {}) {
  const log = [];
  const state = { violations, bannedUntil: clock.t + 1 };
  const sendOne = async () => {
    const sentAt = clock.t;
    const banned = sentAt < state.bannedUntil;
    if (banned) {
      state.violations += 1;
      state.bannedUntil = sentAt + Math.min(baseMs * growth ** (state.violations - 1), maxMs);
    }
    log.push({ at: sentAt, status: banned ? 429 : 200, banMs: banned ? state.bannedUntil - sentAt : null });
    clock.t += latencyMs;
    const response = banned
      ? { status: 429, headers: EDGE_HEADERS, body: EDGE_HTML }
      : { status: 200, headers: { 'content-type': 'application/json', 'x-chutes-rl-user': '60' }, body: '{"choices":[]}' };
    return observeResponse({ ...response, sentAt, receivedAt: clock.t }, { sentAt }, { authenticated });
  };
  const refusals = () => log.filter((r) => r.status === 429).length;
  return { sendOne, log, state, refusals };
}

function run(clock, sendOne, options = {}) {
  return waitForReset({ sendOne, now: clock.now, sleep: clock.sleep, marginMs: MARGIN, ...options });
}

/** The rule of next-test.ts: 1 + ⌈log_{G/2}(ban / interval)⌉ refusals in all, 1 when the ban ≤ the interval. */
function expectedRefusals(banMs, intervalMs) {
  return banMs <= intervalMs ? 1 : 1 + Math.ceil(Math.log(banMs / intervalMs) / Math.log(BAN_SAFE_GROWTH / 2));
}

describe('wait-reset against an escalating edge ban (base 3 s, ×2 per violation, cap 1 d)', () => {
  // The ban state the wait meets, as the violation its first test makes (1st: 3 s, 3rd: 12 s, 5th: 48 s, 7th: 192 s),
  // the refusals in all (the first test included) and the time the ban-safe rule takes with the default --interval 5 s.
  const cases = [
    { violation: 1, refusals: 1, clearsBy: 5 * SECOND },
    { violation: 2, refusals: 2, clearsBy: 45 * SECOND },
    { violation: 3, refusals: 2, clearsBy: 45 * SECOND },
    { violation: 5, refusals: 3, clearsBy: 365 * SECOND },
    { violation: 7, refusals: 4, clearsBy: 2925 * SECOND },
  ];
  for (const { violation, refusals, clearsBy } of cases) {
    it(`violation ${violation} (a ${3 * 2 ** (violation - 1)} s ban): clears with ${refusals} refusal(s) within ${clearsBy / SECOND} s, exit 0`, async () => {
      const clock = simClock();
      const server = edgeBanServer(clock, { violations: violation - 1 });
      const result = await run(clock, server.sendOne, { maxWaitMs: Math.max(600 * SECOND, clearsBy + 60 * SECOND) });
      assert.equal(result.stop, 'reset', `stopped by ${result.stop} after ${server.refusals()} refusals; log ${JSON.stringify(server.log)}`);
      assert.equal(waitResetExitCode(result), 0);
      assert.equal(result.banSafe, true, 'the edge HTML 429 on an authenticated request is retested ban-safe');
      assert.equal(server.refusals(), refusals, `refusals; log ${JSON.stringify(server.log)}`);
      assert.equal(server.refusals(), expectedRefusals(3 * SECOND * 2 ** (violation - 1), 5 * SECOND), 'the documented rule');
      assert.ok(result.waitedMs <= clearsBy + 10 * MARGIN, `cleared after ${result.waitedMs} ms`);
      assert.equal(server.log.at(-1).status, 200);
    });
  }

  it('every violation state 1–12 clears, with 1 + ⌈log4(ban / interval)⌉ refusals, each wait ×8 the one before', async () => {
    for (let violation = 1; violation <= 12; violation++) {
      for (const intervalMs of [1 * SECOND, 5 * SECOND, 7 * SECOND]) {
        const clock = simClock();
        const server = edgeBanServer(clock, { violations: violation - 1 });
        const result = await run(clock, server.sendOne, { intervalMs, maxWaitMs: 2 * DAY });
        const label = `violation ${violation}, interval ${intervalMs}`;
        assert.equal(result.stop, 'reset', `${label}: ${result.stop}`);
        assert.ok(server.refusals() <= expectedRefusals(3 * SECOND * 2 ** (violation - 1), intervalMs), `${label}: ${server.refusals()} refusals`);
        // Each wait was at least ×8 the one before it: faster than the ban doubles.
        for (let i = 1; i < clock.sleeps.length; i++) {
          assert.ok(clock.sleeps[i] >= Math.min(BAN_SAFE_GROWTH * clock.sleeps[i - 1], DAY), `${label}: waits ${clock.sleeps}`);
        }
      }
    }
  });

  it('a ban at its one-day cap: the wait reaches a day and clears it', async () => {
    const clock = simClock();
    const server = edgeBanServer(clock, { violations: 30 }); // 3 s · 2^30 ≫ 1 d: capped
    const result = await run(clock, server.sendOne, { maxWaitMs: 3 * DAY });
    assert.equal(result.stop, 'reset');
    assert.ok(clock.sleeps.every((ms) => ms <= DAY), `waits ${clock.sleeps}`);
    assert.ok(server.refusals() <= 7, `${server.refusals()} refusals`);
  });

  it("today's backoff (doubling from 5 s, capped at 1 min) against the same ban never clears it: every retest re-arms a longer one", async () => {
    // What wait-reset did before the fix, kept as the reference: the answer is not marked escalating,
    // so the loop takes the old doubling backoff. From the 2nd violation on (a 6 s ban > the 5 s
    // interval) each retest is refused and doubles the ban, which keeps pace with the doubling waits
    // and outruns them at the 1 min cap: after the default --max-wait 10 min it gave up with
    // 14 refusals, the last one (a shortened retest at the deadline) leaving a ban of
    // 3 s · 2^14 ≈ 13.7 h; met at the 3rd violation or later, the day-long cap. Ban-safe instead:
    // 2 refusals and 45 s (2nd, 3rd violation), 3 refusals and 365 s (5th).
    for (const [violation, finalBanMs] of [[2, 3 * SECOND * 2 ** 14], [3, DAY], [5, DAY]]) {
      const clock = simClock();
      const server = edgeBanServer(clock, { violations: violation - 1, authenticated: false });
      const result = await run(clock, server.sendOne);
      assert.equal(result.stop, 'max-wait', `violation ${violation}`);
      assert.equal(result.banSafe, false);
      assert.equal(server.refusals(), 14, `violation ${violation}`);
      assert.equal(server.log.at(-1).banMs, finalBanMs, `violation ${violation}`);
    }
  });

  it('--max-wait too short: gives up without a shortened retest, and names the ban-safe time (exit 3)', async () => {
    const clock = simClock();
    const server = edgeBanServer(clock, { violations: 4 }); // 48 s: needs 5 + 40 + 320 s
    const result = await run(clock, server.sendOne, { maxWaitMs: 120 * SECOND });
    assert.equal(result.stop, 'max-wait');
    assert.equal(waitResetExitCode(result), 3);
    assert.equal(server.refusals(), 3, `the first test, after 5 s, after 40 s; log ${JSON.stringify(server.log)}`);
    assert.ok(server.log.every((r) => r.at <= BASE + 120 * SECOND), 'no test after --max-wait');
    assert.ok(result.nextTest, 'the planned ban-safe test is reported');
    assert.equal(result.nextTest.source, 'ban-backoff');
    assert.equal(result.nextTest.atMs - result.final.receivedAt, 320 * SECOND);
    const summary = renderWaitSummary(result, 120 * SECOND, clock.t);
    assert.match(summary, /Still banned after --max-wait 2m/);
    assert.match(summary, /gave up rather than retest early, since every refused request lengthens the ban/);
    assert.match(summary, /outlasted a wait of 40s: it lasts more than that from then, up to a day/);
    assert.match(summary, /Send nothing from this key and address until the next ban-safe retest/);
    const json = waitResetJson(result, { intervalMs: 5000, maxIntervalMs: 60_000, maxWaitMs: 120_000, banWindowMs: 0 });
    assert.equal(json.banSafe, true);
    assert.equal(/** @type {{ source?: string } | null} */ (json.nextTest)?.source, 'ban-backoff');
  });

  it('--max-interval does not cap the ban-safe waits (a capped wait never outgrows a doubling ban)', async () => {
    const clock = simClock();
    const server = edgeBanServer(clock, { violations: 4 });
    const result = await run(clock, server.sendOne, { maxIntervalMs: 10 * SECOND, maxWaitMs: 600 * SECOND });
    assert.equal(result.stop, 'reset');
    assert.deepEqual(clock.sleeps, [5 * SECOND, 40 * SECOND, 320 * SECOND]);
  });

  it('the countdown and the line before each wait say why it waits so long; the summary says how it backed off', async () => {
    const clock = simClock();
    const server = edgeBanServer(clock, { violations: 2 });
    const waits = [];
    const result = await run(clock, server.sendOne, { onWait: (next) => waits.push(next) });
    assert.ok(waits.length > 0 && waits.every((w) => w.source === 'ban-backoff'), `sources ${waits.map((w) => w.source)}`);
    const line = formatCountdown({ nowMs: clock.t, nextAtMs: clock.t + 40_000, source: 'ban-backoff', origin: null, attempts: 2, startedAt: BASE });
    assert.match(line, /a header-less edge ban: every refused retest can lengthen it, so the first retest waits out the edge's minute and each later one waits ×8 longer/);
    assert.match(renderNextTest(waits[0], noColor), /every refused retest can lengthen it/);
    assert.ok(BAN_BACKOFF_REASON.includes('×8 longer'));
    const summary = renderWaitSummary(result, 600 * SECOND, clock.t);
    assert.match(summary, /backed off ×8 each time \(2 refused requests in all\)/);
    assert.match(summary, /Each refusal re-armed the ban: this is when the last one ended, not how long the first one was/);
  });
});

describe("after a burst into Chutes' edge: the edge's window, not only the ban", () => {
  // The emulator's own edge (EdgeBan, the Chutes profile: 60 per sliding minute, 3 s ban doubling) on
  // the simulated clock. An app sent 60 requests in `spreadMs` and its 61st was refused (the 1st
  // violation, a 3 s ban); wait-reset starts 0.5 s later. The ban is short, but the window is still
  // full of the 60 that tripped it: a retest before they have slid out is refused — a violation — too.
  // Starting the ban-safe waits at the edge's minute (--ban-window, default 1m) instead of --interval
  // costs one refusal (wait-reset's first test) where --interval 5 s costs up to three.
  /** Refusals wait-reset provoked (its own requests only), and how it ended. */
  async function afterBurst(spreadMs, banWindowMs) {
    const clock = simClock();
    const edge = new EdgeBan({ ...CHUTES_EDGE_BAN });
    const step = spreadMs / 59;
    for (let i = 0; i < 60; i++) assert.equal(edge.admit(BASE + i * step).allowed, true);
    const tripped = BASE + spreadMs + step;
    assert.equal(edge.admit(tripped).allowed, false, 'the 61st is refused: violation 1');
    clock.t = tripped + 500;
    const log = [];
    const sendOne = async () => {
      const sentAt = clock.t;
      const { allowed } = edge.admit(sentAt);
      log.push(allowed ? 200 : 429);
      clock.t += 3;
      const response = allowed
        ? { status: 200, headers: { 'content-type': 'application/json', 'x-chutes-rl-user': '60' }, body: '{}' }
        : { status: 429, headers: EDGE_HEADERS, body: EDGE_HTML };
      return observeResponse({ ...response, sentAt, receivedAt: clock.t }, null, { authenticated: true });
    };
    const result = await run(clock, sendOne, { intervalMs: 5 * SECOND, maxWaitMs: 600 * SECOND, banWindowMs });
    return { result, refusals: log.filter((s) => s === 429).length, violations: edge.state(clock.t).violations };
  }

  for (const spreadMs of [5 * SECOND, 30 * SECOND, 50 * SECOND]) {
    it(`60 requests in ${spreadMs / SECOND} s then a refusal: one refused retest, then clear after the minute (exit 0)`, async () => {
      const { result, refusals, violations } = await afterBurst(spreadMs, CHUTES_EDGE_WINDOW_MS);
      assert.equal(result.stop, 'reset');
      assert.equal(refusals, 1, 'only the first test, which finds the ban');
      assert.equal(violations, 2, 'the burst\'s own refusal and that one');
      assert.equal(result.banSafe, true);
      assert.equal(result.window === null ? null : typeof result.window, 'object');
    });
  }

  it('the same with the ban-safe waits starting at --interval 5 s: the window refuses the early retests (3 refusals after a 5 s burst)', async () => {
    const { result, refusals } = await afterBurst(5 * SECOND, 0);
    assert.equal(result.stop, 'reset');
    assert.equal(refusals, 3, 'at 0.5 s (the ban), 5.5 s and 45.5 s (the window, still full)');
  });

  it('banSafeDelayMs: the first ban-safe wait is the larger of --interval and the window, then ×8', () => {
    assert.deepEqual([0, 1, 2].map((step) => banSafeDelayMs(step, 5000, CHUTES_EDGE_WINDOW_MS)), [60_000, 480_000, 3_840_000]);
    assert.deepEqual([0, 1].map((step) => banSafeDelayMs(step, 90_000, CHUTES_EDGE_WINDOW_MS)), [90_000, 720_000]);
    assert.equal(banSafeDelayMs(10, 5000, CHUTES_EDGE_WINDOW_MS), DAY);
  });
});

describe('what stays as it was', () => {
  it('an edge HTML 429 that carries Retry-After (a proxy added one) follows the hint, not the ban-safe backoff', async () => {
    const clock = simClock();
    let n = 0;
    const sendOne = async () => {
      const sentAt = clock.t;
      n += 1;
      const response = n < 3 ? { status: 429, headers: { ...EDGE_HEADERS, 'retry-after': '2' }, body: EDGE_HTML } : { status: 200, headers: {}, body: '' };
      return observeResponse({ ...response, sentAt, receivedAt: sentAt }, null, { authenticated: true });
    };
    const result = await run(clock, sendOne);
    assert.equal(result.stop, 'reset');
    assert.equal(result.banSafe, false);
    assert.deepEqual(clock.sleeps.slice(0, 1), [2000 + MARGIN]);
  });

  it('a header-less JSON 429 keeps the doubling backoff', async () => {
    const clock = simClock();
    const sendOne = async () => observeResponse({ status: 429, headers: { 'content-type': 'application/json' }, body: '{"detail":"Too many requests"}', sentAt: clock.t, receivedAt: clock.t }, null, { authenticated: true });
    const result = await run(clock, sendOne, { intervalMs: 1000, maxIntervalMs: 8000, maxWaitMs: 40_000 });
    assert.equal(result.banSafe, false);
    assert.deepEqual(clock.sleeps.slice(0, 6), [1000, 2000, 4000, 8000, 8000, 8000]);
  });

  it('a library caller can mark its own penalty box as escalating', async () => {
    const clock = simClock();
    const sendOne = async () => observeResponse({ status: 429, headers: {}, body: null, sentAt: clock.t, receivedAt: clock.t }, null, { escalating: true });
    const result = await run(clock, sendOne, { intervalMs: 1000, maxWaitMs: 100_000 });
    assert.equal(result.banSafe, true);
    assert.deepEqual(clock.sleeps, [1000, 8000, 64_000]);
  });
});

describe('isEdgeBanAnswer', () => {
  /** @type {Array<[string, { status: number | null, headers: Record<string, string>, body: string | null }, boolean, boolean]>} */
  const rows = [
    ['edge HTML 429, authenticated', { status: 429, headers: EDGE_HEADERS, body: EDGE_HTML }, true, true],
    ['edge HTML 429, anonymous (no key, or X-API-Key)', { status: 429, headers: EDGE_HEADERS, body: EDGE_HTML }, false, false],
    ['HTML 429 without a content-type', { status: 429, headers: {}, body: EDGE_HTML }, true, true],
    ['Content-Type in any case', { status: 429, headers: { 'Content-Type': 'text/html; charset=utf-8' }, body: '' }, true, true],
    ['HTML 429 with X-Chutes-* (the app answered)', { status: 429, headers: { ...EDGE_HEADERS, 'x-chutes-invocationid': 'x' }, body: EDGE_HTML }, true, false],
    ['JSON 429', { status: 429, headers: { 'content-type': 'application/json' }, body: '{"detail":"Too many requests"}' }, true, false],
    ['edge HTML 403', { status: 403, headers: EDGE_HEADERS, body: '<html><title>403 Forbidden</title></html>' }, true, false],
    ['no response', { status: null, headers: {}, body: null }, true, false],
  ];
  for (const [name, response, authenticated, expected] of rows) {
    it(`${name} → ${expected}`, () => assert.equal(isEdgeBanAnswer(response, authenticated), expected));
  }
});

describe('the ban-safe schedule', () => {
  it('interval · 8^step, capped at a day, never by --max-interval', () => {
    assert.deepEqual([0, 1, 2, 3].map((step) => banSafeDelayMs(step, 5000)), [5000, 40_000, 320_000, 2_560_000]);
    assert.equal(banSafeDelayMs(20, 5000), DAY);
    const next = nextTestDelay({ now: BASE, hint: null, backoffStep: 2, missedHints: 0, banSafe: true }, { intervalMs: 5000, maxIntervalMs: 60_000, marginMs: MARGIN });
    assert.equal(next.source, 'ban-backoff');
    assert.equal(next.delayMs, 320_000);
  });
});
