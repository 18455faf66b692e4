// doctor's checks, pure: each turns one fact (the key as found, a URL, the auth scheme, a management
// answer, the inference response) into a pass/warn/fail/skip line with what to do. Table-tested in
// test/unit/doctor-checks.test.js; the I/O that gathers the facts is in reach.ts and diagnose.ts.
import { keyFingerprint } from '../redact.js';
import { QUOTA_USAGE_PATH, USER_PATH, type ManagementAnswer } from '../quota/management.js';
import { describeReset, LOW_QUOTA_SHARE, quotaExhaustedVerdict, type QuotaSummary } from '../quota/usage.js';
import { cleanKey, DEFAULT_API_BASE_URL, DEFAULT_BASE_URL, isChutesHost, type NetworkOptions, type RawKey } from '../target.js';
import type { AuthScheme, ResponseRecord } from '../types.js';
import type { ModelChoice } from '../models/choose.js';
import { isServed } from '../models/list.js';

export { isChutesHost } from '../target.js';

export type CheckStatus = 'pass' | 'warn' | 'fail' | 'skip';

export interface Check {
  id: string;
  status: CheckStatus;
  message: string;
  /** What to do; null when there is nothing to do. */
  hint: string | null;
}

export const CHECK_IDS = [
  'key-present', 'key-format', 'base-url', 'auth-scheme', 'inference-reachable', 'management-reachable',
  'key-valid', 'quota', 'model-served', 'inference',
] as const;
export type CheckId = (typeof CHECK_IDS)[number];

/** One check line. */
export const check = (id: CheckId, status: CheckStatus, message: string, hint: string | null = null): Check => ({ id, status, message, hint });

export const CPK_FORMAT = /^cpk_[a-f0-9]{32}\.[a-f0-9]{32}\.[a-zA-Z0-9]{32}$/;
/** OAuth tokens: the shape is not published; a prefix and a plausible token alphabet and length. */
export const CAK_FORMAT = /^cak_[A-Za-z0-9._-]{16,}$/;
/** The fixes more than one check or verdict names. */
export const SET_KEY = 'Set CHUTES_API_KEY (or pass --api-key-file <path>) to your key from chutes.ai → API keys.';
export const NEW_KEY = 'Copy the key again from chutes.ai → API keys, or create a new one: a deleted, revoked or mistyped key answers 401.';
export const BEARER = 'Send the key as `Authorization: Bearer <key>` (`--auth bearer`, the default).';

/** True when the user set the option (flag or env); without the CLI's map, when a value was passed at all. */
export function explicitOption(opts: Pick<NetworkOptions, 'baseUrl' | 'apiBaseUrl'> & { explicit?: Record<string, boolean> }, name: 'baseUrl' | 'apiBaseUrl'): boolean {
  return opts.explicit !== undefined ? opts.explicit[name] === true : opts[name] !== undefined;
}

/**
 * Whether the management checks (management-reachable, key-valid, quota) may send the key to
 * --api-base-url: only in a Chutes context (the inference host is a Chutes host, or --base-url was
 * left at its default) or when the user named the management host. Otherwise a key meant for
 * another API (an OpenRouter or OpenAI key tested with --base-url) would go to api.chutes.ai.
 * Returns the skip message, or null when the checks run.
 */
export function managementSkipReason(base: URL, apiBase: URL, explicit: { baseUrl: boolean; apiBaseUrl: boolean }): string | null {
  if (explicit.apiBaseUrl || !explicit.baseUrl || isChutesHost(base.hostname)) return null;
  return `Not checked: ${base.host} is not a Chutes host, so the key is only sent to the host named in --base-url, never to ${apiBase.host}. To check a management API as well, name it: --api-base-url <url> (${DEFAULT_API_BASE_URL} for Chutes).`;
}

// ---------------------------------------------------------------------------------------------
// The key: where it came from and its shape

