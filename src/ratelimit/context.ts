// The state one parse shares between dialect readers: the headers, the arrival time,
// the clock that absolute reset times are measured against, and the warnings.

import {
  checkDelaySeconds,
  interpretResetValue,
  isDateInRange,
  parseDate,
  parseHttpDate,
  parseNonNegativeNumber,
  roundSeconds,
  showRaw,
  type Parsed,
  type ResetValue,
} from './values.js';

const MAX_CLOCK_SKEW_MS = 2000;
const PAST_RESET_TOLERANCE_SECONDS = 1;

export class ParseContext {
  readonly warnings: string[] = [];
  private readonly warned = new Set<string>(); // the warnings, for a constant-time repeat check
  private clockBaseMs: number | undefined;

  constructor(
    private readonly headers: ReadonlyMap<string, string>,
    readonly receivedAt: number,
  ) {}

  get(name: string): string | undefined {
    return this.headers.get(name);
  }

  has(name: string): boolean {
    return this.headers.has(name);
  }

  /** Header names in the order they were given. */
  names(): string[] {
    return [...this.headers.keys()];
  }

  /** The distinct values of one capture group over the header names matching `pattern`, in header order. */
  distinctNameParts(pattern: RegExp, group: number, exclude: ReadonlySet<string> = new Set()): string[] {
    const parts = new Set<string>();
    for (const name of this.names()) {
      const part = pattern.exec(name)?.[group];
      if (part !== undefined && !exclude.has(part)) parts.add(part);
    }
    return [...parts];
  }

  warn(header: string, reason: string, raw?: string): void {
    const message = raw === undefined ? `${header}: ${reason}` : `${header}: ${reason} (got ${showRaw(raw)})`;
    if (this.warned.has(message)) return;
    this.warned.add(message);
    this.warnings.push(message);
  }

  /** Unwraps a Parsed value, turning a failure into a warning that names the header. */
  accept<T>(header: string, raw: string | undefined, parsed: Parsed<T>): T | null {
    if (parsed.ok) return parsed.value;
    this.warn(header, parsed.reason, raw);
    return null;
  }

  /**
   * Seconds from arrival until an absolute instant; clamped at 0, null beyond ten years, and null
   * (with a warning) when either instant lies outside the range of a Date: an out-of-range clock
   * is the caller's problem to hear about, never a NaN or a made-up 0.
   */
  secondsUntil(epochMs: number, header: string, raw?: string): number | null {
    const base = this.absoluteClockBase();
    if (!isDateInRange(base)) {
      this.warn(header, `the arrival time (${base} ms) is outside the range of a Date; the absolute reset time is ignored`, raw);
      return null;
    }
    if (!isDateInRange(epochMs)) {
      this.warn(header, 'the reset time is outside the range of a Date; ignored', raw);
      return null;
    }
    const seconds = (epochMs - base) / 1000;
    if (seconds < -PAST_RESET_TOLERANCE_SECONDS) {
      this.warn(header, `reset time is ${roundSeconds(-seconds)} s in the past; using 0`, raw);
    }
    const delay = this.accept(header, raw, checkDelaySeconds(Math.max(0, seconds)));
    return delay === null ? null : roundSeconds(delay);
  }

  /** Seconds from arrival for a reset read through the shared interpretation rule. */
  resolveReset(header: string, raw: string, parsed: Parsed<ResetValue>): number | null {
    const value = this.accept(header, raw, parsed);
    if (value === null) return null;
    if (value.kind === 'instant') return this.secondsUntil(value.epochMs, header, raw);
    const delay = this.accept(header, raw, checkDelaySeconds(value.seconds));
    return delay === null ? null : roundSeconds(delay);
  }

  /** Epoch ms that absolute times are compared with: the server's Date when our clock is skewed. */
  absoluteClockBase(): number {
    this.clockBaseMs ??= this.chooseClockBase();
    return this.clockBaseMs;
  }

  private chooseClockBase(): number {
    const raw = this.get('date');
    if (raw === undefined) return this.receivedAt;
    const serverMs = parseHttpDate(raw, this.receivedAt);
    if (serverMs === null) {
      this.warn('date', 'not a valid HTTP-date; absolute reset times use the local clock', raw);
      return this.receivedAt;
    }
    const skewMs = serverMs - this.receivedAt;
    if (Math.abs(skewMs) <= MAX_CLOCK_SKEW_MS) return this.receivedAt;
    const direction = skewMs > 0 ? 'ahead of' : 'behind';
    this.warnings.push(
      `clock skew: the server's date header is ${roundSeconds(Math.abs(skewMs) / 1000)} s ${direction} the local clock; ` +
        'absolute reset times are measured against the server date',
    );
    return serverMs;
  }
}

/** A non-negative count (limit, remaining, used); null when absent or invalid. */
export function readCount(ctx: ParseContext, header: string): number | null {
  const raw = ctx.get(header);
  if (raw === undefined) return null;
  return ctx.accept(header, raw, parseNonNegativeNumber(raw));
}

/** A reset header read through the shared interpretation rule; seconds from arrival. */
export function readReset(ctx: ParseContext, header: string): number | null {
  const raw = ctx.get(header);
  if (raw === undefined) return null;
  return ctx.resolveReset(header, raw, interpretResetValue(raw, ctx.receivedAt));
}

/** A header that is always a date (HTTP-date or RFC 3339); seconds from arrival. */
export function readDateReset(ctx: ParseContext, header: string): number | null {
  const raw = ctx.get(header);
  if (raw === undefined) return null;
  const epochMs = ctx.accept(header, raw, parseDate(raw, ctx.receivedAt));
  return epochMs === null ? null : ctx.secondsUntil(epochMs, header, raw);
}

/** A header that is always a delay in seconds (never a timestamp). */
export function readDelaySeconds(ctx: ParseContext, header: string): number | null {
  const raw = ctx.get(header);
  if (raw === undefined) return null;
  const parsed = parseNonNegativeNumber(raw);
  const delay = ctx.accept(header, raw, parsed.ok ? checkDelaySeconds(parsed.value) : parsed);
  return delay === null ? null : roundSeconds(delay);
}

/** limit − used, for dialects that send "used" instead of (or besides) "remaining". */
export function remainingFromUsed(limit: number | null, used: number | null): number | null {
  if (limit === null || used === null) return null;
  return Math.max(0, limit - used);
}

/** The headers among `candidates` that are present, in the given order. */
export function presentHeaders(ctx: ParseContext, candidates: readonly string[]): string[] {
  return candidates.filter((name) => ctx.has(name));
}
