// What every network command does first: resolve the shared options into a Target.
import { ExitCode, UsageError } from '../errors.js';
import type { HttpClient } from '../http/client.js';
import type { Io, MainIo } from '../render/io.js';
import { openJsonlWriter, type JsonlWriter } from '../render/jsonl.js';
import {
  buildTarget, DEFAULT_API_BASE_URL, DEFAULT_BASE_URL, DEFAULT_MODEL, DEFAULT_PATH, DEFAULT_TIMEOUT_MS,
  defaultBody, readApiKey, readBody, type NetworkOptions,
} from '../target.js';
import { AUTO_MODEL, chooseModel, wantsModelList, type ModelChoice } from '../models/choose.js';
import { fetchModelList } from '../models/fetch.js';
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
  /** The HTTP client (its own connection pool, proxy settings from the CLI's env); the CLI closes it when the command returns. */
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

/**
 * The model the default body names (see src/models/choose.ts): the user's, or on a Chutes host (or
 * with `--model auto`) the cheapest served text model from the one GET /v1/models of the run, else
 * the fallback. Call once, before resolveNetwork, and pass the choice on; print `choice.reason`.
 */
export async function resolveModel(opts: CommonOptions, ctx: Pick<CommandContext, 'io' | 'http' | 'signal'>): Promise<ModelChoice> {
  // The CLI always fills --model with its default: `explicit` says whether the user set it.
  const named = opts.explicit?.model === false ? undefined : opts.model;
  const namedSource = named !== undefined && named === ctx.io.env.CHUTES_MODEL ? 'env' : 'option';
  const request = { named, namedSource, base: opts.baseUrl ?? new URL(DEFAULT_BASE_URL), fallback: DEFAULT_MODEL } as const;
  // A --body names its own model: nothing to pick (a model-not-found 404 still reads the list, see headers).
  if (!wantsModelList(request) || (opts.body !== undefined && named !== AUTO_MODEL)) return chooseModel(request, null);
  const answer = await fetchModelList(ctx.http, request.base, { timeoutMs: opts.timeout ?? DEFAULT_TIMEOUT_MS, signal: ctx.signal });
  return chooseModel(request, answer);
}

/**
 * Says which model the run sends and why: a picked model on stdout (part of the run's story), a
 * failed pick as a warning; a named model or a non-Chutes host's fallback only with --verbose.
 */
export function reportModelChoice(choice: ModelChoice, io: Io): void {
  if (choice.problem !== null) io.warn(choice.reason);
  else if (io.json) return;
  else if (choice.source === 'list' || io.verbose) io.print(choice.reason);
}

export function resolveNetwork(opts: CommonOptions, io: Io, model?: ModelChoice): ResolvedNetwork {
  const { key, source, warnings } = readApiKey(opts, io.env);
  io.redactor.addSecret(key);
  for (const warning of warnings) io.warn(warning);
  const auth = opts.auth ?? 'bearer';
  if (auth !== 'none' && key === null && !(opts.header ?? []).some(([name]) => /^(authorization|x-api-key)$/i.test(name))) {
    io.warn('no API key: set CHUTES_API_KEY or use --api-key-file; the request is sent anonymously.');
  }
  const body = opts.body !== undefined ? readBody(opts.body) : defaultBody(model?.model ?? opts.model ?? io.env.CHUTES_MODEL ?? DEFAULT_MODEL);
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
  if (model && opts.body === undefined) target.model = { id: model.model, source: model.source };
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
