// Reads a recording into records: a `probe`/`tap` --out JSONL, a `--json` document (its responses), or a
// HAR file (browser dev tools, mitmproxy). A file that cannot be read is a usage error naming the line
// or the field (exit 2). HAR entries become records the way the tap builds them (record.ts), so the same
// traffic gives the same figures whichever way it was recorded.
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { UsageError } from '../errors.js';
import { MAX_BODY_BYTES, normaliseHeaders, type RawResponse } from '../http/client.js';
import { isRateLimitHeader } from '../ratelimit/parse.js';
import { keyFingerprint, Redactor } from '../redact.js';
import { buildRecord } from '../record.js';
import type { AuthScheme, Outcome, ResponseRecord, Target } from '../types.js';

/** A day of busy traffic as JSONL is well under this; a larger file is the wrong file. */
export const MAX_RECORDING_BYTES = 1024 * 1024 * 1024;

export type RecordingFormat = 'jsonl' | 'json-document' | 'har';

export interface Recording {
  format: RecordingFormat;
  records: ResponseRecord[];
  /** HAR entries left out (not API calls), and similar notes. */
  notes: string[];
}

const OUTCOMES: ReadonlySet<Outcome> = new Set(['ok', 'rate_limited', 'quota_exceeded', 'capacity', 'auth_error', 'http_error', 'network_error', 'timeout']);

