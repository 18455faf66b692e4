// Raw response → ResponseRecord: parse the rate-limit headers, classify, keep what --json shows.
import type { RawResponse } from './http/client.js';
import type { Redactor } from './redact.js';
import { isRateLimitHeader, parseRateLimitHeaders } from './ratelimit/parse.js';
import type { RateLimitInfo, ResponseRecord, Target } from './types.js';
import { classifyResponse } from './verdict/classify.js';

export const RECORD_BODY_CHARS = 500;

// C0 and C1 controls (ESC, CSI 0x9b, CR, BEL…) and bidi overrides: a hostile server could use them
// to move the cursor, rewrite lines or reorder text on the user's terminal.
const CONTROLS = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;
const CONTROLS_AND_LINE_BREAKS = /[\u0000-\u0008\u000a-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

/** Server text made safe to print: each control character becomes a visible `\x1b` / `\u202e` escape. */
export function neutraliseControls(text: string, { keepNewlines = false } = {}): string {
  return text.replace(keepNewlines ? CONTROLS : CONTROLS_AND_LINE_BREAKS, (c) => {
    const code = c.charCodeAt(0);
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}

export interface RecordContext {
  seq: number;
  target: Target;
  redactor: Redactor;
  /** Epoch ms the send was scheduled for (probe), else null. */
  scheduledAt?: number | null;
  inFlight?: number;
  /** Keep every response header instead of only the rate-limit related ones. */
  allHeaders?: boolean;
  /** The option that names the target's URL, for hints (default '--base-url'). */
  urlOption?: string;
  /** Served model ids, cheapest first, when the run read GET /v1/models (named by a model-not-found verdict). */
  servedModels?: readonly string[];
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
    { auth: ctx.target.auth, url: ctx.target.url, hasKey: ctx.target.keyFingerprint !== null, ...(ctx.urlOption ? { urlOption: ctx.urlOption } : {}), ...(ctx.servedModels ? { servedModels: ctx.servedModels } : {}) },
  );
  // Redact first, then neutralise, then cut: a key straddling the cut is masked whole, never half shown.
  const safe = (text: string, keepNewlines = false) => neutraliseControls(ctx.redactor.redact(text), { keepNewlines });
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(raw.headers)) {
    if (ctx.allHeaders || isRateLimitHeader(name)) headers[name] = safe(value);
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
      message: safe(verdict.message),
      hint: safe(verdict.hint),
    },
    headers,
    rateLimit: { policies: rateLimit.policies, retryAfterSeconds: rateLimit.retryAfterSeconds },
    body: raw.body === null ? null : safe(raw.body, true).slice(0, RECORD_BODY_CHARS),
    error: raw.error && { code: raw.error.code, message: safe(raw.error.message) },
  };
  return { record, warnings: rateLimit.warnings.map((w) => safe(w)), rateLimit };
}
