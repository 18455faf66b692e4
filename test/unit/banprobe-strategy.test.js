// The probe against limiters whose refusals lengthen the block (Chutes' escalating edge bans, a penalty
// box), on SIMULATED time (test/helpers/sim-clock.js): the refusal budget, the penalty-box stop and the
// quota share. The servers are built here from the emulator's pure limiters and the real header parser
// (the emulator's own edge-ban mode is another part of issue #14).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createRateLimiter } from '../../dist/emulator/limiters.js';
import { parseRateLimitHeaders } from '../../dist/ratelimit/parse.js';
import { ProbeStrategy } from '../../dist/probe/strategy.js';
import { driveProbe } from '../../dist/probe/runner.js';
import { maxInAnyWindow } from '../../dist/probe/schedule.js';
import { SimClock } from '../helpers/sim-clock.js';

const NOON = Date.UTC(2026, 0, 15, 12, 0, 0);
const OUTCOME = { 200: 'ok', 429: 'rate_limited' };

/**
 * A ban that escalates: a request over the limiter's allowance, or any request during a ban, is a
 * violation and (re)starts a ban of base × 2^(violations − 1), up to `maxMs`.
 * @param {{ limiter: { tryAcquire(now: number): { allowed: boolean } }, baseMs: number, maxMs?: number }} options
 */
function escalatingBan({ limiter, baseMs, maxMs = 86_400_000 }) {
  let violations = 0;
  let bannedUntil = -Infinity;
  const bans = [];
  return {
    bans,
    /** @returns {{ allowed: boolean, banMsLeft: number }} */
    decide(now) {
      const allowed = now >= bannedUntil && limiter.tryAcquire(now).allowed;
      if (allowed) return { allowed, banMsLeft: 0 };
      violations += 1;
      const ban = Math.min(maxMs, baseMs * 2 ** (violations - 1));
      bans.push(ban);
      bannedUntil = now + ban;
      return { allowed, banMsLeft: ban };
    },
  };
}

/**
 * A server on the simulated clock: `answer(now)` gives status and headers; every answer comes back after
 * `latencyMs`. Returns the probe's sendOne and the arrivals.
 */
function simServer(clock, answer, latencyMs = 1) {
  const arrivals = [];
  const sendOne = (ticket) =>
    new Promise((resolve) => {
      const sentAt = clock.now();
      arrivals.push(sentAt);
      const { status, headers } = answer(sentAt);
      clock.schedule(sentAt + latencyMs, () => {
        const receivedAt = clock.now();
        const parsed = parseRateLimitHeaders(headers, { receivedAt });
        resolve({ seq: ticket.seq, sentAt, receivedAt, status, outcome: OUTCOME[status], policies: parsed.policies, retryAfterSeconds: parsed.retryAfterSeconds, inFlight: ticket.inFlight });
      });
    });
  return { sendOne, arrivals };
}

/** Chutes as the facts describe it: X-Chutes-* on the app's answers, the edge's bare HTML 429 when it bans. */
function chutesEdge({ quota = 5000, baseMs = 3000, limit = 60 } = {}) {
  const ban = escalatingBan({ limiter: createRateLimiter({ algorithm: 'sliding-window', limit, windowMs: 60_000 }), baseMs });
  let used = 0;
  const answer = (now) => {
    if (!ban.decide(now).allowed) return { status: 429, headers: {} };
    used += 1;
    return {
      status: 200,
      headers: {
        'x-chutes-rl-user': String(limit),
        'x-chutes-quota-total': String(quota),
        'x-chutes-quota-used': String(used),
        'x-chutes-quota-remaining': String(quota - used),
      },
    };
  };
  return { answer, ban };
}

/**
 * @param {(now: number) => { status: number, headers: Record<string, string> }} answer
 * @param {{ rpm?: number, maxRequests?: number, maxDurationMs?: number, concurrency?: import('../../dist/probe/strategy.js').ConcurrencyMode, phase?: number,
 *   allowRefusals?: number, chutes?: boolean, maxQuotaShare?: number, yes?: boolean, latencyMs?: number }} [options]
 */
