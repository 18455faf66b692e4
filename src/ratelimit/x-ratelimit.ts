// The de-facto X-RateLimit-Limit / -Remaining / -Reset family (GitHub, OpenRouter, Together,
// express-rate-limit's legacy headers, @fastify/rate-limit) and Twitter's X-Rate-Limit-*.
// Reset varies by vendor (epoch s, epoch ms, delta s), so it goes through the shared rule.

import type { RateLimitPolicy } from '../types.js';
import {
  presentHeaders,
  readCount,
  readDelaySeconds,
  readReset,
  remainingFromUsed,
  type ParseContext,
} from './context.js';
import { collapseRepeats } from './values.js';

const FAMILY_PREFIXES = ['x-ratelimit-', 'x-rate-limit-'];

export function readXRateLimit(ctx: ParseContext): RateLimitPolicy[] {
  return FAMILY_PREFIXES.map((prefix) => readFamily(ctx, prefix)).filter(
    (policy): policy is RateLimitPolicy => policy !== null,
  );
}

function readFamily(ctx: ParseContext, prefix: string): RateLimitPolicy | null {
  const header = (field: string): string => `${prefix}${field}`;
  const numeric = presentHeaders(ctx, ['limit', 'remaining', 'reset', 'reset-after', 'used'].map(header));
  if (numeric.length === 0) return null;
  const limit = readCount(ctx, header('limit'));
  const used = readCount(ctx, header('used')); // GitHub
  return {
    name: resourceName(ctx, header('resource')) ?? 'default',
    unit: 'requests',
    limit,
    remaining: readCount(ctx, header('remaining')) ?? remainingFromUsed(limit, used),
    // Discord's reset-after is a delay and immune to clock skew, so it wins over reset.
    resetSeconds: readDelaySeconds(ctx, header('reset-after')) ?? readReset(ctx, header('reset')),
    windowSeconds: null,
    dialect: 'x-ratelimit',
    sources: presentHeaders(ctx, ['limit', 'remaining', 'reset', 'reset-after', 'used', 'resource'].map(header)),
  };
}

/** GitHub's x-ratelimit-resource ("core", "search", "graphql") names the policy. */
function resourceName(ctx: ParseContext, header: string): string | null {
  const raw = ctx.get(header);
  if (raw === undefined) return null;
  const name = collapseRepeats(raw);
  if (/^[\x21-\x7e]{1,100}$/.test(name)) return name;
  ctx.warn(header, 'not a resource name', raw);
  return null;
}
