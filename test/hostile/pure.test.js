// The pure pieces of the hardening, as tables: what the hostile end-to-end cases rely on.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { failureLine } from '../../dist/commands/common.js';
import { Redactor } from '../../dist/redact.js';
import { parseHttpUrl } from '../../dist/options.js';
import { neutraliseControls } from '../../dist/record.js';
import { readApiKey } from '../../dist/target.js';

test('neutraliseControls: terminal controls become visible escapes', () => {
  /** @type {Array<[string, string, boolean]>} */
  const cases = [
    ['plain text', 'plain text', false],
    ['\x1b[2J', '\\x1b[2J', false],
    ['a\u009b2Jb', 'a\\x9b2Jb', false],
    ['line\nbreak\r', 'line\\x0abreak\\x0d', false],
    ['line\nbreak\r', 'line\nbreak\\x0d', true],
    ['tab\tkept', 'tab\tkept', false],
    ['bell\x07 del\x7f', 'bell\\x07 del\\x7f', false],
    ['rtl \u202eevil', 'rtl \\u202eevil', false],
    ['ÿþé 日本', 'ÿþé 日本', false],
  ];
  for (const [input, expected, keepNewlines] of cases) assert.equal(neutraliseControls(input, { keepNewlines }), expected, JSON.stringify(input));
});

test('parseHttpUrl: a missing scheme gets a suggestion', () => {
  /** @type {Array<[string, RegExp]>} */
  const cases = [
    ['llm.chutes.ai', /did you mean https:\/\/llm\.chutes\.ai\?/],
    ['localhost:8787', /did you mean https:\/\/localhost:8787\?/],
    ['127.0.0.1:8787/v1', /did you mean https:\/\/127\.0\.0\.1:8787\/v1\?/],
    ['ftp://llm.chutes.ai', /http:\/\/ or https:\/\/ URL \(got ftp:\/\/\)/],
    ['https://user:pw@llm.chutes.ai', /Credentials in the URL are not accepted/],
  ];
  for (const [input, message] of cases) assert.throws(() => parseHttpUrl(input), message, input);
  assert.equal(parseHttpUrl(' http://127.0.0.1:8787 ').href, 'http://127.0.0.1:8787/');
});

test('Redactor: the bare token of an Authorization value is masked too, even when short', () => {
  const redactor = new Redactor();
  redactor.addSecret('Bearer s3cr3tT0k');
  assert.equal(redactor.redact('echo: s3cr3tT0k'), 'echo: …(9 chars)');
  assert.doesNotMatch(redactor.redact('Authorization: Bearer s3cr3tT0k'), /s3cr3tT0k/);
});

test('Redactor: a password in a URL is masked, the rest of the URL kept', () => {
  const redactor = new Redactor();
  const cases = [
    ["argument 'https://user:pw@llm.chutes.ai' is invalid", "argument 'https://user:***@llm.chutes.ai' is invalid"],
    ['via http://bob:s3cr%40t@proxy:8080', 'via http://bob:***@proxy:8080'],
    ['http://127.0.0.1:8787/v1', 'http://127.0.0.1:8787/v1'],
    ['mailto:x@y', 'mailto:x@y'],
  ];
  for (const [input, expected] of cases) assert.equal(redactor.redact(input), expected);
});

test('readApiKey: paste mistakes are trimmed with a warning; non-ASCII is refused', () => {
  const key = `cpk_${'a'.repeat(32)}.${'b'.repeat(32)}.${'c'.repeat(32)}`;
  for (const raw of [`${key}\n`, `"${key}"`, ` '${key}' \r\n`, `\`${key}\``]) {
    const result = readApiKey({}, { CHUTES_API_KEY: raw });
    assert.equal(result.key, key, JSON.stringify(raw));
    assert.equal(result.warnings.length, 1);
  }
  assert.throws(() => readApiKey({}, { CHUTES_API_KEY: `${key}é` }), /outside printable ASCII/);
  assert.throws(() => readApiKey({}, { CHUTES_API_KEY: 'cpk_a b' }), /whitespace inside it/);
  assert.throws(() => readApiKey({}, { CHUTES_API_KEY: "''" }), /the key is empty/);
});

test('failureLine: one line for exits 3–6, none otherwise', () => {
  const record = (fields) => ({ status: 502, error: null, verdict: { code: 'server-error', message: 'HTTP 502: the server failed', hint: 'Retry later.' }, outcome: 'http_error', ...fields });
  assert.equal(failureLine(record({}), 5), 'error: HTTP 502: the server failed');
  assert.equal(failureLine(record({ status: 307, error: { code: 'redirect', message: 'redirected to another origin' } }), 5), 'error: HTTP 307: redirected to another origin');
  assert.equal(failureLine(record({ status: null, error: { code: 'dns', message: 'cannot resolve x.invalid' }, verdict: { hint: 'Check the host.' } }), 6), 'error: cannot resolve x.invalid — Check the host.');
  for (const exitCode of [0, 1, 2, 130]) assert.equal(failureLine(record({}), exitCode), null);
  assert.equal(failureLine(undefined, 6), null);
});
