// What the answers showed besides the estimate, for recommend(): was Retry-After sent, was the edge's
// ban page seen, is this Chutes, which base URL and model, how slow the slowest answers were. Read from
// response records (probe's `responses`, a tap recording, a HAR), pure.
import { percentile } from '../probe/run-summary.js';
import { isChutesHost } from '../target.js';
import type { RecommendContext } from './types.js';

/** The fields of a response record this reads (types.ts ResponseRecord; a saved JSON document gives the same). */
export interface RecordFacts {
  status: number | null;
  latencyMs: number | null;
  verdict: { code: string } | null;
  headers: Record<string, string>;
  rateLimit: { retryAfterSeconds: number | null };
}

/** Where the requests went: the request URL and the model, when known. */
export interface TargetFacts {
  url: string | null;
  model: string | null;
}

/** The OpenAI-compatible base a client library wants: the request URL up to and including `/v1`, else its origin + `/v1`. */
export function apiBaseOf(url: string | null): string | null {
  if (url === null) return null;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return null;
  }
  const at = parsed.pathname.indexOf('/v1');
  const path = at >= 0 ? parsed.pathname.slice(0, at + 3) : '/v1';
  return `${parsed.origin}${path}`;
}

function hostOf(url: string | null): string | null {
  if (url === null) return null;
  try {
    return new URL(url).hostname;
  } catch {
    return null;
  }
}

export function contextFromRecords(records: readonly RecordFacts[], target: TargetFacts): RecommendContext {
  const host = hostOf(target.url);
  const latencies = records.map((r) => r.latencyMs).filter((l): l is number => l !== null).sort((a, b) => a - b);
  return {
    retryAfterSeen: records.some((r) => r.rateLimit.retryAfterSeconds !== null || 'retry-after' in r.headers || 'retry-after-ms' in r.headers),
    edgeBanSeen: records.some((r) => r.verdict?.code === 'edge-ban'),
    chutes: (host !== null && isChutesHost(host)) || records.some((r) => Object.keys(r.headers).some((name) => name.startsWith('x-chutes-'))),
    baseUrl: apiBaseOf(target.url),
    model: target.model,
    latencyP99Ms: percentile(latencies, 99),
  };
}
