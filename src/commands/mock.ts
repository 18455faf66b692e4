// `chutes-diag mock`: the emulator as a long-running server, until Ctrl-C.
import { once } from 'node:events';
import { UsageError } from '../errors.js';
import type { EmulatorOptions } from '../emulator/server.js';
import { CHUTES_EDGE_BAN, type EdgeBanConfig } from '../emulator/edge-ban.js';
import { FAULTS } from '../emulator/settings.js';
import { jsonDocument } from '../render/json.js';
import { formatSeconds } from '../render/table.js';
import type { CommandContext } from './common.js';

/** A dummy key in the real cpk_ format (the emulator takes any cpk_/cak_ token), so doctor's key-format check passes too. */
export const MOCK_DUMMY_KEY = `cpk_${'0'.repeat(32)}.${'0'.repeat(32)}.${'mockKEYforTHEemulatorONLY'.padEnd(32, '0')}`;


export interface MockOptions {
  port: number;
  apiPort: number;
  host: string;
  /** Undefined: 10, or 0 with the Chutes headers (accountLimit). */
  limit?: number;
  window: number;
  algorithm: NonNullable<EmulatorOptions['algorithm']>;
  burst?: number;
  concurrencyLimit?: number;
  dailyQuota: number | 'unlimited';
  headers: NonNullable<EmulatorOptions['headers']>;
  latency: number;
  fault?: string;
  apiKey?: string;
  json?: boolean;
  /** The edge ban's knobs (undefined: the Chutes profile's value); false with --no-edge-ban. */
  edgeLimit?: number;
  edgeWindow?: number;
  banBase?: number;
  banGrowth?: number;
  banMax?: number;
  edgeBan?: boolean;
}

/**
 * The edge ban: on by default with the Chutes headers (it is Chutes' edge), on for another dialect
 * when any of the --edge- or --ban- options asks for it, off with --no-edge-ban.
 */
function edgeBanFrom(opts: MockOptions): EdgeBanConfig | null {
  const given = [opts.edgeLimit, opts.edgeWindow, opts.banBase, opts.banGrowth, opts.banMax].some((v) => v !== undefined);
  if (opts.edgeBan === false) {
    if (given) throw new UsageError('--no-edge-ban: the edge ban is off, so --edge-limit, --edge-window, --ban-base, --ban-growth and --ban-max have no effect; drop one side.');
    return null;
  }
  if (opts.headers !== 'chutes' && !given) return null;
  const config: EdgeBanConfig = {
    limit: opts.edgeLimit ?? CHUTES_EDGE_BAN.limit,
    // Both sides count whole milliseconds.
    windowMs: Math.max(1, Math.round(opts.edgeWindow ?? CHUTES_EDGE_BAN.windowMs)),
    baseMs: Math.max(1, Math.round(opts.banBase ?? CHUTES_EDGE_BAN.baseMs)),
    growth: opts.banGrowth ?? CHUTES_EDGE_BAN.growth,
    maxMs: Math.max(1, Math.round(opts.banMax ?? CHUTES_EDGE_BAN.maxMs)),
  };
  if (config.maxMs < config.baseMs) {
    throw new UsageError(`--ban-max: ${formatSeconds(config.maxMs / 1000)} is shorter than --ban-base ${formatSeconds(config.baseMs / 1000)}; the longest ban must be at least the first.`);
  }
  return config;
}

/** The start-up line's account of the edge ban. */
function describeEdgeBan(edge: EdgeBanConfig | null): string {
  if (edge === null) return 'edge ban: off';
  return `edge ban: ${edge.limit} requests per ${formatSeconds(edge.windowMs / 1000)}; a request over that, or any request during a ban, gets the edge's HTML 429 and restarts a ban of ${formatSeconds(edge.baseMs / 1000)} ×${edge.growth} per violation, up to ${formatSeconds(edge.maxMs / 1000)} (--no-edge-ban: off)`;
}

/**
 * The account limit (a JSON 429 from the app): --limit, else 10 — but none with the Chutes headers,
 * where, as on the real service, the edge enforces the per-minute limit X-Chutes-RL-User announces
 * (facts: "no application code enforces it: the edge does").
 */
