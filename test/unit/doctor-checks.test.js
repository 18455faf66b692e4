// doctor's pure checks as tables: key shapes and paste mistakes, base URLs, auth schemes, quota
// figures, and which single verdict a set of findings leads to, with its exit code.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  checkAuthScheme, checkBaseUrl, checkInference, checkKeyFormat, checkKeyPresent, checkKeyValid, checkModelServed, checkQuota,
  describePastedExtras, explicitOption, managementSkipReason,
} from '../../dist/doctor/checks.js';
import { chooseVerdict, doctorExitCode } from '../../dist/doctor/verdicts.js';
import { doctorCiReport } from '../../dist/render/doctor.js';

const HEX = '0123456789abcdef'.repeat(2);
const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdef';
const KEY = `cpk_${HEX}.${HEX}.${ALNUM}`;
const NOW = Date.UTC(2026, 0, 15, 12, 0, 0);

describe('checkKeyFormat', () => {
  /** @type {Array<[string, string | null, string | null, boolean, string, string]>} */
  const rows = [
    // [name, raw, source, expectChutes, status, message fragment]
    ['well-formed cpk_ key', KEY, 'CHUTES_API_KEY', true, 'pass', 'well-formed'],
    ['cak_ OAuth token', `cak_${'x'.repeat(40)}`, 'CHUTES_API_KEY', true, 'pass', 'OAuth'],
    ['trailing newline in the env', `${KEY}\n`, 'CHUTES_API_KEY', true, 'warn', 'a trailing newline'],
    ['CRLF in the env', `${KEY}\r\n`, 'CHUTES_API_KEY', true, 'warn', 'CRLF'],
    ['surrounding quotes', `"${KEY}"`, 'CHUTES_API_KEY', true, 'warn', 'surrounding quotes'],
    ['leading spaces', `  ${KEY}`, 'CHUTES_API_KEY', true, 'warn', 'leading whitespace'],
    ['trailing newline in a file is normal', `${KEY}\n`, '--api-key-file', true, 'pass', 'well-formed'],
    ['quotes in a file', `'${KEY}'\n`, '--api-key-file', true, 'warn', 'surrounding quotes'],
    ['"Bearer " stored with the key', `Bearer ${KEY}`, 'CHUTES_API_KEY', true, 'fail', 'starts with "Bearer "'],
    ['two keys pasted', `${KEY}\n${KEY}`, 'CHUTES_API_KEY', true, 'fail', 'whitespace inside'],
    ['empty after trimming', '  \n', 'CHUTES_API_KEY', true, 'fail', 'empty'],
    ['truncated cpk_ key', KEY.slice(0, 60), 'CHUTES_API_KEY', true, 'fail', 'malformed'],
    ['upper-case hex', KEY.replace(HEX, HEX.toUpperCase()), 'CHUTES_API_KEY', true, 'fail', 'not lower-case hex'],
    ['third part too short', `cpk_${HEX}.${HEX}.short`, 'CHUTES_API_KEY', true, 'fail', 'part 3 (5 chars)'],
    ['OpenAI key on Chutes', `sk-${'a'.repeat(48)}`, 'CHUTES_API_KEY', true, 'fail', 'OpenAI key'],
    ['other key on another host', `sk-${'a'.repeat(48)}`, 'CHUTES_API_KEY', false, 'pass', 'non-Chutes host'],
    ['malformed cak_ token', 'cak_short', 'CHUTES_API_KEY', true, 'fail', 'cak_ token'],
    ['curly quotes from a document', `\u201c${KEY}\u201d`, 'CHUTES_API_KEY', true, 'fail', 'curly quotes'],
    ['a zero-width space', `${KEY}\u200b`, 'CHUTES_API_KEY', true, 'fail', 'zero-width'],
    ['no key', null, null, true, 'skip', 'No key'],
  ];
  for (const [name, raw, source, expectChutes, status, fragment] of rows) {
    it(name, () => {
      const result = checkKeyFormat({ raw, source }, expectChutes);
      assert.equal(result.id, 'key-format');
      assert.equal(result.status, status, result.message);
      assert.ok(result.message.includes(fragment), `${result.message} ∌ ${fragment}`);
      if (status === 'fail' || status === 'warn') assert.ok(result.hint, 'a failing check has a hint');
      // Never echo the key, or any part of it, back.
      if (raw) for (const part of [HEX, ALNUM, KEY]) assert.ok(!`${result.message} ${result.hint}`.includes(part));
    });
  }

  it('describePastedExtras lists every extra', () => {
    assert.deepEqual(describePastedExtras(` "${KEY}"\n`, false), ['leading whitespace', 'a trailing newline', 'surrounding quotes']);
    assert.deepEqual(describePastedExtras(`${KEY}\n`, true), []);
    assert.deepEqual(describePastedExtras(`${KEY} `, false), ['trailing spaces']);
  });
});

