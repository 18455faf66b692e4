// A local Chutes look-alike: two loopback listeners sharing one account state.
//   url    → the llm.chutes.ai role (inference, behind the nginx/Google edge)
//   apiUrl → the api.chutes.ai role (management lookups)
// Routing and state live here; bodies and header formats live in chutes.ts, limiter maths in limiters.ts.

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import {
  ConcurrencyGate,
  createRateLimiter,
  type LimitDecision,
  type RateAlgorithm,
  type RateLimiter,
} from './limiters.js';
import {
  DETAIL,
  EDGE_HEADERS,
  MODEL_IDS,
  anonymousEdge429,
  completionBody,
  detailResponse,
  faultResponse,
  invocationHeaders,
  jsonResponse,
  modelList,
  quotaExceeded402,
  quotaHeaders,
  quotaUsageBody,
  quotasBody,
  rateLimitHeaders,
  retryAfterHeader,
  subscriptionCapReached,
  subscriptionUsageBody,
  userBody,
  type CannedResponse,
  type Fault,
  type HeaderDialect,
  type HeaderMap,
  type ResetFormat,
  type SubscriptionState,
} from './chutes.js';

export interface EmulatorOptions {
  host?: string;
  port?: number;
  apiPort?: number;
  /** Requests per window per key; 0 or Infinity = no rate limit. */
  limit?: number;
  windowMs?: number;
  algorithm?: RateAlgorithm;
  burst?: number;
  /** Per key in-flight inference requests; null (or 0) = no gate. */
  concurrencyLimit?: number | null;
  dailyQuota?: number | null;
  quotaUsed?: number;
  headers?: HeaderDialect;
  resetFormat?: ResetFormat;
  retryAfter?: boolean;
  latencyMs?: number;
  apiKey?: string | null;
  fault?: Fault | null;
  subscription?: SubscriptionState | null;
  quotasEndpoint?: 'default' | 'list' | 'missing';
  now?: () => number;
  /** How many of the latest arrivals `arrivals` keeps (default 100 000), so a long-running mock stays bounded. */
  maxArrivals?: number;
}

export interface Arrival {
  /** performance.now() ms at request arrival. */
  t: number;
  /** The emulator's clock (options.now, default Date.now) at arrival. */
  wall: number;
  path: string;
  /** 0 until a response is sent (stays 0 if the client went away first). */
  status: number;
  listener: 'llm' | 'api';
}

export interface EmulatorStats {
  requests: number;
  byStatus: Record<string, number>;
  maxInFlight: number;
}

export interface Emulator {
  url: string;
  apiUrl: string;
  /** The latest arrivals, oldest first (at most `maxArrivals`; stats().requests counts them all). */
  arrivals: Arrival[];
  stats(): EmulatorStats;
  close(): Promise<void>;
}

type Listener = Arrival['listener'];

interface Settings {
  host: string;
  port: number;
  apiPort: number;
  rate: { algorithm: RateAlgorithm; limit: number; windowMs: number; burst: number } | null;
  concurrencyLimit: number | null;
  dailyQuota: number | null;
  quotaUsed: number;
  dialect: HeaderDialect;
  resetFormat: ResetFormat;
  retryAfter: boolean;
  latencyMs: number;
  apiKey: string | null;
  fault: Fault | null;
  subscription: SubscriptionState | null;
  quotasEndpoint: 'default' | 'list' | 'missing';
  now: () => number;
  maxArrivals: number;
}

interface Account {
  userId: string;
  createdAt: number;
  limiter: RateLimiter | null;
  gate: ConcurrencyGate | null;
  quotaDay: number;
  quotaUsed: number;
}

const DAY_MS = 86_400_000;
const MAX_BODY_BYTES = 1024 * 1024;
// Only the dialects that exist outside Chutes send Retry-After by default; Chutes sends none (facts: Limits).
const DIALECTS_WITH_RETRY_AFTER: ReadonlySet<HeaderDialect> = new Set(['x-ratelimit', 'ietf', 'openai', 'anthropic']);

function requireInteger(name: string, value: number, min: number): number {
  if (!Number.isInteger(value) || value < min) throw new RangeError(`${name} must be an integer >= ${min}, got ${value}`);
  return value;
}

