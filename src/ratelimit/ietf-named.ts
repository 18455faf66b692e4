// IETF drafts -08…-11: RateLimit is a List of named items `"name";r=…;t=…;pk=…`, matched by
// name with the RateLimit-Policy items. In -11 `t` is the "effective window" rather than the
// time to reset; both are seconds a client should plan with, so `t` is read as resetSeconds.

import type { List } from 'structured-headers';
import type { RateLimitPolicy } from '../types.js';
import type { ParseContext } from './context.js';
import { POLICY_HEADER, type NamedQuota } from './ietf-policy.js';
import { bareText, listItems, param, structuredCount, structuredDelay } from './ietf-structured.js';

const COMBINED = 'ratelimit';

interface NamedReading {
  name: string;
  remaining: number | null;
  resetSeconds: number | null;
}

export function readNamedIetf(ctx: ParseContext, quotas: NamedQuota[], list: List | null): RateLimitPolicy[] {
  const readings = list === null ? new Map<string, NamedReading>() : readRateLimitList(ctx, list);
  const fromPolicies = quotas.map((quota) => namedPolicy(quota, readings.get(quota.name)));
  const quotaNames = new Set(quotas.map((quota) => quota.name));
  const unmatched = [...readings.values()].filter((reading) => !quotaNames.has(reading.name));
  return [...fromPolicies, ...unmatched.map((reading) => namedPolicy(undefined, reading))];
}

function namedPolicy(quota: NamedQuota | undefined, reading: NamedReading | undefined): RateLimitPolicy {
  const sources = [...(reading ? [COMBINED] : []), ...(quota ? [POLICY_HEADER] : [])];
  return {
    name: quota?.name ?? reading?.name ?? '',
    unit: quota?.unit ?? 'requests',
    limit: quota?.limit ?? null,
    remaining: reading?.remaining ?? null,
    resetSeconds: reading?.resetSeconds ?? null,
    windowSeconds: quota?.windowSeconds ?? null,
    dialect: 'ietf-draft-8',
    sources,
  };
}

/** The readings by name, in header order (a Map, so matching stays linear in the item count). */
function readRateLimitList(ctx: ParseContext, list: List): Map<string, NamedReading> {
  const readings = new Map<string, NamedReading>();
  for (const item of listItems(list)) {
    const name = bareText(item[0]);
    if (name === null) {
      ctx.warn(COMBINED, 'an item has no policy name');
      continue;
    }
    const reading: NamedReading = {
      name,
      remaining: structuredCount(ctx, COMBINED, `policy "${name}" r`, param(item[1], 'r')),
      resetSeconds: structuredDelay(ctx, COMBINED, `policy "${name}" t`, param(item[1], 't')),
    };
    addReading(ctx, readings, reading);
  }
  return readings;
}

/** Keeps the first reading of a name; a differing repeat is reported, an identical one is not. */
function addReading(ctx: ParseContext, readings: Map<string, NamedReading>, reading: NamedReading): void {
  const existing = readings.get(reading.name);
  if (existing === undefined) {
    readings.set(reading.name, reading);
  } else if (existing.remaining !== reading.remaining || existing.resetSeconds !== reading.resetSeconds) {
    ctx.warn(COMBINED, `policy "${reading.name}" appears twice with different values; the first is used`);
  }
}
