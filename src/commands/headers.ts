// `chutes-diag headers`: send one request (or --count N, one after another), show every
// rate-limit header raw and parsed, and what the response means.
import { ExitCode, UsageError } from '../errors.js';
import { buildRecord, type BuiltRecord } from '../record.js';
import { emitGithubReport, type CiReport } from '../render/github.js';
import { jsonDocument } from '../render/json.js';
import { renderHeaderTable, renderPolicyTable, renderStatusLine, renderVerdict } from '../render/record.js';
import { formatSeconds } from '../format.js';
import type { RateLimitPolicy, ResponseRecord } from '../types.js';
import { exitCodeForOutcome } from '../verdict/classify.js';
import type { Io } from '../render/io.js';
import { failureLine, resolveNetwork, type CommandContext, type CommonOptions } from './common.js';

export interface HeadersOptions extends CommonOptions {
  count?: number;
  all?: boolean;
  expectStatus?: number;
  minRemaining?: number;
  /** The policy --min-remaining checks, by the name the parser gives it (see remainingPolicy). */
  policy?: string;
}

export interface Assertion {
  name: string;
  passed: boolean;
  message: string;
  /** min-remaining: the name of the policy checked, null when none could be. */
  policy?: string | null;
}

const DAY_SECONDS = 86_400;
/** A policy that states no window ranks as shorter than a day: it is the per-minute or per-hour limit (a daily quota states its day). */
const UNSTATED_WINDOW_RANK = DAY_SECONDS - 1;
const windowRank = (p: RateLimitPolicy): number => p.windowSeconds ?? UNSTATED_WINDOW_RANK;

/**
 * The policy `--min-remaining` checks in one response, or null when none states a remaining count.
 * Named (`--policy`): the policy of that name, case-insensitive. Otherwise the current window: the
 * request-count policy with the shortest window among those stating a remaining count, so a daily
 * quota only when no shorter window states one (Chutes' per-minute X-Chutes-RL-User has no remaining
 * count, so on Chutes alone it is X-Chutes-Quota-Remaining). Ties: the lowest remaining.
 */
export function remainingPolicy(record: ResponseRecord, name?: string): RateLimitPolicy | null {
  const candidates = record.rateLimit.policies
    .filter((p) => p.remaining !== null && (name === undefined ? p.unit === 'requests' : p.name.toLowerCase() === name.toLowerCase()))
    .sort((a, b) => windowRank(a) - windowRank(b) || (a.remaining ?? 0) - (b.remaining ?? 0));
  return candidates[0] ?? null;
}

/** `policy "minute" (requests, 1m00s window, ietf-draft-8)`: which policy a figure came from. */
function describePolicy(p: RateLimitPolicy): string {
  return `policy "${p.name}" (${p.unit}, ${p.windowSeconds === null ? 'window not stated' : `${formatSeconds(p.windowSeconds)} window`}, ${p.dialect})`;
}

/** The --min-remaining assertion on the last response; an unknown --policy name is a usage error naming those advertised. */
export function checkMinRemaining(last: ResponseRecord | undefined, min: number, name?: string): Assertion {
  const policies = last?.rateLimit.policies ?? [];
  const names = [...new Set(policies.map((p) => p.name))];
  if (name !== undefined && names.length > 0 && !names.some((n) => n.toLowerCase() === name.toLowerCase())) {
    throw new UsageError(`--policy: the response advertised no policy named "${name}"; it advertised ${names.map((n) => `"${n}"`).join(', ')}.`);
  }
  const policy = last ? remainingPolicy(last, name) : null;
  if (policy === null || policy.remaining === null) {
    const why = name === undefined
      ? 'the response carried no request-count remaining header'
      : names.length === 0 ? 'the response carried no rate-limit headers' : `policy "${name}" states no remaining count`;
    return { name: 'min-remaining', passed: false, policy: null, message: `cannot check --min-remaining ${min}: ${why}` };
  }
  const passed = policy.remaining >= min;
  // Said when the default fell back to a day-long (or longer) policy: the current window states no remaining count.
  const fallback = name === undefined && windowRank(policy) >= DAY_SECONDS ? '; no shorter window states a remaining count (--policy <name> picks one)' : '';
  return {
    name: 'min-remaining',
    passed,
    policy: policy.name,
    message: `remaining ${policy.remaining} ${passed ? '≥' : '<'} ${min} in ${describePolicy(policy)}${fallback}`,
  };
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
  if (opts.minRemaining !== undefined) assertions.push(checkMinRemaining(records.at(-1), opts.minRemaining, opts.policy));
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
  const current = last ? remainingPolicy(last) : null;
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
      ['remaining (requests)', current === null ? 'not advertised' : `${current.remaining} in "${current.name}"`],
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
  if (opts.policy !== undefined && opts.minRemaining === undefined) {
    throw new UsageError('--policy <name> only chooses the policy --min-remaining checks; add --min-remaining <n>.');
  }
  const { target, out } = resolveNetwork(opts, io);
  const count = opts.count ?? 1;
  const records: ResponseRecord[] = [];
  const warnings = new Set<string>();
  let last: { built: BuiltRecord; receivedAt: number; detailed: boolean } | null = null;
  try {
    for (let seq = 1; seq <= count && !signal.aborted; seq++) {
      const raw = await ctx.http.send(target, { signal });
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
    await ctx.http.close();
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
