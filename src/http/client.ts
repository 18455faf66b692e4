// The HTTP layer: one undici dispatcher per client (createHttpClient, one per command run), a per-request deadline, at most 64 KiB of body read,
// latency measured from send to response headers, and no redirect followed (each hop would be an
// unbudgeted request with the key).
import { performance } from 'node:perf_hooks';
import type { Socket } from 'node:net';
import { Agent, buildConnector, EnvHttpProxyAgent, request, type Dispatcher } from 'undici';
import type { RecordError, Target } from '../types.js';

export const MAX_BODY_BYTES = 64 * 1024;

/** What came back, before any interpretation. */
export interface RawResponse {
  status: number | null;
  headers: Record<string, string>;
  body: string | null;
  /** Epoch ms when the request was handed to the socket layer. */
  sentAt: number;
  /** Epoch ms when the response headers arrived (or the failure happened). */
  receivedAt: number;
  /** Send → response headers, in ms; null when no response came. */
  latencyMs: number | null;
  error: RecordError | null;
}

/** Epoch ms with sub-millisecond resolution (monotonic within a run): pacing is measured with it. */
export function preciseNow(): number {
  return performance.timeOrigin + performance.now();
}

/** The proxy variable in force (undici's EnvHttpProxyAgent reads these), or null. */
export function proxyEnvName(env: NodeJS.ProcessEnv): string | null {
  for (const name of ['HTTPS_PROXY', 'https_proxy', 'HTTP_PROXY', 'http_proxy']) if (env[name]) return name;
  return null;
}

// Certificates are always verified, even when NODE_TLS_REJECT_UNAUTHORIZED=0 is set: the key is
// never sent over a connection whose peer is unknown. A proxy's CA goes in NODE_EXTRA_CA_CERTS.
const VERIFY_TLS = { rejectUnauthorized: true } as const;

/** An undici connector that can open a connection before any request asks for one (see preconnect). */
interface Preconnector {
  connect: buildConnector.connector;
  /** Opens a connection to `url`'s origin (TCP, and TLS for https); true once it is open, false if it failed. */
  open(url: URL): Promise<boolean>;
  close(): void;
}

/** A connection opened ahead of its first request, until the dispatcher's next connection to its origin takes it. */
interface ParkedSocket {
  socket: Socket;
  ready: boolean;
  opened: Promise<boolean>;
  /** The dispatcher asked for it while it was still connecting. */
  taker: buildConnector.Callback | null;
}

const originKey = (protocol: string, hostname: string, port: string): string =>
  `${protocol}//${hostname}:${port || (protocol === 'https:' ? '443' : '80')}`;

/**
 * Wraps undici's own connector: `open()` connects as undici would (same TLS options, TCP keep-alive, no
 * Nagle), and the next time the dispatcher needs a connection to that origin it gets this socket instead
 * of opening one. No request is sent to warm a connection: a warm-up request would wait for the
 * origin's answer (seconds from a slow one), and undici closes the connection after a HEAD anyway.
 */
function preconnector(tls: buildConnector.BuildOptions): Preconnector {
  const base = buildConnector(tls);
  const parked = new Map<string, ParkedSocket>();
  const noop = (): void => undefined;
  const connect: buildConnector.connector = (options, callback) => {
    const key = originKey(options.protocol, options.hostname, options.port);
    const entry = parked.get(key);
    if (!entry || options.httpSocket) return base(options, callback);
    parked.delete(key);
    if (entry.socket.destroyed) return base(options, callback);
    entry.socket.off('error', noop);
    if (entry.ready) queueMicrotask(() => callback(null, entry.socket));
    else entry.taker = callback;
  };
  return {
    connect,
    open(url) {
      const hostname = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
      const key = originKey(url.protocol, hostname, url.port);
      const existing = parked.get(key);
      if (existing) return existing.opened;
      let settle: (ok: boolean) => void = noop;
      const opened = new Promise<boolean>((resolve) => (settle = resolve));
      const entry: ParkedSocket = { socket: undefined as unknown as Socket, ready: false, opened, taker: null };
      // undici's connector returns the socket it is connecting (its type says void).
      const connectNow = base as unknown as (options: buildConnector.Options, callback: buildConnector.Callback) => Socket;
      entry.socket = connectNow({ hostname, host: url.host, protocol: url.protocol, port: url.port }, (error, socket) => {
        const taker = entry.taker;
        if (error !== null) {
          if (parked.get(key) === entry) parked.delete(key);
          settle(false);
          taker?.(error, null);
          return;
        }
        entry.ready = true;
        settle(true);
        taker?.(null, socket);
      });
      // Until the dispatcher takes it, an error (the server closing an idle connection) only unparks it.
      entry.socket.on('error', noop).once('close', () => {
        if (parked.get(key) === entry) parked.delete(key);
      });
      parked.set(key, entry);
      return opened;
    },
    close() {
      for (const entry of parked.values()) entry.socket.destroy();
      parked.clear();
    },
  };
}

