// Issue #15, deliverable 5 (pacing at the server), on simulated time. A staged send is handed to the HTTP
// client a stage lead (STAGE_LEAD_MS) before its instant, so building it (and a timer that wakes a millisecond
// late) never sits between its instant and the wire; a send the strategy plans for "now" (the first burst
// when the pre-flight's answer came after slot 1, a retest) moves one stage lead ahead, its slot with it, so it
// is staged like every other. No wall clock: every time below is the simulated clock's.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { driveProbe, STAGE_LEAD_MS, stageAhead } from '../../dist/probe/runner.js';
import { ProbeStrategy } from '../../dist/probe/strategy.js';
import { SimClock } from '../helpers/sim-clock.js';

const NOON = Date.UTC(2026, 10, 30, 12);
const INTERVAL = 100; // 600 rpm

/**
 * A probe at 600 rpm against a server that answers every request after `latencyMs`; the HTTP client writes a
 * staged request when its gate opens. Returns every send: when it was handed over, its instant (the ticket's
 * scheduledAt), whether its gate was closed then, and when it went out.
 * @param {{ latencyMs: number, maxRequests?: number }} o
 */
async function run({ latencyMs, maxRequests = 8 }) {
  const clock = new SimClock(NOON);
  const strategy = new ProbeStrategy({ start: NOON, rpm: 600, maxRequests, maxDurationMs: 60_000, concurrency: 'off', maxConcurrency: 8 });
  /** @type {{ seq: number, purpose: string, scheduledAt: number, handedAt: number, closedWhenHanded: boolean, wentOutAt: number | null }[]} */
  const sends = [];
  /** @type {import('../../dist/probe/runner.js').RunnerOptions['sendOne']} */
  const sendOne = (ticket, wentOut) => {
    const entry = { seq: ticket.seq, purpose: ticket.purpose, scheduledAt: ticket.scheduledAt, handedAt: clock.now(), closedWhenHanded: ticket.gate ? !ticket.gate.open : false, wentOutAt: /** @type {number | null} */ (null) };
    sends.push(entry);
    /** @type {Promise<void>} */
    const written = new Promise((resolve) => {
      const goOut = () => {
        entry.wentOutAt = clock.now();
        wentOut(clock.now(), false);
        resolve();
      };
      if (ticket.gate) ticket.gate.onOpen(goOut);
      else goOut();
    });
    // Answered latencyMs after the request went out.
    return written.then(() => clock.sleep(latencyMs)).then(() => ({
      seq: ticket.seq, sentAt: /** @type {number} */ (entry.wentOutAt), receivedAt: clock.now(), status: 200, outcome: 'ok',
      policies: [], retryAfterSeconds: null, inFlight: ticket.inFlight,
    }));
  };
  await clock.run(driveProbe({ strategy, ...clock.driveOptions(), sendOne, reportsWire: true, stagesSends: true, startLeadMs: 20 }));
  return sends;
}

describe('staging lead (issue #15, pacing at the server)', () => {
  it('every send after the first is handed over, its gate closed, a full stage lead before its instant, and goes out exactly at it', async () => {
    const sends = await run({ latencyMs: 1 });
    assert.equal(sends.length, 8);
    for (const s of sends.slice(1)) {
      assert.ok(s.closedWhenHanded, `send ${s.seq} was handed over with its gate open`);
      assert.ok(s.scheduledAt - s.handedAt >= STAGE_LEAD_MS - 1e-9, `send ${s.seq} was handed over only ${s.scheduledAt - s.handedAt} ms before its instant (stage lead ${STAGE_LEAD_MS} ms)`);
      assert.equal(s.wentOutAt, s.scheduledAt, `send ${s.seq} went out at +${(s.wentOutAt ?? NaN) - s.scheduledAt} ms from its instant`);
    }
  });

  it('the first burst that begins "now" (the pre-flight answered after slot 1) is staged ahead like the rest: send #2 moves one stage lead, plan and all', async () => {
    // Answers take 150 ms: the pre-flight's comes after slot 1 (100 ms), so burst 1 begins when it came.
    const sends = await run({ latencyMs: 150 });
    const [first, second, third] = sends;
    assert.ok(first && second && third);
    assert.equal(second.purpose, 'burst');
    const answeredAt = /** @type {number} */ (first.wentOutAt) + 150;
    assert.equal(second.handedAt, answeredAt, 'send #2 is decided when the pre-flight answer comes');
    assert.ok(second.closedWhenHanded, 'send #2 was handed over with its gate open (built between its instant and the wire)');
    assert.equal(second.scheduledAt, answeredAt + STAGE_LEAD_MS, 'send #2 is planned one stage lead after the answer');
    assert.equal(second.wentOutAt, second.scheduledAt, 'send #2 goes out at its (moved) instant: no lateness to carry forward');
    // The burst's grid starts at send #2's instant, and no two sends are closer than an interval (no catch-up).
    for (let i = 2; i < sends.length; i++) {
      const s = /** @type {(typeof sends)[number]} */ (sends[i]);
      assert.equal(s.scheduledAt, second.scheduledAt + (i - 1) * INTERVAL, `send ${s.seq} is off burst 1's grid`);
      assert.equal(s.wentOutAt, s.scheduledAt);
    }
    const out = sends.map((s) => /** @type {number} */ (s.wentOutAt));
    for (let i = 1; i < out.length; i++) assert.ok(out[i] - out[i - 1] >= INTERVAL - 1e-9, `sends ${i} and ${i + 1} went out ${out[i] - out[i - 1]} ms apart`);
  });
});

