// classifyResponse: reads the facts of one response once (facts.ts), then takes the first matching row of
// the rule table in rules.ts. Pure: no I/O, no clock; it never sees the key, only whether one was sent.

import { ExitCode } from '../errors.js';
import type { Outcome, Verdict } from '../types.js';
import { readFacts, type ClassifyContext, type ClassifyInput } from './facts.js';
import { FALLBACK_RULE, VERDICT_RULES, renderText } from './rules.js';

export type { ClassifyContext, ClassifyInput, ResponseFacts } from './facts.js';
export { tightestPolicy } from './facts.js';

/** The verdict of one response: the first rule of the table whose `when` holds, its sentences rendered. */
export function classifyResponse(
  input: ClassifyInput,
  ctx: ClassifyContext,
): { outcome: Outcome; verdict: Verdict } {
  const facts = readFacts(input, ctx);
  const rule = VERDICT_RULES.find((r) => r.when(facts)) ?? FALLBACK_RULE;
  return {
    outcome: rule.outcome,
    verdict: {
      code: rule.code,
      message: renderText(rule.message, facts),
      hint: renderText(rule.hint, facts),
    },
  };
}

// Which exit code a command ends with when its last (or only) response had this outcome.
const EXIT_CODES: Record<Outcome, number> = {
  ok: ExitCode.ok,
  rate_limited: ExitCode.rateLimited,
  quota_exceeded: ExitCode.rateLimited,
  capacity: ExitCode.rateLimited,
  auth_error: ExitCode.auth,
  http_error: ExitCode.http,
  network_error: ExitCode.network,
  timeout: ExitCode.network,
};

export function exitCodeForOutcome(outcome: Outcome): number {
  return EXIT_CODES[outcome];
}
