// Pure value parsers shared by every dialect. Each returns a Parsed<T>: a value, or a
// short human reason the caller turns into a warning that names the header.

export type Parsed<T> = { ok: true; value: T } | { ok: false; reason: string };

export const TEN_YEARS_SECONDS = 10 * 365.25 * 86_400;
/** The largest |epoch ms| a JavaScript Date holds (ECMA-262 §21.4.1.1); beyond it dates are NaN. */
export const MAX_DATE_MS = 8.64e15;

const EPOCH_SECONDS_MIN = 1_000_000_000;
const EPOCH_MILLISECONDS_MIN = 1e12;
const UNSIGNED_DECIMAL = /^[0-9]+(\.[0-9]+)?$/;

export function ok<T>(value: T): Parsed<T> {
  return { ok: true, value };
}

export function fail<T>(reason: string): Parsed<T> {
  return { ok: false, reason };
}

/** Whether an epoch-ms instant is one a Date can hold (so date arithmetic on it gives no NaN). */
export function isDateInRange(epochMs: number): boolean {
  return Number.isFinite(epochMs) && Math.abs(epochMs) <= MAX_DATE_MS;
}

/** Rounds to millisecond precision; keeps -0 out of the output. */
export function roundSeconds(seconds: number): number {
  return Math.round(seconds * 1000) / 1000 + 0;
}

/**
 * A header sent several times arrives joined with ", ". Identical repeats collapse to one
 * value ("5, 5" → "5", and a repeated HTTP-date, which itself contains ", ", survives);
 * different repeats are returned unchanged, for the value parser to reject.
 */
export function collapseRepeats(raw: string): string {
  const trimmed = raw.trim();
  const parts = trimmed.split(',').map((part) => part.trim()); // not /\s*,\s*/: quadratic on long blank runs
  for (let chunkSize = 1; chunkSize < parts.length; chunkSize++) {
    if (parts.length % chunkSize !== 0) continue;
    const chunk = parts.slice(0, chunkSize);
    const repeats = parts.every((part, index) => part === chunk[index % chunkSize]);
    if (repeats) return chunk.join(', ');
  }
  return trimmed;
}

function describeNonNumber(text: string): string {
  if (text === '') return 'empty value';
  if (text.includes(',')) return 'conflicting duplicate values';
  if (/^-\s*[0-9.]/.test(text)) return 'negative value';
  return 'not a non-negative number';
}

/** A plain non-negative decimal ("60", "598.0"): no sign, exponent, hex or non-ASCII digits. */
export function parseNonNegativeNumber(raw: string): Parsed<number> {
  const text = collapseRepeats(raw);
  if (!UNSIGNED_DECIMAL.test(text)) return fail(describeNonNumber(text));
  const value = Number(text);
  if (!Number.isFinite(value) || value > Number.MAX_SAFE_INTEGER) {
    return fail('exceeds Number.MAX_SAFE_INTEGER');
  }
  return ok(value);
}

/** Validates a number that came from a structured field or arithmetic. */
export function checkNonNegativeNumber(value: number): Parsed<number> {
  if (!Number.isFinite(value)) return fail('not a finite number');
  if (value < 0) return fail('negative value');
  if (value > Number.MAX_SAFE_INTEGER) return fail('exceeds Number.MAX_SAFE_INTEGER');
  return ok(value);
}

/** A delay in seconds that must be under ten years to be believable. */
export function checkDelaySeconds(seconds: number): Parsed<number> {
  const checked = checkNonNegativeNumber(seconds);
  if (!checked.ok) return checked;
  if (checked.value > TEN_YEARS_SECONDS) return fail('reset more than 10 years away');
  return checked;
}

const GO_DURATION_UNITS: Record<string, number> = {
  h: 3600,
  m: 60,
  s: 1,
  ms: 1e-3,
  us: 1e-6,
  'µs': 1e-6, // U+00B5 micro sign, as Go prints it
  'μs': 1e-6, // U+03BC Greek mu, which Go also accepts
  ns: 1e-9,
};
const GO_DURATION = /^(?:(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:h|ms|m|s|us|µs|μs|ns))+$/;
const GO_DURATION_TERM = /([0-9]+(?:\.[0-9]*)?|\.[0-9]+)(h|ms|m|s|us|µs|μs|ns)/g;

