// Turns the shared network options into a Target. This is the only place the key is read.
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { UsageError } from './errors.js';
import { keyFingerprint, type Redactor } from './redact.js';
import type { AuthScheme, Target } from './types.js';

export const DEFAULT_BASE_URL = 'https://llm.chutes.ai';
export const DEFAULT_API_BASE_URL = 'https://api.chutes.ai';
export const DEFAULT_PATH = '/v1/chat/completions';
/**
 * The model sent when none is named and none could be picked from GET /v1/models (src/models/):
 * the cheapest served text model seen on Chutes in mid-2026. Models come and go (the 2025 default,
 * unsloth/gemma-3-4b-it, was gone by mid-2026), so this is a last resort, never the first choice on Chutes.
 */
export const DEFAULT_MODEL = 'unsloth/Mistral-Nemo-Instruct-2407-TEE';
export const DEFAULT_TIMEOUT_MS = 30_000;
/** A key is about 100 characters: a key file larger than this is the wrong file (or /dev/zero). */
export const MAX_KEY_FILE_BYTES = 16 * 1024;
/** The largest --body @file (the --body help states it): far above any chat request, far below a memory problem. */
export const MAX_BODY_FILE_BYTES = 10 * 1024 * 1024;

/**
 * A file's text, or null when it holds more than `limitBytes`. A regular file's size is checked
 * before reading; a device or pipe (/dev/zero, /dev/urandom) is read only up to limitBytes + 1, so
 * it fails at once instead of filling memory while Ctrl-C waits. Open and read errors are thrown.
 */
export function readFileCapped(path: string, limitBytes: number): string | null {
  const fd = openSync(path, 'r');
  try {
    const stat = fstatSync(fd);
    if (stat.isFile() && stat.size > limitBytes) return null;
    // Only the bytes read are decoded: no need to zero the rest.
    const buffer = Buffer.allocUnsafe(limitBytes + 1);
    let length = 0;
    while (length < buffer.length) {
      const read = readSync(fd, buffer, length, buffer.length - length, null);
      if (read === 0) break;
      length += read;
    }
    return length > limitBytes ? null : buffer.toString('utf8', 0, length);
  } finally {
    closeSync(fd);
  }
}

/** chutes.ai or a subdomain: the hosts whose behaviour shared/chutes-facts.md describes. */
export function isChutesHost(hostname: string): boolean {
  const host = hostname.toLowerCase();
  return host === 'chutes.ai' || host.endsWith('.chutes.ai');
}

/** "16 KiB", "10 MiB": how the limits are worded in messages. */
function formatBytes(bytes: number): string {
  return bytes >= 1024 * 1024 ? `${bytes / (1024 * 1024)} MiB` : `${bytes / 1024} KiB`;
}

/** The shared options as commander hands them over (after parsing). */
export interface NetworkOptions {
  baseUrl?: URL;
  apiBaseUrl?: URL;
  path?: string;
  model?: string;
  body?: string;
  auth?: AuthScheme;
  apiKeyFile?: string;
  apiKey?: string;
  header?: Array<[string, string]>;
  timeout?: number;
}

export interface KeyResult {
  key: string | null;
  /** Where it came from, for messages: "CHUTES_API_KEY", "--api-key-file", ... */
  source: string | null;
  warnings: string[];
}

/** Where the key comes from, before any cleaning: the first of --api-key, --api-key-file, CHUTES_API_KEY, CHUTES_API_TOKEN. */
export interface RawKey {
  raw: string | null;
  source: string | null;
}

/** Finds the key in the documented order; an unreadable --api-key-file is a usage error. */
export function findRawKey(opts: Pick<NetworkOptions, 'apiKey' | 'apiKeyFile'>, env: NodeJS.ProcessEnv): RawKey {
  if (opts.apiKey !== undefined) return { raw: opts.apiKey, source: '--api-key' };
  if (opts.apiKeyFile !== undefined) {
    let raw: string | null;
    try {
      raw = readFileCapped(opts.apiKeyFile, MAX_KEY_FILE_BYTES);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? 'unreadable';
      throw new UsageError(`--api-key-file: cannot read ${opts.apiKeyFile} (${code}); expected a file containing the key.`);
    }
    if (raw === null) {
      throw new UsageError(`--api-key-file: ${opts.apiKeyFile} is larger than ${formatBytes(MAX_KEY_FILE_BYTES)}; expected a file containing only the key.`);
    }
    return { raw, source: '--api-key-file' };
  }
  if (env.CHUTES_API_KEY) return { raw: env.CHUTES_API_KEY, source: 'CHUTES_API_KEY' };
  if (env.CHUTES_API_TOKEN) return { raw: env.CHUTES_API_TOKEN, source: 'CHUTES_API_TOKEN' };
  return { raw: null, source: null };
}

/**
 * Cleans and checks a found key. Surrounding whitespace, a trailing newline or quotes are removed
 * with a warning: they are the most common paste mistakes and the server would reject the key.
 */
