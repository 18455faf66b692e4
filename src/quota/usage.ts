// The Chutes daily quota as numbers: the management API's bodies (quota_usage, quotas,
// subscription_usage) parsed, summarised into one daily figure, and the verdict when it is used up.
// Pure: no I/O; the clock comes in as nowMs.
import { formatLocalTime, formatSeconds, nextUtcMidnight as nextUtcMidnightDate } from '../format.js';
import type { Verdict } from '../types.js';

/** Below this share of the daily quota left, warn: a busy client runs out within the hour. */
export const LOW_QUOTA_SHARE = 0.1;

export interface QuotaUsage {
  /** Requests per day; null when unlimited. */
  daily: number | null;
  unlimited: boolean;
  used: number | null;
}

export interface ChuteQuota {
  chuteId: string;
  quota: number | null;
  isDefault: boolean;
}

export interface QuotaTable {
  /** The account-wide ("*") daily quota; null when unlimited or not listed. */
  daily: number | null;
  unlimited: boolean;
  perChute: ChuteQuota[];
}

export interface Meter {
  usage: number | null;
  cap: number | null;
  remaining: number | null;
}

export interface SubscriptionSummary {
  monthlyPrice: number | null;
  monthly: Meter | null;
  fourHour: Meter | null;
}

export interface QuotaSummary {
  daily: number | null;
  used: number | null;
  remaining: number | null;
  /** The next 00:00 UTC, ISO; null when unlimited. */
  resetsAt: string | null;
  unlimited: boolean;
  /** Which endpoint the daily figure came from. */
  source: 'quota_usage' | 'quotas' | null;
}

/** A JSON object (not an array, not null), or null. */
export function asObject(value: unknown): Record<string, unknown> | null {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
}

/** A count as Chutes sends it: a number, or a numeric string. */
function count(value: unknown): number | null {
  const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  return typeof n === 'number' && Number.isFinite(n) && n >= 0 ? n : null;
}

const isUnlimited = (value: unknown) => typeof value === 'string' && /^(unlimited|inf|infinity)$/i.test(value.trim());

/** `{"quota": N, "used": X}` or `{"quota": "unlimited", "used": 0}`; null when the body is neither. */
export function parseQuotaUsage(json: unknown): QuotaUsage | null {
  const body = asObject(json);
  if (body === null || !('quota' in body)) return null;
  if (isUnlimited(body.quota)) return { daily: null, unlimited: true, used: count(body.used) };
  const daily = count(body.quota);
  return daily === null ? null : { daily, unlimited: false, used: count(body.used) };
}

/**
 * GET /users/me/quotas: a list of `{chute_id, quota, is_default}` rows, the default `{"*": N}`, or
 * `{}` for an unlimited account (chutesai/chutes-api api/user/router.py my_quotas).
 */
export function parseQuotas(json: unknown): QuotaTable | null {
  if (Array.isArray(json)) {
    const perChute = json.map(asObject).filter((row): row is Record<string, unknown> => row !== null).map((row) => ({
      chuteId: typeof row.chute_id === 'string' ? row.chute_id : '*',
      quota: count(row.quota),
      isDefault: row.is_default === true,
    }));
    const global = perChute.find((q) => q.chuteId === '*') ?? perChute.find((q) => q.isDefault) ?? null;
    return { daily: global?.quota ?? null, unlimited: perChute.length === 0, perChute };
  }
  const body = asObject(json);
  if (body === null) return null;
  const entries = Object.entries(body);
  if (entries.length === 0) return { daily: null, unlimited: true, perChute: [] };
  const perChute = entries.map(([chuteId, quota]) => ({ chuteId, quota: count(quota), isDefault: chuteId === '*' }));
  return { daily: count(body['*']), unlimited: isUnlimited(body['*']), perChute };
}

function meter(value: unknown): Meter | null {
  const m = asObject(value);
  if (m === null) return null;
  const usage = count(m.usage);
  const cap = count(m.cap);
  const remaining = count(m.remaining) ?? (usage !== null && cap !== null ? Math.max(0, cap - usage) : null);
  return { usage, cap, remaining };
}

/** `{"subscription": false}` → null; `{"subscription": true, "monthly_price", "monthly": {…}, "four_hour": {…}}`. */
export function parseSubscriptionUsage(json: unknown): SubscriptionSummary | null {
  const body = asObject(json);
  if (body === null || body.subscription !== true) return null;
  return { monthlyPrice: count(body.monthly_price), monthly: meter(body.monthly), fourHour: meter(body.four_hour) };
}

/** The daily counter resets at 00:00 UTC; computed in one place, format.ts. */
export function nextUtcMidnight(nowMs: number): number {
  return nextUtcMidnightDate(nowMs).getTime();
}

/** quota_usage first (it has `used`); the quotas table fills in the daily figure when it is missing. */
export function summariseQuota(usage: QuotaUsage | null, table: QuotaTable | null, nowMs: number): QuotaSummary {
  const unlimited = usage?.unlimited ?? table?.unlimited ?? false;
  const daily = usage?.daily ?? table?.daily ?? null;
  const used = usage?.used ?? null;
  const source = usage !== null ? 'quota_usage' : table !== null ? 'quotas' : null;
  return {
    daily: unlimited ? null : daily,
    used,
    remaining: unlimited || daily === null || used === null ? null : Math.max(0, daily - used),
    resetsAt: unlimited || source === null ? null : new Date(nextUtcMidnight(nowMs)).toISOString(),
    unlimited,
    source,
  };
}

/** The subscription caps used up: "monthly", "4-hour". */
export function exhaustedMeters(subscription: SubscriptionSummary | null): string[] {
  if (subscription === null) return [];
  const names: string[] = [];
  if (subscription.monthly?.remaining === 0) names.push('monthly');
  if (subscription.fourHour?.remaining === 0) names.push('4-hour');
  return names;
}

/** True when some of the daily quota is left, but less than LOW_QUOTA_SHARE of it. */
export function quotaLow(summary: QuotaSummary): boolean {
  return !summary.unlimited && summary.daily !== null && summary.remaining !== null && summary.remaining > 0
    && summary.remaining < summary.daily * LOW_QUOTA_SHARE;
}

/** "00:00 UTC (01:00:00 local, in 5h12m)". */
export function describeReset(resetsAtIso: string, nowMs: number): string {
  const at = Date.parse(resetsAtIso);
  return `${resetsAtIso} (00:00 UTC; ${formatLocalTime(at)} local time, in ${formatSeconds(Math.max(0, at - nowMs) / 1000)})`;
}

/** The verdict of a used-up daily quota (quota and doctor name it alike). */
export function quotaExhaustedVerdict(summary: QuotaSummary, nowMs: number): Verdict {
  const until = summary.resetsAt === null ? 'the next 00:00 UTC' : describeReset(summary.resetsAt, nowMs);
  return {
    code: 'daily-quota-exhausted',
    message: `The daily quota of ${summary.daily ?? '?'} requests is used up (${summary.used ?? '?'} used); requests fail with 402 until ${until}, unless the account has balance.`,
    hint: 'Wait for the reset, or add balance to continue pay-as-you-go.',
  };
}
