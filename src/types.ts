// Shared data shapes. These mirror the JSON schema in cli-contract.md (schemaVersion 1):
// renaming a field here is a breaking change for every user of --json and --out.

/** What one response means, coarsely. Stable: scripts switch on it. */
export type Outcome =
  | 'ok'
  | 'rate_limited'
  | 'quota_exceeded'
  | 'capacity'
  | 'auth_error'
  | 'http_error'
  | 'network_error'
  | 'timeout';

/** A stable kebab-case code, a one-sentence message and a concrete hint. */
export interface Verdict {
  code: string;
  message: string;
  hint: string;
}

export type AuthScheme = 'bearer' | 'raw' | 'x-api-key' | 'none';

/** Which header family a policy was read from. */
export type Dialect =
  | 'ietf-draft-8'
  | 'ietf-draft-7'
  | 'ietf-draft-6'
  | 'x-ratelimit'
  | 'openai'
  | 'anthropic'
  | 'chutes'
  | 'gitlab'
  | 'body';

/** One limit the server told us about, normalised. Unknown values are null. */
export interface RateLimitPolicy {
  /** e.g. "requests", "tokens", "default", "daily-quota", or the IETF policy name. */
  name: string;
  /** "requests", "tokens", "input-tokens", "output-tokens", "content-bytes", "concurrent-requests", "usd", ... */
  unit: string;
  limit: number | null;
  remaining: number | null;
  /** Seconds from the response's arrival until the policy resets, whatever the header's own format. */
  resetSeconds: number | null;
  /** Length of the window in seconds, when the header says it. */
  windowSeconds: number | null;
  dialect: Dialect;
  /** Lower-case names of the headers this policy was read from. */
  sources: string[];
}

export interface RateLimitInfo {
  policies: RateLimitPolicy[];
  /** From Retry-After, retry-after-ms or x-ms-retry-after-ms, in seconds from arrival. */
  retryAfterSeconds: number | null;
  /** Values that could not be parsed, conflicts, ambiguities. Never contains the key. */
  warnings: string[];
}

export interface RecordError {
  /** Stable code, e.g. "timeout", "connect_refused", "dns", "tls", "reset", "redirect", "body_too_large". */
  code: string;
  message: string;
}

/** One request and what came back. One per line in --out. */
export interface ResponseRecord {
  seq: number;
  sentAt: string;
  scheduledAt: string | null;
  latencyMs: number | null;
  status: number | null;
  inFlight: number;
  outcome: Outcome;
  verdict: Verdict | null;
  headers: Record<string, string>;
  rateLimit: {
    policies: RateLimitPolicy[];
    retryAfterSeconds: number | null;
  };
  body: string | null;
  error: RecordError | null;
}

/** Everything needed to send the request; the only object that holds the key. */
export interface Target {
  url: URL;
  method: string;
  /** Request headers, including auth. Never printed: use describeTarget(). */
  headers: Record<string, string>;
  body: string | null;
  auth: AuthScheme;
  /** Masked fingerprint such as "cpk_…3f9a", or null when there is no key. */
  keyFingerprint: string | null;
  timeoutMs: number;
  /** The model in the default body and where it came from (src/models/choose.ts); absent when not resolved. */
  model?: { id: string; source: 'option' | 'env' | 'list' | 'fallback' };
}
