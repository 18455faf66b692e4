// What every network command does first: resolve the shared options into a Target.
import { ExitCode, UsageError } from '../errors.js';
import type { HttpClient } from '../http/client.js';
import type { Io, MainIo } from '../render/io.js';
import { openJsonlWriter, type JsonlWriter } from '../render/jsonl.js';
import {
  buildTarget, DEFAULT_API_BASE_URL, DEFAULT_BASE_URL, DEFAULT_MODEL, DEFAULT_PATH, DEFAULT_TIMEOUT_MS,
  defaultBody, readApiKey, readBody, type NetworkOptions,
} from '../target.js';
import type { ResponseRecord, Target } from '../types.js';

/** What a command gets from the CLI instead of reaching for globals: tests and `demo` pass their own. */
export interface CommandContext {
  io: Io;
  /** Aborted on SIGINT/SIGTERM; commands stop sending and report what they have. */
  signal: AbortSignal;
  /** The wall clock, epoch ms (Date.now in the CLI). */
  now: () => number;
  /** Where a confirmation prompt reads its answer (process.stdin in the CLI). */
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  /** The HTTP client (its own connection pool, proxy settings from the CLI's env); the command closes it. */
  http: HttpClient;
  /** Runs a whole CLI command line on the given streams (how `demo` runs each step, as a user would). */
  runCli: (argv: string[], base: MainIo) => Promise<number>;
}

export interface CommonOptions extends NetworkOptions {
  json?: boolean;
  out?: string;
  verbose?: boolean;
  /** Per option: true when the user set it (flag or env), false when it is the default. */
  explicit?: Record<string, boolean>;
}

export interface ResolvedNetwork {
  target: Target;
  key: string | null;
  keySource: string | null;
  apiBase: URL;
  out: JsonlWriter | null;
}

export function resolveNetwork(opts: CommonOptions, io: Io): ResolvedNetwork {
  const { key, source, warnings } = readApiKey(opts, io.env);
  io.redactor.addSecret(key);
  for (const warning of warnings) io.warn(warning);
  const auth = opts.auth ?? 'bearer';
  if (auth !== 'none' && key === null && !(opts.header ?? []).some(([name]) => /^(authorization|x-api-key)$/i.test(name))) {
    io.warn('no API key: set CHUTES_API_KEY or use --api-key-file; the request is sent anonymously.');
  }
  const body = opts.body !== undefined ? readBody(opts.body) : defaultBody(opts.model ?? io.env.CHUTES_MODEL ?? DEFAULT_MODEL);
  const target = buildTarget({
    base: opts.baseUrl ?? new URL(DEFAULT_BASE_URL),
    path: opts.path ?? DEFAULT_PATH,
    auth,
    key,
    body,
    extraHeaders: opts.header ?? [],
    timeoutMs: opts.timeout ?? DEFAULT_TIMEOUT_MS,
    redactor: io.redactor,
  });
  const out = opts.out ? openJsonlWriter(opts.out, io.redactor, (message) => io.warn(message)) : null;
  return { target, key, keySource: source, apiBase: opts.apiBaseUrl ?? new URL(DEFAULT_API_BASE_URL), out };
}

export function requireKey(key: string | null, what: string): string {
  if (key === null) throw new UsageError(`${what} needs an API key: set CHUTES_API_KEY or use --api-key-file <path>.`);
  return key;
}

/**
 * The one stderr line a failing run ends with (exit 3–6), so a script or a log shows why without
 * parsing stdout; null when the run succeeded, an assertion decided it, or it was interrupted.
 * Every network command should print it last, on stderr.
 */
export function failureLine(record: ResponseRecord | undefined, exitCode: number): string | null {
  if (!record || exitCode < ExitCode.rateLimited || exitCode > ExitCode.network) return null;
  if (record.status === null) {
    return `error: ${record.error?.message ?? record.outcome}${record.verdict ? ` — ${record.verdict.hint}` : ''}`;
  }
  const what = record.error?.message ?? record.verdict?.message ?? record.outcome;
  const namesStatus = new RegExp(`\\b${record.status}\\b`).test(what);
  return `error: ${namesStatus ? '' : `HTTP ${record.status}: `}${what}`;
}
