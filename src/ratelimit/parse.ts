// Entry point: every rate-limit dialect a response may carry, normalised to RateLimitInfo.
// Pure: no I/O, and the clock is read only as the default of receivedAt.

import type { RateLimitInfo, RateLimitPolicy } from '../types.js';
import { readAnthropic } from './anthropic.js';
import { readChutes } from './chutes.js';
import { ParseContext } from './context.js';
import { readIetf } from './ietf.js';
import { readOpenAi } from './openai.js';
import { readRetryAfter } from './retry-after.js';
import { readXRateLimit } from './x-ratelimit.js';

export interface ParseOptions {
  /** When the response arrived, epoch ms. Default: Date.now(). */
  receivedAt?: number;
}

type DialectReader = (ctx: ParseContext) => RateLimitPolicy[];

// IETF first, then the vendor families; within a dialect, header order is kept.
const DIALECT_READERS: ReadonlyArray<[label: string, read: DialectReader]> = [
  ['ietf', readIetf],
  ['x-ratelimit', readXRateLimit],
  ['openai', readOpenAi],
  ['anthropic', readAnthropic],
  ['chutes', readChutes],
];

const RATE_LIMIT_NAME = /^(ratelimit|x-ratelimit-|x-rate-limit-|anthropic-ratelimit-|x-chutes-)/;
const RETRY_AFTER_NAMES = new Set(['retry-after', 'retry-after-ms', 'x-ms-retry-after-ms']);

/** Is this (lower-case) header name rate-limit related? `date` is not. */
export function isRateLimitHeader(name: string): boolean {
  const lower = name.toLowerCase();
  return RATE_LIMIT_NAME.test(lower) || RETRY_AFTER_NAMES.has(lower);
}

/** Header names in any case; a header sent twice may be an array or one value joined with ", ". */
export type HeaderInput = Readonly<Record<string, string | readonly string[] | undefined>>;

export function parseRateLimitHeaders(headers: HeaderInput, options?: ParseOptions): RateLimitInfo {
  const receivedAt = options?.receivedAt;
  const arrival = typeof receivedAt === 'number' && Number.isFinite(receivedAt) ? receivedAt : Date.now();
  const ctx = new ParseContext(normaliseHeaders(headers), arrival);
  const policies = DIALECT_READERS.flatMap(([label, read]) => readSafely(ctx, label, read, []));
  warnRemainingAboveLimit(ctx, policies);
  const retryAfterSeconds = readSafely(ctx, 'retry-after', readRetryAfter, null);
  return { policies, retryAfterSeconds, warnings: ctx.warnings };
}

/** More left than the limit: the headers contradict each other (one is stale, or they describe different limits). */
function warnRemainingAboveLimit(ctx: ParseContext, policies: readonly RateLimitPolicy[]): void {
  for (const p of policies) {
    if (p.limit === null || p.remaining === null || p.remaining <= p.limit) continue;
    ctx.warn(p.sources.join(', '), `policy "${p.name}" reports remaining ${p.remaining}, above its limit ${p.limit}`);
  }
}

/** A reader bug must cost one dialect, never the whole response. */
function readSafely<T>(ctx: ParseContext, label: string, read: (ctx: ParseContext) => T, fallback: T): T {
  try {
    return read(ctx);
  } catch (error) {
    ctx.warn(label, `internal parser error: ${error instanceof Error ? error.message : String(error)}`);
    return fallback;
  }
}

/** Lower-cases names and joins repeats with ", ", tolerating non-string values from plain JS callers. */
function normaliseHeaders(headers: Record<string, unknown>): Map<string, string> {
  const result = new Map<string, string>();
  if (headers === null || typeof headers !== 'object') return result;
  for (const [name, value] of Object.entries(headers)) {
    const text = headerText(value);
    if (text === null) continue;
    const key = name.toLowerCase();
    const previous = result.get(key);
    result.set(key, previous === undefined ? text : `${previous}, ${text}`);
  }
  return result;
}

function headerText(value: unknown): string | null {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  if (Array.isArray(value)) return value.filter((part): part is string => typeof part === 'string').join(', ');
  return null;
}