/** Option values arrive from the CLI as strings, so check them here rather than fail on the first request. */
function oneOf<T extends string>(name: string, value: T, allowed: readonly T[]): T {
  if (!allowed.includes(value)) throw new RangeError(`${name} must be one of ${allowed.join(', ')}, got ${String(value)}`);
  return value;
}

const ALGORITHMS: readonly RateAlgorithm[] = ['fixed-window', 'sliding-window', 'token-bucket'];
const DIALECTS: readonly HeaderDialect[] = ['chutes', 'x-ratelimit', 'ietf', 'openai', 'anthropic', 'none'];
const RESET_FORMATS: readonly ResetFormat[] = ['delta', 'epoch', 'epoch-ms'];
const FAULTS: readonly Fault[] = [
  'capacity',
  'no-instances',
  'disabled',
  'no-infrastructure',
  'free-limit',
  'spam',
  'edge-403',
  'gateway-timeout',
];
const QUOTAS_SHAPES: readonly Settings['quotasEndpoint'][] = ['default', 'list', 'missing'];

function resolveSettings(options: EmulatorOptions): Settings {
  const limit = options.limit ?? 10;
  if (!(limit === Infinity || (Number.isInteger(limit) && limit >= 0))) {
    throw new RangeError(`limit must be a non-negative integer or Infinity, got ${limit}`);
  }
  const windowMs = requireInteger('windowMs', options.windowMs ?? 60_000, 1);
  const rated = limit !== 0 && limit !== Infinity;
  const dialect = oneOf('headers', options.headers ?? 'chutes', DIALECTS);
  const latencyMs = options.latencyMs ?? 0;
  if (!(latencyMs >= 0 && latencyMs < Infinity)) throw new RangeError(`latencyMs must be >= 0, got ${latencyMs}`);
  const concurrency = options.concurrencyLimit ?? null;
  const dailyQuota = options.dailyQuota === undefined ? 200 : options.dailyQuota;
  return {
    host: options.host ?? '127.0.0.1',
    port: requireInteger('port', options.port ?? 0, 0),
    apiPort: requireInteger('apiPort', options.apiPort ?? 0, 0),
    rate: rated
      ? {
          algorithm: oneOf('algorithm', options.algorithm ?? 'fixed-window', ALGORITHMS),
          limit,
          windowMs,
          burst: requireInteger('burst', options.burst ?? limit, 1),
        }
      : null,
    concurrencyLimit: concurrency === null || concurrency === 0 ? null : requireInteger('concurrencyLimit', concurrency, 1),
    dailyQuota: dailyQuota === null ? null : requireInteger('dailyQuota', dailyQuota, 0),
    quotaUsed: requireInteger('quotaUsed', options.quotaUsed ?? 0, 0),
    dialect,
    resetFormat: oneOf('resetFormat', options.resetFormat ?? 'delta', RESET_FORMATS),
    retryAfter: options.retryAfter ?? DIALECTS_WITH_RETRY_AFTER.has(dialect),
    latencyMs,
    apiKey: options.apiKey ?? null,
    fault: options.fault == null ? null : oneOf('fault', options.fault, FAULTS),
    subscription: options.subscription ?? null,
    quotasEndpoint: oneOf('quotasEndpoint', options.quotasEndpoint ?? 'default', QUOTAS_SHAPES),
    now: options.now ?? Date.now,
    maxArrivals: requireInteger('maxArrivals', options.maxArrivals ?? 100_000, 1),
  };
}

type AuthHeader = { kind: 'absent' } | { kind: 'malformed' } | { kind: 'token'; token: string };

/** Chutes reads only Authorization, and takes its last space-separated word (facts: Authentication). */
function readAuthorization(req: IncomingMessage): AuthHeader {
  const value = req.headers.authorization;
  if (value === undefined) return { kind: 'absent' };
  const token = value.trim().split(/\s+/).at(-1) ?? '';
  if (token === '' || /[^\x21-\x7e]/.test(token)) return { kind: 'malformed' };
  return { kind: 'token', token };
}

function pathOf(req: IncomingMessage): string {
  try {
    return new URL(req.url ?? '/', 'http://emulator.invalid').pathname;
  } catch {
    return req.url ?? '/';
  }
}

type BodyResult = { ok: true; json: Record<string, unknown> } | { ok: false; response: CannedResponse };

