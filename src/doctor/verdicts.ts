// doctor's verdict, pure: the findings (checks plus the answers behind them) → the single most
// likely cause of the user's 429s and its fix, by a table of rules tried in order; and the exit code.
import { ExitCode } from '../errors.js';
import { quotaExhaustedVerdict, type QuotaSummary } from '../quota/usage.js';
import { DEFAULT_BASE_URL } from '../target.js';
import type { AuthScheme, ResponseRecord, Verdict } from '../types.js';
import { BEARER, NEW_KEY, SET_KEY, type Check, type CheckId, type CheckStatus } from './checks.js';

/** What the checklist found: the checks, and the answers behind them that the verdict rules read. */
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

const statusOf = (f: DoctorFindings, id: CheckId): CheckStatus | undefined => f.checks.find((c) => c.id === id)?.status;
const messageOf = (f: DoctorFindings, id: CheckId): string => f.checks.find((c) => c.id === id)?.message ?? '';
const hintOf = (f: DoctorFindings, id: CheckId): string => f.checks.find((c) => c.id === id)?.hint ?? '';
const inferenceSays = (f: DoctorFindings, ...codes: string[]) => f.inference?.verdict !== null && codes.includes(f.inference?.verdict?.code ?? '');

/** One row of doctor's verdict table (not verdict/rules.ts's VerdictRule, which reads one response). */
interface DoctorVerdictRule {
  when: (f: DoctorFindings) => boolean;
  verdict: (f: DoctorFindings) => Verdict;
}

/** Most specific cause first: a setup mistake explains every later symptom, so it is named before them. */
const DOCTOR_VERDICTS: readonly DoctorVerdictRule[] = [
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
    // A model that is gone: every request fails with 404 whatever the limits; the check names what is served.
    when: (f) => statusOf(f, 'model-served') === 'fail' && (f.inference === null || inferenceSays(f, 'model-not-found')),
    verdict: (f) => ({ code: 'model-not-found', message: messageOf(f, 'model-served'), hint: hintOf(f, 'model-served') }),
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

/** The first rule that matches names the cause; none matching means the setup looks right. */
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
