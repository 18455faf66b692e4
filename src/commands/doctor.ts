// `chutes-diag doctor`: an ordered checklist from the key to one inference request, then the single
// most likely cause of the user's 429s and its fix. The checks' logic is pure (exported, table-tested);
// runDoctor only gathers the facts: DNS, a TCP/TLS connection, two free management GETs, one request.
import { lookup } from 'node:dns/promises';
import { connect as connectTcp, isIP, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { connect as connectTls } from 'node:tls';
import { ExitCode, UsageError } from '../errors.js';
import { proxyEnvName } from '../http/client.js';
import { keyFingerprint } from '../http/redact.js';
import { buildRecord } from '../record.js';
import { emitGithubReport, type CiReport } from '../render/github.js';
import type { Io } from '../render/io.js';
import { jsonDocument } from '../render/json.js';
import { openJsonlWriter } from '../render/jsonl.js';
import {
  buildTarget, cleanKey, DEFAULT_API_BASE_URL, DEFAULT_BASE_URL, DEFAULT_MODEL, DEFAULT_PATH, DEFAULT_TIMEOUT_MS,
  checkRawKey, defaultBody, findRawKey, readBody, type RawKey,
} from '../target.js';
import type { AuthScheme, ResponseRecord, Verdict } from '../types.js';
import { failureLine, type CommandContext, type CommonOptions } from './common.js';
import {
  describeReset, getManagement, hasAuthorizationHeader, LOW_QUOTA_SHARE, parseQuotaUsage, QUOTA_USAGE_PATH, quotaExhaustedVerdict, summariseQuota, USER_PATH,
  type ManagementAnswer, type ManagementContext, type QuotaSummary,
} from './quota.js';

export interface DoctorOptions extends CommonOptions {
  skipInference?: boolean;
}

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
  'key-valid', 'quota', 'inference',
] as const;
export type CheckId = (typeof CHECK_IDS)[number];

const check = (id: CheckId, status: CheckStatus, message: string, hint: string | null = null): Check => ({ id, status, message, hint });

export const CPK_FORMAT = /^cpk_[a-f0-9]{32}\.[a-f0-9]{32}\.[a-zA-Z0-9]{32}$/;
/** OAuth tokens: the shape is not published; a prefix and a plausible token alphabet and length. */
export const CAK_FORMAT = /^cak_[A-Za-z0-9._-]{16,}$/;
const SET_KEY = 'Set CHUTES_API_KEY (or pass --api-key-file <path>) to your key from chutes.ai → API keys.';
const NEW_KEY = 'Copy the key again from chutes.ai → API keys, or create a new one: a deleted, revoked or mistyped key answers 401.';
const BEARER = 'Send the key as `Authorization: Bearer <key>` (`--auth bearer`, the default).';

export function isChutesHost(hostname: string): boolean {
  const host = hostname.toLowerCase();
  return host === 'chutes.ai' || host.endsWith('.chutes.ai');
}