async function readJsonObject(req: IncomingMessage): Promise<BodyResult> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) return { ok: false, response: detailResponse(413, 'Request body too large') };
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  try {
    const parsed: unknown = JSON.parse(text);
    if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)) {
      return { ok: true, json: parsed as Record<string, unknown> };
    }
  } catch {
    // fall through to the 400 below
  }
  return { ok: false, response: detailResponse(400, DETAIL.invalidJson) };
}

function promptLength(body: Record<string, unknown>): number {
  return JSON.stringify(body.messages ?? body.prompt ?? '').length;
}

function urlFor(host: string, port: number): string {
  // A wildcard bind address is not something a client can connect to; point at loopback instead.
  const reachable = host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '::1' : host;
  return `http://${reachable.includes(':') ? `[${reachable}]` : reachable}:${port}`;
}

class EmulatorRuntime {
  readonly arrivals: Arrival[] = [];
  private readonly accounts = new Map<string, Account>();
  private readonly byStatus: Record<string, number> = {};
  private readonly pendingDelays = new Set<() => void>();
  private readonly chuteId = randomUUID();
  private readonly startDay: number;
  private requests = 0;
  private inFlight = 0;
  private maxInFlight = 0;
  private closed = false;

  constructor(private readonly settings: Settings) {
    this.startDay = Math.floor(settings.now() / DAY_MS);
  }

  stats(): EmulatorStats {
    return { requests: this.requests, byStatus: { ...this.byStatus }, maxInFlight: this.maxInFlight };
  }

  /** Keeps the log bounded: past the cap, the oldest tenth goes at once (amortised, not one shift per request). */
  private record(arrival: Arrival): void {
    this.requests += 1;
    this.arrivals.push(arrival);
    const max = this.settings.maxArrivals;
    if (this.arrivals.length > max) this.arrivals.splice(0, this.arrivals.length - max + Math.floor(max / 10));
  }

  /** Stop waiting handlers at once; their sockets are about to be destroyed. */
  shutdown(): void {
    this.closed = true;
    for (const wake of this.pendingDelays) wake();
    this.pendingDelays.clear();
  }

  handler(listener: Listener): (req: IncomingMessage, res: ServerResponse) => void {
    return (req, res) => {
      const arrival: Arrival = { t: performance.now(), wall: this.settings.now(), path: pathOf(req), status: 0, listener };
      this.record(arrival);
      this.trackInFlight(res);
      const route = listener === 'llm' ? this.routeInference(req, res, arrival.path) : this.routeManagement(req, arrival.path);
      route
        .then((response) => {
          if (response !== null) this.send(res, arrival, response);
        })
        .catch(() => this.failSafely(res, arrival));
    };
  }

  private trackInFlight(res: ServerResponse): void {
    this.inFlight += 1;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    res.once('close', () => {
      this.inFlight -= 1;
    });
  }

  private send(res: ServerResponse, arrival: Arrival, response: CannedResponse): void {
    if (res.headersSent || res.destroyed) return;
    const headers: HeaderMap =
      arrival.listener === 'llm' ? { ...EDGE_HEADERS, ...response.headers } : { ...response.headers };
    headers['content-length'] = String(Buffer.byteLength(response.body));
    arrival.status = response.status;
    this.byStatus[response.status] = (this.byStatus[response.status] ?? 0) + 1;
    res.writeHead(response.status, headers);
    res.end(response.body);
  }

  /** Any bug or I/O error becomes a 500, never a crashed emulator. */
  private failSafely(res: ServerResponse, arrival: Arrival): void {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    try {
      this.send(res, arrival, detailResponse(500, DETAIL.internal));
    } catch {
      res.destroy();
    }
  }

