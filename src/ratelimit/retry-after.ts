// Retry-After (RFC 9110 §10.2.3: delay-seconds or HTTP-date) and the millisecond variants
// retry-after-ms (OpenAI, Azure OpenAI) and x-ms-retry-after-ms (Azure SDK core).

import type { ParseContext } from './context.js';
import { checkDelaySeconds, parseDate, parseNonNegativeNumber, roundSeconds } from './values.js';

const RETRY_AFTER = 'retry-after';
const MILLISECOND_HEADERS = ['retry-after-ms', 'x-ms-retry-after-ms'];
const AGREEMENT_TOLERANCE_SECONDS = 1; // Retry-After has whole-second resolution

// retry-after-ms, then x-ms-retry-after-ms, then retry-after, as the Azure SDK and openai-node
// check them; the millisecond value is the more precise when they agree (within Retry-After's whole
// second). When they disagree the LATER one wins, with a warning: the tool promises never to retest
// sooner than the server asked, by any of its headers (a 0 ms next to a non-zero Retry-After too).
export function readRetryAfter(ctx: ParseContext): number | null {
  const milliseconds = firstMillisecondValue(ctx);
  const seconds = readRetryAfterHeader(ctx);
  if (milliseconds === null) return seconds;
  if (seconds === null) return milliseconds.seconds;
  if (Math.abs(milliseconds.seconds - seconds) < AGREEMENT_TOLERANCE_SECONDS && !(milliseconds.seconds === 0 && seconds > 0)) {
    return milliseconds.seconds;
  }
  const later = Math.max(milliseconds.seconds, seconds);
  ctx.warn(
    milliseconds.header,
    `${milliseconds.seconds} s disagrees with retry-after (${seconds} s); using the later, ${later === seconds ? 'retry-after' : milliseconds.header}`,
  );
  return later;
}

function firstMillisecondValue(ctx: ParseContext): { header: string; seconds: number } | null {
  let first: { header: string; seconds: number } | null = null;
  for (const header of MILLISECOND_HEADERS) {
    const seconds = readMilliseconds(ctx, header);
    if (seconds !== null && first === null) first = { header, seconds };
  }
  return first;
}

function readMilliseconds(ctx: ParseContext, header: string): number | null {
  const raw = ctx.get(header);
  if (raw === undefined) return null;
  const parsed = parseNonNegativeNumber(raw);
  const seconds = ctx.accept(header, raw, parsed.ok ? checkDelaySeconds(parsed.value / 1000) : parsed);
  return seconds === null ? null : roundSeconds(seconds);
}

/** delay-seconds (decimals tolerated, as the SDKs' parseFloat does) or an HTTP-date. */
function readRetryAfterHeader(ctx: ParseContext): number | null {
  const raw = ctx.get(RETRY_AFTER);
  if (raw === undefined) return null;
  if (/[a-z:]/i.test(raw)) {
    const epochMs = ctx.accept(RETRY_AFTER, raw, parseDate(raw, ctx.receivedAt));
    return epochMs === null ? null : ctx.secondsUntil(epochMs, RETRY_AFTER, raw);
  }
  const parsed = parseNonNegativeNumber(raw);
  const seconds = ctx.accept(RETRY_AFTER, raw, parsed.ok ? checkDelaySeconds(parsed.value) : parsed);
  return seconds === null ? null : roundSeconds(seconds);
}
