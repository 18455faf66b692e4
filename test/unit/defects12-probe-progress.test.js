// Issue #12, item 13: the probe spinner counted --max-duration down ("4m45s left") while the run ended in
// 15 s. It now shows the plan's time: the rest of the budget at the --rpm pace, never past --max-duration,
// or no time at all once nothing is left to send.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import * as probe from '../../dist/render/probe.js';

const NOW = Date.UTC(2026, 0, 15, 12, 0, 0);

/** --rpm 600 (100 ms apart), 60 requests, --max-duration 5m started 15 s ago. */
const BASE = { sent: 10, ok: 9, limited: 1, inFlight: 2, nowMs: NOW, deadline: NOW + 285_000, maxRequests: 60, intervalMs: 100 };

function text(state) {
  assert.ok(typeof probe.progressText === 'function', 'progressText is exported by render/probe');
  return probe.progressText(state);
}

for (const [what, state, expected] of /** @type {Array<[string, import('../../dist/probe/run.js').ProgressState, string]>} */ ([
  ['the reviewer\'s case: 50 requests left at 600/min take 5 s, not the 4m45s left of --max-duration', BASE,
    'probe: sent 10/60 · ok 9 · 429 1 · 5s left at full pace'],
  ['--rpm 20: 48 requests left take 2m24s', { ...BASE, sent: 12, intervalMs: 3000 },
    'probe: sent 12/60 · ok 9 · 429 1 · 2m24s left at full pace'],
  ['never past --max-duration: 40 s of it left, the budget would take 2m24s', { ...BASE, sent: 12, intervalMs: 3000, deadline: NOW + 40_000 },
    'probe: sent 12/60 · ok 9 · 429 1 · 40s left at full pace'],
  ['the budget spent: no time, the answers still awaited', { ...BASE, sent: 60 },
    'probe: sent 60/60 · ok 9 · 429 1 · waiting for 2 answers'],
  ['--max-duration reached, one answer awaited', { ...BASE, deadline: NOW - 1, inFlight: 1 },
    'probe: sent 10/60 · ok 9 · 429 1 · waiting for 1 answer'],
  ['nothing left and nothing awaited', { ...BASE, sent: 60, inFlight: 0 },
    'probe: sent 60/60 · ok 9 · 429 1'],
])) {
  it(what, () => assert.equal(text(state), expected));
}

it('the time shown never comes from --max-duration alone', () => {
  for (let sent = 0; sent <= 60; sent += 5) {
    const line = text({ ...BASE, sent });
    assert.doesNotMatch(line, /4m45s/, line);
  }
});
