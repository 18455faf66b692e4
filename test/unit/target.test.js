import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { joinUrl, readApiKey, authHeaders, buildTarget, describeTarget, cleanKey, readBody } from '../../dist/target.js';
import { Redactor, keyFingerprint } from '../../dist/redact.js';

const KEY = `cpk_${'a'.repeat(32)}.${'b'.repeat(32)}.FAKEkey0000000000000000000003f9a`;

const joins = [
  ['https://llm.chutes.ai', '/v1/chat/completions', 'https://llm.chutes.ai/v1/chat/completions'],
  ['https://llm.chutes.ai/', '/v1/chat/completions', 'https://llm.chutes.ai/v1/chat/completions'],
  ['https://gw.example/chutes', '/v1/chat/completions', 'https://gw.example/chutes/v1/chat/completions'],
  ['https://gw.example/chutes/', '/v1/chat/completions', 'https://gw.example/chutes/v1/chat/completions'],
  ['https://llm.chutes.ai/v1', '/v1/chat/completions', 'https://llm.chutes.ai/v1/chat/completions'],
  ['https://gw.example/x/v1/', '/v1/models', 'https://gw.example/x/v1/models'],
  ['http://127.0.0.1:8787', '/users/me?x=1', 'http://127.0.0.1:8787/users/me?x=1'],
];
for (const [base, path, expected] of joins) {
  test(`joinUrl(${base}, ${path})`, () => assert.equal(joinUrl(new URL(base), path).href, expected));
}

test('key sources: --api-key > --api-key-file > CHUTES_API_KEY > CHUTES_API_TOKEN', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cd-'));
  const file = join(dir, 'key');
  writeFileSync(file, `${KEY}\n`);
  assert.equal(readApiKey({ apiKey: 'cpk_x1234567890123456' }, { CHUTES_API_KEY: KEY }).source, '--api-key');
  const fromFile = readApiKey({ apiKeyFile: file }, { CHUTES_API_KEY: 'other' });
  assert.equal(fromFile.key, KEY);
  assert.equal(fromFile.source, '--api-key-file');
  assert.match(fromFile.warnings.join(), /whitespace/);
  assert.equal(readApiKey({}, { CHUTES_API_KEY: KEY }).source, 'CHUTES_API_KEY');
  assert.equal(readApiKey({}, { CHUTES_API_TOKEN: KEY }).source, 'CHUTES_API_TOKEN');
  assert.equal(readApiKey({}, {}).key, null);
  assert.match(readApiKey({ apiKey: KEY }, {}).warnings.join(), /process list/);
});
test('missing key file is a usage error naming the flag', () => {
  assert.throws(() => readApiKey({ apiKeyFile: '/nonexistent/key' }, {}), /--api-key-file: cannot read/);
});
test('pasted quotes and newlines are removed', () => {
  assert.equal(cleanKey(`"${KEY}"\n`), KEY);
  assert.equal(cleanKey(`  '${KEY}'  `), KEY);
});
test('auth schemes', () => {
  assert.deepEqual(authHeaders('bearer', 'k'), { authorization: 'Bearer k' });
  assert.deepEqual(authHeaders('raw', 'k'), { authorization: 'k' });
  assert.deepEqual(authHeaders('x-api-key', 'k'), { 'x-api-key': 'k' });
  assert.deepEqual(authHeaders('none', 'k'), {});
  assert.deepEqual(authHeaders('bearer', null), {});
});
test('target description never holds the key', () => {
  const redactor = new Redactor();
  const target = buildTarget({ base: new URL('http://127.0.0.1:1'), path: '/v1/chat/completions', auth: 'bearer', key: KEY, body: '{}', redactor });
  const text = JSON.stringify(describeTarget(target));
  assert.ok(!text.includes(KEY));
  assert.match(text, /cpk_…3f9a/);
  assert.equal(target.method, 'POST');
});
test('fingerprint and redaction', () => {
  assert.equal(keyFingerprint(KEY), 'cpk_…3f9a');
  assert.equal(keyFingerprint('short'), '…(5 chars)');
  assert.equal(keyFingerprint(null), null);
  const r = new Redactor();
  r.addSecret(KEY);
  const leaked = `auth ${KEY} and Bearer ${KEY} and part ${KEY.split('.')[1]} and other cpk_deadbeefdeadbeef`;
  const out = r.redact(leaked);
  assert.ok(!out.includes(KEY));
  assert.ok(!out.includes(KEY.split('.')[1]));
  assert.ok(!out.includes('cpk_deadbeefdeadbeef'));
});
test('--body: inline JSON, @file, errors', () => {
  assert.equal(readBody('{"a":1}'), '{"a":1}');
  assert.throws(() => readBody('{bad'), /--body: not valid JSON/);
  assert.throws(() => readBody('@/nonexistent.json'), /--body: cannot read/);
});

test('a partial echo of the key (10+ characters copied out of it) is masked too', () => {
  const key = 'cpk_5f3a9c0e7b2d48e1a6f9c3b7d0e4a812.9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b.Q7wErTyUiOpAsDfGhJkLzXcVbNm12345';
  const r = new Redactor();
  r.addSecret(key);
  for (const part of [key.slice(-20), key.slice(12, 30), key.slice(40, 50)]) {
    const out = r.redact(`server said: ${part}!`);
    assert.ok(!out.includes(part), `${part} leaked: ${out}`);
  }
  // Low-entropy runs ("aaaaaaaaaa") and unrelated text are left alone.
  assert.equal(r.redact('aaaaaaaaaaaa and 2026-11-29T00:00:00Z'), 'aaaaaaaaaaaa and 2026-11-29T00:00:00Z');
});