/** Go's time.Duration.String() form ("6m0s", "2m59.56s", "12ms", "500µs"); a bare number is seconds. */
export function parseGoDuration(raw: string): Parsed<number> {
  const text = collapseRepeats(raw);
  if (UNSIGNED_DECIMAL.test(text)) return checkDelaySeconds(Number(text));
  if (!GO_DURATION.test(text)) return fail(describeNonDuration(text));
  let seconds = 0;
  for (const match of text.matchAll(GO_DURATION_TERM)) {
    seconds += Number(match[1]) * (GO_DURATION_UNITS[match[2] ?? ''] ?? Number.NaN);
  }
  return checkDelaySeconds(seconds);
}

function describeNonDuration(text: string): string {
  if (text === '') return 'empty value';
  if (text.includes(',')) return 'conflicting duplicate values';
  if (text.startsWith('-')) return 'negative value';
  return 'not a duration such as 6m0s';
}

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];
const IMF_FIXDATE =
  /^(?:mon|tue|wed|thu|fri|sat|sun), ([0-9]{2}) ([a-z]{3}) ([0-9]{4}) ([0-9]{2}):([0-9]{2}):([0-9]{2}) (?:gmt|utc)$/i;
const RFC_850_DATE =
  /^(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday), ([0-9]{2})-([a-z]{3})-([0-9]{2}) ([0-9]{2}):([0-9]{2}):([0-9]{2}) gmt$/i;
const ASCTIME_DATE =
  /^(?:mon|tue|wed|thu|fri|sat|sun) ([a-z]{3}) ([ 0-9][0-9]) ([0-9]{2}):([0-9]{2}):([0-9]{2}) ([0-9]{4})$/i;
const RFC_3339 =
  /^([0-9]{4})-([0-9]{2})-([0-9]{2})[t ]([0-9]{2}):([0-9]{2}):([0-9]{2})(\.[0-9]+)?(z|[+-][0-9]{2}:[0-9]{2})$/i;

interface DateFields {
  year: number;
  month: string | number;
  day: number;
  hour: number;
  minute: number;
  second: number;
}

/** Builds a UTC instant and rejects fields that Date.UTC would silently roll over. */
function utcFromFields(fields: DateFields): number | null {
  const monthIndex =
    typeof fields.month === 'number' ? fields.month - 1 : MONTHS.indexOf(fields.month.toLowerCase());
  if (monthIndex < 0 || monthIndex > 11) return null;
  const ms = Date.UTC(fields.year, monthIndex, fields.day, fields.hour, fields.minute, fields.second);
  const date = new Date(ms);
  const roundTrips =
    date.getUTCFullYear() === fields.year &&
    date.getUTCMonth() === monthIndex &&
    date.getUTCDate() === fields.day &&
    date.getUTCHours() === fields.hour &&
    date.getUTCMinutes() === fields.minute &&
    date.getUTCSeconds() === fields.second;
  return roundTrips ? ms : null;
}

// RFC 9110 §5.6.7: a two-digit RFC 850 year more than 50 years ahead belongs to the past century.
function expandTwoDigitYear(twoDigits: number, referenceMs: number): number {
  const referenceYear = new Date(referenceMs).getUTCFullYear();
  const candidate = Math.floor(referenceYear / 100) * 100 + twoDigits;
  return candidate > referenceYear + 50 ? candidate - 100 : candidate;
}

