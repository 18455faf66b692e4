// `quota`'s domain call: the three free management GETs (fetchQuota), then what they add up to
// (assessQuota, pure): the daily summary, the subscription, each endpoint's state, the exit code,
// the verdict and the endpoint problems worth a note. The sentences are written in render/quota.ts.
import { ExitCode } from '../errors.js';
import type { Verdict } from '../types.js';
import {
  endpointState, getManagement, QUOTA_USAGE_PATH, QUOTAS_PATH, SUBSCRIPTION_USAGE_PATH,
  type EndpointState, type ManagementAnswer, type ManagementContext,
} from './management.js';
import {
  asObject, bindingLimit, exhaustedMeters, parseQuotas, parseQuotaUsage, parseSubscriptionUsage, quotaExhaustedVerdict, summariseQuota,
  type BindingLimit, type QuotaSummary, type QuotaTable, type SubscriptionSummary,
} from './usage.js';

/** The answers of quota_usage, quotas and subscription_usage, in that order. */
export type QuotaAnswers = [ManagementAnswer, ManagementAnswer, ManagementAnswer];

/** One endpoint that did not simply answer, and in what way. */
export interface EndpointProblem {
  answer: ManagementAnswer;
  state: EndpointState;
}

export interface QuotaAssessment {
  answers: QuotaAnswers;
  summary: QuotaSummary;
  /** The quotas table (per-chute rows); null when it did not parse. */
  table: QuotaTable | null;
  subscription: SubscriptionSummary | null;
  /** The daily quota or subscription cap that runs out first; null when none is capped or known. */
  binding: BindingLimit | null;
  /** Per answer, in the answers' order. */
  states: [EndpointState, EndpointState, EndpointState];
  exitCode: number;
  verdict: Verdict | null;
  /** The answer a failing run blames (a rejected key first); undefined when none. */
  failed: ManagementAnswer | undefined;
  /** Problems the verdict does not already name (a rejected key or a refused connection is said once). */
  problems: EndpointProblem[];
  /** When the figures were assessed (the reset countdown counts from here). */
  nowMs: number;
}

/** Sends the three GETs at once (seq 1–3). */
export async function fetchQuota(mctx: ManagementContext): Promise<QuotaAnswers> {
  const answers = await Promise.all([QUOTA_USAGE_PATH, QUOTAS_PATH, SUBSCRIPTION_USAGE_PATH].map((path, i) => getManagement(mctx, path, i + 1)));
  return answers as QuotaAnswers;
}

/** Auth beats network beats other HTTP (on quota_usage, or no figure at all); then an exhausted quota is exit 3. */
export function quotaExitCode(states: EndpointState[], summary: QuotaSummary, subscription: SubscriptionSummary | null, aborted: boolean): number {
  if (aborted) return ExitCode.interrupted;
  if (states.includes('auth_error')) return ExitCode.auth;
  if (states[0] === 'network_error') return ExitCode.network;
  // The management API itself limiting us is a rate limit too (exit 3, per the contract).
  if (states[0] === 'limited') return ExitCode.rateLimited;
  // A missing endpoint is skipped; a failing or garbled quota_usage leaves the main figure unknown.
  if (summary.source === null || states[0] === 'http_error' || states[0] === 'invalid') return ExitCode.http;
  if (summary.remaining === 0 || exhaustedMeters(subscription).length > 0) return ExitCode.rateLimited;
  return ExitCode.ok;
}

/** The answers → figures, states, exit code and verdict. */
export function assessQuota(answers: QuotaAnswers, nowMs: number, aborted: boolean): QuotaAssessment {
  const [usageAnswer, quotasAnswer, subscriptionAnswer] = answers;
  const usage = parseQuotaUsage(usageAnswer.json);
  const table = parseQuotas(quotasAnswer.json);
  const subscriptionParsed = subscriptionAnswer.json === null ? null : asObject(subscriptionAnswer.json);
  const subscription = parseSubscriptionUsage(subscriptionAnswer.json);
  const states: QuotaAssessment['states'] = [
    endpointState(usageAnswer, usage), endpointState(quotasAnswer, table), endpointState(subscriptionAnswer, subscriptionParsed),
  ];
  const summary = summariseQuota(usage, table, nowMs);
  const exitCode = quotaExitCode(states, summary, subscription, aborted);
  const failed = answers.find((_, i) => states[i] === 'auth_error') ?? answers.find((a, i) => states[i] !== 'ok' && states[i] !== 'missing' && a.record.verdict);
  const verdict: Verdict | null =
    exitCode === ExitCode.rateLimited && summary.remaining === 0 ? quotaExhaustedVerdict(summary, nowMs)
      : exitCode !== ExitCode.ok ? failed?.record.verdict ?? null
        : null;
  const saidByVerdict = (state: EndpointState) => verdict !== null && state !== 'missing' && state !== 'invalid';
  const problems = answers
    .map((answer, i): EndpointProblem => ({ answer, state: states[i] ?? 'ok' }))
    .filter(({ state }) => state !== 'ok' && !saidByVerdict(state));
  const binding = bindingLimit(summary, subscription);
  return { answers, summary, table, subscription, binding, states, exitCode, verdict, failed, problems, nowMs };
}
