// The tap: a local recording reverse proxy. Every request that passes the guard (guard.ts) goes to the
// same path under the upstream base URL over a keep-alive pool; bodies stream both ways chunk by chunk
// (server-sent events reach the app as they come); each exchange becomes a ResponseRecord (record.ts)
// when it completes. The upstream dead or silent: the app gets a 502 / 504 with a JSON body naming the
// cause, and the tap goes on. It never prints: the command hears of records and refusals through hooks.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { Dispatcher } from 'undici';
import { describeNetworkError, MAX_BODY_BYTES, normaliseHeaders, preciseNow, type RawResponse } from '../http/client.js';
import { keyFingerprint, type Redactor } from '../redact.js';
import { buildRecord } from '../record.js';
import { authHeaders, joinUrl } from '../target.js';
import type { AuthScheme, RecordError, ResponseRecord, Target } from '../types.js';
import { authSchemeOf, keepDiagnosticBody } from '../analyze/load.js';
import { forwardHeaders, refuseRequest, type ListenAddress, type Refusal } from './guard.js';
import { TapStats } from './stats.js';

/** Bytes of each answer kept for its verdict (an error body is short; an SSE stream needs none). */
export const CAPTURE_BYTES = 8 * 1024;
/** Distinct credentials remembered for redaction; more is not an app, and the redactor's own patterns still mask key shapes. */
const MAX_REMEMBERED_SECRETS = 64;

export interface TapOwnKey {
  auth: AuthScheme;
  key: string;
}

export interface TapOptions {
  listen: ListenAddress;
  base: URL;
  /** Upstream: time to the response headers, and the longest pause between body chunks. */
  timeoutMs: number;
  dispatcher: Dispatcher;
  redactor: Redactor;
  /** --api-key-file: added to requests that carry no credentials and no browser Origin. */
  ownKey: TapOwnKey | null;
  /** --metrics: the OpenMetrics text for GET /metrics, else null (the path is forwarded like any other). */
  metrics: ((stats: TapStats) => string) | null;
  onRecord?: (record: ResponseRecord, request: { method: string; path: string }) => void;
  onRefused?: (refusal: Refusal) => void;
  /** Told once per exchange which auth scheme the app used (for the X-API-Key-on-Chutes warning). */
  onAuth?: (auth: AuthScheme) => void;
  clock?: () => number;
}

export interface Tap {
  url: string;
  address: ListenAddress;
  stats: TapStats;
  /** Stops accepting, lets exchanges in flight finish for up to `drainMs`, then cuts the rest; returns how many were cut. */
  close(drainMs: number): Promise<number>;
}

function sendJson(res: ServerResponse, status: number, body: unknown, extra: Record<string, string> = {}): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...extra });
  res.end(text);
}

/** Resolves when `res` can take more (or is gone): the upstream is read no faster than the app reads. */
function drained(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}

