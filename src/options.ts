// Parsers for option values. Each throws commander's InvalidArgumentError with the accepted
// form, so a bad value exits 2 with "option '--rpm <n>' argument 'abc' is invalid. <why>"
// (-H throws a UsageError for a header it cannot send, so the value is not echoed).
import { InvalidArgumentError } from 'commander';
import { UsageError } from './errors.js';
import { parseListen, type ListenAddress } from './tap/guard.js';

const DURATION_UNITS_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
/** Longest duration any option accepts: 7 days. Larger values are typos, not plans. */
const MAX_DURATION_MS = 7 * 24 * 3_600_000;

/** "250ms", "10s", "2m", "1h", "1.5s" or a bare number of seconds → milliseconds. */
export function parseDurationMs(value: string): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$/.exec(value);
  if (!match) {
    throw new InvalidArgumentError('Expected a duration such as 250ms, 10s, 2m, 1h or a number of seconds.');
  }
  const ms = Number(match[1]) * DURATION_UNITS_MS[match[2] ?? 's']!;
  if (!Number.isFinite(ms) || ms > MAX_DURATION_MS) {
    throw new InvalidArgumentError('Expected a duration of at most 7 days.');
  }
  return ms;
}

/** Like parseDurationMs but zero is refused. */
export function parsePositiveDurationMs(value: string): number {
  const ms = parseDurationMs(value);
  if (ms <= 0) throw new InvalidArgumentError('Expected a duration greater than zero, such as 500ms or 10s.');
  return ms;
}

export function integerParser(min: number, max: number): (value: string) => number {
  return (value: string) => {
    if (!/^\s*\d+\s*$/.test(value)) {
      throw new InvalidArgumentError(`Expected a whole number from ${min} to ${max}.`);
    }
    const n = Number(value);
    if (n < min || n > max) throw new InvalidArgumentError(`Expected a whole number from ${min} to ${max}.`);
    return n;
  };
}

export function numberParser(min: number, max: number): (value: string) => number {
  return (value: string) => {
    const n = /^\s*\d+(\.\d+)?\s*$/.test(value) ? Number(value) : Number.NaN;
    if (!Number.isFinite(n) || n < min || n > max) {
      throw new InvalidArgumentError(`Expected a number from ${min} to ${max}.`);
    }
    return n;
  };
}

/** An absolute http(s) URL; a missing scheme gets a pointed message rather than a silent guess. */
export function parseHttpUrl(value: string): URL {
  const text = value.trim();
  // "host:8080" parses as the scheme "host:", so a host and port without a scheme is caught here too.
  const schemeless = /^[\w.-]+(:\d+)?(\/|$)/.test(text) && !/^https?:/i.test(text);
  const suggestion = schemeless ? ` (did you mean https://${text}?)` : '';
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new InvalidArgumentError(`Expected an absolute URL such as https://llm.chutes.ai${suggestion}.`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new InvalidArgumentError(schemeless
      ? `Expected an absolute URL such as https://llm.chutes.ai${suggestion}.`
      : `Expected an http:// or https:// URL (got ${url.protocol}//).`);
  }
  if (url.username || url.password) {
    throw new InvalidArgumentError('Credentials in the URL are not accepted; use CHUTES_API_KEY or --api-key-file.');
  }
  return url;
}

/** A request path starting with "/". */
export function parseRequestPath(value: string): string {
  const path = value.trim();
  if (!path.startsWith('/') || /\s/.test(path)) {
    throw new InvalidArgumentError('Expected a path starting with "/", such as /v1/chat/completions.');
  }
  return path;
}

const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/**
 * Headers undici (the HTTP client) refuses in a request, or that chutes-diag derives from the request
 * itself (lib/core/request.js processHeader): sent with -H they would fail every request as a
 * "network error", so they are refused up front, with the reason.
 */
