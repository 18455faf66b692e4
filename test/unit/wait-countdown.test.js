// The wait-reset countdown line: what it says about the next test, and that the writer redraws
// one line in place and clears it when stopped.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { describeHintSource, formatCountdown, startCountdown } from '../../dist/render/countdown.js';

const NOW = Date.UTC(2026, 0, 15, 12, 0, 0);

it('names the next test time, its source, the attempts and the time waited', () => {
  const line = formatCountdown({ nowMs: NOW, nextAtMs: NOW + 4200, source: 'retry-after', origin: 'retry-after', attempts: 1, startedAt: NOW - 300 });
  assert.match(line, /^next test in 4\.2s at \d\d:\d\d:\d\d · from Retry-After · 1 request · waited 300ms$/);
});

it('never counts below zero', () => {
  assert.match(formatCountdown({ nowMs: NOW + 9000, nextAtMs: NOW, source: 'backoff', origin: null, attempts: 3, startedAt: NOW }), /next test in 0ms .* 3 requests/);
});

it('describes every source', () => {
  assert.equal(describeHintSource('retry-after', 'retry-after-ms'), 'retry-after-ms');
  assert.equal(describeHintSource('reset-header', 'x-ratelimit-reset'), 'x-ratelimit-reset (exhausted policy)');
  assert.equal(describeHintSource('quota-reset-timestamp', 'quota_reset_timestamp'), "402's quota_reset_timestamp");
  assert.match(describeHintSource('policy-reset', 'ratelimit'), /a guess/);
  assert.match(describeHintSource('backoff', null), /no hint/);
});

it('the writer redraws with \\r and clears the line on stop', () => {
  const chunks = [];
  const countdown = startCountdown({ write: (c) => chunks.push(c) > 0 }, () => NOW);
  countdown.show({ nextAtMs: NOW + 1000, source: 'backoff', origin: null, attempts: 1, startedAt: NOW });
  countdown.stop();
  assert.ok(chunks[0].startsWith('\rnext test in 1s'));
  assert.equal(chunks.at(-1), '\r\x1b[K');
});