describe('checkKeyPresent', () => {
  it('shows only the fingerprint', () => {
    const result = checkKeyPresent({ raw: KEY, source: 'CHUTES_API_KEY' }, 'bearer', null);
    assert.equal(result.status, 'pass');
    assert.ok(result.message.includes('cpk_…cdef'));
    assert.ok(!result.message.includes(HEX));
  });
  it('no key: fail, or skip with --auth none', () => {
    assert.equal(checkKeyPresent({ raw: null, source: null }, 'bearer', null).status, 'fail');
    assert.equal(checkKeyPresent({ raw: null, source: null }, 'none', null).status, 'skip');
  });
  it('credentials in a -H Authorization header: nothing to check here', () => {
    assert.equal(checkKeyPresent({ raw: null, source: null }, 'bearer', null, true).status, 'skip');
  });
  it('an unreadable --api-key-file is a failing check, not a crash', () => {
    const result = checkKeyPresent({ raw: null, source: '--api-key-file' }, 'bearer', '--api-key-file: cannot read /nope (ENOENT)');
    assert.equal(result.status, 'fail');
    assert.match(result.message, /ENOENT/);
  });
});

describe('checkBaseUrl', () => {
  const api = new URL('https://api.chutes.ai');
  const rows = [
    ['https://llm.chutes.ai', 'pass'],
    ['https://llm.chutes.ai/v1', 'pass'],
    ['http://llm.chutes.ai', 'warn'],
    ['https://api.chutes.ai', 'fail'],
    ['https://llm.chutes.ai/v1/chat/completions', 'fail'],
    ['https://myuser-mychute.chutes.ai', 'warn'],
    ['https://gateway.example.com/chutes', 'pass'],
  ];
  for (const [url, status] of rows) {
    it(`${url} → ${status}`, () => assert.equal(checkBaseUrl(new URL(url), api).status, status));
  }
  it('the same origin as the management host is suspicious', () => {
    assert.equal(checkBaseUrl(new URL('http://127.0.0.1:9000'), new URL('http://127.0.0.1:9000')).status, 'warn');
  });
});

describe('checkAuthScheme', () => {
  /** @type {Array<[import('../../dist/types.js').AuthScheme, boolean, string]>} */
  const rows = [
    ['bearer', true, 'pass'],
    ['raw', true, 'pass'],
    ['x-api-key', true, 'fail'],
    ['x-api-key', false, 'warn'],
    ['none', true, 'warn'],
  ];
  for (const [auth, chutes, status] of rows) {
    it(`${auth} (${chutes ? 'Chutes' : 'other host'}) → ${status}`, () => assert.equal(checkAuthScheme(auth, chutes).status, status));
  }
});

const record = (over) => ({
  seq: 1, sentAt: new Date(NOW).toISOString(), scheduledAt: null, latencyMs: 5, status: 200, inFlight: 1,
  outcome: 'ok', verdict: { code: 'ok', message: '200 OK', hint: '' }, headers: {},
  rateLimit: { policies: [], retryAfterSeconds: null }, body: null, error: null, ...over,
});

