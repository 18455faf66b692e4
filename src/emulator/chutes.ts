// What Chutes (and the edge in front of it) sends back: bodies, error details and header writers.
// Pure functions, so the routes (inference.ts, management.ts) and the state (runtime.ts, accounts.ts)
// hold no formats. Behaviour cited from shared/chutes-facts.md ("facts") and
// shared/ratelimit-dialects.md ("dialects").

import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { LimitDecision } from './limiters.js';
import { nextUtcMidnight } from '../format.js';

export type HeaderDialect = 'chutes' | 'x-ratelimit' | 'ietf' | 'openai' | 'anthropic' | 'none';
export type ResetFormat = 'delta' | 'epoch' | 'epoch-ms';
export type Fault =
  | 'capacity'
  | 'no-instances'
  | 'disabled'
  | 'no-infrastructure'
  | 'free-limit'
  | 'spam'
  | 'edge-403'
  | 'gateway-timeout'
  // The 2026 shapes (issue #14); 'openrouter-429' answers as OpenRouter relaying a Chutes 429.
  | 'tee-402'
  | 'tier-402'
  | 'subscription-cap'
  | 'maintenance'
  | 'openrouter-429';

export type HeaderMap = Record<string, string>;

/** A complete canned answer: status, headers and body bytes. */
export interface CannedResponse {
  status: number;
  headers: HeaderMap;
  body: string;
}


// Every answer from llm.chutes.ai passes nginx behind a Google load balancer (facts: success headers);
// the server adds these to each inference-listener response, so the builders below leave them out.
export const EDGE_HEADERS: Readonly<HeaderMap> = { server: 'nginx', via: '1.1 google' };

/** nginx's built-in error page, byte for byte (CRLF line ends). */
function nginxErrorPage(title: string): string {
  return (
    `<html>\r\n<head><title>${title}</title></head>\r\n<body>\r\n` +
    `<center><h1>${title}</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n`
  );
}

// Byte-identical whether auth was missing or sent as X-API-Key (facts: Authentication).
export const EDGE_429_HTML = nginxErrorPage('429 Too Many Requests');
export const GATEWAY_TIMEOUT_HTML = nginxErrorPage('504 Gateway Time-out');

