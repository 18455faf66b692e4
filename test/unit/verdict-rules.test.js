// The rule table itself, and the outcome → exit code mapping of cli-contract.md.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { exitCodeForOutcome } from '../../dist/verdict/classify.js';
import { FALLBACK_RULE, VERDICT_RULES } from '../../dist/verdict/rules.js';

const RULES = [...VERDICT_RULES, FALLBACK_RULE];
const OUTCOMES = ['ok', 'rate_limited', 'quota_exceeded', 'capacity', 'auth_error', 'http_error', 'network_error', 'timeout'];

test('every rule code is distinct', () => {
  const codes = RULES.map((r) => r.code);
  const repeated = codes.filter((code, i) => codes.indexOf(code) !== i);
  assert.deepEqual(repeated, []);
});

test('every rule has a kebab-case code, a known outcome, a source and texts', () => {
  for (const rule of RULES) {
    assert.match(rule.code, /^[a-z0-9]+(-[a-z0-9]+)*$/, rule.code);
    assert.ok(OUTCOMES.includes(rule.outcome), `${rule.code}: ${rule.outcome}`);
    assert.ok(rule.source.length > 0, `${rule.code} has no source`);
    assert.equal(typeof rule.when, 'function');
    for (const text of [rule.message, rule.hint]) {
      assert.ok(typeof text === 'function' || text.length > 0, `${rule.code} has an empty text`);
    }
  }
});

test('every row of chutes-facts.md "Error shapes" has a rule', () => {
  const fromFacts = RULES.filter((r) => r.source.startsWith('facts:')).map((r) => r.code);
  for (const code of [
    'anonymous-edge-limit', 'x-api-key-ignored', 'edge-ban', 'edge-rate-limit', 'account-rate-limit', 'capacity-at-maximum',
    'free-model-daily-cap', 'identical-prompt-spam', 'daily-quota-exhausted', 'subscription-cap-exceeded',
    'missing-api-key', 'x-api-key-rejected', 'invalid-api-key', 'wrong-host', 'model-cold', 'model-disabled',
    'no-infrastructure', 'edge-blocked', 'edge-timeout',
  ]) {
    assert.ok(fromFacts.includes(code), code);
  }
});

/** @type {Array<[import('../../dist/types.js').Outcome, number]>} */
const EXIT_CODES = [
  ['ok', 0],
  ['rate_limited', 3],
  ['quota_exceeded', 3],
  ['capacity', 3],
  ['auth_error', 4],
  ['http_error', 5],
  ['network_error', 6],
  ['timeout', 6],
];

for (const [outcome, exitCode] of EXIT_CODES) {
  test(`exit code for ${outcome} is ${exitCode}`, () => {
    assert.equal(exitCodeForOutcome(outcome), exitCode);
  });
}

test('the exit code table covers every outcome', () => {
  assert.deepEqual(EXIT_CODES.map(([o]) => o).sort(), [...OUTCOMES].sort());
});