async function simulate(answer, { rpm = 600, maxRequests = 150, maxDurationMs = 600_000, concurrency = 'off', phase = 700, latencyMs = 1, ...extra } = {}) {
  const start = NOON + phase;
  const clock = new SimClock(start);
  const { sendOne, arrivals } = simServer(clock, answer, latencyMs);
  const strategy = new ProbeStrategy({ start, rpm, maxRequests, maxDurationMs, concurrency, maxConcurrency: 8, ...extra });
  const sends = [];
  const notices = [];
  // The run's notices, as run.ts passes them on: drained after every decision.
  const next = strategy.next.bind(strategy);
  strategy.next = (now) => {
    const action = next(now);
    // Guarded: a strategy without notices fails on the assertions below, not with a TypeError.
    if (typeof strategy.takeNotices === 'function') notices.push(...strategy.takeNotices());
    return action;
  };
  await clock.run(driveProbe({
    strategy,
    ...clock.driveOptions(),
    sendOne,
    signal: new AbortController().signal,
    drainTimeoutMs: 3000,
    onSend: (ticket) => sends.push({ ...ticket, at: clock.now() }),
  }));
  return { result: strategy.result(), observations: strategy.observations(), sends, arrivals, notices, start };
}

const refusals = (run) => run.observations.filter((o) => o.outcome === 'rate_limited').length;

function assertPaced(run, rpm) {
  assert.ok(maxInAnyWindow(run.sends.map((s) => s.at)) <= rpm, 'more than rpm sends in some 60 s');
  const rate = run.sends.filter((s) => s.purpose !== 'batch' && s.purpose !== 'lone').map((s) => s.scheduledAt);
  for (let i = 1; i < rate.length; i++) assert.ok(rate[i] - rate[i - 1] >= 60_000 / rpm - 1e-6, `rate-phase sends ${i - 1} and ${i} only ${rate[i] - rate[i - 1]} ms apart`);
}

describe('Chutes mode: the refusal budget', () => {
  it('an eager --rpm 120 on a Chutes-like edge (X-Chutes-RL-User 60, escalating HTML 429 bans) provokes one refusal and names the ban risk', async () => {
    for (const concurrency of /** @type {const} */ (['off', 'auto'])) {
      const edge = chutesEdge();
      const run = await simulate(edge.answer, { rpm: 120, maxRequests: 150, concurrency });
      assert.equal(refusals(run), 1, `${concurrency}: ${refusals(run)} refusals, bans ${JSON.stringify(edge.ban.bans)}`);
      assert.equal(edge.ban.bans.length, 1, `${concurrency}: the edge banned ${edge.ban.bans.length} times`);
      assert.ok(run.notices.some((n) => /each refused request can lengthen an edge ban, up to a day: the probe stops at the first refusal; --allow-refusals N/.test(n)), `no ban-risk notice: ${JSON.stringify(run.notices)}`);
      // Before the second send: the pre-flight answer said Chutes.
      assert.ok(run.notices.length > 0 && run.sends.length > 1, 'the probe went on after the pre-flight');
      const { rate, stopReason, warnings, concurrency: conc } = run.result;
      assert.equal(stopReason, 'refusals');
      assert.equal(rate.limit, 60, `limit: ${rate.explanation}`);
      assert.equal(rate.windowSeconds, null, 'the window was not measured');
      assert.equal(rate.perMinute, null);
      assert.match(rate.explanation, /60 requests were accepted before the first 429 \(the x-chutes-rl-user header says 60\); the probe stopped provoking there/);
      assert.match(rate.explanation, /window \(or refill time\) was not measured/);
      assert.equal(rate.penalty, null);
      assert.ok(warnings.some((w) => /edge may block this key and address/.test(w)), `warnings: ${JSON.stringify(warnings)}`);
      if (concurrency === 'auto') assert.equal(conc.limit, null, 'no concurrency batch after the refusal budget was spent');
      assertPaced(run, 120);
    }
  });

  it('with the host known as Chutes (config.chutes), the pre-flight is awaited and the burst keeps one request in flight', async () => {
    const edge = chutesEdge({ limit: 10 });
    // Answers four pace intervals slow: an open-loop burst would have four requests in flight at its first refusal.
    const run = await simulate(edge.answer, { rpm: 120, chutes: true, latencyMs: 2000 });
    assert.equal(refusals(run), 1);
    const crowded = run.sends.filter((s) => s.inFlight > 1);
    assert.deepEqual(crowded.map((s) => s.seq), [], 'sends that went out with another request in flight');
    // The plan said so already: no notice repeats the ban risk, only the quota share.
    assert.ok(!run.notices.some((n) => /edge ban/.test(n)), JSON.stringify(run.notices));
    assert.ok(run.notices.some((n) => /Chutes quota: this plan may spend up to 150 of the 4999 requests left/.test(n)), JSON.stringify(run.notices));
  });

  it('--allow-refusals 3 allows three refusals, and no more', async () => {
    const edge = chutesEdge({ baseMs: 200 });
    const run = await simulate(edge.answer, { rpm: 120, allowRefusals: 3 });
    assert.ok(refusals(run) <= 3, `${refusals(run)} refusals`);
    assert.ok(refusals(run) >= 1);
  });

  it('a normal limiter without Chutes headers keeps an unlimited budget (today\'s behaviour)', async () => {
    const limiter = createRateLimiter({ algorithm: 'fixed-window', limit: 10, windowMs: 2000 });
    const run = await simulate((now) => ({ status: limiter.tryAcquire(now).allowed ? 200 : 429, headers: {} }));
    assert.ok(refusals(run) > 1, 'the cycles need several refusals');
    assert.equal(run.result.rate.limit, 10);
    assert.equal(run.result.rate.penalty, null);
    assert.equal(run.notices.length, 0);
  });
});

