// The llm.chutes.ai role: the model list and the two completion routes, behind the edge. A completion
// passes authentication, then admission (subscription cap → daily quota → concurrency gate → rate
// limiter), then waits the configured latency and answers with a made-up completion.

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { LimitDecision } from './limiters.js';
import {
  DETAIL,
  anonymousEdge429,
  completionBody,
  edgeBan429,
  detailResponse,
  faultResponse,
  invocationHeaders,
  jsonResponse,
  modelList,
  quotaExceeded402,
  quotaHeaders,
  rateLimitHeaders,
  servesModel,
  retryAfterHeader,
  subscriptionCapReached,
  type CannedResponse,
  type HeaderMap,
} from './chutes.js';
import { quotaUsedToday, type Account, type Accounts } from './accounts.js';
import type { EdgeBan } from './edge-ban.js';
import { promptLength, readAuthorization, readJsonObject } from './request.js';
import type { Settings } from './settings.js';

/** What the inference routes need from the running emulator. */
export interface InferenceContext {
  settings: Settings;
  accounts: Accounts;
  /** The edge's escalating ban in front of the completion routes, or null. */
  edgeBan: EdgeBan | null;
  /** The one chute this emulator pretends to serve, named in fault bodies. */
  chuteId: string;
  /** Waits ms, or less when the emulator is closing. */
  delay(ms: number): Promise<void>;
  isClosed(): boolean;
}

/** The answer to one request on the inference listener; null when the emulator closed meanwhile. */
export async function routeInference(
  ctx: InferenceContext,
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
): Promise<CannedResponse | null> {
  if (req.method === 'GET' && path === '/v1/models') {
    // No auth on the model list (facts: Hosts): a 200 here proves nothing about the key.
    return jsonResponse(200, modelList(ctx.settings.models, Math.floor(ctx.settings.now() / 1000)));
  }
  if (req.method === 'POST' && path === '/v1/chat/completions') return infer(ctx, req, res, 'chat', path);
  if (req.method === 'POST' && path === '/v1/completions') return infer(ctx, req, res, 'text', path);
  return detailResponse(404, DETAIL.notFound);
}

async function infer(
  ctx: InferenceContext,
  req: IncomingMessage,
  res: ServerResponse,
  kind: 'chat' | 'text',
  path: string,
): Promise<CannedResponse | null> {
  const { settings } = ctx;
  // The edge comes first: it reads no key, so every completion request counts, and a refused one
  // never reaches Chutes (the model list is not counted, so picking a model costs no allowance).
  if (ctx.edgeBan !== null && !ctx.edgeBan.admit(settings.now()).allowed) return edgeBan429();
  const auth = readAuthorization(req);
  // No Authorization (X-API-Key is never read) is anonymous, and the edge limits anonymous calls.
  if (auth.kind === 'absent') return anonymousEdge429();
  if (auth.kind === 'malformed') return detailResponse(401, DETAIL.missingAuth);
  const account = ctx.accounts.accountFor(auth.token);
  if (account === null) return detailResponse(401, DETAIL.invalidToken);
  const body = await readJsonObject(req);
  if (!body.ok) return body.response;
  // The model is looked up before any quota is spent: an unknown one costs nothing (facts: Models).
  const requested = typeof body.json.model === 'string' ? body.json.model : null;
  if (requested !== null && !servesModel(settings.models, requested)) {
    return detailResponse(404, `model not found: ${requested}`);
  }
  const model = requested ?? settings.models[0]?.id ?? 'model';
  if (settings.fault !== null) return faultResponse(settings.fault, ctx.chuteId, path, model);

  const now = settings.now();
  const admission = admit(settings, account, res, now);
  if (!admission.accepted) return admission.refusal;
  const headers = successHeaders(settings, account, admission.decision, now);
  await ctx.delay(settings.latencyMs);
  if (ctx.isClosed()) return null;
  return jsonResponse(200, completionBody(kind, model, now, promptLength(body.json)), headers);
}

type Admission = { accepted: true; decision: LimitDecision | null } | { accepted: false; refusal: CannedResponse };

/**
 * Subscription cap → daily quota → concurrency gate → rate limiter. An accepted request has been counted
 * against the daily quota and holds a concurrency slot until its response is finished.
 */
function admit(settings: Settings, account: Account, res: ServerResponse, now: number): Admission {
  const { dailyQuota, subscription } = settings;
  const refuse = (refusal: CannedResponse): Admission => ({ accepted: false, refusal });
  if (subscriptionCapReached(subscription)) {
    return refuse(detailResponse(402, DETAIL.subscriptionCap, stateHeaders(settings, account, now)));
  }
  if (dailyQuota !== null && quotaUsedToday(account, now) >= dailyQuota) {
    return refuse(quotaExceeded402(now, stateHeaders(settings, account, now)));
  }
  if (account.gate !== null) {
    const gate = account.gate;
    // Same body as the rate 429: a client can only tell them apart by behaviour or rate headers.
    if (!gate.enter()) return refuse(detailResponse(429, DETAIL.tooManyRequests, stateHeaders(settings, account, now)));
    releaseOnce(res, () => gate.leave());
  }
  const decision = account.limiter?.tryAcquire(now) ?? null;
  if (decision !== null && !decision.allowed) {
    const headers = rateLimitHeaders(settings.dialect, decision, now, settings.resetFormat);
    if (settings.retryAfter) Object.assign(headers, retryAfterHeader(decision.retryAfterMs));
    return refuse(detailResponse(429, DETAIL.tooManyRequests, headers));
  }
  account.quotaUsed += 1;
  return { accepted: true, decision };
}

/** Rate headers for answers that never consulted the limiter: its state, nothing spent. */
function stateHeaders(settings: Settings, account: Account, now: number): HeaderMap {
  const state = account.limiter?.peek(now) ?? null;
  return rateLimitHeaders(settings.dialect, state, now, settings.resetFormat);
}

function successHeaders(settings: Settings, account: Account, decision: LimitDecision | null, now: number): HeaderMap {
  const { dialect, resetFormat, dailyQuota, edgeBan } = settings;
  // Chutes announces the per-minute limit its edge enforces (facts: X-Chutes-RL-User): with no account
  // limiter but an edge ban, that is the edge's limit, not "inf".
  const announced: HeaderMap = decision === null && edgeBan !== null && dialect === 'chutes' ? { 'x-chutes-rl-user': String(edgeBan.limit) } : {};
  return {
    ...invocationHeaders(),
    ...rateLimitHeaders(dialect, decision, now, resetFormat),
    ...announced,
    ...(dialect === 'chutes' ? quotaHeaders(dailyQuota, account.quotaUsed) : {}),
  };
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
