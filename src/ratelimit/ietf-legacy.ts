// IETF drafts -01…-07 and GitLab, which share the RateLimit-* names:
//   -01…-03  RateLimit-Limit: 100, 100;w=10   (first item is the limit, the rest are quota policies)
//   -04…-06  RateLimit-Limit / -Remaining / -Reset, plus RateLimit-Policy: 10;w=1, 50;w=60
//   -07      RateLimit: limit=100, remaining=50, reset=5 (an SF Dictionary) plus RateLimit-Policy
//   GitLab   RateLimit-Reset is a Unix epoch; RateLimit-ResetTime, RateLimit-Observed, RateLimit-Name

import type { BareItem, Dictionary } from 'structured-headers';
import type { Dialect, RateLimitPolicy } from '../types.js';
import {
  presentHeaders,
  readCount,
  readDateReset,
  readReset,
  remainingFromUsed,
  type ParseContext,
} from './context.js';
import { POLICY_HEADER, readNumberedQuota, type NumberedQuota } from './ietf-policy.js';
import {
  bareNumber,
  conflictingDictionaryKeys,
  dictionaryItem,
  listItems,
  param,
  parseStructuredList,
  structuredCount,
  structuredWindow,
} from './ietf-structured.js';
import { collapseRepeats, interpretResetNumber, interpretResetValue, parseNonNegativeNumber } from './values.js';

const LIMIT = 'ratelimit-limit';
const REMAINING = 'ratelimit-remaining';
const RESET = 'ratelimit-reset';
const COMBINED = 'ratelimit';
// GitLab-only companions (gitlab.com/gitlab-org/gitlab, doc/user/admin_area/settings/user_and_ip_rate_limits.md).
const GITLAB_RESET_TIME = 'ratelimit-resettime';
const GITLAB_OBSERVED = 'ratelimit-observed';
const GITLAB_NAME = 'ratelimit-name';
const DRAFT6_HEADERS = [LIMIT, REMAINING, RESET, GITLAB_RESET_TIME, GITLAB_OBSERVED, GITLAB_NAME];

/** The "current" limit a draft -06/-07 response describes, before its window is matched. */
interface ActiveLimit {
  name: string;
  limit: number | null;
  remaining: number | null;
  resetSeconds: number | null;
  windowSeconds: number | null;
  dialect: Dialect;
  sources: string[];
}

interface LimitHeader {
  limit: number | null;
  windowSeconds: number | null;
  quotas: NumberedQuota[];
}

export function readLegacyIetf(
  ctx: ParseContext,
  policyQuotas: NumberedQuota[],
  draft7: Dictionary | null,
): RateLimitPolicy[] {
  const limitHeader = readLimitHeader(ctx);
  const quotas = [...limitHeader.quotas, ...policyQuotas];
  const actives = [readDraft6(ctx, limitHeader), draft7 === null ? null : readDraft7(ctx, draft7)].filter(
    (active): active is ActiveLimit => active !== null,
  );
  const matched = new Set<NumberedQuota>();
  const policies = actives.map((active) => withMatchedWindow(active, quotas, matched));
  const extraDialect: Dialect = actives.some((active) => active.dialect === 'ietf-draft-7') ? 'ietf-draft-7' : 'ietf-draft-6';
  const extras = quotas.filter((quota) => !matched.has(quota)).map((quota) => standaloneQuota(quota, extraDialect));
  return [...policies, ...extras];
}

function readDraft6(ctx: ParseContext, limitHeader: LimitHeader): ActiveLimit | null {
  const sources = presentHeaders(ctx, DRAFT6_HEADERS);
  if (sources.length === 0 || (sources.length === 1 && sources[0] === GITLAB_NAME)) return null;
  const used = readCount(ctx, GITLAB_OBSERVED);
  const remaining = readCount(ctx, REMAINING) ?? remainingFromUsed(limitHeader.limit, used);
  const resetSeconds = readReset(ctx, RESET) ?? readDateReset(ctx, GITLAB_RESET_TIME);
  const gitlab = looksLikeGitLab(ctx);
  return {
    name: (gitlab && gitlabPolicyName(ctx)) || 'default',
    limit: limitHeader.limit,
    remaining,
    resetSeconds,
    windowSeconds: limitHeader.windowSeconds,
    dialect: gitlab ? 'gitlab' : 'ietf-draft-6',
    sources,
  };
}

