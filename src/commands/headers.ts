// `chutes-diag headers`: send one request (or --count N, one after another), show every
// rate-limit header raw and parsed, and what the response means.
import { ExitCode } from '../errors.js';
import { closeDispatcher, send } from '../http/client.js';
import { buildRecord, type BuiltRecord } from '../record.js';
import { emitGithubReport, type CiReport } from '../render/github.js';
import { jsonDocument } from '../render/json.js';
import { renderHeaderTable, renderPolicyTable, renderStatusLine, renderVerdict } from '../render/record.js';
import type { ResponseRecord } from '../types.js';
import { exitCodeForOutcome } from '../verdict/classify.js';
import type { Io } from '../render/io.js';
import { failureLine, resolveNetwork, type CommandContext, type CommonOptions } from './common.js';

export interface HeadersOptions extends CommonOptions {
  count?: number;
  all?: boolean;
  expectStatus?: number;
  minRemaining?: number;
}

export interface Assertion {
  name: string;
  passed: boolean;
  message: string;
}

/** The smallest `remaining` among request-counting policies, or null when no header says. */
export function lowestRemaining(record: ResponseRecord): number | null {
  const values = record.rateLimit.policies
    .filter((p) => p.unit === 'requests' && p.remaining !== null)
    .map((p) => p.remaining as number);
  return values.length > 0 ? Math.min(...values) : null;
}

export function checkAssertions(records: ResponseRecord[], opts: HeadersOptions): Assertion[] {
  const assertions: Assertion[] = [];
  if (opts.expectStatus !== undefined) {
    const bad = records.filter((r) => r.status !== opts.expectStatus);
    assertions.push({
      name: 'expect-status',
      passed: bad.length === 0,
      message: bad.length === 0
        ? `every response had status ${opts.expectStatus}`
        : `expected status ${opts.expectStatus}, got ${bad.map((r) => r.status ?? 'no response').join(', ')}`,
    });
  }
  if (opts.minRemaining !== undefined) {
    const last = records.at(-1);
    const remaining = last ? lowestRemaining(last) : null;
    assertions.push({
      name: 'min-remaining',
      passed: remaining !== null && remaining >= opts.minRemaining,
      message: remaining === null
        ? `cannot check --min-remaining ${opts.minRemaining}: the response carried no request-count remaining header`
        : `remaining ${remaining} ${remaining >= opts.minRemaining ? '≥' : '<'} ${opts.minRemaining}`,
    });
  }
  return assertions;
}

export function headersExitCode(records: ResponseRecord[], assertions: Assertion[], interrupted: boolean): number {
  if (interrupted) return ExitCode.interrupted;
  const last = records.at(-1);
  if (!last) return ExitCode.network;
  if (last.outcome === 'network_error' || last.outcome === 'timeout') return ExitCode.network;
  if (assertions.length > 0) return assertions.every((a) => a.passed) ? ExitCode.ok : ExitCode.assertion;
  return exitCodeForOutcome(last.outcome);
}

export function headersCiReport(records: ResponseRecord[], assertions: Assertion[]): CiReport {
  const last = records.at(-1);
  const remaining = last ? lowestRemaining(last) : null;
  const limited = records.filter((r) => r.outcome === 'rate_limited' || r.outcome === 'quota_exceeded' || r.outcome === 'capacity');
  const failed = records.filter((r) => r.outcome !== 'ok' && !limited.includes(r));
  return {
    command: 'headers',
    headline: last
      ? `${last.status === null ? 'no response' : `HTTP ${last.status}`} — ${last.verdict?.message ?? last.outcome}`
      : 'no request completed',
    rows: [
      ['requests', String(records.length)],
      ['last status', String(last?.status ?? 'none')],
      ['remaining (requests)', remaining === null ? 'not advertised' : String(remaining)],
      ...assertions.map((a): [string, string] => [a.name, `${a.passed ? 'pass' : 'FAIL'}: ${a.message}`]),
    ],
    warnings: limited.slice(-1).map((r) => `${r.verdict?.message ?? 'rate limited'} ${r.verdict?.hint ?? ''}`.trim()),
    errors: [
      ...assertions.filter((a) => !a.passed).map((a) => `${a.name}: ${a.message}`),
      ...failed.slice(-1).map((r) => r.error?.message ?? r.verdict?.message ?? r.outcome),
    ],
  };
}

/** The header table, parsed policies, warnings and verdict of one response (human output). */
function renderDetails(io: Io, built: BuiltRecord, receivedAt: number): void {
  io.print(renderHeaderTable(built.record, io.color));
  const policies = renderPolicyTable(built.record, io.color, receivedAt);
  if (policies) io.print(policies);
  for (const warning of built.warnings) io.print(io.color.yellow(`! ${warning}`));
  io.print(renderVerdict(built.record, io.color));
  if (built.record.error && io.verbose) io.print(io.color.dim(`error: ${built.record.error.code}: ${built.record.error.message}`));
}

export async function runHeaders(opts: HeadersOptions, ctx: CommandContext): Promise<number> {
  const { io, signal } = ctx;
  const { target, out } = resolveNetwork(opts, io);
  const count = opts.count ?? 1;
  const records: ResponseRecord[] = [];
  const warnings = new Set<string>();
  let last: { built: BuiltRecord; receivedAt: number; detailed: boolean } | null = null;
  try {
    for (let seq = 1; seq <= count && !signal.aborted; seq++) {
      const raw = await send(target, { signal });
      if (raw.error?.code === 'aborted') break;
      const built = buildRecord(raw, { seq, target, redactor: io.redactor, allHeaders: opts.all ?? false });
      records.push(built.record);
      for (const warning of built.warnings) warnings.add(warning);
      out?.write(built.record);
      const shown = !io.json && (built.record.status !== null || io.verbose);
      const detailed = shown && (count === 1 || seq === count || io.verbose);
      last = { built, receivedAt: raw.receivedAt, detailed };
      if (shown) io.print(renderStatusLine(built.record, io.color));
      if (detailed) renderDetails(io, built, raw.receivedAt);
    }
  } finally {
    out?.close();
    await closeDispatcher();
  }
  const interrupted = signal.aborted;
  const assertions = checkAssertions(records, opts);
  const exitCode = headersExitCode(records, assertions, interrupted);
  emitGithubReport(io, headersCiReport(records, assertions));
  if (io.json) {
    io.print(jsonDocument('headers', target, exitCode, {
      results: records,
      ...(assertions.length > 0 ? { assertions } : {}),
      warnings: [...warnings],
    }).trimEnd());
  } else {
    // Interrupted mid-run: the last completed response still gets its full table and verdict.
    if (interrupted && last && !last.detailed && last.built.record.status !== null) renderDetails(io, last.built, last.receivedAt);
    for (const a of assertions) io.print(`${a.passed ? io.color.green('PASS') : io.color.red('FAIL')} ${a.name}: ${a.message}`);
  }
  if (interrupted) {
    const by = typeof signal.reason === 'string' ? signal.reason : 'a signal';
    const kept = opts.out ? `; every completed response is in ${opts.out}` : '';
    io.printErr(`interrupted by ${by} after ${records.length} of ${count} request${count === 1 ? '' : 's'}${kept}\n`);
  }
  const failure = failureLine(records.at(-1), exitCode);
  if (failure) io.printErr(`${failure}\n`);
  return exitCode;
}
