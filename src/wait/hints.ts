// The wait-reset loop's reading of one response, pure: its state (ok, limited, error) and what it
// says about when the limit will pass (Retry-After, an exhausted policy's reset, a 402's
// quota_reset_timestamp, or a guess from the policy with the least left).
import { hasChutesHeaders, isHtmlAnswer } from '../verdict/facts.js';
import { parseRateLimitHeaders } from '../ratelimit/parse.js';
import type { Outcome, RateLimitInfo, RateLimitPolicy } from '../types.js';

/** ok: the limit is gone; limited: still refused (429, 402, capacity); error: anything else, which ends the wait. */
export type WaitState = 'ok' | 'limited' | 'error';

/** One response, reduced to what the loop needs; `data` carries the caller's own record along. */
export interface WaitObservation<T = unknown> {
  state: WaitState;
  /** Epoch ms when the request was sent. */
  sentAt: number;
  /** Epoch ms when the response (or the failure) arrived; every relative hint counts from here. */
  receivedAt: number;
  /** Retry-After / retry-after-ms, seconds from receivedAt. */
  retryAfterSeconds: number | null;
  policies: readonly RateLimitPolicy[];
  /** A Chutes 402's `quota_reset_timestamp`, epoch ms. */
  quotaResetAt: number | null;
  /** Response headers (lower-case names): only to name the header a hint came from and its precision. */
  headers: Readonly<Record<string, string>>;
  /**
   * A refusal of the kind that lengthens itself: each refused retest may re-arm a longer ban (Chutes'
   * edge ban, see isEdgeBanAnswer). With no hint, the loop then spaces its retests ban-safe.
   */
  escalating?: boolean;
  data: T;
}

export type ResetHintSource = 'retry-after' | 'reset-header' | 'quota-reset-timestamp' | 'policy-reset' | 'backoff' | 'ban-backoff';

/** What a limited response says about when it will pass. */
export interface ResetHint {
  source: Exclude<ResetHintSource, 'backoff' | 'ban-backoff'>;
  /** The header or body field that said it, e.g. "retry-after", "x-ratelimit-reset", "quota_reset_timestamp". */
  origin: string | null;
  /** Epoch ms from which the server says a request will pass. */
  atMs: number;
  /**
   * The server asked us not to come back before atMs: Retry-After, an exhausted policy's reset, a 402
   * timestamp. A non-binding hint (the reset of the policy with the least left, none at 0) is a guess.
   */
  binding: boolean;
  /** Precision of atMs: 1000 for whole-second values (the reset fell within the second before), 1 for ms. */
  resolutionMs: number;
}


export function stateForOutcome(outcome: Outcome): WaitState {
  if (outcome === 'ok') return 'ok';
  if (outcome === 'rate_limited' || outcome === 'quota_exceeded' || outcome === 'capacity') return 'limited';
  return 'error';
}

/** Status-only fallback for library callers without the verdict engine: 2xx ok, 429 and 402 limited. */
export function stateForStatus(status: number | null): WaitState {
  if (status !== null && status >= 200 && status < 300) return 'ok';
  return status === 429 || status === 402 ? 'limited' : 'error';
}

/**
 * Chutes' edge ban (chutes-facts.md, "Edge bans escalate"): an authenticated request refused by the
 * edge's HTML 429 — no X-Chutes-* header (the app never saw it), no Retry-After. Every violation
 * restarts a ban that grows with the violations, up to a day, so every refused retest lengthens it.
 * `authenticated`: a key went out in Authorization (bearer or raw); X-API-Key or no key is the
 * anonymous edge limit, which is a different answer with its own verdict. HTML and X-Chutes-* are read
 * as the verdicts read them (verdict/facts.ts); the shape, not the verdict code.
 */
export function isEdgeBanAnswer(response: Pick<HttpResponseLike, 'status' | 'headers' | 'body'>, authenticated: boolean): boolean {
  if (!authenticated || response.status !== 429) return false;
  if (hasChutesHeaders(response.headers)) return false;
  const contentType = Object.entries(response.headers).find(([name]) => name.toLowerCase() === 'content-type')?.[1] ?? '';
  return isHtmlAnswer(contentType, response.body ?? '');
}

export interface HttpResponseLike {
  status: number | null;
  headers: Record<string, string>;
  body?: string | null;
  sentAt: number;
  receivedAt: number;
}

/**
 * A response → WaitObservation. Pass `rateLimit` when the headers are already parsed and `outcome`
 * when the verdict engine classified the response; otherwise the headers are parsed here and the
 * state comes from the status alone. `authenticated` (a key went out in Authorization) lets an edge
 * HTML 429 count as an escalating ban; `escalating` says so directly (a library caller's own
 * penalty box).
 */
