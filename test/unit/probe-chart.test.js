// The timeline chart: buckets by send time, a shared scale, and no escape codes without colour.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Chalk } from 'chalk';
import { renderTimelineChart } from '../../dist/render/chart.js';
import { buildTimeline, chooseBucketSeconds } from '../../dist/probe/timeline.js';

const plain = new Chalk({ level: 0 });
const T0 = 1_700_000_000_000;

describe('buildTimeline', () => {
  it('picks the smallest round bucket that keeps the chart within 60 columns', () => {
    const cases = [[3, 0.1], [10, 0.2], [30, 0.5], [59, 1], [300, 5], [3600, 60]];
    for (const [duration, bucket] of cases) assert.equal(chooseBucketSeconds(duration), bucket, `${duration} s`);
  });

  it('counts each request in the bucket it was sent in, with its outcome', () => {
    /** @type {import('../../dist/probe/timeline.js').TimelineEvent[]} */
    const events = [
      { sentAt: T0, outcome: 'ok' },
      { sentAt: T0 + 50, outcome: 'ok' },
      { sentAt: T0 + 150, outcome: 'rate_limited' },
      { sentAt: T0 + 250, outcome: 'network_error' },
      { sentAt: T0 + 260, outcome: null },
    ];
    const { bucketSeconds, buckets } = buildTimeline(events, T0, T0 + 290);
    assert.equal(bucketSeconds, 0.1);
    assert.deepEqual(buckets, [
      { t: 0, sent: 2, ok: 2, rateLimited: 0, errors: 0 },
      { t: 0.1, sent: 1, ok: 0, rateLimited: 1, errors: 0 },
      { t: 0.2, sent: 2, ok: 0, rateLimited: 0, errors: 1 },
    ]);
  });
});

describe('renderTimelineChart', () => {
  it('draws ok and 429 rows on one scale, an axis and a legend, without escape codes', () => {
    /** @type {import('../../dist/probe/timeline.js').TimelineEvent[]} */
    const events = [];
    for (let i = 0; i < 40; i++) events.push({ sentAt: T0 + i * 100, outcome: i % 20 < 10 ? 'ok' : 'rate_limited' });
    const chart = renderTimelineChart(buildTimeline(events, T0, T0 + 4000), plain);
    const lines = chart.split('\n');
    assert.match(lines[0], /^ {2}ok {2}│█{10} {10}█{10}/);
    assert.match(lines[1], /^ {2}429 │ {10}█{10}/);
    assert.ok(!lines.some((l) => l.startsWith('  err')), 'no error row when there were none');
    assert.match(lines[2], /0s/);
    assert.match(chart, /each column 0\.1s/);
    assert.doesNotMatch(chart, /\x1b\[/);
  });

  it('says so when nothing was sent', () => {
    assert.equal(renderTimelineChart(buildTimeline([], T0, T0), plain), 'No requests were sent.');
  });
});
