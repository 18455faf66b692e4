// Issue #15, deliverable 5, on simulated time: with `stagesSends` the runner hands each send over before
// its instant with a closed SendGate and opens the gate exactly at the instant (the first send 20 ms
// early, so its cold path runs before its instant); what goes out is reported at the gate, and the spacing
// and the schedule are the same as without staging.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { driveProbe } from '../../dist/probe/runner.js';
import { ProbeStrategy } from '../../dist/probe/strategy.js';
import { SimClock } from '../helpers/sim-clock.js';

const NOON = Date.UTC(2026, 10, 30, 12);

/** @param {boolean} stagesSends */
async function run(stagesSends) {
  const clock = new SimClock(NOON);
  const strategy = new ProbeStrategy({ start: NOON, rpm: 600, maxRequests: 6, maxDurationMs: 60_000, concurrency: 'off', maxConcurrency: 8 });
  /** @type {{ seq: number, scheduledAt: number, handedAt: number, closedWhenHanded: boolean | null, openedAt: number | null }[]} */
  const sends = [];
  /** @type {import('../../dist/probe/runner.js').RunnerOptions['sendOne']} */
  const sendOne = (ticket, wentOut) => {
    const entry = { seq: ticket.seq, scheduledAt: ticket.scheduledAt, handedAt: clock.now(), closedWhenHanded: ticket.gate ? !ticket.gate.open : null, openedAt: /** @type {number | null} */ (null) };
    sends.push(entry);
    // The HTTP client's part: written when the gate opens (at once without one), answered 5 ms later.
    const goOut = () => {
      entry.openedAt = clock.now();
      wentOut(clock.now(), false);
    };
    if (ticket.gate) ticket.gate.onOpen(goOut);
    else goOut();
    return clock.sleep(5).then(() => ({
      seq: ticket.seq, sentAt: /** @type {number} */ (entry.openedAt), receivedAt: clock.now(), status: 200, outcome: 'ok',
      policies: [], retryAfterSeconds: null, inFlight: ticket.inFlight,
    }));
  };
  await clock.run(driveProbe({ strategy, ...clock.driveOptions(), sendOne, reportsWire: true, stagesSends, startLeadMs: 20 }));
  return sends;
}

describe('staged sends (issue #15)', () => {
  it('each send is handed over with a closed gate that opens exactly at its instant; the first 20 ms early', async () => {
    const sends = await run(true);
    assert.equal(sends.length, 6);
    for (const s of sends) {
      assert.equal(s.openedAt, s.scheduledAt, `send ${s.seq} went out at +${(s.openedAt ?? NaN) - s.scheduledAt} ms from its instant`);
    }
    assert.equal(sends[0].handedAt, sends[0].scheduledAt - 20, 'the first send is staged the start lead early');
    assert.equal(sends[0].closedWhenHanded, true);
  });

  it('staging changes no instant: the same schedule as without it', async () => {
    const staged = await run(true);
    const plain = await run(false);
    assert.deepEqual(staged.map((s) => s.openedAt), plain.map((s) => s.openedAt));
  });
});
