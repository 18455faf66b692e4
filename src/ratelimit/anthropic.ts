// Anthropic: anthropic-ratelimit-{requests,tokens,input-tokens,output-tokens}-{limit,remaining,reset}.
// Reset is RFC 3339 (docs.anthropic.com rate-limits); token "remaining" is rounded to the thousand.

import type { RateLimitPolicy } from '../types.js';
import { presentHeaders, readCount, readReset, type ParseContext } from './context.js';

const HEADER = /^anthropic-ratelimit-([a-z0-9][a-z0-9_-]*?)-(limit|remaining|reset)$/;

export function readAnthropic(ctx: ParseContext): RateLimitPolicy[] {
  return ctx.distinctNameParts(HEADER, 1).map((name) => readPolicy(ctx, name));
}

function readPolicy(ctx: ParseContext, name: string): RateLimitPolicy {
  const header = (field: string): string => `anthropic-ratelimit-${name}-${field}`;
  return {
    name,
    unit: name,
    limit: readCount(ctx, header('limit')),
    remaining: readCount(ctx, header('remaining')),
    // The shared rule reads RFC 3339, and also the epoch seconds of the unified-* variants.
    resetSeconds: readReset(ctx, header('reset')),
    windowSeconds: null,
    dialect: 'anthropic',
    sources: presentHeaders(ctx, ['limit', 'remaining', 'reset'].map(header)),
  };
}