/** Keep-alive connections, no per-origin connection cap (open loop needs it), a proxy when `env` names one. */
export function createDispatcher(env: NodeJS.ProcessEnv, direct?: Preconnector): Dispatcher {
  return proxyEnvName(env) !== null
    ? new EnvHttpProxyAgent({ connections: null, pipelining: 1, connect: VERIFY_TLS, requestTls: VERIFY_TLS, proxyTls: VERIFY_TLS })
    : new Agent({ connections: null, pipelining: 1, keepAliveTimeout: 10_000, connect: direct?.connect ?? VERIFY_TLS });
}

/** What a command sends with: one dispatcher (created on first use from `env`'s proxy settings). */
export interface HttpClient {
  send(target: Target, options?: SendOptions): Promise<RawResponse>;
  /**
   * Opens a connection to `url`'s origin without sending anything; the next request to that origin goes
   * out on it. Resolves true once it is open, false when it failed or cannot be done (through a proxy,
   * the first request opens the tunnel). Absent on clients that have no connections to warm.
   */
  preconnect?(url: URL): Promise<boolean>;
  /** Lets the process exit promptly: open keep-alive sockets would hold it for seconds. */
  close(): Promise<void>;
}

export function createHttpClient(env: NodeJS.ProcessEnv): HttpClient {
  let dispatcher: Dispatcher | undefined;
  const direct = preconnector(VERIFY_TLS);
  const viaProxy = proxyEnvName(env) !== null;
  return {
    send: (target, options = {}) => send(target, { ...options, env, dispatcher: (dispatcher ??= createDispatcher(env, direct)) }),
    preconnect: (url) => {
      if (viaProxy || (url.protocol !== 'http:' && url.protocol !== 'https:')) return Promise.resolve(false);
      dispatcher ??= createDispatcher(env, direct);
      return direct.open(url);
    },
    close: async () => {
      const open = dispatcher;
      dispatcher = undefined;
      direct.close();
      if (open) await open.destroy().catch(() => undefined);
    },
  };
}

/** Joins repeated headers with ", " (an SF list or a conflict the parser reports) and lower-cases names. */
export function normaliseHeaders(headers: Record<string, string | string[] | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    out[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
  }
  return out;
}

const TLS_CODES = /CERT|SSL|TLS|SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER|HOSTNAME_MISMATCH|ALTNAME/;

/** Maps undici and socket errors to a stable code and a one-line message. */
export function describeNetworkError(error: unknown, target: Target, env: NodeJS.ProcessEnv = {}): RecordError {
  const err = error as { code?: string; message?: string; cause?: { code?: string; message?: string } };
  const code = err.cause?.code ?? err.code ?? '';
  const host = target.url.host;
  const detail = err.cause?.message ?? err.message ?? String(error);
  if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_CONNECT_TIMEOUT' || code === 'ETIMEDOUT' || code === 'chutes_diag_timeout') {
    return { code: 'timeout', message: `no response from ${host} within ${formatMs(target.timeoutMs)}` };
  }
  if (code === 'UND_ERR_BODY_TIMEOUT' || code === 'chutes_diag_body_timeout') {
    return { code: 'body_timeout', message: `${host} sent headers, then the body stalled for ${formatMs(target.timeoutMs)}` };
  }
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN' || code === 'EAI_NONAME' || code === 'EAI_FAIL') {
    return { code: 'dns', message: `cannot resolve ${target.url.hostname} (${code})` };
  }
  if (code === 'ECONNREFUSED') return { code: 'connect_refused', message: `connection refused by ${host}` };
  if (TLS_CODES.test(code)) {
    const ignored = env.NODE_TLS_REJECT_UNAUTHORIZED === '0' ? '; NODE_TLS_REJECT_UNAUTHORIZED=0 is ignored, certificates are always verified' : '';
    return { code: 'tls', message: `TLS failure with ${host}: ${detail} (${code})${ignored}` };
  }
  if (code === 'ECONNRESET' || code === 'EPIPE' || code === 'UND_ERR_SOCKET' || code === 'UND_ERR_CLOSED') {
    return { code: 'reset', message: `connection to ${host} was closed or reset mid-response` };
  }
  if (code === 'EHOSTUNREACH' || code === 'ENETUNREACH') return { code: 'network', message: `${host} is unreachable (${code})` };
  return { code: 'network', message: `request to ${host} failed: ${detail}${code ? ` (${code})` : ''}` };
}

function formatMs(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}

/** Reads up to MAX_BODY_BYTES, then stops reading: a 1 GiB body costs 64 KiB of memory. */
async function readCappedBody(body: Dispatcher.ResponseData['body']): Promise<string> {
  // Stopping early destroys the stream, which then emits an abort error nobody else listens for.
  body.on('error', () => undefined);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    const buffer = chunk as Buffer;
    chunks.push(buffer);
    size += buffer.length;
    if (size >= MAX_BODY_BYTES) break;
  }
  // Breaking out of the iterator destroys the stream; the connection is dropped, not drained.
  return new TextDecoder('utf-8', { fatal: false }).decode(Buffer.concat(chunks).subarray(0, MAX_BODY_BYTES));
}

