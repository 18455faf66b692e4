// RateLimit-Policy, in both shapes: drafts -04…-07 list numbers (`10;w=1, 50;w=60`),
// drafts -08…-11 list named items (`"default";q=100;qu="requests";w=60;pk=:…:`).

import type { ParseContext } from './context.js';
import {
  bareNumber,
  bareText,
  listItems,
  param,
  parseStructuredList,
  structuredCount,
  structuredWindow,
} from './ietf-structured.js';
import type { Item } from 'structured-headers';

export const POLICY_HEADER = 'ratelimit-policy';

/** A quota policy of drafts -01…-07: a number with a window, no name. */
export interface NumberedQuota {
  quota: number | null;
  windowSeconds: number | null;
  /** The item as written, e.g. "50;w=60"; used as the policy name when it stands alone. */
  label: string;
  source: string;
}

/** A named policy of drafts -08…-11. */
export interface NamedQuota {
  name: string;
  limit: number | null;
  unit: string;
  windowSeconds: number | null;
}

export interface PolicyHeader {
  numbered: NumberedQuota[];
  named: NamedQuota[];
}

export function readPolicyHeader(ctx: ParseContext): PolicyHeader {
  const result: PolicyHeader = { numbered: [], named: [] };
  const raw = ctx.get(POLICY_HEADER);
  if (raw === undefined) return result;
  const list = ctx.accept(POLICY_HEADER, raw, parseStructuredList(raw));
  if (list === null) return result;
  if (list.length === 0) ctx.warn(POLICY_HEADER, 'empty value', raw);
  const named = new Map<string, NamedQuota>(); // by name, in header order
  for (const item of listItems(list)) {
    if (bareNumber(item[0]) !== null) result.numbered.push(readNumberedQuota(ctx, POLICY_HEADER, item));
    else if (bareText(item[0]) !== null) addNamedQuota(ctx, named, readNamedQuota(ctx, item));
    else ctx.warn(POLICY_HEADER, 'an item is neither a quota number nor a policy name');
  }
  result.named = [...named.values()];
  return result;
}

export function readNumberedQuota(ctx: ParseContext, header: string, item: Item): NumberedQuota {
  const quota = structuredCount(ctx, header, 'quota', item[0]);
  const windowSeconds = structuredWindow(ctx, header, 'w', param(item[1], 'w'));
  const label = `${quota ?? '?'}${windowSeconds === null ? '' : `;w=${windowSeconds}`}`;
  return { quota, windowSeconds, label, source: header };
}

function readNamedQuota(ctx: ParseContext, item: Item): NamedQuota {
  const name = bareText(item[0]) ?? '';
  const what = (key: string): string => `policy "${name}" ${key}`;
  const q = param(item[1], 'q');
  if (q === undefined) ctx.warn(POLICY_HEADER, `${what('q')} is missing (it is required)`);
  return {
    name,
    limit: structuredCount(ctx, POLICY_HEADER, what('q'), q),
    unit: bareText(param(item[1], 'qu')) ?? 'requests',
    windowSeconds: structuredWindow(ctx, POLICY_HEADER, what('w'), param(item[1], 'w')),
  };
}

/** Keeps the first policy of a name; a differing repeat is reported, an identical one is not. */
function addNamedQuota(ctx: ParseContext, named: Map<string, NamedQuota>, quota: NamedQuota): void {
  const existing = named.get(quota.name);
  if (existing === undefined) {
    named.set(quota.name, quota);
  } else if (JSON.stringify(existing) !== JSON.stringify(quota)) {
    ctx.warn(POLICY_HEADER, `policy "${quota.name}" appears twice with different values; the first is used`);
  }
}
