import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseDurationMs, integerParser, parseHttpUrl, collectHeader, parseConcurrency, parseRequestPath } from '../../dist/options.js';

/** @type {Array<[string, number]>} */
const durations = [
  ['250ms', 250], ['10s', 10_000], ['2m', 120_000], ['1h', 3_600_000], ['1.5s', 1500], ['30', 30_000], ['0', 0], [' 5s ', 5000],
];
for (const [input, expected] of durations) {
  test(`duration ${JSON.stringify(input)} → ${expected} ms`, () => assert.equal(parseDurationMs(input), expected));
}
for (const bad of ['', 'abc', '-1s', '5 sec', '1d', '10h10m', 'NaN', 'Infinity', '1e3', '200h']) {
  test(`duration ${JSON.stringify(bad)} is refused with the accepted form`, () => {
    assert.throws(() => parseDurationMs(bad), /duration/);
  });
}

const rpm = integerParser(1, 60_000);
for (const [input, expected] of /** @type {Array<[string, number]>} */ ([['20', 20], ['1', 1], ['60000', 60000]])) {
  test(`integer ${input}`, () => assert.equal(rpm(input), expected));
}
for (const bad of ['0', '-1', 'abc', '1e12', '1.5', '', '60001', '0x10']) {
  test(`integer ${JSON.stringify(bad)} refused, naming the range`, () => assert.throws(() => rpm(bad), /whole number from 1 to 60000/));
}

test('URL: absolute http(s) accepted', () => {
  assert.equal(parseHttpUrl('https://llm.chutes.ai').href, 'https://llm.chutes.ai/');
  assert.equal(parseHttpUrl('http://127.0.0.1:8787/v1').href, 'http://127.0.0.1:8787/v1');
});
test('URL without a scheme suggests one', () => assert.throws(() => parseHttpUrl('llm.chutes.ai'), /did you mean https:\/\/llm\.chutes\.ai/));
test('URL with another scheme refused', () => assert.throws(() => parseHttpUrl('ftp://x.example'), /http:\/\/ or https:\/\//));
test('URL with credentials refused', () => assert.throws(() => parseHttpUrl('https://user:pw@x.example'), /Credentials/));

test('header "Name: value" collected', () => {
  assert.deepEqual(collectHeader('X-Trace: 1', [['A', 'b']]), [['A', 'b'], ['X-Trace', '1']]);
  assert.deepEqual(collectHeader('X-Empty:'), [['X-Empty', '']]);
});
for (const bad of ['NoColon', ': value', 'Bad Name: v']) {
  test(`header ${JSON.stringify(bad)} refused`, () => assert.throws(() => collectHeader(bad), /Name: value/));
}
test('concurrency auto|off|N', () => {
  assert.equal(parseConcurrency('auto'), 'auto');
  assert.equal(parseConcurrency('off'), 'off');
  assert.equal(parseConcurrency('4'), 4);
  assert.throws(() => parseConcurrency('0'), /auto, off/);
});
test('path must start with /', () => {
  assert.equal(parseRequestPath('/v1/models'), '/v1/models');
  assert.throws(() => parseRequestPath('v1/models'), /starting with/);
});
