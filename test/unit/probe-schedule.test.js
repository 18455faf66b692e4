// The open-loop schedule and the hard rate cap: pure, no clock.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { maxInAnyWindow, paceIntervalMs, RateCap, schedulePacedSends } from '../../dist/probe/schedule.js';

describe('schedulePacedSends', () => {
  const cases = [
    { name: '20 rpm: one every 3 s', input: { start: 1000, rpm: 20, count: 4 }, expected: [1000, 4000, 7000, 10000] },
    { name: '600 rpm: one every 100 ms', input: { start: 0, rpm: 600, count: 3 }, expected: [0, 100, 200] },
    { name: 'non-integer interval stays absolute (no drift)', input: { start: 0, rpm: 7, count: 8 }, expected: Array.from({ length: 8 }, (_, i) => (i * 60000) / 7) },
    { name: 'count 0', input: { start: 5, rpm: 60, count: 0 }, expected: [] },
  ];
  for (const { name, input, expected } of cases) {
    it(name, () => assert.deepEqual(schedulePacedSends(input), expected));
  }

  it('rejects a non-positive rpm', () => {
    assert.throws(() => paceIntervalMs(0), RangeError);
    assert.throws(() => schedulePacedSends({ start: 0, rpm: -1, count: 2 }), RangeError);
  });

  it('a paced schedule never puts more than rpm sends in any 60 s', () => {
    for (const rpm of [1, 7, 20, 600]) {
      const times = schedulePacedSends({ start: 123, rpm, count: rpm * 3 + 1 });
      assert.equal(maxInAnyWindow(times), rpm, `rpm ${rpm}`);
    }
  });
});

describe('RateCap', () => {
  it('allows up to rpm sends in a window, then points at when the oldest leaves', () => {
    const cap = new RateCap(3);
    for (const t of [0, 10, 20]) {
      assert.equal(cap.earliest(t), t);
      cap.record(t);
    }
    // The 4th must wait until the send at 0 is more than 60 s old (1 ms guard for clock rounding).
    assert.equal(cap.earliest(30), 60_001);
    assert.equal(cap.allows(30), false);
    assert.equal(cap.allows(60_001), true);
  });

  it('a batch needs room for all of its sends at once', () => {
    const cap = new RateCap(5);
    cap.record(0);
    cap.record(1000);
    cap.record(2000);
    assert.equal(cap.earliest(3000, 2), 3000);
    // 3 recorded + 3 new > 5: the oldest (at 0) must leave first.
    assert.equal(cap.earliest(3000, 3), 60_001);
    assert.equal(cap.earliest(3000, 4), 61_001);
  });

  it('refuses a batch larger than rpm outright', () => {
    assert.equal(new RateCap(4).earliest(0, 5), null);
  });

  it('counts what is in the window ending at a time', () => {
    const cap = new RateCap(10);
    for (const t of [0, 30_000, 59_000, 61_000]) cap.record(t);
    assert.equal(cap.inWindowEndingAt(61_000), 3);
    assert.equal(cap.count, 4);
  });

  it('following earliest() for many single sends and batches never exceeds rpm in any window', () => {
    const cap = new RateCap(7);
    let t = 0;
    const sends = [];
    for (let i = 0; i < 60; i++) {
      const count = i % 5 === 0 ? 3 : 1;
      const at = cap.earliest(t, count);
      for (let k = 0; k < count; k++) {
        cap.record(at);
        sends.push(at);
      }
      t = at + 10; // asks again soon: the cap must hold it back
    }
    assert.ok(maxInAnyWindow(sends) <= 7);
  });
});

describe('maxInAnyWindow', () => {
  const cases = [
    { times: [], expected: 0 },
    { times: [0, 59_999], expected: 2 },
    { times: [0, 60_000], expected: 1 }, // half-open window
    { times: [5, 1, 3, 70_000, 70_001], expected: 3 },
  ];
  for (const { times, expected } of cases) {
    it(`${JSON.stringify(times)} → ${expected}`, () => assert.equal(maxInAnyWindow(times), expected));
  }
});
