// Issue #12, item 9: the wait-reset countdown line (up to ~100 characters) is cut to the terminal's width.
// A line that reaches the last column wraps, and each `\r` redraw then leaves a line behind. The writer is
// fed a stream with `columns`, as a TTY stderr has; every redraw must fit and clear the rest of its line.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as countdown from '../../dist/render/countdown.js';

const NOW = Date.UTC(2026, 0, 15, 12, 0, 0);
const CSI = '\x1b[';

/**
 * The longest states the command shows: a header name as the source, many requests, a long wait.
 * @type {Array<Omit<import('../../dist/render/countdown.js').CountdownState, 'nowMs'>>}
 */
const LONG_STATES = [
  { nextAtMs: NOW + 3_723_000, source: 'policy-reset', origin: 'x-ratelimit-reset-requests', attempts: 1234, startedAt: NOW - 3_599_000 },
  { nextAtMs: NOW + 61_000, source: 'reset-header', origin: 'anthropic-ratelimit-requests-reset', attempts: 12, startedAt: NOW - 245_000 },
  { nextAtMs: NOW + 4200, source: 'backoff', origin: null, attempts: 3, startedAt: NOW - 300 },
];

/** What a redraw leaves on screen: the text between the leading `\r` and the erase-to-end-of-line. */
function visible(chunk) {
  return chunk.replace(/^\r/, '').replace(/\x1b\[K$/, '');
}

describe('the countdown fits the terminal', () => {
  for (const columns of [40, 70, 80, 160]) {
    it(`${columns} columns: every redraw is shorter than the width, starts with \\r and clears the rest of the line`, () => {
      for (const state of LONG_STATES) {
        const chunks = [];
        const stream = { columns, write: (c) => { chunks.push(c); return true; } };
        const writer = countdown.startCountdown(stream, () => NOW);
        writer.show(state);
        writer.show({ ...state, attempts: state.attempts + 1 }); // a redraw
        writer.stop();
        assert.ok(chunks.length >= 3, `${chunks.length} writes`);
        for (const chunk of chunks.slice(0, -1)) {
          assert.ok(chunk.startsWith('\r'), `a redraw does not start with \\r: ${JSON.stringify(chunk)}`);
          assert.ok(chunk.endsWith(`${CSI}K`), `a redraw does not clear the rest of its line: ${JSON.stringify(chunk)}`);
          assert.ok(!chunk.includes('\n'), `a redraw moves to a new line: ${JSON.stringify(chunk)}`);
          const text = visible(chunk);
          assert.ok([...text].length < columns, `${[...text].length} characters at ${columns} columns: ${JSON.stringify(text)}`);
          assert.ok(text.startsWith('next test in '), `the line lost its start: ${JSON.stringify(text)}`);
        }
        assert.equal(chunks.at(-1), '\r\x1b[K', 'stop clears the line');
      }
    });
  }

  it('a line that fits is left whole; a wide terminal shows everything', () => {
    const state = { ...LONG_STATES[1], nowMs: NOW };
    const full = countdown.formatCountdown(state);
    assert.ok(typeof countdown.fitToWidth === 'function', 'fitToWidth is exported');
    assert.equal(countdown.fitToWidth(full, 160), full);
    assert.equal(countdown.fitToWidth(full, undefined), full, 'no width (not a terminal): unchanged');
  });

  it('whole " · " parts go first, then the text is cut with "…"', () => {
    assert.ok(typeof countdown.fitToWidth === 'function', 'fitToWidth is exported');
    const line = 'next test in 4.2s at 12:00:04 · from Retry-After · 3 requests · waited 300ms';
    assert.equal(countdown.fitToWidth(line, 52), 'next test in 4.2s at 12:00:04 · from Retry-After');
    assert.equal(countdown.fitToWidth(line, 20), 'next test in 4.2s …');
    assert.ok([...countdown.fitToWidth(line, 20)].length <= 19);
  });
});
