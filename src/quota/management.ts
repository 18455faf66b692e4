// The Chutes management API client (api.chutes.ai): its paths, one free GET recorded and classified
// like any response, and what each endpoint's answer amounts to. Used by `quota` and `doctor`.
import type { HttpClient } from '../http/client.js';
import type { Redactor } from '../redact.js';
import { buildRecord } from '../record.js';
import { buildTarget } from '../target.js';
import type { AuthScheme, ResponseRecord, Target } from '../types.js';

export const QUOTA_USAGE_PATH = '/users/me/quota_usage/me';
export const QUOTAS_PATH = '/users/me/quotas';
export const SUBSCRIPTION_USAGE_PATH = '/users/me/subscription_usage';
export const USER_PATH = '/users/me';

/** The management API reads only Authorization: X-API-Key is sent as Bearer instead. */
export function managementAuth(auth: AuthScheme): AuthScheme {
  return auth === 'x-api-key' ? 'bearer' : auth;
}

/** A `-H 'Authorization: …'` stands in for the key. */
export function hasAuthorizationHeader(headers: Array<[string, string]> | undefined): boolean {
  return (headers ?? []).some(([name]) => /^authorization$/i.test(name));
}

/** Everything a management GET needs: where, with which credentials, and how to record it. */
export interface ManagementContext {
  apiBase: URL;
  auth: AuthScheme;
  key: string | null;
  /** -H headers, sent to the management host too. */
  extraHeaders?: Array<[string, string]>;
  /** --timeout; the target's default when undefined. */
  timeoutMs?: number;
  redactor: Redactor;
  signal: AbortSignal;
  http: HttpClient;
}

export interface ManagementAnswer {
  path: string;
  target: Target;
  record: ResponseRecord;
  /** The parsed body of a 200; null otherwise or when it is not JSON. */
  json: unknown;
}

export function managementTarget(ctx: ManagementContext, path: string): Target {
  return buildTarget({
    base: ctx.apiBase, path, auth: managementAuth(ctx.auth), key: ctx.key, body: null,
    extraHeaders: ctx.extraHeaders ?? [], timeoutMs: ctx.timeoutMs, redactor: ctx.redactor,
  });
}

function parseJson(text: string | null): unknown {
  if (text === null) return null;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return null;
  }
}

/** One GET on the management host, recorded and classified like any other response. */
export async function getManagement(ctx: ManagementContext, path: string, seq: number): Promise<ManagementAnswer> {
  const target = managementTarget(ctx, path);
  const raw = await ctx.http.send(target, { signal: ctx.signal });
  const { record } = buildRecord(raw, { seq, target, redactor: ctx.redactor, urlOption: '--api-base-url' });
  return { path, target, record, json: raw.status !== null && raw.status >= 200 && raw.status < 300 ? parseJson(raw.body) : null };
}

export type EndpointState = 'ok' | 'missing' | 'invalid' | 'limited' | 'auth_error' | 'http_error' | 'network_error';

/** One endpoint's answer in a word; `parsed` is what its parser made of the body (null: not the expected JSON). */
export function endpointState(answer: ManagementAnswer, parsed: unknown): EndpointState {
  const { record } = answer;
  if (record.status === 404) return 'missing';
  if (record.outcome === 'ok') return parsed === null ? 'invalid' : 'ok';
  if (record.outcome === 'auth_error') return 'auth_error';
  if (record.outcome === 'network_error' || record.outcome === 'timeout') return 'network_error';
  if (record.outcome === 'rate_limited' || record.outcome === 'quota_exceeded' || record.outcome === 'capacity') return 'limited';
  return 'http_error';
}