/** What was pasted around the key, in words: "a trailing newline", "surrounding quotes"... */
export function describePastedExtras(raw: string, fromFile: boolean): string[] {
  // A file ending in a newline is how editors and `echo` write it: not a mistake.
  const text = fromFile ? raw.replace(/\r?\n$/, '') : raw;
  const extras: string[] = [];
  if (/^\s/.test(text)) extras.push('leading whitespace');
  if (/\r?\n\s*$/.test(text)) extras.push(/\r\n\s*$/.test(text) ? 'a trailing CRLF line break' : 'a trailing newline');
  else if (/[ \t]$/.test(text)) extras.push('trailing spaces');
  if (/^\s*["'`]/.test(text) && /["'`]\s*$/.test(text)) extras.push('surrounding quotes');
  return extras;
}

/** Lengths and alphabets only: a malformed key is described without showing any of it. */
function describeCpkShape(key: string): string {
  const parts = key.slice(4).split('.');
  const expected = [/^[a-f0-9]{32}$/, /^[a-f0-9]{32}$/, /^[a-zA-Z0-9]{32}$/];
  const lengths = parts.map((p) => p.length).join(', ');
  if (parts.length !== 3) return `it has ${parts.length} dot-separated part${parts.length === 1 ? '' : 's'} after cpk_ (lengths ${lengths}); expected 3 of 32 characters`;
  const bad = parts.map((p, i) => (expected[i]?.test(p) ? null : `part ${i + 1} (${p.length} chars${i < 2 && /[^a-f0-9]/.test(p) ? ', not lower-case hex' : ''})`)).filter((x) => x !== null);
  return `${bad.join(' and ')} ${bad.length === 1 ? 'does' : 'do'} not fit; expected cpk_<32 hex>.<32 hex>.<32 letters or digits>`;
}

/** The key as found (before cleaning) and where: see findRawKey in target.ts. */
export type KeyInput = RawKey;

/**
 * Key format: a Chutes key (`cpk_…` or an OAuth `cak_…`) of the right shape, with nothing pasted
 * around it. `expectChutes` is false for other OpenAI-compatible hosts, whose keys look different.
 */
export function checkKeyFormat(input: KeyInput, expectChutes: boolean): Check {
  const { raw, source } = input;
  if (raw === null) return check('key-format', 'skip', 'No key to check.');
  const key = cleanKey(raw);
  const from = source ?? 'the key';
  if (key === '') return check('key-format', 'fail', `The key in ${from} is empty.`, SET_KEY);
  if (/^bearer\s/i.test(key)) {
    return check('key-format', 'fail', `The key in ${from} starts with "Bearer ": the scheme was stored with the key.`, `Store only the key (cpk_…) in ${from}; chutes-diag and the OpenAI SDKs add "Bearer " themselves.`);
  }
  if (/\s/.test(key)) {
    return check('key-format', 'fail', `The key in ${from} has whitespace inside it (a line break or two keys pasted together).`, `Put exactly one key, on one line, in ${from}.`);
  }
  if (/[^\x21-\x7e]/.test(key)) {
    const curly = /[\u2018\u2019\u201c\u201d]/.test(key) ? ' (curly quotes from a document or chat)' : /[\u200b-\u200d\ufeff]/.test(key) ? ' (an invisible zero-width character)' : '';
    return check('key-format', 'fail', `The key in ${from} contains characters outside printable ASCII${curly}; no server can accept it in a header.`, `Copy the key again from chutes.ai → API keys, straight into ${from}, not via a word processor.`);
  }
  const looksChutes = /^c[pa]k_/.test(key);
  if (!looksChutes) {
    if (!expectChutes) return check('key-format', 'pass', `Not a Chutes key (no cpk_/cak_ prefix); fine for a non-Chutes host.`);
    const openai = /^sk-/.test(key) ? ' It looks like an OpenAI key (sk-…).' : '';
    return check('key-format', 'fail', `The key in ${from} does not start with cpk_ (API key) or cak_ (OAuth token).${openai}`, 'Create a Chutes API key at chutes.ai → API keys; it looks like cpk_<32 hex>.<32 hex>.<32 letters or digits>.');
  }
  if (key.startsWith('cpk_') && !CPK_FORMAT.test(key)) {
    return check('key-format', 'fail', `The cpk_ key in ${from} is malformed: ${describeCpkShape(key)}.`, `Copy the whole key again (${key.length} characters found, 101 expected); a truncated or edited key is rejected.`);
  }
  if (key.startsWith('cak_') && !CAK_FORMAT.test(key)) {
    return check('key-format', 'fail', `The cak_ token in ${from} is malformed (${key.length} characters, or characters outside letters, digits, ".", "_", "-").`, 'Copy the whole token again, or use a cpk_ API key.');
  }
  const extras = describePastedExtras(raw, source === '--api-key-file');
  const kind = key.startsWith('cak_') ? 'a Chutes OAuth token (cak_…)' : 'a well-formed Chutes API key (cpk_…)';
  if (extras.length > 0) {
    return check('key-format', 'warn', `${kind[0]?.toUpperCase()}${kind.slice(1)}, but ${from} also holds ${extras.join(' and ')}: chutes-diag strips ${extras.length === 1 ? 'it' : 'them'}, but other clients may send the key as is and get 401.`, `Store the key alone: export CHUTES_API_KEY=cpk_… (no quotes inside the value, no newline).`);
  }
  return check('key-format', 'pass', `${kind[0]?.toUpperCase()}${kind.slice(1)}.`);
}

/** Key present: where the key came from (by fingerprint), or why there is none. */
export function checkKeyPresent(input: KeyInput, auth: AuthScheme, readProblem: string | null, headerAuth = false): Check {
  if (readProblem !== null) return check('key-present', 'fail', readProblem, SET_KEY);
  if (input.raw === null && headerAuth) return check('key-present', 'skip', 'No key variable: the credentials come from a -H Authorization header, sent as given.');
  if (input.raw === null) {
    return auth === 'none'
      ? check('key-present', 'skip', 'No key, and --auth none: requests are anonymous.')
      : check('key-present', 'fail', 'No API key: CHUTES_API_KEY, CHUTES_API_TOKEN and --api-key-file are all unset, so requests go out anonymous.', SET_KEY);
  }
  const fingerprint = keyFingerprint(cleanKey(input.raw));
  return check('key-present', 'pass', `Key from ${input.source ?? 'the command line'} (${fingerprint ?? 'empty'}).`);
}

// ---------------------------------------------------------------------------------------------
// The hosts, the auth scheme and the answers

/** The inference base URL: llm.chutes.ai, not the management host, and no endpoint path in it. */
export function checkBaseUrl(base: URL, apiBase: URL): Check {
  const host = base.hostname.toLowerCase();
  if (/\/(chat\/)?completions\/?$/.test(base.pathname)) {
    return check('base-url', 'fail', `The base URL ${base.href} already contains the endpoint path, so requests go to …${base.pathname}/v1/chat/completions.`, `Pass only the host: --base-url ${base.origin}${isChutesHost(host) ? '' : ' (plus any gateway prefix)'}.`);
  }
  if (host === 'api.chutes.ai') {
    return check('base-url', 'fail', 'The base URL is api.chutes.ai, the management host: inference there answers 404 "No matching chute found!".', `Use the inference host: --base-url ${DEFAULT_BASE_URL} (or unset CHUTES_BASE_URL).`);
  }
  if (base.origin === apiBase.origin) {
    return check('base-url', 'warn', `The inference base URL is the same as the management host (${base.origin}).`, `Inference goes to ${DEFAULT_BASE_URL}, management lookups to ${DEFAULT_API_BASE_URL}.`);
  }
  if (host === 'llm.chutes.ai') {
    return base.protocol === 'https:'
      ? check('base-url', 'pass', `Inference host ${base.host}.`)
      : check('base-url', 'warn', `Inference host ${base.host} over plain http.`, `Use ${DEFAULT_BASE_URL}: the key would cross the network unencrypted.`);
  }
  if (isChutesHost(host)) {
    return check('base-url', 'warn', `${base.host} is a Chutes host but not the inference host llm.chutes.ai (a direct chute URL?).`, `Use --base-url ${DEFAULT_BASE_URL} unless you know this host serves /v1/chat/completions.`);
  }
  return check('base-url', 'pass', `Custom inference host ${base.host} (not Chutes: the Chutes-specific advice below may not apply).`);
}

/** Auth scheme: how the key goes out; X-API-Key fails where Chutes is meant (Chutes never reads it). */
export function checkAuthScheme(auth: AuthScheme, chutesContext: boolean): Check {
  switch (auth) {
    case 'bearer':
      return check('auth-scheme', 'pass', 'The key is sent as Authorization: Bearer <key>.');
    case 'raw':
      return check('auth-scheme', 'pass', 'The key is sent bare in Authorization (Chutes reads its last word, so this works).');
    case 'x-api-key':
      return chutesContext
        ? check('auth-scheme', 'fail', 'The key is sent as X-API-Key, which Chutes never reads: every request is anonymous and meets the edge\'s 429.', BEARER)
        : check('auth-scheme', 'warn', 'The key is sent as X-API-Key: right for some APIs, but Chutes never reads it.', 'If this is Chutes, send the key as `Authorization: Bearer <key>` (`--auth bearer`, the default).');
    case 'none':
      return check('auth-scheme', 'warn', '--auth none: no key is sent; anonymous requests get the edge\'s low limit.', BEARER);
  }
}

/** A management or inference answer → the key-valid check. */
export function checkKeyValid(answer: Pick<ManagementAnswer, 'record' | 'json'> | null, skipReason: string | null, host: string): Check {
  if (answer === null) return check('key-valid', 'skip', skipReason ?? 'Not checked.');
  const { record } = answer;
  if (record.outcome === 'ok') {
    const body = answer.json as { username?: unknown } | null;
    const user = typeof body?.username === 'string' ? ` (user ${body.username})` : '';
    return check('key-valid', 'pass', `${host} accepts the key${user}.`);
  }
  if (record.outcome === 'auth_error') {
    return check('key-valid', 'fail', record.verdict?.message ?? `${host} rejected the key (HTTP ${record.status ?? '?'}).`, NEW_KEY);
  }
  if (record.status === 404) {
    return check('key-valid', 'warn', `${host} has no ${USER_PATH} (404): it is probably not the Chutes management host.`, `Use --api-base-url ${DEFAULT_API_BASE_URL} (or unset CHUTES_API_BASE_URL).`);
  }
  const failed = record.outcome === 'network_error' || record.outcome === 'timeout';
  return check('key-valid', failed ? 'fail' : 'warn', `Could not check the key: ${record.verdict?.message ?? record.error?.message ?? `HTTP ${record.status ?? '?'}`}`, record.verdict?.hint ?? null);
}

/** Quota: today's figures from quota_usage; used up fails, under LOW_QUOTA_SHARE left warns. */
export function checkQuota(summary: QuotaSummary | null, answer: Pick<ManagementAnswer, 'record'> | null, skipReason: string | null, nowMs: number): Check {
  if (answer === null) return check('quota', 'skip', skipReason ?? 'Not checked.');
  if (answer.record.status === 404) return check('quota', 'skip', `The management host has no ${QUOTA_USAGE_PATH} (404).`);
  if (answer.record.outcome === 'auth_error') return check('quota', 'skip', 'Not readable: the key was rejected (see key-valid).');
  if (summary === null || summary.source === null) {
    return check('quota', 'warn', `Could not read the quota: ${answer.record.verdict?.message ?? `HTTP ${answer.record.status ?? '?'}`}`);
  }
  if (summary.unlimited) return check('quota', 'pass', 'The daily quota is unlimited.');
  const reset = summary.resetsAt === null ? 'at 00:00 UTC' : `at ${describeReset(summary.resetsAt, nowMs)}`;
  if (summary.remaining === 0) {
    const verdict = quotaExhaustedVerdict(summary, nowMs);
    return check('quota', 'fail', `The daily quota is used up: ${summary.used ?? '?'} of ${summary.daily ?? '?'} requests; it resets ${reset}.`, verdict.hint);
  }
  const left = `${summary.remaining ?? '?'} of ${summary.daily ?? '?'} requests left today (${summary.used ?? '?'} used); resets ${reset}.`;
  if (summary.daily !== null && summary.remaining !== null && summary.remaining < summary.daily * LOW_QUOTA_SHARE) {
    return check('quota', 'warn', `Only ${left}`, 'Pace requests (`chutes-diag probe --rpm 20` measures the per-minute limit) or upgrade the plan.');
  }
  return check('quota', 'pass', left);
}

/** How many served ids a failing model check names. */
const SERVED_NAMED = 5;

/**
 * The model the inference request names is served (GET /v1/models, free): a model that is gone
 * (Chutes' list moves) answers 404 "model not found" to every request. `choice` is null when --body
 * names its own model.
 */
export function checkModelServed(choice: ModelChoice | null, listProblem: string | null = null): Check {
  if (choice === null) return check('model-served', 'skip', 'The request body (--body) names its own model; not checked.');
  const served = choice.served;
  if (served === null) {
    // On Chutes the list is free and always there: not reading it is worth a warning; elsewhere it may not exist.
    const problem = choice.problem ?? listProblem ?? 'not read';
    const status = choice.problem !== null ? 'warn' : 'skip';
    return check('model-served', status, `Not checked: the model list (GET /v1/models) could not be read (${problem}); ${choice.model} may not be served.`,
      status === 'warn' ? 'Name a model you know is served with --model <id>.' : null);
  }
  if (isServed(choice.model, served)) {
    const how = choice.source === 'list' ? 'picked from' : 'listed in';
    return check('model-served', 'pass', `${choice.model} is served (${how} GET /v1/models: ${served.length} text models).`);
  }
  const names = served.slice(0, SERVED_NAMED).map((m) => m.id).join(', ');
  return check('model-served', 'fail', `${choice.model} is not in GET /v1/models (${served.length} text models served): every inference request naming it answers 404 "model not found".`,
    served.length > 0 ? `Served now, cheapest first: ${names}; pick one with --model <id>, or leave --model out to pick the cheapest.` : 'No text model is listed: try again later.');
}

/** Inference: what the one inference request's answer means. */
export function checkInference(record: ResponseRecord | null, skipReason: string | null): Check {
  if (record === null) return check('inference', 'skip', skipReason ?? 'Not sent.');
  const what = record.status === null ? 'no response' : `HTTP ${record.status}`;
  const message = `${what}: ${record.verdict?.message ?? record.outcome}`;
  if (record.outcome === 'ok') return check('inference', 'pass', message);
  // Capacity is Chutes being busy, not a fault in this setup: worth knowing, nothing to fix.
  if (record.outcome === 'capacity') return check('inference', 'warn', message, record.verdict?.hint ?? null);
  return check('inference', 'fail', message, record.verdict?.hint ?? null);
}

/**
 * A key the server accepted is not the cause of anything, whatever its shape (an emulator's or a
 * gateway's key, a format Chutes introduced later): a failed key-format check becomes a warning.
 */
export function acceptedKeyFormat(format: Check, acceptedBy: string): Check {
  if (format.status !== 'fail') return format;
  return check('key-format', 'warn', `Unusual key format, but ${acceptedBy} accepted the key: ${format.message}`, 'Nothing to fix for this server; a key for the real Chutes API looks like cpk_<32 hex>.<32 hex>.<32 letters or digits>.');
}

/** The base-url check once the inference answer confirmed a host mistake the URL alone only suggested. */
export function wrongHostConfirmed(base: URL): Check {
  return check('base-url', 'fail', `${base.host} answered inference with 404 "No matching chute found!": it is the management host.`, `Use --base-url ${DEFAULT_BASE_URL} (or unset CHUTES_BASE_URL).`);
}
