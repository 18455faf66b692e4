// The tap's running figures, bounded whatever the traffic: exact counters (by status and verdict, by
// outcome), requests per minute from per-second buckets, the latest remaining per policy, and the most
// recent records (the final estimate reads those). Pure: every time is given.
import type { ResponseRecord } from '../types.js';

/** The final analysis reads at most this many of the latest records (memory stays flat over a day). */
export const RETAINED_RECORDS = 10_000;
/** At most this many distinct policies / label pairs are tracked (a hostile upstream cannot grow them). */
const MAX_SERIES = 200;

export interface PolicyReading {
  name: string;
  dialect: string;
  unit: string;
  limit: number | null;
  remaining: number;
}

export interface TapSnapshot {
  exchanges: number;
  inFlight: number;
  ok: number;
  rateLimited: number;
  errors: number;
  /** Exchanges completed in the last 60 s. */
  perMinute: number;
  /** 429s by verdict code. */
  limitedBy: Array<[code: string, count: number]>;
  /** Exchanges by status ("none" without a response) and verdict code. */
  byStatusVerdict: Array<{ status: string; verdict: string; count: number }>;
  refused: Array<[code: string, count: number]>;
  policies: PolicyReading[];
  latest: ResponseRecord | null;
}

export class TapStats {
  private exchanges = 0;
  private ok = 0;
  private rateLimited = 0;
  private errors = 0;
  private active = 0;
  private readonly limitedBy = new Map<string, number>();
  private readonly byStatusVerdict = new Map<string, { status: string; verdict: string; count: number }>();
  private readonly refusedBy = new Map<string, number>();
  private readonly policies = new Map<string, PolicyReading>();
  /** Completions per second over the last minute, as [second, count]. */
  private readonly seconds: Array<[number, number]> = [];
  private readonly retained: ResponseRecord[] = [];
  private retainStart = 0;
  private latest: ResponseRecord | null = null;
  private readonly verdicts = new Map<string, NonNullable<ResponseRecord['verdict']>>();

  /** A request went upstream; returns how many are in flight, this one included. */
  started(): number {
    this.active += 1;
    return this.active;
  }

  /** An exchange ended without a record (never happens today; kept symmetric for aborts). */
  abandoned(): void {
    this.active = Math.max(0, this.active - 1);
  }

  get inFlight(): number {
    return this.active;
  }

  get total(): number {
    return this.exchanges;
  }

  refused(code: string): void {
    this.refusedBy.set(code, (this.refusedBy.get(code) ?? 0) + 1);
  }

  /** An exchange completed at `nowMs` with this record. */
  completed(record: ResponseRecord, nowMs: number): void {
    this.active = Math.max(0, this.active - 1);
    this.exchanges += 1;
    if (record.outcome === 'ok') this.ok += 1;
    else if (record.outcome === 'rate_limited') this.rateLimited += 1;
    else this.errors += 1;
    const verdict = record.verdict?.code ?? 'none';
    if (record.status === 429) this.limitedBy.set(verdict, (this.limitedBy.get(verdict) ?? 0) + 1);
    const status = record.status === null ? 'none' : String(record.status);
    const key = `${status} ${verdict}`;
    const row = this.byStatusVerdict.get(key);
    if (row) row.count += 1;
    else if (this.byStatusVerdict.size < MAX_SERIES) this.byStatusVerdict.set(key, { status, verdict, count: 1 });
    for (const p of record.rateLimit.policies) {
      if (p.remaining === null) continue;
      const id = `${p.dialect}\u0000${p.name}`;
      if (this.policies.has(id) || this.policies.size < MAX_SERIES) {
        this.policies.set(id, { name: p.name, dialect: p.dialect, unit: p.unit, limit: p.limit, remaining: p.remaining });
      }
    }
    const second = Math.floor(nowMs / 1000);
    const last = this.seconds.at(-1);
    if (last && last[0] === second) last[1] += 1;
    else this.seconds.push([second, 1]);
    this.pruneSeconds(nowMs);
    // A ring of slim records: what the analysis and the recommendation read (times, status, policies, the
    // verdict, shared per code; of the headers only Retry-After and which X-Chutes-* came, value dropped),
    // not the body the --out file already has. The oldest is overwritten once full.
    const slim: ResponseRecord = { ...record, headers: slimHeaders(record.headers), body: null, verdict: this.intern(record.verdict) };
    if (this.retained.length < RETAINED_RECORDS) this.retained.push(slim);
    else {
      this.retained[this.retainStart] = slim;
      this.retainStart = (this.retainStart + 1) % RETAINED_RECORDS;
    }
    this.latest = record;
  }

  /** One verdict object per code (the first one's words), so the retained records do not each hold a copy. */
  private intern(verdict: ResponseRecord['verdict']): ResponseRecord['verdict'] {
    if (verdict === null) return null;
    const known = this.verdicts.get(verdict.code);
    if (known) return known;
    if (this.verdicts.size < MAX_SERIES) this.verdicts.set(verdict.code, verdict);
    return verdict;
  }

  private pruneSeconds(nowMs: number): void {
    const oldest = Math.floor(nowMs / 1000) - 59;
    while (this.seconds.length > 0 && (this.seconds[0] as [number, number])[0] < oldest) this.seconds.shift();
  }

  /** The latest records, oldest first (all of them while fewer than RETAINED_RECORDS). */
  records(): ResponseRecord[] {
    return [...this.retained.slice(this.retainStart), ...this.retained.slice(0, this.retainStart)];
  }

  counts(): { exchanges: number; ok: number; rateLimited: number; errors: number } {
    return { exchanges: this.exchanges, ok: this.ok, rateLimited: this.rateLimited, errors: this.errors };
  }

  snapshot(nowMs: number): TapSnapshot {
    this.pruneSeconds(nowMs);
    return {
      exchanges: this.exchanges,
      inFlight: this.active,
      ok: this.ok,
      rateLimited: this.rateLimited,
      errors: this.errors,
      perMinute: this.seconds.reduce((n, [, c]) => n + c, 0),
      limitedBy: [...this.limitedBy.entries()].sort((a, b) => b[1] - a[1]),
      byStatusVerdict: [...this.byStatusVerdict.values()],
      refused: [...this.refusedBy.entries()],
      policies: [...this.policies.values()],
      latest: this.latest,
    };
  }
}

/** The headers a slim record keeps: Retry-After (both forms) as sent, X-Chutes-* by name only (recommend/context.ts reads them). */
function slimHeaders(headers: Record<string, string>): Record<string, string> {
  const kept: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (name === 'retry-after' || name === 'retry-after-ms') kept[name] = value;
    else if (name.startsWith('x-chutes-')) kept[name] = '';
  }
  return kept;
}