/** HTTP-date (RFC 9110): IMF-fixdate, RFC 850 or asctime. Returns epoch milliseconds. */
export function parseHttpDate(raw: string, referenceMs: number): number | null {
  const text = raw.trim();
  let m = IMF_FIXDATE.exec(text);
  if (m) {
    return utcFromFields({ day: +m[1]!, month: m[2]!, year: +m[3]!, hour: +m[4]!, minute: +m[5]!, second: +m[6]! });
  }
  m = RFC_850_DATE.exec(text);
  if (m) {
    const year = expandTwoDigitYear(+m[3]!, referenceMs);
    return utcFromFields({ day: +m[1]!, month: m[2]!, year, hour: +m[4]!, minute: +m[5]!, second: +m[6]! });
  }
  m = ASCTIME_DATE.exec(text);
  if (m) {
    return utcFromFields({ month: m[1]!, day: +m[2]!.trim(), hour: +m[3]!, minute: +m[4]!, second: +m[5]!, year: +m[6]! });
  }
  return null;
}

/** RFC 3339 date-time with a mandatory offset. Returns epoch milliseconds. */
export function parseRfc3339(raw: string): number | null {
  const m = RFC_3339.exec(raw.trim());
  if (!m) return null;
  const base = utcFromFields({ year: +m[1]!, month: +m[2]!, day: +m[3]!, hour: +m[4]!, minute: +m[5]!, second: +m[6]! });
  if (base === null) return null;
  const fractionMs = m[7] ? Number(m[7]) * 1000 : 0;
  return base + fractionMs - offsetMinutes(m[8]!) * 60_000;
}

function offsetMinutes(offset: string): number {
  if (offset.toLowerCase() === 'z') return 0;
  const sign = offset.startsWith('-') ? -1 : 1;
  const [hours, minutes] = offset.slice(1).split(':').map(Number);
  return sign * ((hours ?? 0) * 60 + (minutes ?? 0));
}

/** HTTP-date or RFC 3339, whichever fits. Returns epoch milliseconds. */
export function parseDate(raw: string, referenceMs: number): Parsed<number> {
  const text = collapseRepeats(raw);
  const ms = parseRfc3339(text) ?? parseHttpDate(text, referenceMs);
  if (ms !== null) return ok(ms);
  return fail(hasExtraCommas(text) ? 'conflicting duplicate values' : 'neither a number nor a valid date');
}

/** An HTTP-date has at most the one comma after its weekday; more means joined duplicates. */
function hasExtraCommas(text: string): boolean {
  const commas = text.split(',').length - 1;
  const weekdayCommas = /^[a-z]+,/i.test(text) ? 1 : 0;
  return commas > weekdayCommas;
}

/** A reset value read through the heuristic below: either a delay or an absolute instant. */
export type ResetValue = { kind: 'delay'; seconds: number } | { kind: 'instant'; epochMs: number };

// Reset-value interpretation rule: a value with letters or colons is a date (HTTP-date or
// RFC 3339); a number > 1e12 is epoch milliseconds (OpenRouter); a number ≥ 1e9 is epoch
// seconds (GitHub, express-rate-limit, GitLab); anything else is seconds from now (fastify).
export function interpretResetValue(raw: string, referenceMs: number): Parsed<ResetValue> {
  const text = collapseRepeats(raw);
  if (/[a-z:]/i.test(text)) {
    const date = parseDate(text, referenceMs);
    return date.ok ? ok({ kind: 'instant', epochMs: date.value }) : date;
  }
  const parsed = parseNonNegativeNumber(text);
  if (!parsed.ok) return parsed;
  return interpretResetNumber(parsed.value);
}

/** The numeric half of the rule above, for values already parsed as numbers. */
export function interpretResetNumber(value: number): Parsed<ResetValue> {
  const checked = checkNonNegativeNumber(value);
  if (!checked.ok) return checked;
  if (value > EPOCH_MILLISECONDS_MIN) return ok({ kind: 'instant', epochMs: value });
  if (value >= EPOCH_SECONDS_MIN) return ok({ kind: 'instant', epochMs: value * 1000 });
  return ok({ kind: 'delay', seconds: value });
}

/** Shows a raw header value in a warning: quoted, control characters escaped, truncated. */
export function showRaw(raw: string): string {
  const shortened = raw.length > 60 ? `${raw.slice(0, 57)}...` : raw;
  return JSON.stringify(shortened);
}