describe('Chutes mode: the quota share', () => {
  it('a plan over --max-quota-share of the quota left stops after the pre-flight and reports what the headers say', async () => {
    const edge = chutesEdge({ quota: 200 });
    const run = await simulate(edge.answer, { rpm: 120, maxRequests: 60 });
    assert.equal(run.sends.length, 1, `sent ${run.sends.length}`);
    assert.equal(run.result.stopReason, 'quota-share');
    assert.ok(run.notices.some((n) => /up to 60 of the 199 requests left of today's quota \(30\.2 %\), over --max-quota-share 10 %: the probe stopped after its first request/.test(n)), JSON.stringify(run.notices));
    assert.ok(run.result.warnings.some((w) => /--max-quota-share/.test(w)));
    assert.match(run.result.rate.explanation, /x-chutes-rl-user header states 60/);
    assert.match(run.result.rate.explanation, /pass --yes \(or lower --max-requests\) to measure it\.$/);
  });

  it('--yes, or a larger --max-quota-share, lets it go on', async () => {
    for (const extra of [{ yes: true }, { maxQuotaShare: 50 }]) {
      const edge = chutesEdge({ quota: 200 });
      const run = await simulate(edge.answer, { rpm: 120, maxRequests: 80, ...extra });
      assert.notEqual(run.result.stopReason, 'quota-share', JSON.stringify(extra));
      assert.ok(run.sends.length > 1);
      assert.equal(refusals(run), 1, JSON.stringify(extra));
    }
  });
});

describe('the penalty box (any target)', () => {
  it('each refused request restarts and doubles the ban (Retry-After says so): the probe stops provoking and reports penalty', async () => {
    const ban = escalatingBan({ limiter: createRateLimiter({ algorithm: 'fixed-window', limit: 10, windowMs: 10_000 }), baseMs: 1000 });
    const answer = (now) => {
      const d = ban.decide(now);
      return d.allowed ? { status: 200, headers: {} } : { status: 429, headers: { 'retry-after': String(Math.ceil(d.banMsLeft / 1000)) } };
    };
    const run = await simulate(answer, { rpm: 600, concurrency: 'auto' });
    const { rate, stopReason, warnings } = run.result;
    assert.ok(rate.penalty, `no penalty reported: ${rate.explanation}`);
    assert.equal(rate.penalty.escalating, true);
    assert.deepEqual(rate.penalty.observedBanSeconds, [1, 2]);
    assert.equal(stopReason, 'penalty');
    assert.ok(refusals(run) <= 2, `${refusals(run)} refusals: ${JSON.stringify(ban.bans)}`);
    assert.ok(warnings.some((w) => /^retries lengthen the block: stop all traffic, then wait \(blocks seen: 1 s, 2 s\)/.test(w)), JSON.stringify(warnings));
    assert.equal(run.result.concurrency.limit, null, 'no batch into a penalty box');
    assert.equal(run.notices.length, 0, 'not Chutes: no ban-risk notice');
  });

  it('normal limiters (with and without Retry-After) never read as a penalty box', async () => {
    for (const algorithm of /** @type {const} */ (['fixed-window', 'sliding-window', 'token-bucket'])) {
      for (const retryAfter of [false, true]) {
        for (const phase of [150, 1650]) {
          const limiter = createRateLimiter({ algorithm, limit: 10, windowMs: 2000 });
          const answer = (now) => {
            const d = limiter.tryAcquire(now);
            return d.allowed ? { status: 200, headers: {} } : { status: 429, headers: retryAfter ? { 'retry-after': String(Math.max(1, Math.ceil(d.retryAfterMs / 1000))) } : {} };
          };
          const run = await simulate(answer, { phase, concurrency: 'auto' });
          assert.equal(run.result.rate.penalty, null, `${algorithm} retryAfter=${retryAfter} phase ${phase}: ${JSON.stringify(run.result.rate.penalty)}`);
          assert.notEqual(run.result.stopReason, 'penalty');
        }
      }
    }
  });
});
