// Chutes mode and the probe's refusal budget: on Chutes every refused request can lengthen an edge ban
// (up to a day, chutes-facts.md), and every accepted one spends one of a small daily quota. The probe
// knows it talks to Chutes by the host (*.chutes.ai, StrategyConfig.chutes) or by an answer with
// X-Chutes-* headers; then it provokes at most --allow-refusals refusals (1 unless told otherwise) and
// checks the plan's worst-case cost against the quota the first answer reports. Pure rules, no state.
import type { StrategyConfig } from './ledger.js';
import { bySendTime, isRateLimited, type Observation } from './observation.js';

/** --max-quota-share's default: the most of today's remaining quota a plan may spend without --yes. */
export const DEFAULT_MAX_QUOTA_SHARE = 10;

/**
 * An answer came from Chutes: it carried X-Chutes-* rate-limit headers (X-Chutes-RL-User, -RL-Chute,
 * -Quota-*, read as `chutes`-dialect policies), which Chutes sends with every success. Whatever the
 * host: behind a proxy or a gateway the edge that bans is still Chutes'.
 */
export function chutesAnswered(observations: readonly Observation[]): boolean {
  return observations.some((o) => o.policies.some((p) => p.dialect === 'chutes'));
}

/** How many refusals the probe may provoke: --allow-refusals, else 1 on Chutes, else no limit. */
export function refusalBudget(config: Pick<StrategyConfig, 'allowRefusals'>, chutes: boolean): number {
  return config.allowRefusals ?? (chutes ? 1 : Infinity);
}

/** Refusals that count against the budget: rate-limit 429s (attributed: a concurrency gate's are not), the edge's HTML 429 among them. */
export function refusalsSeen(attributed: readonly Observation[]): number {
  return attributed.filter(isRateLimited).length;
}

/** X-Chutes-Quota-Remaining of the earliest-sent answer that has it, or null. */
export function quotaRemaining(observations: readonly Observation[]): number | null {
  for (const o of [...observations].sort(bySendTime)) {
    const quota = o.policies.find((p) => p.dialect === 'chutes' && p.name === 'daily-quota' && p.remaining !== null);
    if (quota) return quota.remaining;
  }
  return null;
}

export interface QuotaShare {
  /** Every request of the plan accepted: each spends one. */
  worstCase: number;
  remaining: number;
  sharePercent: number;
  maxSharePercent: number;
  /** Within the share, or confirmed with --yes. */
  proceeds: boolean;
}

/** The plan's worst case against the quota left today; over --max-quota-share it needs --yes. */
export function quotaShare(config: Pick<StrategyConfig, 'maxRequests' | 'maxQuotaShare' | 'yes'>, remaining: number): QuotaShare {
  const maxSharePercent = config.maxQuotaShare ?? DEFAULT_MAX_QUOTA_SHARE;
  const worstCase = config.maxRequests;
  const sharePercent = remaining > 0 ? (100 * worstCase) / remaining : 100;
  return { worstCase, remaining, sharePercent, maxSharePercent, proceeds: Boolean(config.yes) || sharePercent <= maxSharePercent };
}
