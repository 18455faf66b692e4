// What the tap refuses before anything goes upstream: it forwards the user's credentials, so it must not
// be an open proxy (absolute-form and CONNECT requests to other hosts), nor reachable from a web page
// through DNS rebinding (a Host that is not the listen address). Pure.
import { isIP } from 'node:net';

export interface ListenAddress {
  host: string;
  port: number;
}

/** `HOST:PORT`, `[V6]:PORT` or `PORT`; null when it is not one of those. */
export function parseListen(value: string): ListenAddress | null {
  const text = value.trim();
  if (/^\d+$/.test(text)) return portOk(Number(text)) ? { host: '127.0.0.1', port: Number(text) } : null;
  const v6 = /^\[([^\]]+)\]:(\d+)$/.exec(text);
  const plain = /^([^:[\]]+):(\d+)$/.exec(text);
  const match = v6 ?? plain;
  if (!match) return null;
  const host = (match[1] as string).toLowerCase();
  const port = Number(match[2]);
  if (!portOk(port) || (v6 && isIP(host) !== 6)) return null;
  return { host, port };
}

function portOk(port: number): boolean {
  return Number.isInteger(port) && port >= 0 && port <= 65535;
}

/** 127.0.0.0/8, ::1, ::ffff:127.x and `localhost`. */
export function isLoopbackHost(host: string): boolean {
  const h = host.toLowerCase().replace(/^\[|\]$/g, '');
  if (h === 'localhost' || h.endsWith('.localhost')) return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  if (isIP(h) === 6) return h === '::1' || /^::ffff:127\./.test(h);
  return false;
}

function isWildcard(host: string): boolean {
  return host === '0.0.0.0' || host === '::';
}

/** A refused request: the status, a stable code, and why (for the JSON body and the warning). */
export interface Refusal {
  status: number;
  code: 'absolute-form' | 'connect' | 'host-mismatch' | 'host-missing';
  message: string;
}

/** Host header → [hostname, port]; the port defaults to 80 (the tap speaks plain HTTP). */
function splitHost(value: string): [string, number] | null {
  const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(value);
  if (v6) return [(v6[1] as string).toLowerCase(), v6[2] === undefined ? 80 : Number(v6[2])];
  const plain = /^([^:]+)(?::(\d+))?$/.exec(value);
  if (plain) return [(plain[1] as string).toLowerCase(), plain[2] === undefined ? 80 : Number(plain[2])];
  return null;
}

/**
 * Whether the Host header names this listener. Loopback: any loopback name or address. A specific
 * address: that address. A wildcard bind (0.0.0.0, ::): an IP literal or a loopback name — a DNS
 * rebinding page reaches the tap under its own domain name, never under an IP literal.
 */
export function hostMatches(hostHeader: string, listen: ListenAddress): boolean {
  const parts = splitHost(hostHeader.trim());
  if (!parts) return false;
  const [name, port] = parts;
  if (port !== listen.port) return false;
  if (isLoopbackHost(listen.host)) return isLoopbackHost(name);
  if (isWildcard(listen.host)) return isIP(name) !== 0 || isLoopbackHost(name);
  return name === listen.host;
}

/** Why a request must not go upstream, or null. `url` is the request-target as received. */
export function refuseRequest(method: string, url: string, hostHeader: string | undefined, listen: ListenAddress): Refusal | null {
  if (method.toUpperCase() === 'CONNECT') {
    return { status: 405, code: 'connect', message: 'CONNECT refused: chutes-diag tap is a reverse proxy for one upstream, not an open proxy' };
  }
  if (!url.startsWith('/')) {
    return { status: 400, code: 'absolute-form', message: 'absolute-form request refused: chutes-diag tap is not an open proxy; send a path (set the app\'s base URL to the tap)' };
  }
  if (hostHeader === undefined || hostHeader.trim() === '') {
    return { status: 421, code: 'host-missing', message: 'request without a Host header refused' };
  }
  if (!hostMatches(hostHeader, listen)) {
    return { status: 421, code: 'host-mismatch', message: `Host "${hostHeader.slice(0, 100)}" is not the tap's listen address: refused (a web page using DNS rebinding must not reach the upstream)` };
  }
  return null;
}

// Hop-by-hop headers (RFC 9110 §7.6.1) and the proxy-only ones: never forwarded in either direction.
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-authenticate', 'proxy-authorization', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade']);

/**
 * The headers to forward: hop-by-hop ones and any the Connection header names are dropped; `host` (the
 * client sets it for the upstream) and `expect` (undici does not send it) too, on requests.
 */
export function forwardHeaders(headers: Readonly<Record<string, string | string[] | undefined>>, { request }: { request: boolean }): Record<string, string | string[]> {
  const named = new Set<string>();
  const connection = headers.connection;
  for (const value of Array.isArray(connection) ? connection : connection ? [connection] : []) {
    for (const token of value.split(',')) if (token.trim()) named.add(token.trim().toLowerCase());
  }
  const out: Record<string, string | string[]> = {};
  for (const [rawName, value] of Object.entries(headers)) {
    const name = rawName.toLowerCase();
    if (value === undefined || HOP_BY_HOP.has(name) || named.has(name)) continue;
    if (request && (name === 'host' || name === 'expect')) continue;
    out[name] = value;
  }
  return out;
}
