// `chutes-diag mock`: the emulator as a long-running server, until Ctrl-C.
import { once } from 'node:events';
import { UsageError } from '../errors.js';
import type { EmulatorOptions } from '../emulator/server.js';
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
  limit: number;
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
}

export function emulatorOptionsFrom(opts: MockOptions): EmulatorOptions {
  if (opts.fault !== undefined && !(FAULTS as readonly string[]).includes(opts.fault)) {
    throw new UsageError(`--fault: unknown kind "${opts.fault}"; expected one of ${FAULTS.join(', ')}.`);
  }
  return {
    host: opts.host,
    port: opts.port,
    apiPort: opts.apiPort,
    limit: opts.limit,
    windowMs: Math.max(1, Math.round(opts.window)), // the limiters count whole milliseconds
    algorithm: opts.algorithm,
    ...(opts.burst !== undefined ? { burst: opts.burst } : {}),
    concurrencyLimit: opts.concurrencyLimit ?? null,
    dailyQuota: opts.dailyQuota === 'unlimited' ? null : opts.dailyQuota,
    headers: opts.headers,
    latencyMs: Math.round(opts.latency),
    apiKey: opts.apiKey ?? null,
    fault: (opts.fault as EmulatorOptions['fault']) ?? null,
  };
}

export async function runMock(opts: MockOptions, ctx: CommandContext): Promise<number> {
  const { io, signal } = ctx;
  io.redactor.addSecret(opts.apiKey);
  const { startEmulator } = await import('../emulator/server.js');
  let emulator;
  try {
    emulator = await startEmulator(emulatorOptionsFrom(opts));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE') throw new UsageError(`--port: ${opts.port} is already in use; pick another or use --port 0 for any free port.`);
    if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND') throw new UsageError(`--host: cannot listen on ${opts.host}; expected a local address such as 127.0.0.1.`);
    // The emulator checks its settings (e.g. a burst above what the limiter can hold): a usage error.
    if (error instanceof RangeError) throw new UsageError(`mock: ${error.message}`);
    throw error;
  }
  const limiter = opts.limit === 0
    ? 'no rate limit'
    : `${opts.limit} requests per ${formatSeconds(opts.window / 1000)} (${opts.algorithm}${opts.algorithm === 'token-bucket' ? `, burst ${opts.burst ?? opts.limit}` : ''})`;
  if (io.json) {
    io.print(jsonDocument('mock', null, 0, {
      url: emulator.url,
      apiUrl: emulator.apiUrl,
      config: { ...emulatorOptionsFrom(opts), apiKey: opts.apiKey ? '(set)' : null },
    }).trimEnd());
  } else {
    io.print(`Chutes emulator listening
  inference (llm.chutes.ai role):  ${emulator.url}
  management (api.chutes.ai role): ${emulator.apiUrl}
  limit: ${limiter}; concurrency: ${opts.concurrencyLimit ?? 'unlimited'}; daily quota: ${opts.dailyQuota}
  headers: ${opts.headers}; latency: ${opts.latency} ms${opts.fault ? `; fault: ${opts.fault}` : ''}
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