export function accountLimit(opts: Pick<MockOptions, 'limit' | 'headers'>): number {
  return opts.limit ?? (opts.headers === 'chutes' ? 0 : 10);
}

export function emulatorOptionsFrom(opts: MockOptions): EmulatorOptions {
  if (opts.fault !== undefined && !(FAULTS as readonly string[]).includes(opts.fault)) {
    throw new UsageError(`--fault: unknown kind "${opts.fault}"; expected one of ${FAULTS.join(', ')}.`);
  }
  return {
    host: opts.host,
    port: opts.port,
    apiPort: opts.apiPort,
    limit: accountLimit(opts),
    windowMs: Math.max(1, Math.round(opts.window)), // the limiters count whole milliseconds
    algorithm: opts.algorithm,
    ...(opts.burst !== undefined ? { burst: opts.burst } : {}),
    concurrencyLimit: opts.concurrencyLimit ?? null,
    dailyQuota: opts.dailyQuota === 'unlimited' ? null : opts.dailyQuota,
    headers: opts.headers,
    latencyMs: Math.round(opts.latency),
    apiKey: opts.apiKey ?? null,
    fault: (opts.fault as EmulatorOptions['fault']) ?? null,
    edgeBan: edgeBanFrom(opts),
  };
}

export async function runMock(opts: MockOptions, ctx: CommandContext): Promise<number> {
  const { io, signal } = ctx;
  io.redactor.addSecret(opts.apiKey);
  const { startEmulator } = await import('../emulator/server.js');
  const options = emulatorOptionsFrom(opts);
  let emulator;
  try {
    emulator = await startEmulator(options);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE') throw new UsageError(`--port: ${opts.port} is already in use; pick another or use --port 0 for any free port.`);
    if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND') throw new UsageError(`--host: cannot listen on ${opts.host}; expected a local address such as 127.0.0.1.`);
    // The emulator checks its settings (e.g. a burst above what the limiter can hold): a usage error.
    if (error instanceof RangeError) throw new UsageError(`mock: ${error.message}`);
    throw error;
  }
  const limit = accountLimit(opts);
  const limiter = limit === 0
    ? `none${options.edgeBan ? ' (the edge below enforces the per-minute limit, as on Chutes)' : ''}`
    : `${limit} requests per ${formatSeconds(opts.window / 1000)} (${opts.algorithm}${opts.algorithm === 'token-bucket' ? `, burst ${opts.burst ?? limit}` : ''})`;
  if (io.json) {
    io.print(jsonDocument('mock', null, 0, {
      url: emulator.url,
      apiUrl: emulator.apiUrl,
      config: { ...options, apiKey: opts.apiKey ? '(set)' : null },
    }).trimEnd());
  } else {
    io.print(`Chutes emulator listening
  inference (llm.chutes.ai role):  ${emulator.url}
  management (api.chutes.ai role): ${emulator.apiUrl}
  account limit: ${limiter}; concurrency: ${opts.concurrencyLimit ?? 'unlimited'}; daily quota: ${opts.dailyQuota}
  headers: ${opts.headers}; latency: ${opts.latency} ms${opts.fault ? `; fault: ${opts.fault}` : ''}
  ${describeEdgeBan(options.edgeBan ?? null)}
  key: ${opts.apiKey ? 'only the one given with --api-key' : 'any cpk_… or cak_… token'}`);
    // Past the redactor on purpose: it masks every cpk_-shaped string, and this line holds only the
    // public placeholder (never the --api-key) and the emulator's own URLs.
    io.stdout.write(`Try:  CHUTES_API_KEY=${opts.apiKey ? '<your --api-key>' : MOCK_DUMMY_KEY} chutes-diag doctor --base-url ${emulator.url} --api-base-url ${emulator.apiUrl}\n`);
    io.print(`      (headers, probe and wait-reset need --base-url; quota needs --api-base-url, else it asks the real api.chutes.ai)
Ctrl-C to stop.`);
  }
  if (!signal.aborted) await once(signal, 'abort');
  await emulator.close();
  const stats = emulator.stats();
  if (!io.json) io.printErr(`\nserved ${stats.requests} requests; stopped.\n`);
  return 0;
}