/** True when the user set the option (flag or env); without the CLI's map, when a value was passed at all. */
export function explicitOption(opts: Pick<CommonOptions, 'explicit' | 'baseUrl' | 'apiBaseUrl'>, name: 'baseUrl' | 'apiBaseUrl'): boolean {
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
// Pure checks

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

export function checkInference(record: ResponseRecord | null, skipReason: string | null): Check {
  if (record === null) return check('inference', 'skip', skipReason ?? 'Not sent.');
  const what = record.status === null ? 'no response' : `HTTP ${record.status}`;
  const message = `${what}: ${record.verdict?.message ?? record.outcome}`;
  if (record.outcome === 'ok') return check('inference', 'pass', message);
  // Capacity is Chutes being busy, not a fault in this setup: worth knowing, nothing to fix.
  if (record.outcome === 'capacity') return check('inference', 'warn', message, record.verdict?.hint ?? null);
  return check('inference', 'fail', message, record.verdict?.hint ?? null);
}

// ---------------------------------------------------------------------------------------------
// Pure: the verdict and the exit code

export interface DoctorFindings {
  checks: Check[];
  auth: AuthScheme;
  /** The inference response, when one was sent. */
  inference: ResponseRecord | null;
  /** The key-valid answer's outcome. */
  keyValidOutcome: ResponseRecord['outcome'] | null;
  quota: QuotaSummary | null;
  nowMs: number;
  /** The host that accepted a key whose format check failed (see acceptedKeyFormat); null or absent otherwise. */
  keyAcceptedBy?: string | null;
}

/**
 * A key the server accepted is not the cause of anything, whatever its shape (an emulator's or a
 * gateway's key, a format Chutes introduced later): a failed key-format check becomes a warning.
 */
export function acceptedKeyFormat(format: Check, acceptedBy: string): Check {
  if (format.status !== 'fail') return format;
  return check('key-format', 'warn', `Unusual key format, but ${acceptedBy} accepted the key: ${format.message}`, 'Nothing to fix for this server; a key for the real Chutes API looks like cpk_<32 hex>.<32 hex>.<32 letters or digits>.');
}

const statusOf = (f: DoctorFindings, id: CheckId): CheckStatus | undefined => f.checks.find((c) => c.id === id)?.status;
const messageOf = (f: DoctorFindings, id: CheckId): string => f.checks.find((c) => c.id === id)?.message ?? '';
const hintOf = (f: DoctorFindings, id: CheckId): string => f.checks.find((c) => c.id === id)?.hint ?? '';
const inferenceSays = (f: DoctorFindings, ...codes: string[]) => f.inference?.verdict !== null && codes.includes(f.inference?.verdict?.code ?? '');

interface VerdictRule {
  when: (f: DoctorFindings) => boolean;
  verdict: (f: DoctorFindings) => Verdict;
}

/** Most specific cause first: a setup mistake explains every later symptom, so it is named before them. */
const DOCTOR_VERDICTS: readonly VerdictRule[] = [
  {
    when: (f) => statusOf(f, 'key-present') === 'fail',
    verdict: (f) => ({ code: 'missing-api-key', message: `${messageOf(f, 'key-present')} Anonymous requests meet the edge's 429 long before any account limit.`, hint: SET_KEY }),
  },
  {
    when: (f) => statusOf(f, 'key-format') === 'fail',
    verdict: (f) => ({ code: 'malformed-api-key', message: messageOf(f, 'key-format'), hint: hintOf(f, 'key-format') }),
  },
  {
    when: (f) => statusOf(f, 'auth-scheme') === 'fail' || inferenceSays(f, 'x-api-key-ignored', 'x-api-key-rejected'),
    verdict: () => ({
      code: 'x-api-key-ignored',
      message: 'The key goes out as X-API-Key, which Chutes never reads: your requests are anonymous, and the 429s are the edge\'s anonymous limit, not your account\'s.',
      hint: `${BEARER} In curl: -H "Authorization: Bearer $CHUTES_API_KEY".`,
    }),
  },
  {
    when: (f) => statusOf(f, 'base-url') === 'fail' || inferenceSays(f, 'wrong-host'),
    verdict: (f) => ({
      code: 'wrong-host',
      message: statusOf(f, 'base-url') === 'fail' ? messageOf(f, 'base-url') : 'Inference is sent to the management host, which answers 404 "No matching chute found!".',
      hint: statusOf(f, 'base-url') === 'fail' ? hintOf(f, 'base-url') : `Use --base-url ${DEFAULT_BASE_URL} (or unset CHUTES_BASE_URL).`,
    }),
  },
  {
    when: (f) => statusOf(f, 'inference-reachable') === 'fail' || statusOf(f, 'management-reachable') === 'fail',
    verdict: (f) => {
      const id = statusOf(f, 'inference-reachable') === 'fail' ? 'inference-reachable' : 'management-reachable';
      return { code: 'host-unreachable', message: `${messageOf(f, id)} This is a network problem, not a rate limit.`, hint: hintOf(f, id) };
    },
  },
  {
    when: (f) => statusOf(f, 'key-valid') === 'fail' && f.keyValidOutcome === 'auth_error',
    verdict: (f) => ({ code: 'invalid-api-key', message: `The key is rejected: ${messageOf(f, 'key-valid')}`, hint: NEW_KEY }),
  },
  {
    when: (f) => statusOf(f, 'quota') === 'fail' || inferenceSays(f, 'daily-quota-exhausted'),
    verdict: (f) => (f.quota !== null && f.quota.remaining === 0
      ? quotaExhaustedVerdict(f.quota, f.nowMs)
      : { code: 'daily-quota-exhausted', message: f.inference?.verdict?.message ?? 'The daily quota is used up.', hint: f.inference?.verdict?.hint ?? 'Wait for 00:00 UTC or add balance.' }),
  },
  {
    when: (f) => f.inference !== null && f.inference.outcome !== 'ok' && f.inference.verdict !== null,
    verdict: (f) => f.inference?.verdict ?? { code: 'unknown', message: '', hint: '' },
  },
  {
    when: (f) => f.checks.some((c) => c.status === 'fail'),
    verdict: (f) => {
      const failed = f.checks.find((c) => c.status === 'fail');
      return { code: `${failed?.id ?? 'check'}-failed`, message: failed?.message ?? '', hint: failed?.hint ?? '' };
    },
  },
  {
    when: (f) => statusOf(f, 'key-format') === 'warn' && !f.keyAcceptedBy,
    verdict: (f) => ({ code: 'key-has-extra-characters', message: messageOf(f, 'key-format'), hint: hintOf(f, 'key-format') }),
  },
];

export function chooseVerdict(findings: DoctorFindings): Verdict {
  const rule = DOCTOR_VERDICTS.find((r) => r.when(findings));
  if (rule !== undefined) return rule.verdict(findings);
  const sent = findings.inference !== null ? 'and one inference request passed' : '(no inference request was sent)';
  return {
    code: 'no-problem-found',
    message: `Key, host, auth scheme and quota look right ${sent}. 429s from here on are the per-minute rate limit (X-Chutes-RL-User, 60/min by default) or capacity.`,
    hint: 'Measure the limit with `chutes-diag probe --rpm 20`, and see when a 429 clears with `chutes-diag wait-reset`.',
  };
}

/** 4 when the key is rejected, 6 when a host is unreachable, 1 for any other failing check. */
export function doctorExitCode(findings: DoctorFindings, aborted: boolean): number {
  if (aborted) return ExitCode.interrupted;
  if (findings.keyValidOutcome === 'auth_error' || findings.inference?.outcome === 'auth_error') return ExitCode.auth;
  const unreachable = statusOf(findings, 'inference-reachable') === 'fail' || statusOf(findings, 'management-reachable') === 'fail';
  const inferenceNetwork = findings.inference?.outcome === 'network_error' || findings.inference?.outcome === 'timeout';
  if (unreachable || inferenceNetwork) return ExitCode.network;
  return findings.checks.some((c) => c.status === 'fail') ? ExitCode.assertion : ExitCode.ok;
}

// ---------------------------------------------------------------------------------------------
// I/O: reading the key, DNS and connections

/** Resolves the host (skipped for an IP literal), then opens one TCP connection, with a TLS handshake for https. */
export async function checkReachable(id: 'inference-reachable' | 'management-reachable', url: URL, timeoutMs: number, env: NodeJS.ProcessEnv): Promise<Check> {
  const proxy = proxyEnvName(env);
  if (proxy !== null) return check(id, 'skip', `${proxy} is set: ${url.host} is reached through the proxy, so a direct connection is not tested.`);
  const hostname = url.hostname.replace(/^\[|\]$/g, '');
  const what = id === 'inference-reachable' ? '--base-url' : '--api-base-url';
  let address = hostname;
  let resolved = 'is an IP address (no DNS lookup)';
  if (isIP(hostname) === 0) {
    try {
      const found = await lookup(hostname);
      address = found.address;
      resolved = `resolves to ${found.address}`;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? 'lookup failed';
      return check(id, 'fail', `${hostname} does not resolve (DNS ${code}).`, `Check the host name in ${what} and your DNS: nslookup ${hostname}.`);
    }
  }
  const tls = url.protocol === 'https:';
  const port = Number(url.port || (tls ? 443 : 80));
  const started = performance.now();
  try {
    await openConnection(address, port, tls ? hostname : null, timeoutMs);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    const layer = tls && code !== 'ECONNREFUSED' && code !== 'ETIMEDOUT' && !/^E(HOST|NET)UNREACH$/.test(code) ? 'TLS' : 'TCP';
    const hint = code === 'ERR_SSL_WRONG_VERSION_NUMBER'
      ? `The server does not speak TLS on port ${port}: use http:// or the right port in ${what}.`
      : layer === 'TLS'
        ? 'A proxy or antivirus may intercept TLS: trust its CA with NODE_EXTRA_CA_CERTS=/path/ca.pem (never disable verification).'
        : `Check the host and port in ${what}, and any firewall or VPN.`;
    return check(id, 'fail', `${url.host} ${resolved}, but the ${layer} connection failed (${code}).`, hint);
  }
  const ms = Math.round(performance.now() - started);
  return check(id, 'pass', `${url.host} ${resolved}; ${tls ? 'TLS handshake' : 'TCP connection'} in ${ms} ms.`);
}

function openConnection(address: string, port: number, servername: string | null, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket: Socket = servername === null
      ? connectTcp({ host: address, port })
      : connectTls({ host: address, port, servername: isIP(servername) === 0 ? servername : undefined, ALPNProtocols: ['http/1.1'] });
    const timer = setTimeout(() => socket.destroy(Object.assign(new Error('ETIMEDOUT'), { code: 'ETIMEDOUT' })), timeoutMs);
    const done = (error?: Error) => {
      clearTimeout(timer);
      socket.destroy();
      if (error) reject(error);
      else resolve();
    };
    socket.once(servername === null ? 'connect' : 'secureConnect', () => done());
    socket.once('error', done);
  });
}

