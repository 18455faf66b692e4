// Every IETF RateLimit dialect: drafts -01…-11 and GitLab's look-alike.

import type { Dictionary, List } from 'structured-headers';
import type { RateLimitPolicy } from '../types.js';
import type { ParseContext } from './context.js';
import { readLegacyIetf } from './ietf-legacy.js';
import { readNamedIetf } from './ietf-named.js';
import { readPolicyHeader } from './ietf-policy.js';
import { parseStructuredDictionary, parseStructuredList } from './ietf-structured.js';

const COMBINED = 'ratelimit';
const DRAFT7_KEYS = ['limit', 'remaining', 'reset'];

interface CombinedHeader {
  dictionary: Dictionary | null;
  list: List | null;
}

export function readIetf(ctx: ParseContext): RateLimitPolicy[] {
  const policyHeader = readPolicyHeader(ctx);
  const combined = readCombinedHeader(ctx);
  return [
    ...readNamedIetf(ctx, policyHeader.named, combined.list),
    ...readLegacyIetf(ctx, policyHeader.numbered, combined.dictionary),
  ];
}

/** `RateLimit` is a Dictionary in draft -07 (limit=…, remaining=…, reset=…), a List from -08. */
function readCombinedHeader(ctx: ParseContext): CombinedHeader {
  const raw = ctx.get(COMBINED);
  if (raw === undefined) return { dictionary: null, list: null };
  const dictionary = parseStructuredDictionary(raw);
  if (dictionary.ok && DRAFT7_KEYS.some((key) => dictionary.value.has(key))) {
    return { dictionary: dictionary.value, list: null };
  }
  const list = ctx.accept(COMBINED, raw, parseStructuredList(raw));
  if (list !== null && list.length === 0) ctx.warn(COMBINED, 'empty value', raw);
  return { dictionary: null, list };
}
