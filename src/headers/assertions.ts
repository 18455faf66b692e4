// `headers`' CI assertions, pure: which policy --min-remaining checks in a response, the
// --expect-status and --min-remaining checks on the responses, and the exit code they lead to.
import { ExitCode, UsageError } from '../errors.js';
import { formatSeconds } from '../format.js';
import type { RateLimitPolicy, ResponseRecord } from '../types.js';
import { exitCodeForOutcome } from '../verdict/classify.js';

/** The options the assertions read. */
export interface AssertionOptions {
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

/** The assertions asked for: --expect-status on every response, --min-remaining on the last. */
export function checkAssertions(records: ResponseRecord[], opts: AssertionOptions): Assertion[] {
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

/** Interrupted 130; no answer or a network failure 6; then the assertions (1 on a failure); else the last response's outcome. */
export function headersExitCode(records: ResponseRecord[], assertions: Assertion[], interrupted: boolean): number {
  if (interrupted) return ExitCode.interrupted;
  const last = records.at(-1);
  if (!last) return ExitCode.network;
  if (last.outcome === 'network_error' || last.outcome === 'timeout') return ExitCode.network;
  if (assertions.length > 0) return assertions.every((a) => a.passed) ? ExitCode.ok : ExitCode.assertion;
  return exitCodeForOutcome(last.outcome);
}
