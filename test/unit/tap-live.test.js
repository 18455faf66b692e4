// The tap's live view (src/tap/live.ts): on a TTY one redrawn status line, in a pipe one line per exchange,
// with --json nothing but warnings; the immediate warnings said once each.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createIo } from '../../dist/render/io.js';
import { startLiveView } from '../../dist/tap/live.js';
import { TapStats } from '../../dist/tap/stats.js';

/** @param {{ tty: boolean, json?: boolean }} o */
function fakeIo({ tty, json = false }) {
  const out = { text: '' };
  const err = { text: '' };
  const io = createIo({
    stdout: { write: (t) => { out.text += t; return true; }, isTTY: tty },
    stderr: { write: (t) => { err.text += t; return true; }, isTTY: tty },
    env: { NO_COLOR: '1' },
  }, { json });
  return { io, err };
}

/** @param {number} seq @param {number} status @param {string} code @returns {any} */
const record = (seq, status, code) => ({
  seq, sentAt: new Date(0).toISOString(), scheduledAt: null, latencyMs: 3, status, inFlight: 1, outcome: status === 200 ? 'ok' : 'rate_limited',
  verdict: { code, message: `${code} message`, hint: `${code} hint` }, headers: {}, rateLimit: { policies: [], retryAfterSeconds: null }, body: null, error: null,
});

describe('live view', () => {
  it('in a pipe: one line per exchange; the edge ban and X-API-Key said once each', () => {
    const { io, err } = fakeIo({ tty: false });
    const stats = new TapStats();
    const live = startLiveView(io, () => stats, () => 0, { chutes: true });
    live.auth('x-api-key');
    live.auth('x-api-key');
    live.record(record(1, 429, 'edge-ban'), { method: 'POST', path: '/v1/chat/completions' });
    live.record(record(2, 429, 'edge-ban'), { method: 'POST', path: '/v1/chat/completions' });
    live.stop();
    assert.equal(err.text.match(/Chutes ignores on inference/g)?.length, 1);
    assert.equal(err.text.match(/warning: edge ban: edge-ban message edge-ban hint/g)?.length, 1);
    assert.match(err.text, /#1 POST \/v1\/chat\/completions → 429 3 ms edge-ban \(in flight 1\)\n/);
    assert.match(err.text, /#2 POST/);
    assert.doesNotMatch(err.text, /\x1b\[K/, 'no cursor control in a pipe');
  });

  it('X-API-Key is only a warning against a Chutes host', () => {
    const { io, err } = fakeIo({ tty: false });
    const live = startLiveView(io, () => new TapStats(), () => 0, { chutes: false });
    live.auth('x-api-key');
    live.stop();
    assert.equal(err.text, '');
  });

  it('on a TTY: a status line drawn around the warnings, no per-exchange lines', () => {
    const { io, err } = fakeIo({ tty: true });
    const stats = new TapStats();
    stats.started();
    stats.completed(record(1, 200, 'ok'), 0);
    const live = startLiveView(io, () => stats, () => 0, { chutes: false });
    live.refused({ status: 421, code: 'host-mismatch', message: 'Host "x" is not the tap\'s listen address' });
    live.record(record(2, 200, 'ok'), { method: 'POST', path: '/v1/chat/completions' });
    live.stop();
    assert.match(err.text, /warning: refused a request \(host-mismatch\)/);
    assert.match(err.text, /\r\x1b\[Ktap: 1\/min · in flight 0 · ok 1 · 429 0 · errors 0 · latest: 200 ok/);
    assert.doesNotMatch(err.text, /#2 POST/);
    assert.ok(err.text.endsWith('\r\x1b[K'), 'the status line is cleared at the end');
  });

  it('with --json: only warnings', () => {
    const { io, err } = fakeIo({ tty: false, json: true });
    const live = startLiveView(io, () => new TapStats(), () => 0, { chutes: false });
    live.record(record(1, 200, 'ok'), { method: 'GET', path: '/v1/models' });
    live.stop();
    assert.equal(err.text, '');
  });
});