  private delay(ms: number): Promise<void> {
    if (ms <= 0 || this.closed) return Promise.resolve();
    return new Promise((resolve) => {
      const wake = (): void => {
        clearTimeout(timer);
        this.pendingDelays.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.pendingDelays.add(wake);
    });
  }

  // ---- accounts ----

  private isValidToken(token: string): boolean {
    if (this.settings.apiKey !== null) return token === this.settings.apiKey;
    return token.startsWith('cpk_') || token.startsWith('cak_');
  }

  private accountFor(token: string): Account | null {
    if (!this.isValidToken(token)) return null;
    let account = this.accounts.get(token);
    if (account === undefined) {
      const { rate, concurrencyLimit, quotaUsed, now } = this.settings;
      account = {
        userId: randomUUID(),
        createdAt: now(),
        limiter: rate === null ? null : createRateLimiter(rate),
        gate: concurrencyLimit === null ? null : new ConcurrencyGate(concurrencyLimit),
        quotaDay: this.startDay,
        quotaUsed,
      };
      this.accounts.set(token, account);
    }
    return account;
  }

  /** The daily counter resets at 00:00 UTC (facts: Limits and quotas). */
  private quotaUsedToday(account: Account, now: number): number {
    const day = Math.floor(now / DAY_MS);
    if (day !== account.quotaDay) {
      account.quotaDay = day;
      account.quotaUsed = 0;
    }
    return account.quotaUsed;
  }

  // ---- inference listener (llm.chutes.ai) ----

  private async routeInference(req: IncomingMessage, res: ServerResponse, path: string): Promise<CannedResponse | null> {
    if (req.method === 'GET' && path === '/v1/models') {
      // No auth on the model list (facts: Hosts): a 200 here proves nothing about the key.
      return jsonResponse(200, modelList(Math.floor(this.settings.now() / 1000)));
    }
    if (req.method === 'POST' && path === '/v1/chat/completions') return this.infer(req, res, 'chat', path);
    if (req.method === 'POST' && path === '/v1/completions') return this.infer(req, res, 'text', path);
    return detailResponse(404, DETAIL.notFound);
  }

  private async infer(
    req: IncomingMessage,
    res: ServerResponse,
    kind: 'chat' | 'text',
    path: string,
  ): Promise<CannedResponse | null> {
    const auth = readAuthorization(req);
    // No Authorization (X-API-Key is never read) is anonymous, and the edge limits anonymous calls.
    if (auth.kind === 'absent') return anonymousEdge429();
    if (auth.kind === 'malformed') return detailResponse(401, DETAIL.missingAuth);
    const account = this.accountFor(auth.token);
    if (account === null) return detailResponse(401, DETAIL.invalidToken);
    const body = await readJsonObject(req);
    if (!body.ok) return body.response;
    if (this.settings.fault !== null) return faultResponse(this.settings.fault, this.chuteId, path);

    const now = this.settings.now();
    const admission = this.admit(account, res, now);
    if (!admission.accepted) return admission.refusal;
    const successHeaders = this.successHeaders(account, admission.decision, now);
    await this.delay(this.settings.latencyMs);
    if (this.closed) return null;
    const model = typeof body.json.model === 'string' ? body.json.model : MODEL_IDS[0];
    return jsonResponse(200, completionBody(kind, model, now, promptLength(body.json)), successHeaders);
  }

  /**
   * Subscription cap → daily quota → concurrency gate → rate limiter. An accepted request has been counted
   * against the daily quota and holds a concurrency slot until its response is finished.
   */
  private admit(account: Account, res: ServerResponse, now: number): Admission {
    const { dailyQuota, subscription } = this.settings;
    const refuse = (refusal: CannedResponse): Admission => ({ accepted: false, refusal });
    if (subscriptionCapReached(subscription)) {
      return refuse(detailResponse(402, DETAIL.subscriptionCap, this.stateHeaders(account, now)));
    }
    if (dailyQuota !== null && this.quotaUsedToday(account, now) >= dailyQuota) {
      return refuse(quotaExceeded402(now, this.stateHeaders(account, now)));
    }
    if (account.gate !== null) {
      const gate = account.gate;
      // Same body as the rate 429: a client can only tell them apart by behaviour or rate headers.
      if (!gate.enter()) return refuse(detailResponse(429, DETAIL.tooManyRequests, this.stateHeaders(account, now)));
      releaseOnce(res, () => gate.leave());
    }
    const decision = account.limiter?.tryAcquire(now) ?? null;
    if (decision !== null && !decision.allowed) {
      const headers = rateLimitHeaders(this.settings.dialect, decision, now, this.settings.resetFormat);
      if (this.settings.retryAfter) Object.assign(headers, retryAfterHeader(decision.retryAfterMs));
      return refuse(detailResponse(429, DETAIL.tooManyRequests, headers));
    }
    account.quotaUsed += 1;
    return { accepted: true, decision };
  }

  /** Rate headers for answers that never consulted the limiter: its state, nothing spent. */
  private stateHeaders(account: Account, now: number): HeaderMap {
    const state = account.limiter?.peek(now) ?? null;
    return rateLimitHeaders(this.settings.dialect, state, now, this.settings.resetFormat);
  }

  private successHeaders(account: Account, decision: LimitDecision | null, now: number): HeaderMap {
    const { dialect, resetFormat, dailyQuota } = this.settings;
    return {
      ...invocationHeaders(),
      ...rateLimitHeaders(dialect, decision, now, resetFormat),
      ...(dialect === 'chutes' ? quotaHeaders(dailyQuota, account.quotaUsed) : {}),
    };
  }

  // ---- management listener (api.chutes.ai) ----

  private async routeManagement(req: IncomingMessage, path: string): Promise<CannedResponse> {
    if (req.method === 'POST' && (path === '/v1/chat/completions' || path === '/v1/completions')) {
      // Inference sent to the management host (facts: Hosts).
      return detailResponse(404, DETAIL.noChute);
    }
    const lookup = req.method === 'GET' ? managementLookup(path) : null;
    if (lookup === null) return detailResponse(404, DETAIL.notFound);
    const auth = readAuthorization(req);
    if (auth.kind === 'absent') {
      const detail = req.headers['x-api-key'] === undefined ? DETAIL.missingAuth : DETAIL.apiKeyHeaderIgnored;
      return detailResponse(401, detail);
    }
    if (auth.kind === 'malformed') return detailResponse(401, DETAIL.missingAuth);
    const account = this.accountFor(auth.token);
    if (account === null) return detailResponse(401, DETAIL.invalidToken);
    return this.answerLookup(lookup, account);
  }

  private answerLookup(lookup: ManagementLookup, account: Account): CannedResponse {
    const { dailyQuota, quotasEndpoint, subscription } = this.settings;
    switch (lookup) {
      case 'me':
        return jsonResponse(200, userBody(account.userId, account.createdAt));
      case 'quotas':
        if (quotasEndpoint === 'missing') return detailResponse(404, DETAIL.notFound);
        return jsonResponse(200, quotasBody(quotasEndpoint, account.userId, dailyQuota));
      case 'quota-usage':
        return jsonResponse(200, quotaUsageBody(dailyQuota, this.quotaUsedToday(account, this.settings.now())));
      case 'subscription-usage':
        return jsonResponse(200, subscriptionUsageBody(subscription));
    }
  }
}

type Admission = { accepted: true; decision: LimitDecision | null } | { accepted: false; refusal: CannedResponse };

type ManagementLookup = 'me' | 'quotas' | 'quota-usage' | 'subscription-usage';

function managementLookup(path: string): ManagementLookup | null {
  if (path === '/users/me') return 'me';
  if (path === '/users/me/quotas') return 'quotas';
  if (path === '/users/me/subscription_usage') return 'subscription-usage';
  // The real route is /users/me/quota_usage/{chute_id}; "me" reads the account's global counter (facts: Hosts).
  if (/^\/users\/me\/quota_usage\/[^/]+$/.test(path)) return 'quota-usage';
  return null;
}

/** Run `release` once, when the response has been sent or the client has gone away. */
function releaseOnce(res: ServerResponse, release: () => void): void {
  let done = false;
  const once = (): void => {
    if (done) return;
    done = true;
    release();
  };
  res.once('finish', once);
  res.once('close', once);
}

function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) {
      resolve();
      return;
    }
    server.close(() => resolve());
    // Keep-alive and in-flight sockets would otherwise hold close() open (Node 18.2+).
    server.closeAllConnections();
  });
}

export async function startEmulator(options: EmulatorOptions = {}): Promise<Emulator> {
  const settings = resolveSettings(options);
  const runtime = new EmulatorRuntime(settings);
  const llmServer = createServer(runtime.handler('llm'));
  const apiServer = createServer(runtime.handler('api'));
  let closing: Promise<void> | null = null;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      runtime.shutdown();
      await Promise.all([closeServer(llmServer), closeServer(apiServer)]);
    })();
    return closing;
  };
  try {
    const llmPort = await listen(llmServer, settings.port, settings.host);
    const apiPort = await listen(apiServer, settings.apiPort, settings.host);
    return {
      url: urlFor(settings.host, llmPort),
      apiUrl: urlFor(settings.host, apiPort),
      arrivals: runtime.arrivals,
      stats: () => runtime.stats(),
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}