function googleForbiddenHtml(path: string): string {
  return (
    '<!DOCTYPE html>\n<html lang=en>\n  <meta charset=utf-8>\n' +
    '  <meta name=viewport content="initial-scale=1, minimum-scale=1, width=device-width">\n' +
    '  <title>Error 403 (Forbidden)!!1</title>\n' +
    '  <a href=//www.google.com/><span id=logo aria-label=Google></span></a>\n' +
    '  <p><b>403.</b> <ins>That\u2019s an error.</ins>\n' +
    `  <p>Your client does not have permission to get URL <code>${escapeHtml(path)}</code> from this server.` +
    '  <ins>That\u2019s all we know.</ins>\n'
  );
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

export const DETAIL = {
  invalidToken: 'Invalid token or user not found',
  missingAuth: 'Missing or invalid authorization header(s)',
  // api.chutes.ai answers an X-API-Key-only request with this (facts: Authentication).
  apiKeyHeaderIgnored: "Can't find a user with that api key in our db :(",
  noChute: 'No matching chute found!',
  tooManyRequests: 'Too many requests',
  invalidJson: 'Invalid JSON body',
  notFound: 'Not Found',
  internal: 'Internal emulator error',
  subscriptionCap: 'Subscription usage cap exceeded. Please add balance to continue.',
  freeModelsLimit:
    'Free models limit reached for today - maintain >= $10 balance or upgrade subscription to pro to unlock more.',
  teeNeedsBalance: 'TEE models require an active subscription or positive balance.',
  tierRequired: 'This model requires a higher subscription tier or positive balance.',
  maintenance: 'model is under maintenance',
} as const;

export function jsonResponse(status: number, payload: unknown, headers: HeaderMap = {}): CannedResponse {
  return {
    status,
    headers: { ...headers, 'content-type': 'application/json' },
    body: JSON.stringify(payload),
  };
}

export function detailResponse(status: number, detail: unknown, headers: HeaderMap = {}): CannedResponse {
  return jsonResponse(status, { detail }, headers);
}

function htmlResponse(status: number, body: string, headers: HeaderMap = {}): CannedResponse {
  return { status, headers: { ...headers, 'content-type': 'text/html' }, body };
}

/** The edge's anonymous limit: HTML, no x-chutes-* and no rate-limit headers (facts: error shapes). */
export function anonymousEdge429(): CannedResponse {
  return htmlResponse(429, EDGE_429_HTML);
}

/**
 * The edge's ban (edge-ban.ts): the same nginx page as the anonymous limit, and likewise no X-Chutes-*,
 * no rate-limit headers and no Retry-After (facts: "Edge bans escalate").
 */
export function edgeBan429(): CannedResponse {
  return htmlResponse(429, EDGE_429_HTML);
}

/** Daily quota used up with a zero balance: 402, not 429 (facts: Limits and quotas). */
export function quotaExceeded402(nowMs: number, headers: HeaderMap): CannedResponse {
  return detailResponse(
    402,
    {
      message:
        'Quota exceeded and account balance is $0.0, please pay with fiat or send tao to 5EmulatorPaymentAddressDoNotSendFundsHere',
      quota_reset_timestamp: nextUtcMidnight(nowMs).toISOString(),
    },
    headers,
  );
}

/** A fault response, as the named component of the real service would send it (facts: error shapes). */
export function faultResponse(fault: Fault, chuteId: string, path: string, model: string): CannedResponse {
  switch (fault) {
    case 'capacity':
      return detailResponse(429, 'Infrastructure is at maximum capacity, try again later');
    case 'no-instances':
      return detailResponse(503, `No instances available (yet) for chute_id=${chuteId}`);
    case 'disabled':
      return detailResponse(503, 'This chute is currently disabled.');
    case 'no-infrastructure':
      return detailResponse(500, 'No infrastructure available to serve request');
    case 'free-limit':
      return detailResponse(429, DETAIL.freeModelsLimit);
    case 'spam':
      return detailResponse(429, 'Stop spamming this prompt, please...');
    case 'edge-403':
      // Google's front end page, not nginx's: the request was stopped before nginx (often TLS interception).
      return htmlResponse(403, googleForbiddenHtml(path));
    case 'gateway-timeout':
      return htmlResponse(504, GATEWAY_TIMEOUT_HTML);
    case 'tee-402':
      return detailResponse(402, DETAIL.teeNeedsBalance);
    case 'tier-402':
      return detailResponse(402, DETAIL.tierRequired);
    case 'subscription-cap':
      return detailResponse(402, DETAIL.subscriptionCap);
    case 'maintenance':
      return detailResponse(429, DETAIL.maintenance);
    case 'openrouter-429':
      return openRouterRelayed429(model);
  }
}

/** OpenRouter passing on a Chutes 429 (facts: Through OpenRouter): its own envelope, Chutes named in metadata. */
function openRouterRelayed429(model: string): CannedResponse {
  return jsonResponse(429, {
    error: {
      message: 'Provider returned error',
      code: 429,
      metadata: {
        raw: `${model} is temporarily rate-limited upstream. Please retry shortly, or add your own key to accumulate your rate limits: https://openrouter.ai/settings/integrations`,
        provider_name: 'Chutes',
      },
    },
    user_id: 'user_emulator',
  });
}

/** One served model: its id and USD per million tokens (Chutes' `pricing.{prompt,completion}`). */
export interface EmulatorModel {
  id: string;
  prompt: number;
  completion: number;
}

/**
 * The default served list: ids and input prices as seen in mid-2026 (facts: Models), cheapest
 * first is Mistral-Nemo. unsloth/gemma-3-4b-it was gone by then; it stays here (priced above the
 * cheapest) only so request bodies written in 2025, the test suite's, still get answers. Pass
 * `models` to emulate a list without it.
 */
export const DEFAULT_MODELS: readonly EmulatorModel[] = [
  { id: 'deepseek-ai/DeepSeek-V3.2-TEE', prompt: 0.25, completion: 0.38 },
  { id: 'Qwen/Qwen3-32B-TEE', prompt: 0.08, completion: 0.24 },
  { id: 'unsloth/Mistral-Nemo-Instruct-2407-TEE', prompt: 0.0245, completion: 0.1 },
  { id: 'unsloth/gemma-3-4b-it', prompt: 0.03, completion: 0.1 },
];

/** GET /v1/models in Chutes' shape (facts: Models); `tao` prices are made up (1 TAO = 400 USD). */
export function modelList(models: readonly EmulatorModel[], createdSec: number): unknown {
  const side = (usd: number) => ({ usd: usd / 1e6, tao: usd / 1e6 / 400 });
  return {
    object: 'list',
    data: models.map((m) => ({
      id: m.id,
      object: 'model',
      created: createdSec,
      owned_by: 'chutes',
      chute_id: createHash('sha256').update(m.id).digest('hex').slice(0, 32).replace(/^(.{8})(.{4})(.{4})(.{4})/, '$1-$2-$3-$4-'),
      root: m.id,
      price: { input: side(m.prompt), output: side(m.completion) },
      pricing: { prompt: m.prompt, completion: m.completion },
      confidential_compute: m.id.endsWith('-TEE'),
      context_length: 32768,
      max_model_len: 32768,
      quantization: 'bf16',
    })),
  };
}

/**
 * Whether a request's `model` is served: Chutes also takes a comma-separated failover list and a
 * `:latency` / `:throughput` suffix (facts: Models). A body without a model is not checked.
 */
export function servesModel(models: readonly EmulatorModel[], requested: string): boolean {
  return requested.split(',').some((part) => models.some((m) => m.id === part.trim().replace(/:(latency|throughput)$/, '')));
}

/** A minimal completion: the content is always "ok", cut off by max_tokens (finish_reason "length"). */
export function completionBody(kind: 'chat' | 'text', model: string, nowMs: number, promptChars: number): unknown {
  const created = Math.floor(nowMs / 1000);
  const promptTokens = Math.max(1, Math.ceil(promptChars / 4));
  const usage = { prompt_tokens: promptTokens, completion_tokens: 1, total_tokens: promptTokens + 1 };
  const id = `${kind === 'chat' ? 'chatcmpl' : 'cmpl'}-${randomBytes(12).toString('hex')}`;
  if (kind === 'text') {
    return {
      id,
      object: 'text_completion',
      created,
      model,
      choices: [{ index: 0, text: 'ok', finish_reason: 'length' }],
      usage,
    };
  }
  return {
    id,
    object: 'chat.completion',
    created,
    model,
    choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'length' }],
    usage,
  };
}