describe('stageAhead', () => {
  const send = (at, slot) => ({ kind: /** @type {const} */ ('send'), at, count: 1, purpose: /** @type {const} */ ('burst'), ...(slot === undefined ? {} : { slot }) });
  const rows = [
    { name: 'planned for the instant it was asked: moves one lead, its slot with it', action: send(1000), asked: 1000, deadline: 60_000, want: send(1005, 1005) },
    { name: 'planned ahead: keeps its instant', action: send(1002), asked: 1000, deadline: 60_000, want: send(1002) },
    { name: 'a slot already past (this process was late): keeps it, so the pacing figures show the lateness', action: send(1000, 990), asked: 1000, deadline: 60_000, want: send(1000, 990) },
    { name: 'moving it would pass the deadline: stays', action: send(1000), asked: 1000, deadline: 1003, want: send(1000) },
  ];
  for (const row of rows) {
    it(row.name, () => {
      assert.deepEqual(stageAhead(row.action, row.asked, 5, row.deadline), row.want);
    });
  }
});

describe('the wait before an instant (issue #15, pacing at the server)', () => {
  it('naps (at most 0.5 ms each, no CPU) instead of spinning on the event loop, then goes out at its instant', async () => {
    // A stepping clock: every read moves it on 1 µs, a sleep or a nap by its length, a turn of the event loop by 10 µs.
    const t0 = NOON;
    let t = t0;
    /** @type {number[]} */
    const naps = [];
    let turns = 0;
    const now = () => (t += 0.001);
    /** @type {(ms: number) => Promise<void>} */
    const sleep = async (ms) => {
      t += Math.max(0, ms);
    };
    const strategy = new ProbeStrategy({ start: t0, rpm: 600, maxRequests: 4, maxDurationMs: 60_000, concurrency: 'off', maxConcurrency: 8 });
    /** @type {{ scheduledAt: number, wentOutAt: number }[]} */
    const sends = [];
    /** @type {import('../../dist/probe/runner.js').RunnerOptions['sendOne']} */
    const sendOne = (ticket, wentOut) => new Promise((resolve) => {
      /** @type {import('../../dist/probe/runner.js').SendGate} */ (ticket.gate).onOpen(() => {
        const at = now();
        sends.push({ scheduledAt: ticket.scheduledAt, wentOutAt: at });
        wentOut(at, false);
        resolve({ seq: ticket.seq, sentAt: at, receivedAt: at + 1, status: 200, outcome: 'ok', policies: [], retryAfterSeconds: null, inFlight: ticket.inFlight });
      });
    });
    await driveProbe({
      strategy, now, sleep, sendOne, reportsWire: true, stagesSends: true, startLeadMs: 20, spinMs: 2,
      nap: (ms) => {
        naps.push(ms);
        t += ms;
      },
      yieldToLoop: async () => {
        turns += 1;
        t += 0.01;
      },
    });
    assert.equal(sends.length, 4);
    for (const s of sends) {
      const late = s.wentOutAt - s.scheduledAt;
      assert.ok(late >= 0 && late < 0.01, `went out ${late} ms from its instant`);
    }
    // The last 2 ms: naps of at most 0.5 ms until the last millisecond (a busy wait).
    assert.ok(naps.length >= 4 * 2, `only ${naps.length} naps for 4 sends (1 ms each in naps of 0.5 ms)`);
    assert.ok(naps.every((ms) => ms > 0 && ms <= 0.5), `a nap longer than 0.5 ms: ${Math.max(...naps)}`);
    assert.ok(turns <= 4 * 4, `${turns} turns of the event loop for 4 sends: the wait spun instead of napping`);
  });
});

describe('the busy wait is compiled before the first send (issue #15)', () => {
  it('runs 10 ms of it before the warm-up, so V8 does not compile it on a background thread while sends #2-#5 wait', async () => {
    const t0 = NOON;
    let t = t0;
    const now = () => (t += 0.001);
    /** @type {number | null} */
    let warmUpAt = null;
    /** @type {number | null} */
    let firstHandedAt = null;
    const strategy = new ProbeStrategy({ start: t0, rpm: 600, maxRequests: 1, maxDurationMs: 60_000, concurrency: 'off', maxConcurrency: 8 });
    await driveProbe({
      strategy, now, spinMs: 2, stagesSends: true, reportsWire: true, startLeadMs: 20,
      sleep: async (ms) => { t += Math.max(0, ms); },
      nap: (ms) => { t += ms; },
      yieldToLoop: async () => { t += 0.01; },
      warmUp: async () => { warmUpAt = t; },
      sendOne: (ticket, wentOut) => {
        firstHandedAt ??= t;
        return new Promise((resolve) => {
          /** @type {import('../../dist/probe/runner.js').SendGate} */ (ticket.gate).onOpen(() => {
            const at = now();
            wentOut(at, false);
            resolve({ seq: ticket.seq, sentAt: at, receivedAt: at + 1, status: 200, outcome: 'ok', policies: [], retryAfterSeconds: null, inFlight: ticket.inFlight });
          });
        });
      },
    });
    assert.ok(warmUpAt !== null && warmUpAt - t0 >= 10, `the warm-up began ${(warmUpAt ?? NaN) - t0} ms after the start: the busy wait was not run first`);
    assert.ok(firstHandedAt !== null && firstHandedAt > warmUpAt);
  });
});
