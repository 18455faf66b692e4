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

/** One subscription cap, in USD of pay-as-you-go usage (chutes-facts.md, Plans 2026). */
export interface Meter {
  usage: number | null;
  cap: number | null;
  remaining: number | null;
  /** `reset_at`, ISO, as sent; null when absent. */
  resetAt: string | null;
  /** `{"uncapped": true}`: this meter has no cap, so it never binds. */
  uncapped: boolean;
}

export interface SubscriptionSummary {
  monthlyPrice: number | null;
  monthly: Meter | null;
  fourHour: Meter | null;
  /** A custom (negotiated) plan; null when not said. */
  custom: boolean | null;
  anchorDate: string | null;
  effectiveDate: string | null;
  updatedAt: string | null;
}

/** The limit that runs out first, of the daily quota (requests) and the subscription's caps (USD). */
export interface BindingLimit {
  limit: 'daily' | 'four-hour' | 'monthly';
  unit: 'requests' | 'usd';
  remaining: number;
  cap: number;
  /** remaining / cap, 0 to 1. */
  remainingShare: number;
  resetsAt: string | null;
  /** How it was chosen: an exhausted limit (the one that resets last), else the smallest share left. */
  rule: 'exhausted-resets-last' | 'smallest-share-left';
  /** The other limits that apply, with their share left, for the comparison. */
  others: Array<{ limit: BindingLimit['limit']; remainingShare: number }>;
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

function text(value: unknown): string | null {
  return typeof value === 'string' && value.trim() !== '' ? value.trim() : null;
}

/** `{usage, cap, remaining, reset_at}` or `{"uncapped": true}` (then no cap and nothing remaining to count). */
function meter(value: unknown): Meter | null {
  const m = asObject(value);
  if (m === null) return null;
  const usage = count(m.usage);
  const resetAt = text(m.reset_at);
  if (m.uncapped === true) return { usage, cap: null, remaining: null, resetAt, uncapped: true };
  const cap = count(m.cap);
  const remaining = count(m.remaining) ?? (usage !== null && cap !== null ? Math.max(0, cap - usage) : null);
  return { usage, cap, remaining, resetAt, uncapped: false };
}

/**
 * `{"subscription": false}` → null; `{"subscription": true, custom, monthly_price, anchor_date, effective_date,
 * updated_at, "four_hour": {usage, cap, remaining, reset_at}, "monthly": {…} | {"uncapped": true}}`.
 */
export function parseSubscriptionUsage(json: unknown): SubscriptionSummary | null {
  const body = asObject(json);
  if (body === null || body.subscription !== true) return null;
  return {
    monthlyPrice: count(body.monthly_price),
    monthly: meter(body.monthly),
    fourHour: meter(body.four_hour),
    custom: typeof body.custom === 'boolean' ? body.custom : null,
    anchorDate: text(body.anchor_date),
    effectiveDate: text(body.effective_date),
    updatedAt: text(body.updated_at),
  };
}

/**
 * Which limit binds first. The limits count different things (the daily quota requests, the caps USD) and
 * usage comes in bursts, so a run-out time projected from the average rate would be a guess: compare the
 * share each has left instead. An exhausted limit binds outright; of several, the one that resets last
 * (all must recover before a request goes through). Unlimited and uncapped limits never bind; null when
 * none applies or none is known.
 */
export function bindingLimit(summary: QuotaSummary, subscription: SubscriptionSummary | null): BindingLimit | null {
  type Candidate = Omit<BindingLimit, 'rule' | 'others'>;
  const candidates: Candidate[] = [];
  if (!summary.unlimited && summary.daily !== null && summary.daily > 0 && summary.remaining !== null) {
    candidates.push({ limit: 'daily', unit: 'requests', remaining: summary.remaining, cap: summary.daily,
      remainingShare: summary.remaining / summary.daily, resetsAt: summary.resetsAt });
  }
  for (const [limit, m] of [['four-hour', subscription?.fourHour], ['monthly', subscription?.monthly]] as const) {
    if (m == null || m.uncapped || m.cap === null || m.cap <= 0 || m.remaining === null) continue;
    candidates.push({ limit, unit: 'usd', remaining: m.remaining, cap: m.cap,
      remainingShare: Math.min(1, m.remaining / m.cap), resetsAt: m.resetAt });
  }
  if (candidates.length === 0) return null;
  const exhausted = candidates.filter((c) => c.remaining <= 0);
  const resetMs = (c: Candidate) => (c.resetsAt === null ? Infinity : Date.parse(c.resetsAt) || Infinity);
  const chosen = exhausted.length > 0
    ? exhausted.reduce((a, b) => (resetMs(b) > resetMs(a) ? b : a))
    : candidates.reduce((a, b) => (b.remainingShare < a.remainingShare ? b : a));
  return {
    ...chosen,
    rule: exhausted.length > 0 ? 'exhausted-resets-last' : 'smallest-share-left',
    others: candidates.filter((c) => c !== chosen).map((c) => ({ limit: c.limit, remainingShare: c.remainingShare })),
  };
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