/** Drops a body unread; destroying it emits an abort error that would otherwise crash the process. */
function discardBody(body: Dispatcher.ResponseData['body']): void {
  body.on('error', () => undefined);
  body.destroy();
}

/** A 3xx with a Location: where to, and whether the key would have gone to another origin. */
export function describeRedirect(status: number, location: string, from: URL): RecordError {
  const next = URL.canParse(location, from.href) ? new URL(location, from) : null;
  if (next === null) return { code: 'redirect_not_followed', message: `redirected (HTTP ${status}) to an invalid location; not followed` };
  if (next.origin !== from.origin) {
    return { code: 'redirect', message: `redirected (HTTP ${status}) to another origin (${next.origin}); not followed, so the key was not sent there` };
  }
  return { code: 'redirect_not_followed', message: `redirected (HTTP ${status}) to ${next.pathname}${next.search}; not followed` };
}

export interface SendOptions {
  /** Aborts the request (e.g. on SIGINT); the result is an error record, never a throw. */
  signal?: AbortSignal;
  /** Called just before the request is handed to undici (epoch ms), e.g. to count in-flight. */
  onSend?: (sentAt: number) => void;
  /** The connection pool to use (an HttpClient's); undici's global one when absent. */
  dispatcher?: Dispatcher;
  /** The environment the client runs in (only to explain a TLS failure under NODE_TLS_REJECT_UNAUTHORIZED=0). */
  env?: NodeJS.ProcessEnv;
}

/** The user's Ctrl-C (or SIGTERM) ended the request, before or after its headers: not a network failure. */
function abortedByUser({ midBody = false } = {}): RecordError {
  return { code: 'aborted', message: `request aborted by the user${midBody ? ' while the body was arriving' : ''}` };
}

/**
 * The request's promise, or the signal's reason as soon as the signal aborts. undici does not pass the
 * request's signal on to a proxy's CONNECT: a proxy that accepts the connection and never answers would
 * otherwise hold the request past its timeout and past Ctrl-C. A response that still comes later is dropped.
 */
function untilAborted(pending: Promise<Dispatcher.ResponseData>, signal: AbortSignal): Promise<Dispatcher.ResponseData> {
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
    pending.then(
      (response) => {
        signal.removeEventListener('abort', onAbort);
        if (signal.aborted) discardBody(response.body);
        resolve(response);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}

/** Sends the target once. Never throws: failures come back as `error`. */
export async function send(target: Target, options: SendOptions = {}): Promise<RawResponse> {
  const deadline = new AbortController();
  const timer = setTimeout(() => deadline.abort(Object.assign(new Error('timeout'), { code: 'chutes_diag_timeout' })), target.timeoutMs);
  const signal = options.signal ? AbortSignal.any([deadline.signal, options.signal]) : deadline.signal;
  const sentAt = preciseNow();
  const start = performance.now();
  options.onSend?.(sentAt);
  const url = target.url;
  try {
    const response = await untilAborted(request(url, {
      method: target.method,
      headers: target.headers,
      body: target.body,
      ...(options.dispatcher ? { dispatcher: options.dispatcher } : {}),
      signal,
      headersTimeout: target.timeoutMs,
      bodyTimeout: target.timeoutMs,
    }), signal);
    const headersAt = performance.now();
    const headers = normaliseHeaders(response.headers);
    const location = headers.location;
    // No redirect is followed: each hop would be one more request with the key and the body,
    // outside the probe's budget and pacing, and to another origin a leak. Report it instead.
    if (response.statusCode >= 300 && response.statusCode < 400 && location) {
      discardBody(response.body);
      return {
        status: response.statusCode, headers, body: null, sentAt, receivedAt: preciseNow(), latencyMs: headersAt - start,
        error: describeRedirect(response.statusCode, location, url),
      };
    }
    const receivedAt = preciseNow();
    let body: string | null = null;
    let error: RecordError | null = null;
    try {
      body = await readCappedBody(response.body);
    } catch (bodyError) {
      // Ctrl-C mid-body is an interruption like Ctrl-C before the headers, never a completed response.
      if (options.signal?.aborted && !deadline.signal.aborted) error = abortedByUser({ midBody: true });
      else error = describeNetworkError(bodyError, target, options.env);
      if (error.code === 'timeout') error = describeNetworkError({ code: 'chutes_diag_body_timeout' }, target, options.env);
    }
    return { status: response.statusCode, headers, body, sentAt, receivedAt, latencyMs: headersAt - start, error };
  } catch (error) {
    const reason: unknown = signal.aborted ? signal.reason : error;
    const interrupted = options.signal?.aborted && !deadline.signal.aborted;
    return {
      status: null, headers: {}, body: null, sentAt, receivedAt: preciseNow(),
      latencyMs: null,
      error: interrupted ? abortedByUser() : describeNetworkError(reason, target, options.env),
    };
  } finally {
    clearTimeout(timer);
  }
}
