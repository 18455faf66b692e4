// Structured Field (RFC 9651) parsing for the IETF RateLimit headers, tolerant of the
// whitespace real servers put around ";" and "=".

import {
  Token,
  isInnerList,
  parseDictionary,
  parseList,
  type BareItem,
  type Dictionary,
  type InnerList,
  type Item,
  type List,
  type Parameters,
} from 'structured-headers';
import type { ParseContext } from './context.js';
import { checkDelaySeconds, checkNonNegativeNumber, fail, ok, roundSeconds, type Parsed } from './values.js';

/**
 * Removes whitespace around ";" and "=" outside quoted strings. One pass, linear in the input:
 * an unterminated string runs to the end (a regex that retries from every later quote, and
 * `\s*[;=]\s*` on a long run of spaces, are quadratic: 40 KB took seconds).
 */
export function relaxWhitespace(raw: string): string {
  let result = '';
  let last = 0;
  for (let open = raw.indexOf('"'); open !== -1; open = raw.indexOf('"', last)) {
    const end = quotedStringEnd(raw, open);
    result += squeeze(raw.slice(last, open)) + raw.slice(open, end);
    last = end;
  }
  return result + squeeze(raw.slice(last));
}

/** Index just past the string that opens at `open`: after its closing quote, or the end if unterminated. */
function quotedStringEnd(raw: string, open: number): number {
  for (let i = open + 1; i < raw.length; i++) {
    if (raw[i] === '\\') i++;
    else if (raw[i] === '"') return i + 1;
  }
  return raw.length;
}

/** Trims the text on either side of each ";" and "=". */
function squeeze(unquoted: string): string {
  const pieces = unquoted.split(/([;=])/); // text, separator, text, …: separators at odd indexes
  return pieces
    .map((piece, index) => {
      if (index % 2 === 1) return piece;
      const afterSeparator = index > 0 ? piece.trimStart() : piece;
      return index < pieces.length - 1 ? afterSeparator.trimEnd() : afterSeparator;
    })
    .join('');
}

/**
 * Dictionary keys whose repeated members differ. parseDictionary keeps a key's last member
 * (RFC 9651 §4.2.2), but in a response a repeat is the header sent twice and joined with ", ", so
 * different values conflict. Members compare as written, give or take whitespace around ";" and "=".
 */
export function conflictingDictionaryKeys(raw: string): Set<string> {
  const seen = new Map<string, string>();
  const conflicting = new Set<string>();
  for (const member of topLevelMembers(raw)) {
    const text = relaxWhitespace(member.trim());
    const key = /^[a-z*][a-z0-9_.*-]*/.exec(text)?.[0];
    if (key === undefined) continue;
    const previous = seen.get(key);
    if (previous === undefined) seen.set(key, text);
    else if (previous !== text) conflicting.add(key);
  }
  return conflicting;
}

/** Splits at the commas outside quoted strings and inner lists, in one pass. */
function topLevelMembers(raw: string): string[] {
  const members: string[] = [];
  let start = 0;
  let depth = 0;
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i];
    if (c === '"') i = quotedStringEnd(raw, i) - 1;
    else if (c === '(') depth++;
    else if (c === ')') depth = Math.max(0, depth - 1);
    else if (c === ',' && depth === 0) {
      members.push(raw.slice(start, i));
      start = i + 1;
    }
  }
  members.push(raw.slice(start));
  return members;
}

// express-rate-limit's draft-8 output has a space after each ";" (`"100-in-1min"; r=99; t=60`).
function parseStrictThenRelaxed<T>(raw: string, parse: (input: string) => T): Parsed<T> {
  try {
    return ok(parse(raw.trim()));
  } catch {
    try {
      return ok(parse(relaxWhitespace(raw.trim())));
    } catch (error) {
      return fail(`not a valid structured field: ${error instanceof Error ? error.message : 'parse error'}`);
    }
  }
}

export function parseStructuredList(raw: string): Parsed<List> {
  return parseStrictThenRelaxed(raw, parseList);
}

export function parseStructuredDictionary(raw: string): Parsed<Dictionary> {
  return parseStrictThenRelaxed(raw, parseDictionary);
}

/** List members that are items; inner lists have no meaning in these headers. */
export function listItems(list: List): Item[] {
  return list.filter((member): member is Item => !isInnerList(member));
}

export function dictionaryItem(dictionary: Dictionary, key: string): Item | undefined {
  const member: Item | InnerList | undefined = dictionary.get(key);
  return member === undefined || isInnerList(member) ? undefined : member;
}

/** A String or Token as text; null for any other bare item. */
export function bareText(value: BareItem | undefined): string | null {
  if (typeof value === 'string') return value;
  if (value instanceof Token) return value.toString();
  return null;
}

export function bareNumber(value: BareItem | undefined): number | null {
  return typeof value === 'number' ? value : null;
}

export function param(parameters: Parameters, key: string): BareItem | undefined {
  return parameters.get(key);
}

/** A non-negative number held in a structured field; null (and a warning) otherwise. */
export function structuredCount(
  ctx: ParseContext,
  header: string,
  what: string,
  value: BareItem | undefined,
): number | null {
  if (value === undefined) return null;
  const number = bareNumber(value);
  if (number === null) {
    ctx.warn(header, `${what} is not a number`);
    return null;
  }
  const checked = checkNonNegativeNumber(number);
  if (checked.ok) return checked.value;
  ctx.warn(header, `${what}: ${checked.reason}`, String(number));
  return null;
}

/** A policy window `w`: seconds, and non-zero (draft -11). */
export function structuredWindow(ctx: ParseContext, header: string, what: string, value: BareItem | undefined): number | null {
  const seconds = structuredCount(ctx, header, what, value);
  if (seconds === 0) {
    ctx.warn(header, `${what} is 0; a window must be non-zero`);
    return null;
  }
  return seconds;
}

/** A delay in seconds held in a structured field (draft -8 `t`). */
export function structuredDelay(ctx: ParseContext, header: string, what: string, value: BareItem | undefined): number | null {
  const seconds = structuredCount(ctx, header, what, value);
  if (seconds === null) return null;
  const checked = checkDelaySeconds(seconds);
  if (checked.ok) return roundSeconds(checked.value);
  ctx.warn(header, `${what}: ${checked.reason}`, String(seconds));
  return null;
}
