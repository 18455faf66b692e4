// The facts of one response, read once: what the verdict rules look at, so each rule is a short
// predicate over plain fields. Pure: no I/O, no clock; it never sees the key, only whether one was sent.
// Both classify.ts (which reads the facts) and rules.ts (which tests them) import from here.

import { isChutesHost } from '../target.js';
import type { AuthScheme, RateLimitInfo, RateLimitPolicy, RecordError } from '../types.js';

export interface ClassifyInput {
  /** null when the request failed at the network level. */
  status: number | null;
  /** All response headers, lower-case names (duplicates joined with ", "). */
  headers: Record<string, string>;
  /** The first ≤64 KiB of the body as text. */
  body: string | null;
  /** Network-level failure: 'timeout' | 'dns' | 'connect_refused' | 'tls' | 'reset' | 'redirect' | 'network' | 'body_timeout'. */
  error: RecordError | null;
  rateLimit: RateLimitInfo;
}

export interface ClassifyContext {
  /** The scheme the client used. */
  auth: AuthScheme;
  /** The request URL: its host tells the inference host from the management host. */
  url: URL;
  /** Whether a key was sent at all. */
  hasKey: boolean;
  /** The option that names this URL, for hints: '--base-url' (default) or '--api-base-url'. */
  urlOption?: string;
  /** Served model ids, cheapest first, when GET /v1/models was read: a model-not-found verdict names a few. */
  servedModels?: readonly string[];
}

/** What the rules look at, derived once per response so each rule is a short predicate. */
export interface ResponseFacts {
  status: number | null;
  errorCode: string | null;
  errorMessage: string | null;
  headers: Record<string, string>;
  /** An HTML page (content-type, or `<html`/`<title>` when the type is missing): an edge or proxy answered. */
  isHtml: boolean;
  /** Any X-Chutes-* header: the Chutes app itself answered. */
  fromChutes: boolean;
  /** Lower-cased body plus the decoded JSON message, for phrase matching. */
  text: string;
  /** FastAPI's `detail` (a string, or an object's `message`): the shape the Chutes app answers with. */
  detail: string | null;
  /** Short server text to quote: `detail`, another JSON message, the HTML title or the first line. */
  summary: string | null;
  /** `detail.quota_reset_timestamp` from a Chutes 402. */
  quotaResetAt: string | null;
  /**
   * The provider a gateway relayed the error from: OpenRouter's `error.metadata.provider_name`
   * (e.g. "Chutes"); null on a direct answer.
   */
  upstreamProvider: string | null;
  /** The provider's own text a gateway passed on (OpenRouter's `error.metadata.raw`), or null. */
  upstreamRaw: string | null;
  auth: AuthScheme;
  /** A key went out in some header: hasKey and a scheme other than 'none'. */
  keySent: boolean;
  host: string;
  /** scheme://host[:port], for commands in hints. */
  origin: string;
  /** The option that names the URL: '--base-url' or '--api-base-url'. */
  urlOption: string;
  path: string;
  /** *.chutes.ai */
  onChutes: boolean;
  /** The inference host (llm.*), as opposed to the management host. */
  onLlmHost: boolean;
  rateLimit: RateLimitInfo;
  /** The policy closest to exhaustion, or null when none was reported. */
  tightest: RateLimitPolicy | null;
  /** Retry-After if given (it takes precedence), else the tightest policy's reset. */
  waitSeconds: number | null;
  /** Served model ids, cheapest first, or null when the list was not read. */
  servedModels: readonly string[] | null;
}

/** An HTML page (the content type, or `<html`/`<title>` markup when the type is not JSON): an edge or proxy answered. */
export function isHtmlAnswer(contentType: string, body: string): boolean {
  const type = contentType.toLowerCase();
  return type.includes('html') || (!type.includes('json') && /<html|<title>|<!doctype html/i.test(body));
}

/** Any X-Chutes-* header: the Chutes app itself answered (its edge never adds one). */
export function hasChutesHeaders(headers: Readonly<Record<string, string>>): boolean {
  return Object.keys(headers).some((name) => name.toLowerCase().startsWith('x-chutes-'));
}