export function checkRawKey({ raw, source }: RawKey): KeyResult {
  const warnings: string[] = [];
  if (source === '--api-key') {
    warnings.push('--api-key puts the key in the process list where other users can see it; prefer CHUTES_API_KEY or --api-key-file.');
  }
  if (raw === null) return { key: null, source: null, warnings };
  const key = cleanKey(raw);
  if (key !== raw) warnings.push(`the key from ${source} had surrounding whitespace, a newline or quotes; they were removed.`);
  if (!key) throw new UsageError(`${source}: the key is empty.`);
  if (/[\s\0]/.test(key)) throw new UsageError(`${source}: the key contains whitespace inside it; expected a single token such as cpk_….`);
  // A header value must be visible ASCII; anything else would fail in the HTTP layer as a "network error".
  if (!/^[\x21-\x7e]+$/.test(key)) throw new UsageError(`${source}: the key contains characters outside printable ASCII; expected a single token such as cpk_….`);
  return { key, source, warnings };
}

/** The key from the shared options (see findRawKey), cleaned and checked (see checkRawKey). */
export function readApiKey(opts: Pick<NetworkOptions, 'apiKey' | 'apiKeyFile'>, env: NodeJS.ProcessEnv): KeyResult {
  return checkRawKey(findRawKey(opts, env));
}

export function cleanKey(raw: string): string {
  let key = raw.trim();
  while (/^(["'`]).*\1$/s.test(key) && key.length >= 2) key = key.slice(1, -1).trim();
  return key;
}

/** Base URL + path, keeping a path prefix and not doubling a trailing /v1. */
export function joinUrl(base: URL, path: string): URL {
  const url = new URL(base.href);
  let prefix = url.pathname.replace(/\/+$/, '');
  if (/\/v1$/.test(prefix) && /^\/v1(\/|$)/.test(path)) prefix = prefix.slice(0, -3);
  const [pathname, query] = path.split('?', 2) as [string, string | undefined];
  url.pathname = `${prefix}${pathname}`;
  url.search = query ? `?${query}` : url.search;
  url.hash = '';
  return url;
}

export function authHeaders(auth: AuthScheme, key: string | null): Record<string, string> {
  if (!key || auth === 'none') return {};
  if (auth === 'bearer') return { authorization: `Bearer ${key}` };
  if (auth === 'raw') return { authorization: key };
  return { 'x-api-key': key };
}

export function defaultBody(model: string): string {
  return JSON.stringify({ model, messages: [{ role: 'user', content: 'Reply with one word.' }], max_tokens: 1, stream: false });
}

/** --body: inline JSON or @file; checked to be JSON so a typo fails before anything is sent. */
export function readBody(value: string): string {
  let text = value;
  if (value.startsWith('@')) {
    const file = value.slice(1);
    let read: string | null;
    try {
      read = readFileCapped(file, MAX_BODY_FILE_BYTES);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? 'unreadable';
      throw new UsageError(`--body: cannot read ${file} (${code}); expected --body '<json>' or --body @file.json.`);
    }
    if (read === null) {
      throw new UsageError(`--body: ${file} is larger than ${formatBytes(MAX_BODY_FILE_BYTES)}, the most --body @file sends; expected a JSON request body.`);
    }
    text = read;
  }
  try {
    JSON.parse(text);
  } catch (error) {
    throw new UsageError(`--body: not valid JSON (${(error as Error).message}); expected --body '<json>' or --body @file.json.`);
  }
  return text;
}

export interface BuildTargetInput {
  base: URL;
  path: string;
  method?: string;
  auth: AuthScheme;
  key: string | null;
  body: string | null;
  extraHeaders?: Array<[string, string]>;
  timeoutMs?: number;
  redactor?: Redactor;
}

/** Request headers that carry credentials: their values are registered with the redactor. */
const CREDENTIAL_HEADER = /^(authorization|proxy-authorization|x-api-key|api-key|cookie)$/i;

export function buildTarget(input: BuildTargetInput): Target {
  const method = input.method ?? (input.body === null ? 'GET' : 'POST');
  const headers: Record<string, string> = { 'user-agent': 'chutes-diag', accept: 'application/json' };
  if (input.body !== null) headers['content-type'] = 'application/json';
  for (const [name, value] of input.extraHeaders ?? []) {
    headers[name.toLowerCase()] = value;
    if (CREDENTIAL_HEADER.test(name)) input.redactor?.addSecret(value);
  }
  Object.assign(headers, authHeaders(input.auth, input.key));
  input.redactor?.addSecret(input.key);
  return {
    url: joinUrl(input.base, input.path),
    method,
    headers,
    body: input.body,
    auth: input.auth,
    keyFingerprint: keyFingerprint(input.key),
    timeoutMs: input.timeoutMs ?? DEFAULT_TIMEOUT_MS,
  };
}

/** What --json shows of a target: never the headers, only the fingerprint; the model when it was resolved. */
export function describeTarget(target: Target): { url: string; method: string; auth: AuthScheme; key: string | null; model?: string; modelSource?: string } {
  const described = { url: target.url.href, method: target.method, auth: target.auth, key: target.keyFingerprint };
  return target.model ? { ...described, model: target.model.id, modelSource: target.model.source } : described;
}
