// `chutes-diag recommend <file>` and the recommendation at the end of probe's report, through the built CLI.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { emulatorPool, FAKE_KEY, runCli } from '../helpers/cli.js';

let dir = '';
before(() => { dir = mkdtempSync(join(tmpdir(), 'chutes-diag-recommend-')); });
after(() => rmSync(dir, { recursive: true, force: true }));
const start = emulatorPool({ edgeBan: null, dailyQuota: null });

const RESULT = {
  schemaVersion: 1,
  command: 'probe',
  target: { url: 'http://127.0.0.1:9/v1/chat/completions', method: 'POST', auth: 'bearer', key: null, model: 'm' },
  exitCode: 0,
  estimate: {
    rate: { limit: 10, windowSeconds: 2, perMinute: 300, burst: null, algorithm: 'fixed-window', bound: 'exact', source: 'headers', confidence: 'high', explanation: '', requests: 1, penalty: null },
    concurrency: { limit: 4, bound: 'exact', testedUpTo: 8, explanation: '', requests: 8 },
  },
  responses: [],
};

function file(name, text) {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

describe('recommend <file>', () => {
  it('prints the recommendation and the chosen client\'s snippet (exit 0)', async () => {
    const path = file('result.json', JSON.stringify(RESULT));
    const run = await runCli(['recommend', path, '--for', 'python']);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /^Recommendation\n269\/min, 10 % under the measured 10 per 2s/);
    assert.match(run.stdout, /Snippet for python/);
    assert.match(run.stdout, /AsyncLimiter\(1, 0\.223\)/);
    assert.equal(run.stderr, '');
  });

  it('--json: one document with every snippet', async () => {
    const path = file('result2.json', JSON.stringify(RESULT));
    const run = await runCli(['recommend', path, '--json']);
    assert.equal(run.code, 0, run.stderr);
    const doc = JSON.parse(run.stdout);
    assert.equal(doc.command, 'recommend');
    assert.deepEqual(doc.target, RESULT.target);
    assert.equal(doc.recommendation.minIntervalMs, 223);
    assert.equal(doc.recommendation.maxConcurrency, 4);
    assert.deepEqual(Object.keys(doc.recommendation.snippets), ['openai-node', 'ai-sdk', 'bottleneck', 'p-queue', 'litellm', 'python']);
  });

  const bad = [
    { name: 'a missing file', setup: () => join(dir, 'nope.json'), error: /^error: .*nope\.json: cannot read it \(no such file\)\.\n$/ },
    { name: 'not JSON', setup: () => file('bad.json', '{\n"a": 1,\nbroken\n}'), error: /^error: .*bad\.json: line 3: not JSON/ },
    { name: 'a field of the wrong type', setup: () => file('field.json', JSON.stringify({ ...RESULT, estimate: { ...RESULT.estimate, rate: { ...RESULT.estimate.rate, bound: 7 } } })), error: /^error: .*field\.json: `estimate\.rate\.bound` must be one of/ },
    { name: 'JSON lines that are not request records (analyze reads them)', setup: () => file('run.jsonl', '{"seq":1}\n{"seq":2}\n'), error: /line 1: field "sentAt" must be an ISO date-time/ },
  ];
  for (const { name, setup, error } of bad) {
    it(`${name}: exit 2, one line naming it`, async () => {
      const run = await runCli(['recommend', setup()]);
      assert.equal(run.code, 2, run.stderr);
      assert.match(run.stderr, error);
      assert.equal(run.stderr.trim().split('\n').length, 1, run.stderr);
      assert.equal(run.stdout, '');
    });
  }

  it('an unknown --for: exit 2 naming the choices', async () => {
    const run = await runCli(['recommend', file('r3.json', JSON.stringify(RESULT)), '--for', 'curl']);
    assert.equal(run.code, 2);
    assert.match(run.stderr, /--for <client>.*curl.*openai-node, ai-sdk, bottleneck, p-queue, litellm, python/s);
  });

  it('--help lists its exit codes', async () => {
    const run = await runCli(['recommend', '--help']);
    assert.equal(run.code, 0);
    assert.match(run.stdout, /Exit codes:\n {2}0 {4}the recommendation was printed/);
    assert.match(run.stdout, / {2}2 {4}usage error: .*names the line or field/s);
  });
});

describe('probe ends with the recommendation', () => {
  it('the human report ends with the recommendation and the openai-node snippet; --for picks bottleneck', async () => {
    const emulator = await start({ limit: 10, windowMs: 2000, headers: 'ietf' });
    const args = ['probe', '--base-url', emulator.url, '--rpm', '600', '--max-requests', '5', '--concurrency', 'off'];
    const run = await runCli(args, { env: { CHUTES_API_KEY: FAKE_KEY } });
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /\nRecommendation\n\d+(\.\d)?\/min, 10 % under the measured 10 per 2s/);
    assert.match(run.stdout, /Snippet for openai-node[^\n]*\n\/\/ openai-node: [\s\S]*\/\/ const reply = await limited\([^\n]*\n?$/);
    const other = await runCli([...args, '--for', 'bottleneck'], { env: { CHUTES_API_KEY: FAKE_KEY } });
    assert.equal(other.code, 0, other.stderr);
    assert.match(other.stdout, /Snippet for bottleneck[\s\S]*minTime: 223,/);
    assert.doesNotMatch(other.stdout, /Snippet for openai-node/);
  });
});
