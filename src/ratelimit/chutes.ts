// Chutes (chutesai/chutes-api): X-Chutes-RL-User / X-Chutes-RL-Chute carry a per-user and
// per-chute rate-limit figure with no stated window; X-Chutes-Quota-Total/Used/Remaining
// carry the account's daily request quota, which resets at 00:00 UTC.

import type { RateLimitPolicy } from '../types.js';
import { presentHeaders, remainingFromUsed, type ParseContext } from './context.js';
import { collapseRepeats, isDateInRange, parseNonNegativeNumber } from './values.js';
import { nextUtcMidnight } from '../format.js';

const DAY_SECONDS = 86_400;
const RATE_HEADERS: ReadonlyArray<[header: string, name: string]> = [
  ['x-chutes-rl-user', 'user'],
  ['x-chutes-rl-chute', 'chute'],
];
const QUOTA_TOTAL = 'x-chutes-quota-total';
const QUOTA_USED = 'x-chutes-quota-used';
const QUOTA_REMAINING = 'x-chutes-quota-remaining';

export function readChutes(ctx: ParseContext): RateLimitPolicy[] {
  const rates = RATE_HEADERS.filter(([header]) => ctx.has(header)).map(([header, name]) => readRate(ctx, header, name));
  const quota = readDailyQuota(ctx);
  return quota === null ? rates : [...rates, quota];
}

/** "inf" (and "unlimited") mean no limit: null, without a warning; the raw value stays in headers. */
function readChutesCount(ctx: ParseContext, header: string): number | null {
  const raw = ctx.get(header);
  if (raw === undefined) return null;
  if (/^(inf|infinity|unlimited)$/i.test(collapseRepeats(raw))) return null;
  return ctx.accept(header, raw, parseNonNegativeNumber(raw));
}

function readRate(ctx: ParseContext, header: string, name: string): RateLimitPolicy {
  return {
    name,
    unit: 'requests',
    limit: readChutesCount(ctx, header),
    remaining: null,
    resetSeconds: null,
    windowSeconds: null,
    dialect: 'chutes',
    sources: [header],
  };
}

function readDailyQuota(ctx: ParseContext): RateLimitPolicy | null {
  const sources = presentHeaders(ctx, [QUOTA_TOTAL, QUOTA_USED, QUOTA_REMAINING]);
  if (sources.length === 0) return null;
  const limit = readChutesCount(ctx, QUOTA_TOTAL);
  const used = readChutesCount(ctx, QUOTA_USED);
  return {
    name: 'daily-quota',
    unit: 'requests',
    limit,
    remaining: readChutesCount(ctx, QUOTA_REMAINING) ?? remainingFromUsed(limit, used),
    resetSeconds: secondsUntilDailyReset(ctx, sources[0] ?? QUOTA_REMAINING),
    windowSeconds: DAY_SECONDS,
    dialect: 'chutes',
    sources,
  };
}

/** Seconds until the next 00:00 UTC; null (with a warning) when that lies beyond the range of a Date. */
function secondsUntilDailyReset(ctx: ParseContext, header: string): number | null {
  const nowMs = ctx.absoluteClockBase();
  const resetMs = nextUtcMidnight(nowMs).getTime(); // NaN when either day is outside the range of a Date
  if (!isDateInRange(resetMs)) {
    ctx.warn(header, `the daily reset (the 00:00 UTC after ${nowMs} ms) is outside the range of a Date; reset unknown`);
    return null;
  }
  return ctx.secondsUntil(resetMs, header);
}