describe('checkKeyValid, checkQuota, checkInference', () => {
  it('key-valid: 200 pass, 401 fail, 404 warn, no answer skip', () => {
    assert.equal(checkKeyValid({ record: record({}), json: { username: 'alice' } }, null, 'api').message, 'api accepts the key (user alice).');
    assert.equal(checkKeyValid({ record: record({ status: 401, outcome: 'auth_error' }), json: null }, null, 'api').status, 'fail');
    assert.equal(checkKeyValid({ record: record({ status: 404, outcome: 'http_error' }), json: null }, null, 'api').status, 'warn');
    assert.equal(checkKeyValid(null, 'No usable key.', 'api').status, 'skip');
  });

  it('quota: exhausted fails with the reset time, low warns, unlimited passes', () => {
    const answer = { record: record({}) };
    const summary = (over) => ({ daily: 200, used: 10, remaining: 190, resetsAt: '2026-01-16T00:00:00.000Z', unlimited: false, source: 'quota_usage', ...over });
    const exhausted = checkQuota(summary({ used: 200, remaining: 0 }), answer, null, NOW);
    assert.equal(exhausted.status, 'fail');
    assert.match(exhausted.message, /2026-01-16T00:00:00.000Z/);
    assert.match(exhausted.message, /in 12h00m/);
    assert.equal(checkQuota(summary({ used: 195, remaining: 5 }), answer, null, NOW).status, 'warn');
    assert.equal(checkQuota(summary({}), answer, null, NOW).status, 'pass');
    assert.equal(checkQuota(summary({ daily: null, remaining: null, unlimited: true, resetsAt: null }), answer, null, NOW).status, 'pass');
    assert.equal(checkQuota(null, { record: record({ status: 404, outcome: 'http_error' }) }, null, NOW).status, 'skip');
  });

  it('inference: capacity is a warning (nothing to fix here), any other refusal fails', () => {
    assert.equal(checkInference(record({}), null).status, 'pass');
    assert.equal(checkInference(record({ status: 429, outcome: 'capacity' }), null).status, 'warn');
    assert.equal(checkInference(record({ status: 429, outcome: 'rate_limited' }), null).status, 'fail');
    assert.equal(checkInference(null, 'Skipped (--skip-inference): nothing spent.').status, 'skip');
  });
});

