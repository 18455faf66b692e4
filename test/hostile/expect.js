// Assertions every hostile case shares: one error line and no stack, valid JSONL, no NaN, no key.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const STACK_FRAME = /^\s+at .+[:(]/m;

/** A fresh directory for --out files and key files. */
export function tempDir() {
  return mkdtempSync(join(tmpdir(), 'chutes-diag-hostile-'));
}

/** Exactly one `error:` line on stderr, matching `pattern`, and no stack trace. */
export function assertOneLineError(stderr, pattern) {
  const errors = stderr.split('\n').filter((line) => line.startsWith('error:'));
  assert.equal(errors.length, 1, `expected one error line on stderr, got:\n${stderr}`);
  if (pattern) assert.match(errors[0], pattern);
  assert.doesNotMatch(stderr, STACK_FRAME, `no stack trace without --verbose:\n${stderr}`);
}

export function assertNoStack(text) {
  assert.doesNotMatch(text, STACK_FRAME, `unexpected stack trace:\n${text}`);
}

/** Every line of an --out file parses as JSON; returns the records. */
export function readJsonl(file) {
  const text = readFileSync(file, 'utf8');
  if (text === '') return [];
  assert.ok(text.endsWith('\n'), 'the last JSONL line is complete');
  return text.slice(0, -1).split('\n').map((line, index) => {
    try {
      return JSON.parse(line);
    } catch (error) {
      assert.fail(`--out line ${index + 1} is not JSON (${error.message}): ${line.slice(0, 200)}`);
    }
  });
}

/** Every number in the document is finite and no string says NaN or Infinity where a number belongs. */
export function assertFiniteNumbers(value, path = '$') {
  if (typeof value === 'number') {
    assert.ok(Number.isFinite(value), `${path} is ${value}`);
  } else if (Array.isArray(value)) {
    value.forEach((item, index) => assertFiniteNumbers(item, `${path}[${index}]`));
  } else if (value && typeof value === 'object') {
    for (const [key, item] of Object.entries(value)) assertFiniteNumbers(item, `${path}.${key}`);
  }
}

/** Every parsed policy field is a finite non-negative number or null. */
export function assertPolicyFields(record) {
  for (const policy of record.rateLimit.policies) {
    for (const field of ['limit', 'remaining', 'resetSeconds', 'windowSeconds']) {
      const v = policy[field];
      assert.ok(v === null || (Number.isFinite(v) && v >= 0), `${policy.name}.${field} = ${v}`);
    }
  }
  const retry = record.rateLimit.retryAfterSeconds;
  assert.ok(retry === null || (Number.isFinite(retry) && retry >= 0), `retryAfterSeconds = ${retry}`);
}

/** Polls until `predicate()` holds (e.g. an --out file has two lines); fails after `ms`. */
export async function waitFor(predicate, ms = 10_000, what = 'condition') {
  const deadline = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** Lines currently in a file (0 when it does not exist yet). */
export function lineCount(file) {
  return existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean).length : 0;
}
