// Reading recordings (src/analyze/load.ts): JSONL, a --json document, a HAR file; a file it cannot read is
// a usage error naming the line or field; a key in a HAR never comes out.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { loadRecording } from '../../dist/analyze/load.js';
import { analyzeRecords } from '../../dist/analyze/analyze.js';
import { Redactor } from '../../dist/redact.js';
import { FAKE_KEY } from '../helpers/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'chutes-diag-load-'));
const file = (name, text) => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};
const record = (seq, extra = {}) => ({ seq, sentAt: new Date(Date.UTC(2026, 0, 1, 0, 0, seq)).toISOString(), scheduledAt: null, latencyMs: 10, status: 200, inFlight: 1, outcome: 'ok', verdict: { code: 'ok', message: 'ok', hint: '' }, headers: {}, rateLimit: { policies: [], retryAfterSeconds: null }, body: null, error: null, ...extra });

describe('loadRecording: what it refuses, naming the line or field', () => {
  /** @type {Array<[string, string, RegExp]>} */
  const cases = [
    ['empty', '', /is empty/],
    ['bad JSON on line 2', `${JSON.stringify(record(1))}\n{oops\n`, /line 2: not valid JSON/],
    ['a missing sentAt', `${JSON.stringify(record(1))}\n${JSON.stringify({ ...record(2), sentAt: undefined })}\n`, /line 2: field "sentAt" must be an ISO date-time/],
    ['an unknown outcome', JSON.stringify(record(1, { outcome: 'great' })), /line 1: field "outcome" must be one of/],
    ['policies not an array', JSON.stringify(record(1, { rateLimit: { policies: {} } })), /line 1: field "rateLimit.policies" must be an array/],
    ['a negative latency', JSON.stringify(record(1, { latencyMs: -1 })), /line 1: field "latencyMs"/],
    ['a HAR without entries', JSON.stringify({ log: { version: '1.2' } }), /HAR: field "log.entries" must be an array/],
    ['a HAR entry without status', JSON.stringify({ log: { entries: [{ startedDateTime: '2026-01-01T00:00:00Z', time: 1, request: { method: 'GET', url: 'http://x/v1/models', headers: [] }, response: { headers: [] } }] } }), /log.entries\[0\]: field "response.status"/],
    ['a JSON document of another kind', JSON.stringify({ hello: 1 }, null, 2), /without "log.entries"/],
  ];
  for (const [name, text, message] of cases) {
    it(name, () => {
      assert.throws(() => loadRecording(file(`${name}.jsonl`, text)), (/** @type {any} */ error) => error.exitCode === 2 && message.test(error.message));
    });
  }
  it('a file that does not exist', () => {
    assert.throws(() => loadRecording(join(dir, 'missing.jsonl')), (/** @type {any} */ error) => error.exitCode === 2 && /ENOENT/.test(error.message));
  });
});

describe('loadRecording: the formats', () => {
  it('JSONL, with blank lines', () => {
    const { format, records } = loadRecording(file('ok.jsonl', `${JSON.stringify(record(1))}\n\n${JSON.stringify(record(2))}\n`));
    assert.equal(format, 'jsonl');
    assert.deepEqual(records.map((r) => r.seq), [1, 2]);
  });

  it('a --json document (probe: responses), pretty-printed or on one line', () => {
    for (const text of [JSON.stringify({ command: 'probe', responses: [record(1), record(2)] }, null, 2), JSON.stringify({ command: 'probe', responses: [record(1)] })]) {
      const { format, records } = loadRecording(file('doc.json', text));
      assert.equal(format, 'json-document');
      assert.ok(records.length >= 1);
    }
  });

  it('HAR: API calls only, in-flight counted from overlaps, the key registered and never shown', () => {
    const entry = (start, ms, url, status, headers = []) => ({
      startedDateTime: new Date(Date.UTC(2026, 0, 1) + start).toISOString(), time: ms,
      request: { method: 'POST', url, headers: [{ name: 'Authorization', value: `Bearer ${FAKE_KEY}` }] },
      response: { status, headers, content: { text: status === 200 ? '{}' : `{"detail":"bad key ${FAKE_KEY}"}` } },
      timings: { send: 0, wait: ms, receive: 0 },
    });
    const har = { log: { entries: [
      entry(0, 500, 'https://llm.example/v1/chat/completions', 200),
      entry(100, 500, 'https://llm.example/v1/chat/completions', 200),
      entry(150, 10, 'https://llm.example/static/logo.png', 200),
      entry(2000, 20, 'https://llm.example/v1/chat/completions', 401),
    ] } };
    const redactor = new Redactor();
    const { format, records, notes } = loadRecording(file('s.har', JSON.stringify(har)), redactor);
    assert.equal(format, 'har');
    assert.deepEqual(records.map((r) => [r.status, r.inFlight]), [[200, 1], [200, 2], [401, 1]]);
    assert.match(notes[0], /1 HAR entry was left out/);
    const text = JSON.stringify({ records, analysis: analyzeRecords(records) });
    assert.ok(!text.includes(FAKE_KEY.slice(-20)), 'the key from the HAR shows in the records');
  });
});
