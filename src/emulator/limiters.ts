// Pure rate limiters for the emulator. Every method takes the current time in ms from the caller,
// so nothing here reads a clock or sets a timer, and tests drive them on simulated time.
// Common rule: a rejected request does NOT consume allowance (it is neither counted nor logged), except in
// PenaltyBoxLimiter, RestartingWindowLimiter and BlockingWindowLimiter, whose point is that it does.

export type RateAlgorithm = 'fixed-window' | 'sliding-window' | 'token-bucket';

/** The outcome of one attempt, and the state a rate-limit header would describe. */
export interface LimitDecision {
  allowed: boolean;
  limit: number;
  remaining: number;
  /** ms until the policy resets (meaning depends on the algorithm, see each class). */
  resetMs: number;
  /** When rejected: ms until a request would be allowed; 0 when allowed. */
  retryAfterMs: number;
  windowMs: number;
}

export interface RateLimiter {
  readonly algorithm: RateAlgorithm;
  readonly limit: number;
  readonly windowMs: number;
  /** Try to spend one unit of allowance at `now` (ms). */
  tryAcquire(now: number): LimitDecision;
  /** The state at `now` without spending anything (for responses that never reached the limiter). */
  peek(now: number): LimitDecision;
}

export interface RateLimiterConfig {
  algorithm: RateAlgorithm;
  limit: number;
  windowMs: number;
  /** Token bucket capacity; defaults to `limit`. Ignored by the window algorithms. */
  burst?: number;
  /** Where a fixed window's boundaries lie (default 'clock'). */
  anchor?: WindowAnchor;
}

function assertPositiveInteger(name: string, value: number): void {
  if (!Number.isInteger(value) || value < 1) {
    throw new RangeError(`${name} must be a positive integer, got ${value}`);
  }
}

function decision(
  allowed: boolean,
  limiter: { limit: number; windowMs: number },
  remaining: number,
  resetMs: number,
  retryAfterMs: number,
): LimitDecision {
  return {
    allowed,
    limit: limiter.limit,
    remaining,
    resetMs,
    retryAfterMs: allowed ? 0 : retryAfterMs,
    windowMs: limiter.windowMs,
  };
}

/** A limiter of `limit` requests per `windowMs`: both checked once, here. */
abstract class SizedLimiter {
  constructor(
    readonly limit: number,
    readonly windowMs: number,
  ) {
    assertPositiveInteger('limit', limit);
    assertPositiveInteger('windowMs', windowMs);
  }
}

/**
 * The two window algorithms share one rule: count the accepted requests still in the window and admit while
 * the count is under the limit; a rejected request would be allowed once the count next drops (= resetMs).
 */
abstract class CountingLimiter extends SizedLimiter implements RateLimiter {
  abstract readonly algorithm: RateAlgorithm;

  tryAcquire(now: number): LimitDecision {
    this.forgetExpired(now);
    const allowed = this.count() < this.limit;
    if (allowed) this.record(now);
    return this.describe(now, allowed);
  }

  peek(now: number): LimitDecision {
    this.forgetExpired(now);
    return this.describe(now, true);
  }

  /** Drop what has left the window at `now`. */
  protected abstract forgetExpired(now: number): void;
  protected abstract count(): number;
  protected abstract record(now: number): void;
  protected abstract resetMs(now: number): number;

  private describe(now: number, allowed: boolean): LimitDecision {
    const resetMs = this.resetMs(now);
    return decision(allowed, this, this.limit - this.count(), resetMs, resetMs);
  }
}

/**
 * Where a fixed window's boundaries lie: 'clock' at multiples of windowMs since the Unix epoch (a key
 * such as `user:floor(now / 60 s)`); 'first-request' one window after the request that found no window
 * running (express-rate-limit's and @fastify/rate-limit's memory stores, rate-limiter-flexible, Redis
 * INCR + EXPIRE); a number: multiples of windowMs from that offset (a reset timer started with the server).
 */
export type WindowAnchor = 'clock' | 'first-request' | number;

/** Fixed window: by default aligned to multiples of windowMs since the Unix epoch (see WindowAnchor); resetMs = time to the window's end. */
export class FixedWindowLimiter extends CountingLimiter {
  readonly algorithm = 'fixed-window';
  private windowStart = Number.NEGATIVE_INFINITY;
  private accepted = 0;

  constructor(
    limit: number,
    windowMs: number,
    readonly anchor: WindowAnchor = 'clock',
  ) {
    super(limit, windowMs);
  }