const REFUSED_HEADERS: Record<string, string> = {
  'content-length': 'it is computed from the body',
  'transfer-encoding': 'the body is sent with a Content-Length',
  'keep-alive': 'connections are kept alive by the HTTP client',
  upgrade: 'protocol upgrades are not supported',
  expect: '"Expect: 100-continue" is not supported by the HTTP client',
};

/** Value characters undici refuses: controls other than tab, DEL, and anything beyond one byte (U+0100 and up). */
const UNSENDABLE_VALUE_CHAR = /[^\t\x20-\x7e\x80-\xff]/u;

/** Why a header cannot be sent, or null. Never quotes the value: it may be a credential. */
export function headerProblem(name: string, value: string): string | null {
  const lower = name.toLowerCase();
  const refused = REFUSED_HEADERS[lower];
  if (refused !== undefined) return `${name} cannot be set with -H: ${refused}.`;
  const bad = UNSENDABLE_VALUE_CHAR.exec(value)?.[0];
  if (bad !== undefined) {
    const code = `U+${bad.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;
    const what = /[\r\n]/.test(bad) ? 'a line break' : /[\0-\x1f\x7f]/.test(bad) ? 'a control character' : 'a character outside Latin-1';
    return `the value of ${name} contains ${what} (${code}), which cannot be sent in an HTTP header; use printable ASCII.`;
  }
  // undici's rule: Connection lists connection options, each a header-name token (close, keep-alive, ...).
  if (lower === 'connection' && !value.split(',').every((token) => HEADER_NAME.test(token.trim()))) {
    return `the value of ${name} must be a comma-separated list of tokens such as "close".`;
  }
  return null;
}

/** "-H 'Name: value'", repeatable: collects into a list of [name, value]. */
export function collectHeader(value: string, previous: Array<[string, string]> = []): Array<[string, string]> {
  const colon = value.indexOf(':');
  const name = colon > 0 ? value.slice(0, colon).trim() : '';
  if (colon <= 0 || !HEADER_NAME.test(name)) {
    throw new InvalidArgumentError('Expected "Name: value", such as -H "X-Trace: 1".');
  }
  const headerValue = value.slice(colon + 1).trim();
  // A UsageError, not commander's InvalidArgumentError: commander would echo the whole argument,
  // and the value may be a credential (-H "Authorization: Bearer …").
  const problem = headerProblem(name, headerValue);
  if (problem !== null) throw new UsageError(`-H, --header: ${problem}`);
  return [...previous, [name, headerValue]];
}

export function parseChoice<T extends string>(choices: readonly T[]): (value: string) => T {
  return (value: string) => {
    if ((choices as readonly string[]).includes(value)) return value as T;
    throw new InvalidArgumentError(`Expected one of: ${choices.join(', ')}.`);
  };
}

/** --concurrency auto|off|N */
export function parseConcurrency(value: string): 'auto' | 'off' | number {
  if (value === 'auto' || value === 'off') return value;
  if (/^\d+$/.test(value) && Number(value) >= 1 && Number(value) <= 1000) return Number(value);
  throw new InvalidArgumentError('Expected auto, off, or a whole number from 1 to 1000.');
}

/** --daily-quota N|unlimited. Commander turns a parser's null into '', so "unlimited" stays a word. */
export function parseDailyQuota(value: string): number | 'unlimited' {
  if (value === 'unlimited') return value;
  if (/^\s*\d+\s*$/.test(value) && Number(value) <= 1_000_000_000) return Number(value);
  throw new InvalidArgumentError('Expected a whole number from 0 to 1000000000, or unlimited.');
}

/** --listen: `HOST:PORT`, `[V6]:PORT` or a bare port (on 127.0.0.1); port 0 = any free port. */
export function parseListenAddress(value: string): ListenAddress {
  const address = parseListen(value);
  if (!address) throw new InvalidArgumentError('Expected HOST:PORT such as 127.0.0.1:8787, [::1]:8787, or a port; port 0 picks any free port.');
  return address;
}