function listenOn(server: Server, address: ListenAddress): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(address.port, address.host, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

export async function startTap(options: TapOptions): Promise<Tap> {
  const { base, timeoutMs, dispatcher, redactor } = options;
  const clock = options.clock ?? preciseNow;
  const stats = new TapStats();
  const remembered = new Set<string>();
  const upstreams = new Set<AbortController>();
  let seq = 0;
  let closing = false;
  let idle: (() => void) | null = null;
  const bound: ListenAddress = { ...options.listen };

  const remember = (secret: string | undefined | null) => {
    if (!secret || remembered.has(secret) || remembered.size >= MAX_REMEMBERED_SECRETS) return;
    remembered.add(secret);
    redactor.addSecret(secret);
  };

  const finish = (record: ResponseRecord, method: string, path: string) => {
    stats.completed(record, clock());
    options.onRecord?.(record, { method, path });
    if (closing && stats.inFlight === 0) idle?.();
  };

  async function forward(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = req.method ?? 'GET';
    const url = joinUrl(base, req.url ?? '/');
    const headers = forwardHeaders(req.headers, { request: true });
    const flat = normaliseHeaders(headers);
    for (const name of ['authorization', 'x-api-key', 'cookie']) remember(flat[name]);
    let { auth, key } = authSchemeOf(flat);
    remember(key);
    // The tap's own key only for a request that has none, and never for one a browser page sent.
    if (auth === 'none' && options.ownKey && req.headers.origin === undefined) {
      Object.assign(headers, authHeaders(options.ownKey.auth, options.ownKey.key));
      ({ auth, key } = { auth: options.ownKey.auth, key: options.ownKey.key });
    }
    options.onAuth?.(auth);
    const hasBody = (req.headers['content-length'] !== undefined && req.headers['content-length'] !== '0') || req.headers['transfer-encoding'] !== undefined;
    if (!hasBody) delete headers['content-length'];
    const target: Target = { url, method, headers: {}, body: null, auth, keyFingerprint: keyFingerprint(key), timeoutMs };
    const controller = new AbortController();
    upstreams.add(controller);
    let clientGone = false;
    res.on('close', () => {
      if (!res.writableFinished) {
        clientGone = true;
        controller.abort();
      }
    });
    const inFlight = stats.started();
    const thisSeq = ++seq;
    const sentAt = clock();
    const start = performance.now();
    let raw: RawResponse;
    try {
      const response = await dispatcher.request({
        origin: url.origin,
        path: `${url.pathname}${url.search}`,
        method,
        headers,
        body: hasBody ? req : null,
        signal: controller.signal,
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
      });
      const latencyMs = performance.now() - start;
      const receivedAt = clock();
      response.body.on('error', () => undefined);
      res.writeHead(response.statusCode, forwardHeaders(response.headers, { request: false }));
      res.flushHeaders();
      const kept: Buffer[] = [];
      let keptBytes = 0;
      let error: RecordError | null = null;
      try {
        for await (const chunk of response.body) {
          const buffer = chunk as Buffer;
          if (keptBytes < CAPTURE_BYTES) {
            kept.push(buffer.subarray(0, CAPTURE_BYTES - keptBytes));
            keptBytes += Math.min(buffer.length, CAPTURE_BYTES - keptBytes);
          }
          if (res.destroyed) break;
          if (!res.write(buffer)) await drained(res);
        }
        if (clientGone) error = { code: 'client_closed', message: 'the app closed the connection while the answer was arriving' };
        else res.end();
      } catch (bodyError) {
        error = clientGone
          ? { code: 'client_closed', message: 'the app closed the connection while the answer was arriving' }
          : describeNetworkError(bodyError, target);
        if (error.code === 'timeout') error = describeNetworkError({ code: 'chutes_diag_body_timeout' }, target);
        res.destroy();
      }
      raw = {
        status: response.statusCode,
        headers: normaliseHeaders(response.headers),
        body: new TextDecoder('utf-8', { fatal: false }).decode(Buffer.concat(kept)).slice(0, MAX_BODY_BYTES),
        sentAt, receivedAt, latencyMs, error,
      };
    } catch (error) {
      const described: RecordError = clientGone
        ? { code: 'client_closed', message: 'the app closed the connection before the answer came' }
        : controller.signal.aborted
          ? { code: 'aborted', message: 'the tap stopped before the answer came' }
          : describeNetworkError(error, target);
      raw = { status: null, headers: {}, body: null, sentAt, receivedAt: clock(), latencyMs: null, error: described };
      if (!clientGone) {
        const timedOut = described.code === 'timeout';
        sendJson(res, timedOut ? 504 : 502, {
          error: {
            message: `chutes-diag tap: the upstream ${url.origin} ${timedOut ? 'did not answer in time' : 'is unreachable'}: ${described.message}`,
            type: timedOut ? 'upstream_timeout' : 'upstream_unreachable',
            code: described.code,
          },
        });
      }
    } finally {
      upstreams.delete(controller);
    }
    finish(keepDiagnosticBody(buildRecord(raw, { seq: thisSeq, target, redactor, inFlight }).record), method, url.pathname);
  }

  const server = createServer({ keepAliveTimeout: 5_000 }, (req, res) => {
    req.on('error', () => undefined);
    res.on('error', () => undefined);
    const refusal = refuseRequest(req.method ?? 'GET', req.url ?? '', req.headers.host, bound);
    if (refusal) {
      stats.refused(refusal.code);
      options.onRefused?.(refusal);
      req.resume();
      sendJson(res, refusal.status, { error: { message: refusal.message, type: 'tap_refused', code: refusal.code } }, { connection: 'close' });
      return;
    }
    if (options.metrics && (req.url ?? '').split('?')[0] === '/metrics') {
      req.resume();
      const text = options.metrics(stats);
      res.writeHead(200, { 'content-type': 'application/openmetrics-text; version=1.0.0; charset=utf-8', 'content-length': Buffer.byteLength(text) });
      res.end(text);
      return;
    }
    forward(req, res).catch(() => {
      // forward() handles every failure itself; this is a last guard so one exchange never ends the tap.
      stats.abandoned();
      res.destroy();
    });
  });
  // CONNECT never reaches the request handler: refuse it on the socket, in HTTP.
  server.on('connect', (req: IncomingMessage, socket) => {
    const refusal = refuseRequest('CONNECT', req.url ?? '', req.headers.host, bound) as Refusal;
    stats.refused(refusal.code);
    options.onRefused?.(refusal);
    const body = JSON.stringify({ error: { message: refusal.message, type: 'tap_refused', code: refusal.code } });
    socket.on('error', () => undefined);
    socket.end(`HTTP/1.1 405 Method Not Allowed\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
  });
  server.on('clientError', (_error, socket) => {
    socket.on('error', () => undefined);
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n');
    else socket.destroy();
  });

  bound.port = await listenOn(server, options.listen);
  const host = bound.host.includes(':') ? `[${bound.host}]` : bound.host;

  return {
    url: `http://${host}:${bound.port}`,
    address: bound,
    stats,
    async close(drainMs: number): Promise<number> {
      closing = true;
      const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      if (stats.inFlight > 0) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, drainMs);
          idle = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      }
      const cut = stats.inFlight;
      for (const controller of upstreams) controller.abort();
      server.closeAllConnections();
      // The aborted exchanges record themselves on their way out.
      if (stats.inFlight > 0) await new Promise<void>((resolve) => { idle = resolve; setTimeout(resolve, 1000); });
      await stopped;
      return cut;
    },
  };
}
