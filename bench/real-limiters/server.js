#!/usr/bin/env node
// One server of the real-limiter bench, in its own process so its timing is real (nothing of the bench or
// the CLI shares its event loop). Started by bench/real-limiters/processes.js with `fork`:
//
//   node bench/real-limiters/server.js '<spec json>'
//
// spec.kind picks the server:
//   backend        a plain node:http OpenAI-style chat completion (behind nginx), answering after latencyMs
//   recorder       the same with latency 0 and nothing else: the pacing row's bare node:http recorder
//   express-rate-limit   express + express-rate-limit (fixed window; standardHeaders draft-7 / draft-8 / false)
//   fastify-rate-limit   fastify + @fastify/rate-limit (fixed window; headers on / off; continueExceeding)
//   rlf            node:http + rate-limiter-flexible RateLimiterMemory (fixed window; optional blockDuration)
//   sliding-log-all      node:http + the bench's own small limiter: a sliding log that logs refused requests
//                         too (the common "ZADD then ZCARD" pattern), so refusals keep the client locked out
// The limiters are used as their READMEs show, unmodified. The process records every request it sees
// (arrival and finish on its own monotonic clock in ms, method, path, status) and hands the log over on
// the IPC message {type: 'log'}. It reports {type: 'ready', port} once listening on 127.0.0.1, and exits
// on {type: 'stop'} or when its parent goes away.
import http from 'node:http';
import { performance } from 'node:perf_hooks';

const spec = JSON.parse(process.argv[2] ?? '{}');
const latencyMs = Number(spec.latencyMs ?? 0);
/** @type {{n: number, t: number, end: number | null, method: string, path: string, status: number | null, inFlight: number}[]} */
const log = [];
let inFlight = 0;
let maxInFlight = 0;

const COMPLETION = JSON.stringify({
  id: 'chatcmpl-bench',
  object: 'chat.completion',
  created: 1_764_460_800,
  model: 'bench-model',
  choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'length' }],
  usage: { prompt_tokens: 5, completion_tokens: 1, total_tokens: 6 },
});

/** Records one request at the moment the server first sees it; its status once the answer is finished. */
function track(req, res) {
  const entry = { n: log.length + 1, t: performance.now(), end: null, method: req.method ?? '', path: req.url ?? '', status: null, inFlight: ++inFlight };
  maxInFlight = Math.max(maxInFlight, inFlight);
  log.push(entry);
  let done = false;
  const finish = () => {
    if (done) return;
    done = true;
    inFlight--;
    entry.end = performance.now();
    entry.status = res.statusCode;
  };
  res.on('finish', finish);
  res.on('close', finish);
}

/**
 * The upstream's own answer: a chat completion after latencyMs. HEAD and GET answer at once, as an API's
 * root does, unless spec.slowEverything (a slow origin: every answer takes latencyMs).
 */
function answer(req, res) {
  const send = () => {
    if (res.destroyed) return;
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(COMPLETION) });
    res.end(req.method === 'HEAD' ? undefined : COMPLETION);
  };
  const reply = () => {
    if ((req.method === 'POST' || spec.slowEverything) && latencyMs > 0) setTimeout(send, latencyMs);
    else send();
  };
  // Read the body first, as a real API does, then answer (fastify has read it already).
  if (req.readableEnded) reply();
  else {
    req.on('data', () => {});
    req.on('end', reply);
  }
}

function refuse(res, headers = {}) {
  const body = JSON.stringify({ error: { message: 'Too Many Requests', type: 'rate_limit_error' } });
  res.writeHead(429, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...headers });
  res.end(body);
}

async function plainServer(handler) {
  return http.createServer((req, res) => {
    track(req, res);
    handler(req, res);
  });
}

async function expressServer() {
  const { default: express } = await import('express');
  const { rateLimit } = await import('express-rate-limit');
  const app = express();
  app.use((req, res, next) => {
    track(req, res);
    next();
  });
  app.use(
    rateLimit({
      windowMs: spec.windowMs,
      limit: spec.limit,
      standardHeaders: spec.headers === 'off' ? false : spec.headers,
      legacyHeaders: false,
    }),
  );
  app.use((req, res) => answer(req, res));
  return http.createServer(app);
}

