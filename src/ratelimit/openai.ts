// OpenAI, Groq, Azure OpenAI, Cerebras: x-ratelimit-{limit,remaining,reset}-<suffix>, one
// policy per suffix ("requests", "tokens", "tokens_usage_based", "requests-day", ...).
// Reset is a Go duration ("6m0s", "2m59.56s", "12ms"). Groq: requests are per day, tokens per minute.

import type { RateLimitPolicy } from '../types.js';
import { presentHeaders, readCount, type ParseContext } from './context.js';
import { parseGoDuration, roundSeconds } from './values.js';

const HEADER = /^x-ratelimit-(limit|remaining|reset)-([a-z0-9][a-z0-9_-]*)$/;
const NOT_A_SUFFIX = new Set(['after']); // Discord's x-ratelimit-reset-after belongs to x-ratelimit

export function readOpenAi(ctx: ParseContext): RateLimitPolicy[] {
  return ctx.distinctNameParts(HEADER, 2, NOT_A_SUFFIX).map((suffix) => readSuffix(ctx, suffix));
}

function readSuffix(ctx: ParseContext, suffix: string): RateLimitPolicy {
  const header = (field: string): string => `x-ratelimit-${field}-${suffix}`;
  return {
    name: suffix,
    unit: unitOf(suffix),
    limit: readCount(ctx, header('limit')),
    remaining: readCount(ctx, header('remaining')),
    resetSeconds: readDuration(ctx, header('reset')),
    windowSeconds: null,
    dialect: 'openai',
    sources: presentHeaders(ctx, ['limit', 'remaining', 'reset'].map(header)),
  };
}

function unitOf(suffix: string): string {
  if (suffix.startsWith('requests')) return 'requests';
  if (suffix.startsWith('tokens')) return 'tokens';
  return suffix;
}

function readDuration(ctx: ParseContext, header: string): number | null {
  const raw = ctx.get(header);
  if (raw === undefined) return null;
  const seconds = ctx.accept(header, raw, parseGoDuration(raw));
  return seconds === null ? null : roundSeconds(seconds);
}