// ---------------------------------------------------------------------------------------------
// Rendering

const LABEL: Record<CheckStatus, string> = { pass: 'PASS', warn: 'WARN', fail: 'FAIL', skip: 'SKIP' };

export function renderChecks(checks: readonly Check[], io: Pick<Io, 'color'>): string {
  const paint: Record<CheckStatus, (s: string) => string> = {
    pass: io.color.green, warn: io.color.yellow, fail: io.color.red, skip: io.color.dim,
  };
  const width = Math.max(...checks.map((c) => c.id.length));
  return checks.map((c) => {
    const line = `${paint[c.status](LABEL[c.status])}  ${c.id.padEnd(width)}  ${c.message}`;
    return c.hint !== null && c.status !== 'pass' ? `${line}\n${' '.repeat(width + 8)}${io.color.dim(`→ ${c.hint}`)}` : line;
  }).join('\n');
}

/** The GitHub Actions report: the verdict as the headline, one row per check, warn checks as warnings, fail checks as errors. */
export function doctorCiReport(checks: readonly Check[], verdict: Verdict): CiReport {
  const annotate = (c: Check) => `${c.id}: ${c.message}${c.hint !== null ? ` → ${c.hint}` : ''}`;
  return {
    command: 'doctor',
    headline: `Verdict [${verdict.code}]: ${verdict.message}${verdict.hint ? ` Fix: ${verdict.hint}` : ''}`,
    rows: checks.map((c): [string, string] => [c.id, `${c.status}: ${c.message}`]),
    warnings: checks.filter((c) => c.status === 'warn').map(annotate),
    errors: checks.filter((c) => c.status === 'fail').map(annotate),
  };
}