export function invocationHeaders(): HeaderMap {
  return { 'x-chutes-invocationid': randomUUID() };
}

/** Daily quota headers, sent on success only and only when the quota is finite (facts: success headers). */
export function quotaHeaders(total: number | null, used: number): HeaderMap {
  if (total === null) return {};
  return {
    'x-chutes-quota-total': String(total),
    'x-chutes-quota-used': String(used),
    'x-chutes-quota-remaining': String(Math.max(0, total - used)),
  };
}

/** Go's time.Duration.String() for a ms count, as OpenAI sends it: "6m0s", "1.5s", "20ms" (dialects §3). */
export function formatGoDuration(ms: number): string {
  if (ms <= 0) return '0s';
  if (ms < 1000) return `${trimDecimal(ms)}ms`;
  const hours = Math.floor(ms / 3_600_000);
  const minutes = Math.floor((ms % 3_600_000) / 60_000);
  const seconds = trimDecimal((ms % 60_000) / 1000);
  if (hours > 0) return `${hours}h${minutes}m${seconds}s`;
  if (minutes > 0) return `${minutes}m${seconds}s`;
  return `${seconds}s`;
}

function trimDecimal(value: number): string {
  return String(Number(value.toFixed(3)));
}

/** RFC 3339 UTC at whole seconds (rounded up, so the limit really is replenished by then), e.g. 2025-08-21T12:40:59Z. */
export function formatRfc3339(ms: number): string {
  return new Date(Math.ceil(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}

function ceilSeconds(ms: number): number {
  return Math.ceil(ms / 1000);
}

function formatReset(resetMs: number, nowMs: number, format: ResetFormat): string {
  switch (format) {
    case 'delta':
      return String(ceilSeconds(resetMs));
    case 'epoch':
      return String(ceilSeconds(nowMs + resetMs));
    case 'epoch-ms':
      return String(Math.ceil(nowMs + resetMs));
  }
}

/**
 * The rate-limit headers of one dialect for a limiter state. `state` null means no rate limit is configured:
 * Chutes then says "inf" (facts: X-Chutes-RL-User), the other dialects say nothing.
 */
export function rateLimitHeaders(
  dialect: HeaderDialect,
  state: LimitDecision | null,
  nowMs: number,
  resetFormat: ResetFormat,
): HeaderMap {
  if (dialect === 'chutes') return { 'x-chutes-rl-user': state === null ? 'inf' : String(state.limit) };
  if (state === null) return {};
  const { limit, remaining, resetMs, windowMs } = state;
  switch (dialect) {
    case 'x-ratelimit':
      return {
        'x-ratelimit-limit': String(limit),
        'x-ratelimit-remaining': String(remaining),
        'x-ratelimit-reset': formatReset(resetMs, nowMs, resetFormat),
      };
    case 'ietf':
      // draft-ietf-httpapi-ratelimit-headers-08: named policy items (dialects §1).
      return {
        'ratelimit-policy': `"default";q=${limit};w=${Math.max(1, ceilSeconds(windowMs))}`,
        ratelimit: `"default";r=${remaining};t=${ceilSeconds(resetMs)}`,
      };
    case 'openai':
      return {
        'x-ratelimit-limit-requests': String(limit),
        'x-ratelimit-remaining-requests': String(remaining),
        'x-ratelimit-reset-requests': formatGoDuration(resetMs),
      };
    case 'anthropic':
      return {
        'anthropic-ratelimit-requests-limit': String(limit),
        'anthropic-ratelimit-requests-remaining': String(remaining),
        'anthropic-ratelimit-requests-reset': formatRfc3339(nowMs + resetMs),
      };
    case 'none':
      return {};
  }
}

/** Retry-After in whole seconds, rounded up so a client that obeys it is never early. */
export function retryAfterHeader(retryAfterMs: number): HeaderMap {
  return { 'retry-after': String(Math.max(1, ceilSeconds(retryAfterMs))) };
}

// ---- management API (api.chutes.ai) bodies, facts: "Free lookups" ----

export interface SubscriptionState {
  monthlyPrice: number;
  /** USD of pay-as-you-go usage; `{uncapped: true}` for a monthly meter without a cap (facts: Plans 2026). */
  monthly: { usage: number; cap: number } | { uncapped: true };
  fourHour: { usage: number; cap: number };
  /** A custom (negotiated) plan. Default false. */
  custom?: boolean;
  /** ISO date the monthly period counts from; default the 1st of the current UTC month. */
  anchorDate?: string;
}

const FOUR_HOURS_MS = 4 * 3_600_000;

/** The 4-hour cap counts in fixed UTC buckets (00:00, 04:00, … 20:00): the next bucket's start. */
export function nextFourHourReset(nowMs: number): number {
  return (Math.floor(nowMs / FOUR_HOURS_MS) + 1) * FOUR_HOURS_MS;
}

function startOfUtcMonth(nowMs: number): number {
  const d = new Date(nowMs);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
}

/** The first monthly anniversary of `anchorMs` after nowMs (the day clamped to short months). */
export function nextMonthlyReset(anchorMs: number, nowMs: number): number {
  const anchor = new Date(anchorMs);
  const day = anchor.getUTCDate();
  const timeOfDay = anchorMs - Date.UTC(anchor.getUTCFullYear(), anchor.getUTCMonth(), day);
  const now = new Date(nowMs);
  // Start a month before now's month: the anniversary may still be ahead in the current month.
  for (let k = -1; k <= 1; k++) {
    const year = now.getUTCFullYear();
    const month = now.getUTCMonth() + k;
    const lastDay = new Date(Date.UTC(year, month + 1, 0)).getUTCDate();
    const at = Date.UTC(year, month, Math.min(day, lastDay)) + timeOfDay;
    if (at > nowMs && at > anchorMs) return at;
  }
  return Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 2, 1); // unreachable: k = 1 is always ahead
}

export function userBody(userId: string, createdAtMs: number): unknown {
  return {
    user_id: userId,
    username: 'emulator',
    balance: 0.0,
    created_at: new Date(createdAtMs).toISOString(),
    logo_id: null,
    permissions_bitmask: 0,
  };
}

/**
 * GET /users/me/quotas. Chutes answers `{}` for unlimited accounts and its default `{"*": N}` when the user has
 * no quota rows (chutesai/chutes-api api/user/router.py my_quotas); 'list' is the shape of stored rows.
 */
export function quotasBody(shape: 'default' | 'list', userId: string, daily: number | null): unknown {
  if (daily === null) return {};
  if (shape === 'default') return { '*': daily };
  return [{ user_id: userId, chute_id: '*', quota: daily, is_default: true, payment_refresh_date: null, updated_at: null }];
}

export function quotaUsageBody(daily: number | null, used: number): unknown {
  return daily === null ? { quota: 'unlimited', used: 0 } : { quota: daily, used };
}

export function subscriptionUsageBody(subscription: SubscriptionState | null, nowMs: number): unknown {
  if (subscription === null) return { subscription: false };
  const meter = (m: { usage: number; cap: number }, resetAtMs: number) => ({
    usage: m.usage,
    cap: m.cap,
    remaining: Math.max(0, m.cap - m.usage),
    reset_at: new Date(resetAtMs).toISOString(),
  });
  const anchorMs = subscription.anchorDate === undefined ? startOfUtcMonth(nowMs) : Date.parse(subscription.anchorDate);
  const anchorIso = new Date(anchorMs).toISOString();
  const { monthly } = subscription;
  return {
    subscription: true,
    custom: subscription.custom ?? false,
    monthly_price: subscription.monthlyPrice,
    anchor_date: anchorIso,
    effective_date: anchorIso,
    updated_at: anchorIso,
    four_hour: meter(subscription.fourHour, nextFourHourReset(nowMs)),
    monthly: 'uncapped' in monthly ? { uncapped: true } : meter(monthly, nextMonthlyReset(anchorMs, nowMs)),
  };
}

export function subscriptionCapReached(subscription: SubscriptionState | null): boolean {
  if (subscription === null) return false;
  const { monthly, fourHour } = subscription;
  return (!('uncapped' in monthly) && monthly.usage >= monthly.cap) || fourHour.usage >= fourHour.cap;
}
