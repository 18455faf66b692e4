// The accounts the emulator knows: one per valid key, made on first use, each with its own rate
// limiter, concurrency gate and daily quota counter. Shared by both listeners.

import { randomUUID } from 'node:crypto';
import { ConcurrencyGate, createRateLimiter, type RateLimiter } from './limiters.js';
import type { Settings } from './settings.js';

const DAY_MS = 86_400_000;

export interface Account {
  userId: string;
  createdAt: number;
  limiter: RateLimiter | null;
  gate: ConcurrencyGate | null;
  quotaDay: number;
  quotaUsed: number;
}

export class Accounts {
  private readonly byToken = new Map<string, Account>();
  private readonly startDay: number;

  constructor(private readonly settings: Settings) {
    this.startDay = Math.floor(settings.now() / DAY_MS);
  }

  /** With the apiKey option (mock --api-key) only that key is valid; otherwise any Chutes-shaped key (cpk_, cak_) is. */
  private isValidToken(token: string): boolean {
    if (this.settings.apiKey !== null) return token === this.settings.apiKey;
    return token.startsWith('cpk_') || token.startsWith('cak_');
  }

  /** The token's account, made on first use; null for a token the emulator rejects. */
  accountFor(token: string): Account | null {
    if (!this.isValidToken(token)) return null;
    let account = this.byToken.get(token);
    if (account === undefined) {
      const { rate, concurrencyLimit, quotaUsed, now } = this.settings;
      account = {
        userId: randomUUID(),
        createdAt: now(),
        limiter: rate === null ? null : createRateLimiter(rate),
        gate: concurrencyLimit === null ? null : new ConcurrencyGate(concurrencyLimit),
        quotaDay: this.startDay,
        quotaUsed,
      };
      this.byToken.set(token, account);
    }
    return account;
  }
}

/** The daily counter resets at 00:00 UTC (facts: Limits and quotas). */
export function quotaUsedToday(account: Account, now: number): number {
  const day = Math.floor(now / DAY_MS);
  if (day !== account.quotaDay) {
    account.quotaDay = day;
    account.quotaUsed = 0;
  }
  return account.quotaUsed;
}