function readWhole(path: string): string {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (error) {
    throw new UsageError(`analyze: cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? 'unreadable'}); expected a probe/tap JSONL file or a .har file.`);
  }
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile()) throw new UsageError(`analyze: ${path} is not a regular file; expected a probe/tap JSONL file or a .har file.`);
    if (stat.size > MAX_RECORDING_BYTES) throw new UsageError(`analyze: ${path} is larger than 1 GiB; expected a probe/tap JSONL file or a .har file.`);
    const buffer = Buffer.allocUnsafe(stat.size);
    let length = 0;
    while (length < buffer.length) {
      const read = readSync(fd, buffer, length, buffer.length - length, null);
      if (read === 0) break;
      length += read;
    }
    return buffer.toString('utf8', 0, length);
  } finally {
    closeSync(fd);
  }
}

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A string field as written, or '' when it is not a string. */
function text(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

/** Checks the fields the analysis reads; `where` is "line 3" or "responses[2]". */
export function checkRecord(value: unknown, where: string): ResponseRecord {
  const bad = (field: string, expected: string) => new UsageError(`analyze: ${where}: field "${field}" ${expected}.`);
  if (!isObject(value)) throw new UsageError(`analyze: ${where}: not a JSON object; expected one response record per line.`);
  if (typeof value.seq !== 'number' || !Number.isFinite(value.seq)) throw bad('seq', 'must be a number');
  if (typeof value.sentAt !== 'string' || Number.isNaN(Date.parse(value.sentAt))) throw bad('sentAt', 'must be an ISO date-time');
  if (value.latencyMs !== null && (typeof value.latencyMs !== 'number' || !(value.latencyMs >= 0))) throw bad('latencyMs', 'must be a number ≥ 0 or null');
  if (value.status !== null && (typeof value.status !== 'number' || !Number.isInteger(value.status))) throw bad('status', 'must be an integer or null');
  if (typeof value.outcome !== 'string' || !OUTCOMES.has(value.outcome as Outcome)) throw bad('outcome', `must be one of ${[...OUTCOMES].join(', ')}`);
  if (value.inFlight !== undefined && (typeof value.inFlight !== 'number' || !(value.inFlight >= 0))) throw bad('inFlight', 'must be a number ≥ 0');
  const rateLimit = value.rateLimit;
  if (!isObject(rateLimit) || !Array.isArray(rateLimit.policies)) throw bad('rateLimit.policies', 'must be an array');
  rateLimit.policies.forEach((p, i) => {
    if (!isObject(p) || typeof p.name !== 'string') throw bad(`rateLimit.policies[${i}]`, 'must be a policy object with a name');
  });
  return {
    seq: value.seq,
    sentAt: value.sentAt,
    scheduledAt: typeof value.scheduledAt === 'string' ? value.scheduledAt : null,
    latencyMs: value.latencyMs,
    status: value.status,
    inFlight: value.inFlight ?? 1,
    outcome: value.outcome as Outcome,
    verdict: isObject(value.verdict) && typeof value.verdict.code === 'string'
      ? { code: value.verdict.code, message: text(value.verdict.message), hint: text(value.verdict.hint) }
      : null,
    headers: isObject(value.headers) ? (value.headers as Record<string, string>) : {},
    rateLimit: { policies: rateLimit.policies as ResponseRecord['rateLimit']['policies'], retryAfterSeconds: typeof rateLimit.retryAfterSeconds === 'number' ? rateLimit.retryAfterSeconds : null },
    body: typeof value.body === 'string' ? value.body : null,
    error: isObject(value.error) ? { code: text(value.error.code), message: text(value.error.message) } : null,
  };
}

function parseJsonl(text: string): ResponseRecord[] {
  const records: ResponseRecord[] = [];
  const lines = text.split('\n');
  lines.forEach((line, i) => {
    if (line.trim() === '') return;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (error) {
      throw new UsageError(`analyze: line ${i + 1}: not valid JSON (${(error as Error).message}); expected one response record per line.`);
    }
    records.push(checkRecord(value, `line ${i + 1}`));
  });
  return records;
}

/**
 * A recorded exchange keeps a body only as far as a verdict needs one: an error's words, never the app's
 * successful answers (its completions are the user's data, not a diagnosis).
 */
export function keepDiagnosticBody(record: ResponseRecord): ResponseRecord {
  return record.status !== null && record.status >= 200 && record.status < 300 ? { ...record, body: null } : record;
}

/** The auth scheme a request used, read from its headers (never the key itself). */
export function authSchemeOf(headers: Readonly<Record<string, string>>): { auth: AuthScheme; key: string | null } {
  const xApiKey = headers['x-api-key'];
  if (xApiKey) return { auth: 'x-api-key', key: xApiKey };
  const authorization = headers.authorization;
  if (!authorization) return { auth: 'none', key: null };
  const bearer = /^bearer\s+(\S+)/i.exec(authorization);
  return bearer ? { auth: 'bearer', key: bearer[1] as string } : { auth: 'raw', key: authorization };
}

interface HarEntry {
  startedDateTime: string;
  time: number;
  request: { method: string; url: string; headers: Array<{ name: string; value: string }> };
  response: { status: number; headers: Array<{ name: string; value: string }>; content?: { text?: string; encoding?: string } };
  timings?: Record<string, number>;
}

function checkHarEntry(value: unknown, i: number): HarEntry {
  const where = `log.entries[${i}]`;
  const bad = (field: string, expected: string) => new UsageError(`analyze: HAR ${where}: field "${field}" ${expected}.`);
  if (!isObject(value)) throw new UsageError(`analyze: HAR ${where}: not an object.`);
  if (typeof value.startedDateTime !== 'string' || Number.isNaN(Date.parse(value.startedDateTime))) throw bad('startedDateTime', 'must be an ISO date-time');
  if (typeof value.time !== 'number') throw bad('time', 'must be a number (ms)');
  const request = value.request;
  if (!isObject(request) || typeof request.url !== 'string' || !URL.canParse(request.url)) throw bad('request.url', 'must be an absolute URL');
  if (!Array.isArray(request.headers)) throw bad('request.headers', 'must be an array');
  const response = value.response;
  if (!isObject(response) || typeof response.status !== 'number') throw bad('response.status', 'must be a number');
  if (!Array.isArray(response.headers)) throw bad('response.headers', 'must be an array');
  return value as unknown as HarEntry;
}

function harHeaders(list: ReadonlyArray<{ name: string; value: string }>): Record<string, string> {
  const grouped: Record<string, string[]> = {};
  for (const { name, value } of list) {
    if (typeof name !== 'string' || typeof value !== 'string' || name.startsWith(':')) continue;
    (grouped[name.toLowerCase()] ??= []).push(value);
  }
  return normaliseHeaders(grouped);
}

/** Send → response headers: the HAR's phases before `receive`, else the whole time. */
function harLatencyMs(entry: HarEntry): number {
  const t = entry.timings ?? {};
  const phases = ['blocked', 'dns', 'connect', 'send', 'wait'].map((k) => t[k]).filter((v): v is number => typeof v === 'number' && v >= 0);
  return phases.length > 0 ? phases.reduce((a, b) => a + b, 0) : Math.max(0, entry.time);
}

/** API calls only: a browser's HAR also holds pages, scripts and images. */
function isApiCall(url: URL, responseHeaders: Record<string, string>): boolean {
  return /\/v1(\/|$)/.test(url.pathname) || Object.keys(responseHeaders).some(isRateLimitHeader);
}

function parseHar(doc: Json, redactor: Redactor): { records: ResponseRecord[]; notes: string[] } {
  const log = doc.log;
  if (!isObject(log) || !Array.isArray(log.entries)) throw new UsageError('analyze: HAR: field "log.entries" must be an array.');
  const entries = log.entries.map((e, i) => checkHarEntry(e, i));
  const ordered = entries
    .map((entry) => ({ entry, start: Date.parse(entry.startedDateTime), url: new URL(entry.request.url) }))
    .sort((a, b) => a.start - b.start);
  const records: ResponseRecord[] = [];
  let skipped = 0;
  // In flight at each send: earlier entries whose whole exchange (`time`) had not finished.
  let open: number[] = [];
  for (const { entry, start, url } of ordered) {
    open = open.filter((end) => end > start);
    const inFlight = open.length + 1;
    open.push(start + Math.max(0, entry.time));
    const headers = harHeaders(entry.response.headers);
    if (!isApiCall(url, headers)) {
      skipped += 1;
      continue;
    }
    const requestHeaders = harHeaders(entry.request.headers);
    for (const name of ['authorization', 'x-api-key', 'cookie', 'proxy-authorization']) redactor.addSecret(requestHeaders[name]);
    const { auth, key } = authSchemeOf(requestHeaders);
    redactor.addSecret(key);
    const latencyMs = harLatencyMs(entry);
    const content = entry.response.content;
    const text = typeof content?.text === 'string' ? (content.encoding === 'base64' ? Buffer.from(content.text, 'base64').toString('utf8') : content.text) : null;
    // HAR writes 0 for a request that got no response (blocked, failed).
    const status = entry.response.status > 0 ? entry.response.status : null;
    const raw: RawResponse = {
      status,
      headers: status === null ? {} : headers,
      body: text === null ? null : text.slice(0, MAX_BODY_BYTES),
      sentAt: start,
      receivedAt: start + latencyMs,
      latencyMs: status === null ? null : latencyMs,
      error: status === null ? { code: 'network', message: `no response recorded for ${url.host}` } : null,
    };
    const target: Target = { url, method: entry.request.method, headers: {}, body: null, auth, keyFingerprint: keyFingerprint(key), timeoutMs: 0 };
    records.push(keepDiagnosticBody(buildRecord(raw, { seq: records.length + 1, target, redactor, inFlight }).record));
  }
  return { records, notes: skipped > 0 ? [`${skipped} HAR entr${skipped === 1 ? 'y was' : 'ies were'} left out: not API calls (no /v1/ path, no rate-limit header).`] : [] };
}

function parseDocument(doc: Json, redactor: Redactor): { format: RecordingFormat; records: ResponseRecord[]; notes: string[] } {
  if (isObject(doc.log)) return { format: 'har', ...parseHar(doc, redactor) };
  const list = Array.isArray(doc.responses) ? { name: 'responses', items: doc.responses } : Array.isArray(doc.results) ? { name: 'results', items: doc.results } : null;
  if (list === null) throw new UsageError('analyze: a JSON document without "log.entries" (HAR) or "responses" (a --json result); expected a probe/tap JSONL file, a --json result or a .har file.');
  return { format: 'json-document', records: list.items.map((item: unknown, i: number) => checkRecord(item, `${list.name}[${i}]`)), notes: [] };
}

/**
 * The records of a recording, in file order. `redactor` learns any key a HAR holds (request headers),
 * so nothing built from it shows the key.
 */
export function loadRecording(path: string, redactor: Redactor = new Redactor()): Recording {
  return parseRecording(readWhole(path), path, redactor);
}

/** A recording's text (as loadRecording reads it from `path`, named in errors) → its records. */
export function parseRecording(raw: string, path: string, redactor: Redactor = new Redactor()): Recording {
  const text = raw.replace(/^\uFEFF/, '');
  const trimmed = text.trimStart();
  if (trimmed === '') throw new UsageError(`analyze: ${path} is empty; expected a probe/tap JSONL file or a .har file.`);
  // A whole-file JSON document (HAR or --json result) spans lines; JSONL has one object per line.
  const firstLine = trimmed.split('\n', 1)[0] as string;
  let whole: unknown = undefined;
  if (!isJsonLine(firstLine)) {
    try {
      whole = JSON.parse(trimmed);
    } catch (error) {
      throw new UsageError(`analyze: ${path} is neither JSONL nor a JSON document (${(error as Error).message}); expected a probe/tap JSONL file or a .har file.`);
    }
  }
  if (whole !== undefined) {
    if (!isObject(whole)) throw new UsageError(`analyze: ${path}: the JSON is not an object; expected a HAR file or a --json result.`);
    return parseDocument(whole, redactor);
  }
  return { format: 'jsonl', records: parseJsonl(text), notes: [] };
}

/** A line that is a whole JSON object on its own (JSONL); a pretty-printed document's first line is not. */
function isJsonLine(line: string): boolean {
  try {
    const value: unknown = JSON.parse(line);
    // A minified HAR or --json document is one line too.
    return isObject(value) && !('log' in value || 'responses' in value || 'results' in value);
  } catch {
    return false;
  }
}