/** GitLab sends companions the drafts never had, and an epoch where the drafts want a delay. */
function looksLikeGitLab(ctx: ParseContext): boolean {
  if (ctx.has(GITLAB_RESET_TIME) || ctx.has(GITLAB_OBSERVED) || ctx.has(GITLAB_NAME)) return true;
  const reset = ctx.get(RESET);
  if (reset === undefined) return false;
  const interpreted = interpretResetValue(reset, ctx.receivedAt);
  return interpreted.ok && interpreted.value.kind === 'instant';
}

function gitlabPolicyName(ctx: ParseContext): string | null {
  const raw = ctx.get(GITLAB_NAME);
  const name = raw === undefined ? '' : collapseRepeats(raw);
  return /^[\x21-\x7e]{1,100}$/.test(name) ? name : null;
}

/** A key sent twice with different values (two RateLimit fields) is unknown, not the last one. */
function readDraft7(ctx: ParseContext, dictionary: Dictionary): ActiveLimit {
  const raw = ctx.get(COMBINED) ?? '';
  const conflicts = conflictingDictionaryKeys(raw);
  const member = (key: string): BareItem | undefined => {
    if (!conflicts.has(key)) return dictionaryItem(dictionary, key)?.[0];
    ctx.warn(COMBINED, `${key}: conflicting duplicate values`, raw);
    return undefined;
  };
  return {
    name: 'default',
    limit: structuredCount(ctx, COMBINED, 'limit', member('limit')),
    remaining: structuredCount(ctx, COMBINED, 'remaining', member('remaining')),
    resetSeconds: readDraft7Reset(ctx, member('reset')),
    windowSeconds: null,
    dialect: 'ietf-draft-7',
    sources: [COMBINED],
  };
}

function readDraft7Reset(ctx: ParseContext, value: BareItem | undefined): number | null {
  const seconds = structuredCount(ctx, COMBINED, 'reset', value);
  if (seconds === null) return null;
  return ctx.resolveReset(COMBINED, `reset=${seconds}`, interpretResetNumber(seconds));
}

/** RateLimit-Limit: an SF List since draft -02, so `100, 100;w=10` carries quota policies too. */
function readLimitHeader(ctx: ParseContext): LimitHeader {
  const empty: LimitHeader = { limit: null, windowSeconds: null, quotas: [] };
  const raw = ctx.get(LIMIT);
  if (raw === undefined) return empty;
  const list = parseStructuredList(raw);
  const items = list.ok ? listItems(list.value) : [];
  const first = items[0];
  if (first === undefined || bareNumber(first[0]) === null) {
    return { ...empty, limit: ctx.accept(LIMIT, raw, parseNonNegativeNumber(raw)) };
  }
  const header: LimitHeader = {
    limit: structuredCount(ctx, LIMIT, 'limit', first[0]),
    windowSeconds: structuredWindow(ctx, LIMIT, 'w', param(first[1], 'w')),
    quotas: [],
  };
  for (const item of items.slice(1)) {
    if (param(item[1], 'w') !== undefined) {
      header.quotas.push(readNumberedQuota(ctx, LIMIT, item));
    } else if (bareNumber(item[0]) !== first[0]) {
      ctx.warn(LIMIT, 'conflicting duplicate values', raw);
      header.limit = null;
    }
  }
  return header;
}

/** A single quota policy describes the limit; among several, the one with the same quota does. */
function withMatchedWindow(active: ActiveLimit, quotas: NumberedQuota[], matched: Set<NumberedQuota>): RateLimitPolicy {
  const quota = quotas.length === 1 ? quotas[0] : uniqueQuotaEqualTo(active.limit, quotas);
  if (quota !== undefined) matched.add(quota);
  const windowSeconds = active.windowSeconds ?? quota?.windowSeconds ?? null;
  const sources = quota === undefined || active.sources.includes(quota.source) ? active.sources : [...active.sources, quota.source];
  return {
    name: active.name,
    unit: 'requests',
    limit: active.limit,
    remaining: active.remaining,
    resetSeconds: active.resetSeconds,
    windowSeconds,
    dialect: active.dialect,
    sources,
  };
}

function uniqueQuotaEqualTo(limit: number | null, quotas: NumberedQuota[]): NumberedQuota | undefined {
  const same = quotas.filter((quota) => limit !== null && quota.quota === limit);
  return same.length === 1 ? same[0] : undefined;
}

function standaloneQuota(quota: NumberedQuota, dialect: Dialect): RateLimitPolicy {
  return {
    name: quota.label,
    unit: 'requests',
    limit: quota.quota,
    remaining: null,
    resetSeconds: null,
    windowSeconds: quota.windowSeconds,
    dialect,
    sources: [quota.source === LIMIT ? LIMIT : POLICY_HEADER],
  };
}
