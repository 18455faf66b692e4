// `chutes-diag tap`: a local recording reverse proxy in front of the user's app (src/tap/proxy.ts). Wiring
// only: the listen address and the key checked, the tap started, records written to --out as they come,
// and on Ctrl-C / SIGTERM (its normal end) the summary built from what passed (src/analyze/analyze.ts).
import { once } from 'node:events';
import { analyzeRecords } from '../analyze/analyze.js';
import { recommendFromRecords } from '../recommend/recommend.js';
import type { ClientName } from '../recommend/types.js';
import { UsageError } from '../errors.js';
import { createDispatcher } from '../http/client.js';
import { jsonDocument } from '../render/json.js';
import { openJsonlWriter } from '../render/jsonl.js';
import { renderOpenMetrics, renderTrafficReport, trafficDocumentFields } from '../render/traffic.js';
import { isLoopbackHost, type ListenAddress } from '../tap/guard.js';
import { startLiveView } from '../tap/live.js';
import { startTap, type Tap } from '../tap/proxy.js';
import { RETAINED_RECORDS } from '../tap/stats.js';
import { checkRawKey, DEFAULT_BASE_URL, findRawKey, isChutesHost } from '../target.js';
import type { AuthScheme } from '../types.js';
import type { CommandContext } from './common.js';

export interface TapOptions {
  listen: ListenAddress;
  allowRemote?: boolean;
  baseUrl?: URL;
  auth?: AuthScheme;
  apiKeyFile?: string;
  apiKey?: string;
  timeout: number;
  drain: number;
  out?: string;
  metrics?: boolean;
  json?: boolean;
  for?: ClientName;
}

export async function runTap(opts: TapOptions, ctx: CommandContext): Promise<number> {
  const { io } = ctx;
  if (!isLoopbackHost(opts.listen.host)) {
    if (!opts.allowRemote) throw new UsageError(`--listen: ${opts.listen.host} is not a loopback address, and the tap forwards the credentials of whoever connects; add --allow-remote to listen there anyway.`);
    io.warn(`listening on ${opts.listen.host}, not loopback: anyone who can reach it can use the credentials it forwards${opts.apiKeyFile || opts.apiKey ? ' and the key it adds' : ''}.`);
  }
  // Only a key given to the tap itself is added; CHUTES_API_KEY is the app's business.
  const given = opts.apiKeyFile !== undefined || opts.apiKey !== undefined ? checkRawKey(findRawKey(opts, {})) : null;
  for (const warning of given?.warnings ?? []) io.warn(warning);
  io.redactor.addSecret(given?.key);
  const base = opts.baseUrl ?? new URL(DEFAULT_BASE_URL);
  const out = opts.out ? openJsonlWriter(opts.out, io.redactor, (message) => io.warn(message)) : null;
  const dispatcher = createDispatcher(io.env);
  let tap: Tap | null = null;
  const live = startLiveView(io, () => (tap as Tap).stats, ctx.now, { chutes: isChutesHost(base.hostname) });
  try {
    try {
      tap = await startTap({
        listen: opts.listen,
        base,
        timeoutMs: opts.timeout,
        dispatcher,
        redactor: io.redactor,
        ownKey: given?.key ? { auth: opts.auth ?? 'bearer', key: given.key } : null,
        // Label values come from the upstream's headers: redacted like every other output.
        metrics: opts.metrics ? (stats) => io.redactor.redact(renderOpenMetrics(stats.snapshot(ctx.now()))) : null,
        onRecord: (record, request) => {
          out?.write(record);
          live.record(record, request);
        },
        onRefused: (refusal) => live.refused(refusal),
        onAuth: (auth) => live.auth(auth),
      });
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'EADDRINUSE') throw new UsageError(`--listen: port ${opts.listen.port} is already in use; pick another or use port 0 for any free port.`);
      if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND' || code === 'EACCES') throw new UsageError(`--listen: cannot listen on ${opts.listen.host}:${opts.listen.port} (${code}); expected a local address such as 127.0.0.1:8787.`);
      throw error;
    }
    io.printErr(`listening on ${tap.url} → ${base.href}${opts.metrics ? ` (metrics on ${tap.url}/metrics)` : ''}\n`);
    if (!io.json) io.printErr(`point the app at it, e.g. OPENAI_BASE_URL=${tap.url}/v1; Ctrl-C to stop and see the summary.\n`);
    if (!ctx.signal.aborted) await once(ctx.signal, 'abort');
    live.stop();
    const waiting = tap.stats.inFlight;
    if (waiting > 0) io.printErr(`stopping: no new connections; waiting up to ${opts.drain / 1000} s for ${waiting} exchange(s) in flight (Ctrl-C again to leave now).\n`);
    const cut = await tap.close(opts.drain);
    const counts = tap.stats.counts();
    const notes: string[] = [];
    if (cut > 0) notes.push(`${cut} exchange(s) still in flight after the drain (--drain) were cut.`);
    if (counts.exchanges > RETAINED_RECORDS) notes.push(`The estimate, timeline and latencies read the latest ${RETAINED_RECORDS} of ${counts.exchanges} exchanges (memory stays bounded); the counts are exact.`);
    const records = tap.stats.records();
    const analysis = analyzeRecords(records);
    const recommendation = recommendFromRecords(analysis.estimate, records, { url: base.href, model: null });
    const source = {
      command: 'tap' as const, input: { listen: tap.url, upstream: base.href, out: opts.out ?? null }, totals: counts, notes,
      recommendation, ...(opts.for ? { client: opts.for } : {}),
    };
    if (io.json) io.print(jsonDocument('tap', null, 0, trafficDocumentFields(analysis, source)).trimEnd());
    else io.print(renderTrafficReport(analysis, source, io.color));
    return 0;
  } finally {
    live.stop();
    out?.close();
    if (tap === null) await dispatcher.destroy().catch(() => undefined);
    else await dispatcher.close().catch(() => undefined);
  }
}