  protected forgetExpired(now: number): void {
    if (this.anchor === 'first-request') {
      if (now >= this.windowStart + this.windowMs) {
        this.windowStart = now;
        this.accepted = 0;
      }
      return;
    }
    // Aligned to the epoch, so the client's first request usually lands mid-window, as on real servers.
    const offset = this.anchor === 'clock' ? 0 : this.anchor;
    const start = offset + Math.floor((now - offset) / this.windowMs) * this.windowMs;
    if (start !== this.windowStart) {
      this.windowStart = start;
      this.accepted = 0;
    }
  }

  protected count(): number {
    return this.accepted;
  }

  protected record(): void {
    this.accepted += 1;
  }

  protected resetMs(now: number): number {
    return this.windowStart + this.windowMs - now;
  }
}

/** Sliding log: accepted request times in the last windowMs; resetMs/retryAfterMs = time until the oldest leaves. */
export class SlidingWindowLimiter extends CountingLimiter {
  readonly algorithm = 'sliding-window';
  /** Accepted request times, oldest first. */
  private readonly log: number[] = [];

  /** A request logged at t counts while now < t + windowMs. */
  protected forgetExpired(now: number): void {
    while (this.log.length > 0 && (this.log[0] as number) + this.windowMs <= now) this.log.shift();
  }

  protected count(): number {
    return this.log.length;
  }

  protected record(now: number): void {
    this.log.push(now);
  }

  protected resetMs(now: number): number {
    const oldest = this.log[0];
    return oldest === undefined ? 0 : oldest + this.windowMs - now;
  }
}

/**
 * Token bucket: capacity = burst (default limit), continuous refill of `limit` tokens per windowMs, starts full;
 * remaining = floor(tokens), retryAfterMs = time until one token, resetMs = time until full.
 */
export class TokenBucketLimiter implements RateLimiter {
  readonly algorithm = 'token-bucket';
  readonly burst: number;
  // Tokens are kept scaled by windowMs (one token = windowMs units, refill = limit units per ms),
  // so integer-ms clocks give exact integer arithmetic with no floating-point drift.
  private units: number;
  private lastRefill: number | null = null;

  constructor(
    readonly limit: number,
    readonly windowMs: number,
    burst: number = limit,
  ) {
    assertPositiveInteger('limit', limit);
    assertPositiveInteger('windowMs', windowMs);
    assertPositiveInteger('burst', burst);
    this.burst = burst;
    this.units = this.capacityUnits;
  }

  tryAcquire(now: number): LimitDecision {
    this.refill(now);
    const allowed = this.units >= this.windowMs;
    if (allowed) this.units -= this.windowMs;
    return this.describe(allowed);
  }

  peek(now: number): LimitDecision {
    this.refill(now);
    return this.describe(true);
  }

  private get capacityUnits(): number {
    return this.burst * this.windowMs;
  }

  private refill(now: number): void {
    // A clock that steps backwards adds nothing rather than draining the bucket.
    const elapsed = this.lastRefill === null ? 0 : Math.max(0, now - this.lastRefill);
    this.units = Math.min(this.capacityUnits, this.units + elapsed * this.limit);
    this.lastRefill = this.lastRefill === null ? now : Math.max(this.lastRefill, now);
  }

  private describe(allowed: boolean): LimitDecision {
    const remaining = Math.floor(this.units / this.windowMs);
    const resetMs = Math.ceil((this.capacityUnits - this.units) / this.limit);
    const retryAfterMs = Math.ceil(Math.max(0, this.windowMs - this.units) / this.limit);
    return decision(allowed, this, remaining, resetMs, retryAfterMs);
  }
}

/**
 * nginx `limit_req zone=… rate=R burst=B nodelay` (ngx_http_limit_req_module): a leaky bucket whose
 * excess drains at R and may reach B; with nodelay the excess is served at once, so up to B + 1 requests
 * pass back to back and then one per 1/R. That is a token bucket of B + 1 refilled at R (a refused
 * request changes nothing: nginx keeps the node's excess and time only when it admits). nginx answers
 * 503 unless `limit_req_status 429`.
 */
export function createNginxLimitReq(config: { perMinute: number; burst: number }): TokenBucketLimiter {
  assertPositiveInteger('perMinute', config.perMinute);
  if (!Number.isInteger(config.burst) || config.burst < 0) throw new RangeError(`burst must be a non-negative integer, got ${config.burst}`);
  return new TokenBucketLimiter(config.perMinute, 60_000, config.burst + 1);
}

/**
 * A penalty box (HAProxy's `sc_http_req_rate` deny rules, fail2ban-style proxies): every request counts
 * against the limit, the refused ones too, in a sliding window of windowMs. A client that keeps retrying
 * while refused keeps itself refused; one that paces at the limit is never refused. The decision's
 * resetMs/retryAfterMs is the time until the oldest logged request leaves (as a sliding log states it).
 */
export class PenaltyBoxLimiter extends SizedLimiter implements RateLimiter {
  readonly algorithm = 'sliding-window';
  /** Every request's time, accepted or not, oldest first. */
  private readonly log: number[] = [];

