// The emulator's options, checked once at start-up and filled with their defaults (Settings), so a
// bad value fails startEmulator() instead of the first request.

import type { RateAlgorithm } from './limiters.js';
import { checkEdgeBanConfig, type EdgeBanConfig } from './edge-ban.js';
import { DEFAULT_MODELS, type EmulatorModel, type Fault, type HeaderDialect, type ResetFormat, type SubscriptionState } from './chutes.js';

export interface EmulatorOptions {
  host?: string;
  port?: number;
  apiPort?: number;
  /** Requests per window per key; 0 or Infinity = no rate limit. */
  limit?: number;
  windowMs?: number;
  algorithm?: RateAlgorithm;
  burst?: number;
  /** Per key in-flight inference requests; null (or 0) = no gate. */
  concurrencyLimit?: number | null;
  dailyQuota?: number | null;
  quotaUsed?: number;
  headers?: HeaderDialect;
  resetFormat?: ResetFormat;
  retryAfter?: boolean;
  latencyMs?: number;
  apiKey?: string | null;
  fault?: Fault | null;
  subscription?: SubscriptionState | null;
  quotasEndpoint?: 'default' | 'list' | 'missing';
  now?: () => number;
  /** How many of the latest arrivals `arrivals` keeps (default 100 000), so a long-running mock stays bounded. */
  maxArrivals?: number;
  /** The served models (GET /v1/models); any other model gets 404 "model not found". Default DEFAULT_MODELS. */
  models?: readonly EmulatorModel[];
  /**
   * The edge's escalating ban in front of the completion routes (edge-ban.ts), one per emulator (one
   * client address); null (the default) = no edge limit. mock turns it on with the Chutes headers.
   */
  edgeBan?: EdgeBanConfig | null;
}

/** The options with every default filled in and every value checked. */
export interface Settings {
  host: string;
  port: number;
  apiPort: number;
  rate: { algorithm: RateAlgorithm; limit: number; windowMs: number; burst: number } | null;
  concurrencyLimit: number | null;
  dailyQuota: number | null;
  quotaUsed: number;
  dialect: HeaderDialect;
  resetFormat: ResetFormat;
  retryAfter: boolean;
  latencyMs: number;
  apiKey: string | null;
  fault: Fault | null;
  subscription: SubscriptionState | null;
  quotasEndpoint: 'default' | 'list' | 'missing';
  now: () => number;
  maxArrivals: number;
  models: readonly EmulatorModel[];
  edgeBan: EdgeBanConfig | null;
}

// Only the dialects that exist outside Chutes send Retry-After by default; Chutes sends none (facts: Limits).
const DIALECTS_WITH_RETRY_AFTER: ReadonlySet<HeaderDialect> = new Set(['x-ratelimit', 'ietf', 'openai', 'anthropic']);

function requireInteger(name: string, value: number, min: number): number {
  if (!Number.isInteger(value) || value < min) throw new RangeError(`${name} must be an integer >= ${min}, got ${value}`);
  return value;
}

/** Option values arrive from the CLI as strings, so check them here rather than fail on the first request. */
function oneOf<T extends string>(name: string, value: T, allowed: readonly T[]): T {
  if (!allowed.includes(value)) throw new RangeError(`${name} must be one of ${allowed.join(', ')}, got ${String(value)}`);
  return value;
}

const ALGORITHMS: readonly RateAlgorithm[] = ['fixed-window', 'sliding-window', 'token-bucket'];
const DIALECTS: readonly HeaderDialect[] = ['chutes', 'x-ratelimit', 'ietf', 'openai', 'anthropic', 'none'];
const RESET_FORMATS: readonly ResetFormat[] = ['delta', 'epoch', 'epoch-ms'];
/** Every `fault` (mock --fault) the emulator can answer with; mock.ts checks the flag against this list. */
export const FAULTS: readonly Fault[] = [
  'capacity',
  'no-instances',
  'disabled',
  'no-infrastructure',
  'free-limit',
  'spam',
  'edge-403',
  'gateway-timeout',
  'tee-402',
  'tier-402',
  'subscription-cap',
  'maintenance',
  'openrouter-429',
];
const QUOTAS_SHAPES: readonly Settings['quotasEndpoint'][] = ['default', 'list', 'missing'];

/** Checks the options and fills in their defaults; a RangeError names the first bad one. */
export function resolveSettings(options: EmulatorOptions): Settings {
  const limit = options.limit ?? 10;
  if (!(limit === Infinity || (Number.isInteger(limit) && limit >= 0))) {
    throw new RangeError(`limit must be a non-negative integer or Infinity, got ${limit}`);
  }
  const windowMs = requireInteger('windowMs', options.windowMs ?? 60_000, 1);
  const rated = limit !== 0 && limit !== Infinity;
  const dialect = oneOf('headers', options.headers ?? 'chutes', DIALECTS);
  const latencyMs = options.latencyMs ?? 0;
  if (!(latencyMs >= 0 && latencyMs < Infinity)) throw new RangeError(`latencyMs must be >= 0, got ${latencyMs}`);
  const concurrency = options.concurrencyLimit ?? null;
  const dailyQuota = options.dailyQuota === undefined ? 200 : options.dailyQuota;
  return {
    host: options.host ?? '127.0.0.1',
    port: requireInteger('port', options.port ?? 0, 0),
    apiPort: requireInteger('apiPort', options.apiPort ?? 0, 0),
    rate: rated
      ? {
          algorithm: oneOf('algorithm', options.algorithm ?? 'fixed-window', ALGORITHMS),
          limit,
          windowMs,
          burst: requireInteger('burst', options.burst ?? limit, 1),
        }
      : null,
    concurrencyLimit: concurrency === null || concurrency === 0 ? null : requireInteger('concurrencyLimit', concurrency, 1),
    dailyQuota: dailyQuota === null ? null : requireInteger('dailyQuota', dailyQuota, 0),
    quotaUsed: requireInteger('quotaUsed', options.quotaUsed ?? 0, 0),
    dialect,
    resetFormat: oneOf('resetFormat', options.resetFormat ?? 'delta', RESET_FORMATS),
    retryAfter: options.retryAfter ?? DIALECTS_WITH_RETRY_AFTER.has(dialect),
    latencyMs,
    apiKey: options.apiKey ?? null,
    fault: options.fault == null ? null : oneOf('fault', options.fault, FAULTS),
    subscription: options.subscription ?? null,
    quotasEndpoint: oneOf('quotasEndpoint', options.quotasEndpoint ?? 'default', QUOTAS_SHAPES),
    now: options.now ?? Date.now,
    maxArrivals: requireInteger('maxArrivals', options.maxArrivals ?? 100_000, 1),
    models: options.models ?? DEFAULT_MODELS,
    edgeBan: options.edgeBan == null ? null : checkEdgeBanConfig({ ...options.edgeBan }),
  };
}
