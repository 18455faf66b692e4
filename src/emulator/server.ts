// A local Chutes look-alike: two loopback listeners sharing one account state.
//   url    → the llm.chutes.ai role (inference, behind the nginx/Google edge)
//   apiUrl → the api.chutes.ai role (management lookups)
// This file starts and stops the listeners. The rest, one idea per file: options and defaults in
// settings.ts, the shared state and request handler in runtime.ts, the two roles in inference.ts and
// management.ts, accounts in accounts.ts, request reading in request.ts, bodies and header formats in
// chutes.ts, limiter maths in limiters.ts, the edge's escalating ban in edge-ban.ts.

import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { EmulatorRuntime, type Arrival, type EmulatorStats } from './runtime.js';
import { resolveSettings, type EmulatorOptions } from './settings.js';

export type { Arrival, EmulatorStats } from './runtime.js';
export type { EmulatorOptions } from './settings.js';
export { CHUTES_EDGE_BAN, type EdgeBanConfig, type EdgeBanState } from './edge-ban.js';

export interface Emulator {
  url: string;
  apiUrl: string;
  /** The latest arrivals, oldest first (at most `maxArrivals`; stats().requests counts them all). */
  arrivals: Arrival[];
  stats(): EmulatorStats;
  close(): Promise<void>;
}

function urlFor(host: string, port: number): string {
  // A wildcard bind address is not something a client can connect to; point at loopback instead.
  const reachable = host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '::1' : host;
  return `http://${reachable.includes(':') ? `[${reachable}]` : reachable}:${port}`;
}

function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) {
      resolve();
      return;
    }
    server.close(() => resolve());
    // Keep-alive and in-flight sockets would otherwise hold close() open (Node 18.2+).
    server.closeAllConnections();
  });
}

/** Starts both listeners (ports 0 = any free port); close() stops them and drops open connections. */
export async function startEmulator(options: EmulatorOptions = {}): Promise<Emulator> {
  const settings = resolveSettings(options);
  const runtime = new EmulatorRuntime(settings);
  const llmServer = createServer(runtime.handler('llm'));
  const apiServer = createServer(runtime.handler('api'));
  let closing: Promise<void> | null = null;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      runtime.shutdown();
      await Promise.all([closeServer(llmServer), closeServer(apiServer)]);
    })();
    return closing;
  };
  try {
    const llmPort = await listen(llmServer, settings.port, settings.host);
    const apiPort = await listen(apiServer, settings.apiPort, settings.host);
    return {
      url: urlFor(settings.host, llmPort),
      apiUrl: urlFor(settings.host, apiPort),
      arrivals: runtime.arrivals,
      stats: () => runtime.stats(),
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}
