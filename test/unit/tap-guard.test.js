// The tap's guard (src/tap/guard.ts): what it refuses before anything goes upstream, and which headers a
// proxy must not forward. Tables of inputs → expected answers.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { forwardHeaders, hostMatches, isLoopbackHost, parseListen, refuseRequest } from '../../dist/tap/guard.js';

describe('parseListen', () => {
  /** @type {Array<[string, { host: string, port: number } | null]>} */
  const cases = [
    ['127.0.0.1:8787', { host: '127.0.0.1', port: 8787 }],
    ['localhost:0', { host: 'localhost', port: 0 }],
    ['[::1]:9000', { host: '::1', port: 9000 }],
    ['8787', { host: '127.0.0.1', port: 8787 }],
    ['0.0.0.0:80', { host: '0.0.0.0', port: 80 }],
    ['127.0.0.1', null],
    ['127.0.0.1:99999', null],
    ['[nothost]:80', null],
    ['::1:80', null],
    ['', null],
  ];
  for (const [input, expected] of cases) it(JSON.stringify(input), () => assert.deepEqual(parseListen(input), expected));
});

describe('isLoopbackHost', () => {
  /** @type {Array<[string, boolean]>} */
  const hosts = [['127.0.0.1', true], ['127.9.9.9', true], ['localhost', true], ['::1', true], ['[::1]', true], ['::ffff:127.0.0.1', true], ['0.0.0.0', false], ['192.168.1.2', false], ['example.com', false], ['localhost.example.com', false]];
  for (const [host, expected] of hosts) {
    it(`${host} → ${expected}`, () => assert.equal(isLoopbackHost(host), expected));
  }
});

describe('hostMatches: the Host header must name the listener (DNS rebinding)', () => {
  const loop = { host: '127.0.0.1', port: 8787 };
  const wildcard = { host: '0.0.0.0', port: 8787 };
  const lan = { host: '192.168.1.5', port: 8787 };
  /** @type {Array<[{ host: string, port: number }, string, boolean]>} */
  const cases = [
    [loop, '127.0.0.1:8787', true],
    [loop, 'localhost:8787', true],
    [loop, '[::1]:8787', true],
    [loop, '127.0.0.1:8788', false],
    [loop, '127.0.0.1', false],
    [loop, 'attacker.example:8787', false],
    [loop, 'LOCALHOST:8787', true],
    [wildcard, '192.168.1.5:8787', true],
    [wildcard, 'attacker.example:8787', false],
    [lan, '192.168.1.5:8787', true],
    [lan, '192.168.1.6:8787', false],
    [lan, 'attacker.example:8787', false],
    [{ host: '127.0.0.1', port: 80 }, 'localhost', true],
  ];
  for (const [listen, host, expected] of cases) it(`${listen.host}:${listen.port} ← Host ${host}: ${expected}`, () => assert.equal(hostMatches(host, listen), expected));
});

describe('refuseRequest', () => {
  const listen = { host: '127.0.0.1', port: 8787 };
  /** @type {Array<[string, string, string | undefined, string | null]>} */
  const cases = [
    ['GET', '/v1/models', '127.0.0.1:8787', null],
    ['POST', '/v1/chat/completions?x=1', 'localhost:8787', null],
    ['GET', 'http://example.com/', '127.0.0.1:8787', 'absolute-form'],
    ['GET', 'http://127.0.0.1:8787/v1/models', '127.0.0.1:8787', 'absolute-form'],
    ['OPTIONS', '*', '127.0.0.1:8787', 'absolute-form'],
    ['CONNECT', 'example.com:443', 'example.com:443', 'connect'],
    ['GET', '/v1/models', undefined, 'host-missing'],
    ['GET', '/v1/models', 'rebind.attacker.example:8787', 'host-mismatch'],
  ];
  for (const [method, url, host, code] of cases) {
    it(`${method} ${url} Host ${host} → ${code ?? 'forwarded'}`, () => assert.equal(refuseRequest(method, url, host, listen)?.code ?? null, code));
  }
});

describe('forwardHeaders', () => {
  it('drops hop-by-hop headers and those the Connection header names; keeps credentials and the rest', () => {
    const request = forwardHeaders({
      host: '127.0.0.1:8787', connection: 'keep-alive, x-private', 'keep-alive': 'timeout=5', 'x-private': '1', te: 'trailers',
      'transfer-encoding': 'chunked', upgrade: 'h2c', 'proxy-authorization': 'Basic x', expect: '100-continue',
      authorization: 'Bearer k', 'x-api-key': 'k2', 'content-type': 'application/json', origin: 'http://x', 'accept-encoding': 'gzip',
    }, { request: true });
    assert.deepEqual(request, { authorization: 'Bearer k', 'x-api-key': 'k2', 'content-type': 'application/json', origin: 'http://x', 'accept-encoding': 'gzip' });
  });

  it('keeps Host-like and length headers on responses, drops hop-by-hop ones', () => {
    const response = forwardHeaders({ connection: 'close', 'transfer-encoding': 'chunked', 'content-type': 'text/event-stream', 'set-cookie': ['a=1', 'b=2'], 'x-ratelimit-remaining': '3' }, { request: false });
    assert.deepEqual(response, { 'content-type': 'text/event-stream', 'set-cookie': ['a=1', 'b=2'], 'x-ratelimit-remaining': '3' });
  });
});