/** Derives the facts of one response from what came back and how it was asked. */
export function readFacts(input: ClassifyInput, ctx: ClassifyContext): ResponseFacts {
  const body = input.body ?? '';
  const contentType = (input.headers['content-type'] ?? '').toLowerCase();
  const json = parseJson(body);
  const detail = detailMessage(json);
  const message = detail ?? otherJsonMessage(json);
  const isHtml = isHtmlAnswer(contentType, body);
  const host = ctx.url.hostname.toLowerCase();
  const tightest = tightestPolicy(input.rateLimit.policies);
  return {
    status: input.status,
    errorCode: input.error?.code ?? null,
    errorMessage: input.error?.message ?? null,
    headers: input.headers,
    isHtml,
    fromChutes: hasChutesHeaders(input.headers),
    text: `${body}\n${message ?? ''}`.toLowerCase(),
    detail,
    summary: message ?? (isHtml ? htmlTitle(body) : firstLine(body)),
    quotaResetAt: quotaResetTimestamp(body),
    upstreamProvider: asText(field(relayMetadata(json), 'provider_name'))?.trim() ?? null,
    upstreamRaw: rawText(field(relayMetadata(json), 'raw')),
    auth: ctx.auth,
    keySent: ctx.hasKey && ctx.auth !== 'none',
    host,
    origin: ctx.url.origin,
    urlOption: ctx.urlOption ?? '--base-url',
    path: ctx.url.pathname,
    onChutes: isChutesHost(host),
    onLlmHost: host.startsWith('llm.'),
    rateLimit: input.rateLimit,
    tightest,
    waitSeconds: finiteOrNull(input.rateLimit.retryAfterSeconds) ?? finiteOrNull(tightest?.resetSeconds) ?? null,
    servedModels: ctx.servedModels ?? null,
  };
}

/**
 * The policy that binds: an exhausted one (the longest reset, since all must recover),
 * else the smallest share left (absolute remaining when the limit is unknown).
 */
export function tightestPolicy(policies: readonly RateLimitPolicy[]): RateLimitPolicy | null {
  const exhausted = policies.filter((p) => p.remaining === 0);
  if (exhausted.length > 0) return pickBy(exhausted, (p) => -(p.resetSeconds ?? 0));
  const known = policies.filter((p) => p.remaining !== null);
  if (known.length > 0) {
    return pickBy(known, (p) => {
      const remaining = p.remaining ?? 0;
      return p.limit !== null && p.limit > 0 ? remaining / p.limit : remaining;
    });
  }
  return policies[0] ?? null;
}

/** Library callers build RateLimitInfo themselves: a NaN or infinite reset counts as unknown. */
function finiteOrNull(seconds: number | null | undefined): number | null {
  return typeof seconds === 'number' && Number.isFinite(seconds) ? seconds : null;
}

/** The element with the lowest score; the first one on ties. */
function pickBy<T>(items: readonly T[], score: (item: T) => number): T | null {
  let best: T | null = null;
  let bestScore = Infinity;
  for (const item of items) {
    const s = score(item);
    if (best === null || s < bestScore) {
      best = item;
      bestScore = s;
    }
  }
  return best;
}

function parseJson(body: string): unknown {
  const trimmed = body.trimStart();
  if (!trimmed.startsWith('{') && !trimmed.startsWith('[')) return null;
  try {
    return JSON.parse(trimmed) as unknown;
  } catch {
    return null; // truncated at 64 KiB or not JSON: phrase matching still sees the raw text
  }
}

function field(value: unknown, key: string): unknown {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)[key]
    : undefined;
}

function asText(value: unknown): string | null {
  return typeof value === 'string' && value.trim() !== '' ? value : null;
}

/** FastAPI: `{"detail": "…"}`, `{"detail": {"message": "…"}}`, or validation errors `{"detail": [{"msg": "…"}]}`. */
function detailMessage(json: unknown): string | null {
  const detail = field(json, 'detail');
  if (Array.isArray(detail)) return asText(field(detail[0], 'msg'));
  return asText(detail) ?? asText(field(detail, 'message'));
}

/** OpenAI-style `{"error": {"message": "…"}}`, `{"error": "…"}`, or a top-level `message`. */
function otherJsonMessage(json: unknown): string | null {
  const error = field(json, 'error');
  return asText(field(error, 'message')) ?? asText(error) ?? asText(field(json, 'message'));
}

/** OpenRouter relays a provider's error as `{"error": {"message", "code", "metadata": {"raw", "provider_name"}}}`. */
function relayMetadata(json: unknown): unknown {
  return field(field(json, 'error'), 'metadata');
}

/** `metadata.raw` is the provider's body: a string, or (seen) already-parsed JSON. */
function rawText(value: unknown): string | null {
  if (value === undefined || value === null) return null;
  return asText(value) ?? asText(JSON.stringify(value));
}

function htmlTitle(body: string): string | null {
  return asText(/<title>([^<]*)<\/title>/i.exec(body)?.[1]?.trim());
}

function firstLine(body: string): string | null {
  return asText(body.trim().split('\n', 1)[0]);
}

/** A regex rather than the parsed JSON, so a truncated body still yields the timestamp. */
function quotaResetTimestamp(body: string): string | null {
  return /"quota_reset_timestamp"\s*:\s*"?([^",}\s]+)/.exec(body)?.[1] ?? null;
}
