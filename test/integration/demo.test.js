// `chutes-diag demo`: the whole tour, offline, with every step ending as the tour expects.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runCli } from '../helpers/cli.js';

test('demo --json: every step ends with its expected exit code, no key needed', { timeout: 90_000 }, async () => {
  const { code, stdout, stderr } = await runCli(['demo', '--json'], { env: {}, timeoutMs: 90_000 });
  assert.equal(code, 0, stderr);
  const doc = JSON.parse(stdout);
  assert.equal(doc.command, 'demo');
  assert.deepEqual(doc.steps.map((s) => s.args[0]), ['doctor', 'doctor', 'headers', 'probe', 'wait-reset']);
  for (const step of doc.steps) assert.equal(step.exitCode, step.expectedExitCode, `${step.step}: ${JSON.stringify(step.document).slice(0, 400)}`);
  assert.equal(doc.steps[0].document.verdict.code, 'x-api-key-ignored');
  const probe = doc.steps[3].document;
  assert.ok(Math.abs(probe.estimate.rate.limit - 5) <= 1, `limit ${probe.estimate.rate.limit}`); // the target: ±1
  // Ban-safe on Chutes (#14): one refusal at most, then no batch that could be refused.
  assert.ok(probe.responses.filter((r) => r.status === 429).length <= 1, 'at most one refusal');
  assert.equal(probe.stopReason, 'refusals');
  assert.equal(doc.steps[4].document.reset, true);
});
