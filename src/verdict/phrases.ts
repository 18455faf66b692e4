// The predicates and sentence pieces the verdict rules are written with (rules.ts): what a response
// says, how its policies and waits read, a quoted and clipped body. Pure; no rule lives here.

import { Redactor } from '../redact.js';
import type { RateLimitPolicy } from '../types.js';
import type { ResponseFacts } from './facts.js';
import { formatSeconds } from '../format.js';

/** A rule's message or hint: fixed text, or written from the response's facts. */
export type Text = string | ((f: ResponseFacts) => string);

export function renderText(text: Text, f: ResponseFacts): string {
  return typeof text === 'string' ? text : text(f);
}

export function says(f: ResponseFacts, phrase: string): boolean {
  return f.text.includes(phrase);
}

export function isBetween(f: ResponseFacts, low: number, high: number): boolean {
  return f.status !== null && f.status >= low && f.status <= high;
}

export function isSuccess(f: ResponseFacts): boolean {
  return isBetween(f, 200, 299);
}

/** An HTML error page with no X-Chutes-* header: the edge (nginx, Google front end) answered, not the app. */
export function isEdgePage(f: ResponseFacts, status: number): boolean {
  return f.status === status && f.isHtml && !f.fromChutes;
}

/** The key went in the Authorization header (Bearer or raw), the only one Chutes reads. */
export function isAuthorizationHeader(f: ResponseFacts): boolean {
  return f.auth === 'bearer' || f.auth === 'raw';
}

export function statusPrefix(f: ResponseFacts): string {
  return f.status === null ? '' : `(status ${f.status}) `;
}

/** ` ("server text")`, clipped, or nothing. */
export function quote(f: ResponseFacts): string {
  return f.summary === null ? '' : ` ("${clip(f.summary)}")`;
}

export function retryAfterClause(f: ResponseFacts): string {
  const retryAfter = f.rateLimit.retryAfterSeconds;
  return retryAfter !== null && Number.isFinite(retryAfter) ? `; Retry-After says wait ${formatSeconds(retryAfter)}` : '';
}

export function waitClause(f: ResponseFacts): string {
  const retryAfter = retryAfterClause(f);
  if (retryAfter !== '') return retryAfter;
  return f.waitSeconds === null ? '' : `; it resets in ${formatSeconds(f.waitSeconds)}`;
}

export function hasRoomLeft(p: RateLimitPolicy): boolean {
  return p.remaining !== null && p.remaining > 0;
}

export function describePolicy(p: RateLimitPolicy | null): string {
  if (p === null) return 'no rate-limit policy was reported';
  const left =
    p.remaining === null
      ? `limit ${p.limit ?? 'unknown'} ${p.unit}`
      : p.limit === null
        ? `${p.remaining} ${p.unit} left`
        : `${p.remaining} of ${p.limit} ${p.unit} left`;
  return `policy "${p.name}" (${p.dialect}) has ${left}`;
}


/** The id after "model not found: " in the server's text, clipped. */
export function missingModel(f: ResponseFacts): string | null {
  const id = /model not found:\s*([^"\n]+)/i.exec(f.summary ?? '')?.[1]?.trim();
  return id ? clip(id) : null;
}

const SERVED_SHOWN = 5;

export function servedList(ids: readonly string[]): string {
  const shown = ids.slice(0, SERVED_SHOWN).map(clip).join(', ');
  return ids.length > SERVED_SHOWN ? `${shown} (+${ids.length - SERVED_SHOWN} more)` : shown;
}

const MAX_QUOTE = 120;
// Knows no key, so it masks only key-shaped text (cpk_/cak_, Bearer tokens); callers redact the real key too.
const keyShapes = new Redactor();

/** Shorten server text for a one-sentence message, hiding anything shaped like an API key. */
export function clip(text: string): string {
  const masked = keyShapes.redact(text.replace(/\s+/g, ' ').trim());
  return masked.length > MAX_QUOTE ? `${masked.slice(0, MAX_QUOTE - 1)}…` : masked;
}
