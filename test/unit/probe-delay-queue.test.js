// Issue #15: a limiter that delays instead of refusing (nginx limit_req without nodelay) lets answers out
// at its rate; delay-queue.ts reads that rate from the answers' spacing. Observations are the bench's
// records (main at 039c714) or made up as said, in seconds.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { detectDelayQueue } from '../../dist/probe/delay-queue.js';

const T0 = Date.UTC(2026, 10, 30, 7, 57, 0);

/** "t:status/inFlight~latency" as the bench prints its records (t and latency in seconds). */
function records(text) {
  return text.split(' ').map((r, i) => {
    const [, t, status, inFlight, latency] = /^([\d.]+):(\d+)\/(\d+)~([\d.]+)$/.exec(r) ?? [];
    const sentAt = T0 + Number(t) * 1000;
    return { seq: i + 1, sentAt, receivedAt: sentAt + Number(latency) * 1000, status: Number(status), outcome: status === '200' ? 'ok' : 'rate_limited', policies: [], retryAfterSeconds: null, inFlight: Number(inFlight) };
  });
}

// nginx 60r/m burst=10 (delay) conn=3, 300 ms, --rpm 240: the rate part's first 30 answers.
const DELAYING =
  '0.00:200/1~0.3453 0.35:200/1~0.948 0.61:200/2~1.7026 0.86:200/3~2.4514 1.11:200/4~3.1905 1.36:200/4~3.9407 1.61:200/5~4.6896 1.87:200/6~5.4345 2.12:200/7~6.1832 2.41:200/7~6.8899 2.66:200/8~7.6417 2.92:200/9~8.3858 3.18:200/10~9.1268 3.43:200/10~9.8764 3.68:429/11~0.0006 8.30:200/6~5.9983 8.55:200/7~6.7498 9.30:200/7~6.9987 10.30:200/7~6.9978 10.55:200/8~7.7481 11.30:200/8~7.9988 11.56:200/9~8.7499 12.30:200/9~8.9996 12.55:200/10~9.749 13.30:200/10~10.0214 14.30:200/10~10.0014 15.30:200/10~9.9974 16.30:200/10~9.9989 17.30:200/10~9.9983 18.30:200/10~10.001';

describe('detectDelayQueue', () => {
  it('answers held in nginx\'s queue: one every second (60/min), about 10 deep', () => {
    const queue = detectDelayQueue(records(DELAYING));
    assert.ok(queue !== null);
    assert.ok(Math.abs(queue.spacingMs - 1000) <= 30, `${queue.spacingMs}`);
    assert.equal(queue.depth, 10);
  });

  it('not answers at a steady latency above one fast answer, paced by the sends', () => {
    // Every answer 1.5 s, one 0.2 s: all "held", evenly spaced at the pace, but no queue grew.
    const steady = ['0.00:200/1~0.2', ...Array.from({ length: 20 }, (_, i) => `${(1 + i).toFixed(2)}:200/2~1.5`)].join(' ');
    assert.equal(detectDelayQueue(records(steady)), null);
  });

  it('not answers of scattered latency', () => {
    const lat = [1.2, 4.8, 2.1, 3.3, 0.9, 5.5, 1.7, 2.9, 4.1, 1.1, 3.8, 2.4, 5.1, 1.4, 2.2];
    const scattered = lat.map((l, i) => `${i.toFixed(2)}:200/3~${l}`).join(' ');
    assert.equal(detectDelayQueue(records(scattered)), null);
  });

  it('not a plain backend without a queue (every answer at its own speed)', () => {
    const plain = Array.from({ length: 20 }, (_, i) => `${(i * 0.25).toFixed(2)}:200/2~0.3`).join(' ');
    assert.equal(detectDelayQueue(records(plain)), null);
  });
});