describe('checkModelServed', () => {
  /** @param {string} id @param {number} usd */
  const model = (id, usd) => ({ id, text: true, promptUsd: usd, completionUsd: usd });
  const served = [model('cheap/A', 0.02), model('mid/B', 0.1), model('c/C', 0.2), model('d/D', 0.3), model('e/E', 0.4), model('f/F', 0.5)];
  /** @returns {import('../../dist/models/choose.js').ModelChoice} */
  const choice = (id, source, extra = {}) => ({ model: id, source, reason: `model ${id}`, served, problem: null, ...extra });
  /** @type {Array<[string, any, string | null, string, RegExp]>} */
  const rows = [
    ['picked from the list', choice('cheap/A', 'list'), null, 'pass', /cheap\/A is served \(picked from GET \/v1\/models: 6 text models\)/],
    ['named and served', choice('mid/B', 'option'), null, 'pass', /mid\/B is served \(listed in/],
    ['a failover list with one served id and a :latency suffix', choice('gone/X,mid/B:latency', 'option'), null, 'pass', /is served/],
    ['named and gone', choice('unsloth/gemma-3-4b-it', 'option'), null, 'fail', /unsloth\/gemma-3-4b-it is not in GET \/v1\/models \(6 text models served\): every inference request naming it answers 404/],
    ['the list could not be read on Chutes', choice('x/Y', 'fallback', { served: null, problem: 'HTTP 503' }), null, 'warn', /could not be read \(HTTP 503\); x\/Y may not be served/],
    ['a host without a Chutes model list', choice('x/Y', 'fallback', { served: null }), 'the answer is not a Chutes model list', 'skip', /could not be read \(the answer is not a Chutes model list\)/],
    ['--body names its own model', null, null, 'skip', /--body/],
  ];
  for (const [name, c, problem, status, message] of rows) {
    it(`${name} → ${status}`, () => {
      const result = checkModelServed(c, problem);
      assert.equal(result.id, 'model-served');
      assert.equal(result.status, status);
      assert.match(result.message, message);
    });
  }
  it('a gone model\'s hint names five served ids, cheapest first', () => {
    assert.match(checkModelServed(choice('gone/X', 'env'), null).hint ?? '', /^Served now, cheapest first: cheap\/A, mid\/B, c\/C, d\/D, e\/E; pick one with --model <id>/);
  });
});

describe('chooseVerdict and doctorExitCode', () => {
  /** @type {(id: string) => import('../../dist/doctor/checks.js').Check} */
  const pass = (id) => ({ id, status: 'pass', message: `${id} ok`, hint: null });
  const ids = ['key-present', 'key-format', 'base-url', 'auth-scheme', 'inference-reachable', 'management-reachable', 'key-valid', 'quota', 'model-served', 'inference'];
  /**
   * All checks passing except the overrides {id: status}.
   * @returns {import('../../dist/doctor/verdicts.js').DoctorFindings}
   */
  const findings = (overrides = {}, extra = {}) => ({
    checks: ids.map((id) => (overrides[id] ? { ...pass(id), status: overrides[id], message: `${id} ${overrides[id]}`, hint: `fix ${id}` } : pass(id))),
    auth: 'bearer', inference: record({}), keyValidOutcome: 'ok', quota: null, nowMs: NOW, ...extra,
  });
  const verdictFor = (label) => ({ code: label, message: label, hint: label });
  /** @type {Array<[string, import('../../dist/doctor/verdicts.js').DoctorFindings, string, number]>} */
  const rows = [
    ['everything passes', findings(), 'no-problem-found', 0],
    ['no key', findings({ 'key-present': 'fail', inference: 'fail' }, { inference: record({ status: 429, outcome: 'rate_limited', verdict: verdictFor('anonymous-edge-limit') }) }), 'missing-api-key', 1],
    ['malformed key, accepted anyway', findings({ 'key-format': 'fail' }), 'malformed-api-key', 1],
    ['X-API-Key', findings({ 'auth-scheme': 'fail', inference: 'fail' }, { inference: record({ status: 429, outcome: 'rate_limited', verdict: verdictFor('x-api-key-ignored') }) }), 'x-api-key-ignored', 1],
    ['X-API-Key on a non-Chutes host, confirmed by the edge page', findings({ 'auth-scheme': 'warn', inference: 'fail' }, { inference: record({ status: 429, outcome: 'rate_limited', verdict: verdictFor('x-api-key-ignored') }) }), 'x-api-key-ignored', 1],
    ['wrong host by URL', findings({ 'base-url': 'fail' }), 'wrong-host', 1],
    ['wrong host by the 404', findings({ inference: 'fail' }, { inference: record({ status: 404, outcome: 'http_error', verdict: verdictFor('wrong-host') }) }), 'wrong-host', 1],
    ['unreachable', findings({ 'inference-reachable': 'fail', inference: 'skip' }, { inference: null }), 'host-unreachable', 6],
    ['key rejected', findings({ 'key-valid': 'fail', inference: 'fail' }, { keyValidOutcome: 'auth_error', inference: record({ status: 401, outcome: 'auth_error', verdict: verdictFor('invalid-api-key') }) }), 'invalid-api-key', 4],
    ['quota used up', findings({ quota: 'fail', inference: 'fail' }, { quota: { daily: 5, used: 5, remaining: 0, resetsAt: '2026-01-16T00:00:00.000Z', unlimited: false, source: 'quota_usage' }, inference: record({ status: 402, outcome: 'quota_exceeded', verdict: verdictFor('daily-quota-exhausted') }) }), 'daily-quota-exhausted', 1],
    ['capacity', findings({ inference: 'warn' }, { inference: record({ status: 429, outcome: 'capacity', verdict: verdictFor('capacity-at-maximum') }) }), 'capacity-at-maximum', 0],
    ['pasted newline only', findings({ 'key-format': 'warn' }), 'key-has-extra-characters', 0],
    ['a model that is gone, confirmed by the 404', findings({ 'model-served': 'fail', inference: 'fail' }, { inference: record({ status: 404, outcome: 'http_error', verdict: verdictFor('model-not-found') }) }), 'model-not-found', 1],
    ['a model that is gone, --skip-inference', findings({ 'model-served': 'fail', inference: 'skip' }, { inference: null }), 'model-not-found', 1],
    ['X-API-Key names the cause before a model that is gone', findings({ 'auth-scheme': 'fail', 'model-served': 'fail', inference: 'fail' }, { inference: record({ status: 429, outcome: 'rate_limited', verdict: verdictFor('x-api-key-ignored') }) }), 'x-api-key-ignored', 1],
  ];
  for (const [name, f, code, exit] of rows) {
    it(`${name} → ${code}, exit ${exit}`, () => {
      const verdict = chooseVerdict(f);
      assert.equal(verdict.code, code);
      assert.ok(verdict.message.length > 0 && verdict.hint.length > 0);
      assert.equal(doctorExitCode(f, false), exit);
    });
  }
  it('an interrupted run exits 130', () => assert.equal(doctorExitCode(findings(), true), 130));
  it('the quota verdict names the reset time', () => {
    const verdict = chooseVerdict(rows.find(([name]) => name === 'quota used up')[1]);
    assert.match(verdict.message, /2026-01-16T00:00:00.000Z/);
  });
});

describe('managementSkipReason: the key goes to the management host only in a Chutes context or when named', () => {
  const api = new URL('https://api.chutes.ai');
  /** @type {Array<[string, string, boolean, boolean, boolean]>} */
  const rows = [
    // [name, --base-url, explicit --base-url, explicit --api-base-url, checked]
    ['defaults (Chutes)', 'https://llm.chutes.ai', false, false, true],
    ['--base-url llm.chutes.ai', 'https://llm.chutes.ai', true, false, true],
    ['--base-url a chute host', 'https://someone-model.chutes.ai', true, false, true],
    ['--base-url OpenRouter', 'https://openrouter.ai/api', true, false, false],
    ['--base-url loopback', 'http://127.0.0.1:8080', true, false, false],
    ['--base-url a look-alike host', 'https://chutes.ai.example.com', true, false, false],
    ['--base-url OpenRouter, --api-base-url named', 'https://openrouter.ai/api', true, true, true],
    ['--base-url loopback, --api-base-url named', 'http://127.0.0.1:8080', true, true, true],
  ];
  for (const [name, base, baseUrl, apiBaseUrl, checked] of rows) {
    it(`${name} → ${checked ? 'checked' : 'skipped'}`, () => {
      const reason = managementSkipReason(new URL(base), api, { baseUrl, apiBaseUrl });
      if (checked) assert.equal(reason, null);
      else {
        assert.match(reason, /the key is only sent to the host named in --base-url/);
        assert.match(reason, /--api-base-url <url>/);
      }
    });
  }

  it('explicitOption reads the CLI map, or whether a value was passed at all', () => {
    const url = new URL('http://127.0.0.1:1');
    assert.equal(explicitOption({ explicit: { apiBaseUrl: true }, apiBaseUrl: url }, 'apiBaseUrl'), true);
    assert.equal(explicitOption({ explicit: { apiBaseUrl: false }, apiBaseUrl: url }, 'apiBaseUrl'), false);
    assert.equal(explicitOption({ explicit: {}, apiBaseUrl: url }, 'apiBaseUrl'), false);
    assert.equal(explicitOption({ apiBaseUrl: url }, 'apiBaseUrl'), true);
    assert.equal(explicitOption({}, 'baseUrl'), false);
  });
});

describe('doctorCiReport', () => {
  it('the verdict as the headline, a row per check, warn checks as warnings, fail checks as errors', () => {
    /** @type {import('../../dist/doctor/checks.js').Check[]} */
    const checks = [
      { id: 'key-present', status: 'pass', message: 'Key from CHUTES_API_KEY.', hint: null },
      { id: 'auth-scheme', status: 'fail', message: 'X-API-Key is ignored.', hint: 'Use Bearer.' },
      { id: 'quota', status: 'warn', message: 'Only 5 left.', hint: null },
      { id: 'key-valid', status: 'skip', message: 'Not checked.', hint: null },
    ];
    const report = doctorCiReport(checks, { code: 'x-api-key-ignored', message: 'Anonymous.', hint: 'Send Bearer.' });
    assert.equal(report.command, 'doctor');
    assert.equal(report.headline, 'Verdict [x-api-key-ignored]: Anonymous. Fix: Send Bearer.');
    assert.deepEqual(report.rows, [
      ['key-present', 'pass: Key from CHUTES_API_KEY.'], ['auth-scheme', 'fail: X-API-Key is ignored.'], ['quota', 'warn: Only 5 left.'], ['key-valid', 'skip: Not checked.'],
    ]);
    assert.deepEqual(report.warnings, ['quota: Only 5 left.']);
    assert.deepEqual(report.errors, ['auth-scheme: X-API-Key is ignored. → Use Bearer.']);
  });
});