async function fastifyServer() {
  const { default: Fastify } = await import('fastify');
  const { default: rateLimit } = await import('@fastify/rate-limit');
  // The log sees each request as the http server does, before fastify and its rate limiter.
  const app = Fastify({
    logger: false,
    serverFactory: (handler) =>
      http.createServer((req, res) => {
        track(req, res);
        handler(req, res);
      }),
  });
  const off = { 'x-ratelimit-limit': false, 'x-ratelimit-remaining': false, 'x-ratelimit-reset': false, 'retry-after': false };
  await app.register(rateLimit, {
    max: spec.limit,
    timeWindow: spec.windowMs,
    continueExceeding: spec.continueExceeding === true,
    ...(spec.headers === 'off' ? { addHeaders: off, addHeadersOnExceeding: off } : {}),
  });
  // A normal fastify handler (not hijacked, so the plugin's headers reach the answer).
  app.all('/*', async (request, reply) => {
    if (request.method === 'POST' && latencyMs > 0) await new Promise((resolve) => setTimeout(resolve, latencyMs));
    reply.header('content-type', 'application/json');
    return request.method === 'HEAD' ? '' : COMPLETION;
  });
  await app.ready();
  // Wrapped: a fastify instance is a thenable, so returning it from an async function would await it forever.
  return { fastify: app };
}

async function rlfServer() {
  const { RateLimiterMemory } = await import('rate-limiter-flexible');
  const limiter = new RateLimiterMemory({ points: spec.limit, duration: spec.windowMs / 1000, blockDuration: (spec.blockMs ?? 0) / 1000 });
  // The README's plain middleware: consume one point per request, 429 "Too Many Requests" when rejected.
  return plainServer((req, res) => {
    limiter.consume(req.socket.remoteAddress ?? 'ip').then(
      () => answer(req, res),
      () => {
        req.resume();
        refuse(res);
      },
    );
  });
}

/** The bench's own small penalty box: every request, refused or not, enters the log it is judged by. */
async function slidingLogAllServer() {
  /** @type {number[]} */
  const hits = [];
  return plainServer((req, res) => {
    const now = performance.now();
    while (hits.length > 0 && hits[0] <= now - spec.windowMs) hits.shift();
    hits.push(now);
    if (hits.length > spec.limit) {
      req.resume();
      refuse(res);
    } else answer(req, res);
  });
}

async function build() {
  switch (spec.kind) {
    case 'backend':
    case 'recorder':
      return plainServer(answer);
    case 'express-rate-limit':
      return expressServer();
    case 'fastify-rate-limit':
      return fastifyServer();
    case 'rlf':
      return rlfServer();
    case 'sliding-log-all':
      return slidingLogAllServer();
    default:
      throw new Error(`unknown server kind ${String(spec.kind)}`);
  }
}

const server = await build();
/** @type {import('node:http').Server} */
let httpServer;
if (spec.kind === 'fastify-rate-limit') {
  const { fastify } = /** @type {any} */ (server);
  await fastify.listen({ host: '127.0.0.1', port: 0 });
  httpServer = fastify.server;
} else {
  httpServer = /** @type {import('node:http').Server} */ (server);
  await new Promise((resolve) => httpServer.listen(0, '127.0.0.1', () => resolve(undefined)));
}
httpServer.keepAliveTimeout = 65_000;
const address = httpServer.address();
const port = typeof address === 'object' && address ? address.port : 0;

process.on('message', (message) => {
  const m = /** @type {{type?: string}} */ (message);
  if (m.type === 'log') process.send?.({ type: 'log', log, maxInFlight, now: performance.now() });
  else if (m.type === 'stop') {
    httpServer.closeAllConnections?.();
    httpServer.close();
    process.exit(0);
  }
});
process.on('disconnect', () => process.exit(0));
process.send?.({ type: 'ready', port, pid: process.pid });
