// Raw response → ResponseRecord: parse the rate-limit headers, classify, keep what --json shows.
import type { RawResponse } from './http/client.js';
import type { Redactor } from './http/redact.js';
import { isRateLimitHeader, parseRateLimitHeaders } from './ratelimit/parse.js';
import type { RateLimitInfo, ResponseRecord, Target } from './types.js';
import { classifyResponse } from './verdict/classify.js';

export const RECORD_BODY_CHARS = 500;

export interface RecordContext {
  seq: number;
  target: Target;
  redactor: Redactor;
  /** Epoch ms the send was scheduled for (probe), else null. */
  scheduledAt?: number | null;
  inFlight?: number;
  /** Keep every response header instead of only the rate-limit related ones. */
  allHeaders?: boolean;
}

export interface BuiltRecord {
  record: ResponseRecord;
  /** The parser's warnings (garbage values, clock skew); shown with --verbose and in tables. */
  warnings: string[];
  rateLimit: RateLimitInfo;
}

export function buildRecord(raw: RawResponse, ctx: RecordContext): BuiltRecord {
  const rateLimit = raw.status === null
    ? { policies: [], retryAfterSeconds: null, warnings: [] }
    : parseRateLimitHeaders(raw.headers, { receivedAt: raw.receivedAt });
  const { outcome, verdict } = classifyResponse(
    { status: raw.status, headers: raw.headers, body: raw.body, error: raw.error, rateLimit },
    { auth: ctx.target.auth, url: ctx.target.url, hasKey: ctx.target.keyFingerprint !== null },
  );
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(raw.headers)) {
    if (ctx.allHeaders || isRateLimitHeader(name)) headers[name] = ctx.redactor.redact(value);
  }
  const record: ResponseRecord = {
    seq: ctx.seq,
    sentAt: new Date(raw.sentAt).toISOString(),
    scheduledAt: ctx.scheduledAt == null ? null : new Date(ctx.scheduledAt).toISOString(),
    latencyMs: raw.latencyMs === null ? null : Math.round(raw.latencyMs * 10) / 10,
    status: raw.status,
    inFlight: ctx.inFlight ?? 1,
    outcome,
    verdict: verdict && {
      code: verdict.code,
      message: ctx.redactor.redact(verdict.message),
      hint: ctx.redactor.redact(verdict.hint),
    },
    headers,
    rateLimit: { policies: rateLimit.policies, retryAfterSeconds: rateLimit.retryAfterSeconds },
    body: raw.body === null ? null : ctx.redactor.redact(raw.body.slice(0, RECORD_BODY_CHARS)),
    error: raw.error && { code: raw.error.code, message: ctx.redactor.redact(raw.error.message) },
  };
  return { record, warnings: rateLimit.warnings.map((w) => ctx.redactor.redact(w)), rateLimit };
}