  tryAcquire(now: number): LimitDecision {
    this.forget(now);
    const allowed = this.log.length < this.limit;
    this.log.push(now);
    return this.describe(now, allowed);
  }

  peek(now: number): LimitDecision {
    this.forget(now);
    return this.describe(now, true);
  }

  private forget(now: number): void {
    while (this.log.length > 0 && (this.log[0] as number) + this.windowMs <= now) this.log.shift();
  }

  private describe(now: number, allowed: boolean): LimitDecision {
    // The request just refused is logged too: allowance comes back once enough of the log has left.
    const excess = this.log.length - this.limit;
    const freeAt = excess < 0 ? now : (this.log[excess] as number) + this.windowMs;
    const resetMs = Math.max(0, freeAt - now);
    return decision(allowed, this, Math.max(0, this.limit - this.log.length), resetMs, resetMs);
  }
}

/**
 * A fixed window restarted by every request over the limit (@fastify/rate-limit's LocalStore with
 * `continueExceeding: true`): a window of windowMs begins at the first request after the last one ended and
 * counts every request; a request past the limit is refused and restarts the window at its own time, so a
 * client that retries sooner than windowMs after its last refusal is refused for ever.
 */
export class RestartingWindowLimiter extends SizedLimiter implements RateLimiter {
  readonly algorithm = 'fixed-window';
  private start = -Infinity;
  private count = 0;

  tryAcquire(now: number): LimitDecision {
    this.expire(now);
    this.count += 1;
    const allowed = this.count <= this.limit;
    if (!allowed) this.start = now;
    return this.describe(now, allowed);
  }

  peek(now: number): LimitDecision {
    if (now >= this.start + this.windowMs) return decision(true, this, this.limit, this.windowMs, 0);
    return this.describe(now, true);
  }

  private expire(now: number): void {
    if (now >= this.start + this.windowMs) {
      this.start = now;
      this.count = 0;
    }
  }

  private describe(now: number, allowed: boolean): LimitDecision {
    const resetMs = Math.max(0, this.start + this.windowMs - now);
    return decision(allowed, this, Math.max(0, this.limit - this.count), resetMs, resetMs);
  }
}

/**
 * A fixed window with a block (rate-limiter-flexible's RateLimiterMemory with `blockDuration`): a window of
 * windowMs begins at the first request after the last one (or the block) ended; the first request past the
 * limit blocks the client for blockMs from its own time (refusals during the block do not extend it), and the
 * next request after the block begins a new window.
 */
export class BlockingWindowLimiter extends SizedLimiter implements RateLimiter {
  readonly algorithm = 'fixed-window';
  private expiresAt = -Infinity;
  private count = 0;

  constructor(
    limit: number,
    windowMs: number,
    readonly blockMs: number,
  ) {
    super(limit, windowMs);
    assertPositiveInteger('blockMs', blockMs);
  }

  tryAcquire(now: number): LimitDecision {
    this.expire(now);
    this.count += 1;
    const allowed = this.count <= this.limit;
    if (this.count === this.limit + 1) this.expiresAt = now + this.blockMs;
    return this.describe(now, allowed);
  }

  peek(now: number): LimitDecision {
    if (now >= this.expiresAt) return decision(true, this, this.limit, this.windowMs, 0);
    return this.describe(now, true);
  }

  private expire(now: number): void {
    if (now >= this.expiresAt) {
      this.expiresAt = now + this.windowMs;
      this.count = 0;
    }
  }

  private describe(now: number, allowed: boolean): LimitDecision {
    const resetMs = Math.max(0, this.expiresAt - now);
    return decision(allowed, this, Math.max(0, this.limit - this.count), resetMs, resetMs);
  }
}

export function createRateLimiter(config: RateLimiterConfig): RateLimiter {
  switch (config.algorithm) {
    case 'fixed-window':
      return new FixedWindowLimiter(config.limit, config.windowMs, config.anchor ?? 'clock');
    case 'sliding-window':
      return new SlidingWindowLimiter(config.limit, config.windowMs);
    case 'token-bucket':
      return new TokenBucketLimiter(config.limit, config.windowMs, config.burst ?? config.limit);
  }
}

/** Concurrency gate: at most `limit` holders at once; enter() refuses beyond that, leave() frees a slot. */
export class ConcurrencyGate {
  private held = 0;

  constructor(readonly limit: number) {
    assertPositiveInteger('concurrency limit', limit);
  }

  get inFlight(): number {
    return this.held;
  }

  enter(): boolean {
    if (this.held >= this.limit) return false;
    this.held += 1;
    return true;
  }

  leave(): void {
    if (this.held > 0) this.held -= 1;
  }
}
