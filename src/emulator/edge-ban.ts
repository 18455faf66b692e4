// The edge in front of Chutes (nginx behind Google's load balancer) as a penalty box: it admits
// `limit` requests per sliding `windowMs`; a request over that, or any request during a ban, is a
// violation and (re)starts a ban of baseMs × growth^(violations − 1), capped at maxMs (facts:
// "Edge bans escalate": 60/minute per load balancer, the ban grows with the violations up to a day).
// Pure like limiters.ts: every method takes the time from the caller, so tests drive it on a
// settable clock. Violations are never forgiven here: each later ban starts where the last one left.

import { SlidingWindowLimiter } from './limiters.js';

export interface EdgeBanConfig {
  /** Requests the edge admits per window. */
  limit: number;
  windowMs: number;
  /** The first ban. */
  baseMs: number;
  /** Each further violation multiplies the ban by this (≥ 1). */
  growth: number;
  /** The longest ban (Chutes: a day). */
  maxMs: number;
}

/** The Chutes profile (mock's default with --headers chutes): 60 per minute, 3 s doubling up to a day. */
export const CHUTES_EDGE_BAN: Readonly<EdgeBanConfig> = {
  limit: 60,
  windowMs: 60_000,
  baseMs: 3_000,
  growth: 2,
  maxMs: 86_400_000,
};

export interface EdgeDecision {
  allowed: boolean;
  /** When refused: the ban this request (re)started, in ms; 0 when allowed. */
  banMs: number;
}

/** What stats() shows: the violations so far (= requests the edge refused) and, while banned, until when. */
export interface EdgeBanState {
  violations: number;
  /** ms (the emulator's clock) when the current ban ends; null when no ban is running. */
  bannedUntil: number | null;
}

/** The ban after `violations` violations: base × growth^(violations − 1), capped; 0 for none. */
export function banDurationMs(config: EdgeBanConfig, violations: number): number {
  if (violations < 1) return 0;
  // growth ** n overflows to Infinity long before any cap matters: min() still gives the cap.
  return Math.min(config.maxMs, Math.round(config.baseMs * config.growth ** (violations - 1)));
}

/** Checks a config (a RangeError names the first bad field) and returns it. */
export function checkEdgeBanConfig(config: EdgeBanConfig): EdgeBanConfig {
  const positiveInteger = (name: keyof EdgeBanConfig): void => {
    const value = config[name];
    if (!Number.isInteger(value) || value < 1) throw new RangeError(`edgeBan.${name} must be a positive integer, got ${value}`);
  };
  positiveInteger('limit');
  positiveInteger('windowMs');
  positiveInteger('baseMs');
  positiveInteger('maxMs');
  if (!(config.growth >= 1 && config.growth < Infinity)) {
    throw new RangeError(`edgeBan.growth must be a number >= 1, got ${config.growth}`);
  }
  if (config.maxMs < config.baseMs) {
    throw new RangeError(`edgeBan.maxMs (${config.maxMs}) must be at least baseMs (${config.baseMs})`);
  }
  return config;
}

export class EdgeBan {
  private readonly window: SlidingWindowLimiter;
  private violations = 0;
  private bannedUntil = Number.NEGATIVE_INFINITY;

  constructor(readonly config: EdgeBanConfig) {
    checkEdgeBanConfig(config);
    this.window = new SlidingWindowLimiter(config.limit, config.windowMs);
  }

  /** One request arrives at `now`: admitted (and counted in the window) or refused as a violation. */
  admit(now: number): EdgeDecision {
    // During a ban the window is not consulted: the request is refused and re-arms the ban.
    if (now >= this.bannedUntil && this.window.tryAcquire(now).allowed) return { allowed: true, banMs: 0 };
    this.violations += 1;
    const banMs = banDurationMs(this.config, this.violations);
    this.bannedUntil = now + banMs;
    return { allowed: false, banMs };
  }

  state(now: number): EdgeBanState {
    return {
      violations: this.violations,
      bannedUntil: now < this.bannedUntil ? this.bannedUntil : null,
    };
  }
}