// ---------------------------------------------------------------------------------------------
// The command

export async function runDoctor(opts: DoctorOptions, ctx: CommandContext): Promise<number> {
  const { io, signal } = ctx;
  const auth = opts.auth ?? 'bearer';
  const base = opts.baseUrl ?? new URL(DEFAULT_BASE_URL);
  const apiBase = opts.apiBaseUrl ?? new URL(DEFAULT_API_BASE_URL);
  const timeoutMs = opts.timeout ?? DEFAULT_TIMEOUT_MS;

  // The key: never thrown on (a bad key is a finding, not a usage error), and masked in every output.
  let input: KeyInput;
  let key: string | null = null;
  let readProblem: string | null = null;
  try {
    input = findRawKey(opts, io.env);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    input = { raw: null, source: '--api-key-file' };
    readProblem = error.message;
  }
  io.redactor.addSecret(input.raw);
  try {
    const read = checkRawKey(input);
    key = read.key;
    for (const warning of read.warnings) io.warn(warning);
  } catch (error) {
    // A malformed key is a finding (the key-format check reports it), not a usage error.
    if (!(error instanceof UsageError)) throw error;
  }
  io.redactor.addSecret(key);

  const body = opts.body !== undefined ? readBody(opts.body) : defaultBody(opts.model ?? io.env.CHUTES_MODEL ?? DEFAULT_MODEL);
  const target = buildTarget({
    base, path: opts.path ?? DEFAULT_PATH, auth, key, body, extraHeaders: opts.header ?? [], timeoutMs, redactor: io.redactor,
  });
  const out = opts.out ? openJsonlWriter(opts.out, io.redactor, (message) => io.warn(message)) : null;
  const headerAuth = hasAuthorizationHeader(opts.header);
  const explicit = { baseUrl: explicitOption(opts, 'baseUrl'), apiBaseUrl: explicitOption(opts, 'apiBaseUrl') };
  // The management host counts only when the user named it: the default api.chutes.ai says nothing about the API tested.
  const chutesContext = isChutesHost(base.hostname) || !explicit.baseUrl || (explicit.apiBaseUrl && isChutesHost(apiBase.hostname))
    || /^c[pa]k_/.test(key ?? cleanKey(input.raw ?? ''));
  const managementSkip = managementSkipReason(base, apiBase, explicit);

  const checks: Check[] = [
    checkKeyPresent(input, auth, readProblem, headerAuth),
    checkKeyFormat(input, chutesContext),
    checkBaseUrl(base, apiBase),
    checkAuthScheme(auth, chutesContext),
  ];
  const connectTimeout = Math.min(timeoutMs, 10_000);
  const records: ResponseRecord[] = [];
  let inference: ResponseRecord | null = null;
  let keyAnswer: ManagementAnswer | null = null;
  let quotaSummary: QuotaSummary | null = null;
  const nowMs = Date.now();
  try {
    const [inferenceReach, managementReach] = await Promise.all([
      checkReachable('inference-reachable', base, connectTimeout, io.env),
      managementSkip !== null || base.origin === apiBase.origin ? null : checkReachable('management-reachable', apiBase, connectTimeout, io.env),
    ]);
    const managementCheck = managementSkip !== null
      ? check('management-reachable', 'skip', managementSkip)
      : managementReach ?? { ...inferenceReach, id: 'management-reachable' };
    checks.push(inferenceReach, managementCheck);
    const managementUp = managementCheck.status !== 'fail';

    // Free lookups, with the key in Authorization whatever --auth says: they test the key, auth-scheme tests the scheme.
    const keySkip = managementSkip !== null ? managementSkip
      : key === null && !headerAuth ? 'No usable key.' : auth === 'none' ? '--auth none: no key is sent.' : !managementUp ? 'The management host is unreachable.' : null;
    const mctx: ManagementContext = { apiBase, auth: auth === 'raw' ? 'raw' : 'bearer', key, opts, io, signal, http: ctx.http };
    let quotaAnswer: ManagementAnswer | null = null;
    if (keySkip === null) {
      [keyAnswer, quotaAnswer] = await Promise.all([getManagement(mctx, USER_PATH, 1), getManagement(mctx, QUOTA_USAGE_PATH, 2)]);
      records.push(keyAnswer.record, quotaAnswer.record);
      out?.write(keyAnswer.record);
      out?.write(quotaAnswer.record);
      quotaSummary = summariseQuota(parseQuotaUsage(quotaAnswer.json), null, nowMs);
    }
    checks.push(checkKeyValid(keyAnswer, keySkip, apiBase.host));
    checks.push(checkQuota(quotaSummary, quotaAnswer, keySkip, nowMs));

    const inferenceSkip = opts.skipInference ? 'Skipped (--skip-inference): nothing spent.'
      : inferenceReach.status === 'fail' ? 'The inference host is unreachable.'
        : signal.aborted ? 'Interrupted.' : null;
    if (inferenceSkip === null) {
      const raw = await ctx.http.send(target, { signal });
      if (raw.error?.code !== 'aborted') {
        inference = buildRecord(raw, { seq: records.length + 1, target, redactor: io.redactor }).record;
        records.push(inference);
        out?.write(inference);
      }
    }
    checks.push(checkInference(inference, inferenceSkip ?? (signal.aborted ? 'Interrupted.' : null)));
  } finally {
    out?.close();
    await ctx.http.close();
  }

  // The inference answer confirms a host mistake that the URL alone only suggested.
  if (inference?.verdict?.code === 'wrong-host') {
    const index = checks.findIndex((c) => c.id === 'base-url');
    const current = checks[index];
    if (current !== undefined && current.status !== 'fail') {
      checks[index] = check('base-url', 'fail', `${base.host} answered inference with 404 "No matching chute found!": it is the management host.`, `Use --base-url ${DEFAULT_BASE_URL} (or unset CHUTES_BASE_URL).`);
    }
  }
  // key-valid passed, or the inference request got through with the key: the server accepted it.
  const keyAcceptedBy = checks.find((c) => c.id === 'key-valid')?.status === 'pass' ? apiBase.host
    : inference?.outcome === 'ok' && key !== null && auth !== 'none' ? base.host : null;
  const formatIndex = checks.findIndex((c) => c.id === 'key-format');
  const format = checks[formatIndex];
  const formatAccepted = keyAcceptedBy !== null && format?.status === 'fail';
  if (formatAccepted) checks[formatIndex] = acceptedKeyFormat(format, keyAcceptedBy);
  const findings: DoctorFindings = {
    checks, auth, inference, keyValidOutcome: keyAnswer?.record.outcome ?? null, quota: quotaSummary, nowMs, keyAcceptedBy: formatAccepted ? keyAcceptedBy : null,
  };
  const verdict = chooseVerdict(findings);
  const exitCode = doctorExitCode(findings, signal.aborted);
  // Last on stderr for exit 4/6: the rejected response, or the verdict when no response came (a dead host).
  const failed = exitCode === ExitCode.auth ? (keyAnswer?.record.outcome === 'auth_error' ? keyAnswer.record : inference) : inference;
  const failure = exitCode === ExitCode.auth || exitCode === ExitCode.network
    ? failureLine(failed ?? undefined, exitCode) ?? `error: ${verdict.message}`
    : null;
  const finish = (): number => {
    if (signal.aborted) io.printErr(`interrupted by ${typeof signal.reason === 'string' ? signal.reason : 'a signal'}; the checks done so far are reported\n`);
    if (failure) io.printErr(`${failure}\n`);
    return exitCode;
  };

  emitGithubReport(io, doctorCiReport(checks, verdict));
  if (io.json) {
    io.print(jsonDocument('doctor', target, exitCode, {
      checks,
      verdict,
      // null: no request went to a management host (see the management-reachable check).
      managementBaseUrl: managementSkip === null ? apiBase.href : null,
      inference,
      responses: records,
    }).trimEnd());
    return finish();
  }
  io.print(`chutes-diag doctor: inference ${target.url.href}, management ${managementSkip === null ? apiBase.href : 'not checked'}, key ${target.keyFingerprint ?? 'none'}\n`);
  io.print(renderChecks(checks, io));
  const failing = checks.filter((c) => c.status === 'fail').length;
  const warnings = checks.filter((c) => c.status === 'warn').length;
  io.print(`\n${failing} failing, ${warnings} warning${warnings === 1 ? '' : 's'}, ${checks.filter((c) => c.status === 'pass').length} passing.`);
  const paint = verdict.code === 'no-problem-found' ? io.color.green : failing > 0 ? io.color.red : io.color.yellow;
  io.print(`${paint('Verdict')} ${io.color.dim(`[${verdict.code}]`)} ${verdict.message}\n${io.color.bold('Fix')}     ${verdict.hint}`);
  return finish();
}