export function observeResponse<T>(
  response: HttpResponseLike,
  data: T,
  known: {
    rateLimit?: Pick<RateLimitInfo, 'policies' | 'retryAfterSeconds'>;
    outcome?: Outcome;
    authenticated?: boolean;
    escalating?: boolean;
  } = {},
): WaitObservation<T> {
  const headers = Object.fromEntries(Object.entries(response.headers).map(([name, value]) => [name.toLowerCase(), value]));
  const rateLimit = known.rateLimit ?? parseRateLimitHeaders(headers, { receivedAt: response.receivedAt });
  return {
    state: known.outcome === undefined ? stateForStatus(response.status) : stateForOutcome(known.outcome),
    sentAt: response.sentAt,
    receivedAt: response.receivedAt,
    retryAfterSeconds: rateLimit.retryAfterSeconds,
    policies: rateLimit.policies,
    quotaResetAt: response.status === 402 ? readQuotaResetTimestamp(response.body ?? null) : null,
    headers,
    escalating: known.escalating ?? isEdgeBanAnswer(response, known.authenticated ?? false),
    data,
  };
}

/** `{"detail": {"quota_reset_timestamp": "<ISO>"}}` from a Chutes 402 (a regex, so a clipped body still works). */
export function readQuotaResetTimestamp(body: string | null): number | null {
  const value = body === null ? undefined : /"quota_reset_timestamp"\s*:\s*"([^"]+)"/.exec(body)?.[1];
  if (value === undefined) return null;
  const ms = Date.parse(value);
  return Number.isFinite(ms) ? ms : null;
}

const RETRY_AFTER_HEADERS = ['retry-after-ms', 'x-ms-retry-after-ms', 'retry-after'];

/** Whole seconds unless the value shows finer precision: a decimal point, an epoch in ms, an -ms header. */
export function hintResolutionMs(header: string | null, value: string | undefined): number {
  if (header !== null && header.endsWith('-ms')) return 1;
  if (value !== undefined && (/\d\.\d/.test(value) || /\b\d{12,}\b/.test(value))) return 1;
  return 1000;
}

function policyResetHeader(policy: RateLimitPolicy): string | null {
  return policy.sources.find((s) => s.includes('reset')) ?? policy.sources.find((s) => s === 'ratelimit') ?? policy.sources[0] ?? null;
}

function policyHint(obs: WaitObservation, policy: RateLimitPolicy & { resetSeconds: number }, binding: boolean): ResetHint {
  const origin = policyResetHeader(policy);
  return {
    source: binding ? 'reset-header' : 'policy-reset',
    origin,
    atMs: obs.receivedAt + policy.resetSeconds * 1000,
    binding,
    resolutionMs: hintResolutionMs(origin, origin === null ? undefined : obs.headers[origin]),
  };
}

function hasReset(policy: RateLimitPolicy): policy is RateLimitPolicy & { resetSeconds: number } {
  return policy.resetSeconds !== null && Number.isFinite(policy.resetSeconds);
}

/**
 * Everything the response binds us to: Retry-After, every exhausted policy's reset, a 402 timestamp.
 * All of them must have passed before a request can succeed, so the latest one wins.
 */
function bindingHints(obs: WaitObservation): ResetHint[] {
  const hints: ResetHint[] = [];
  if (obs.retryAfterSeconds !== null) {
    const origin = RETRY_AFTER_HEADERS.find((name) => obs.headers[name] !== undefined) ?? 'retry-after';
    hints.push({
      source: 'retry-after',
      origin,
      atMs: obs.receivedAt + obs.retryAfterSeconds * 1000,
      binding: true,
      resolutionMs: hintResolutionMs(origin, obs.headers[origin]),
    });
  }
  for (const policy of obs.policies) {
    if (policy.remaining === 0 && hasReset(policy)) hints.push(policyHint(obs, policy, true));
  }
  if (obs.quotaResetAt !== null) {
    hints.push({ source: 'quota-reset-timestamp', origin: 'quota_reset_timestamp', atMs: obs.quotaResetAt, binding: true, resolutionMs: 1 });
  }
  return hints;
}

/** No policy at 0: the reset of the one with the smallest share left, as a guess. */
function guessedHint(obs: WaitObservation): ResetHint | null {
  const candidates = obs.policies.filter((p): p is RateLimitPolicy & { resetSeconds: number } => p.remaining !== null && hasReset(p));
  const share = (p: RateLimitPolicy) => (p.limit !== null && p.limit > 0 ? (p.remaining ?? 0) / p.limit : (p.remaining ?? 0));
  const tightest = candidates.reduce<(typeof candidates)[number] | null>((best, p) => (best === null || share(p) < share(best) ? p : best), null);
  return tightest === null ? null : policyHint(obs, tightest, false);
}

/** When the response says the limit will pass, or null when it says nothing. */
export function readResetHint(obs: WaitObservation): ResetHint | null {
  const binding = bindingHints(obs);
  // Latest first; on a tie the earlier entry (Retry-After before headers before the body) names the source.
  const latest = binding.reduce<ResetHint | null>((best, h) => (best === null || h.atMs > best.atMs ? h : best), null);
  return latest ?? guessedHint(obs);
}
