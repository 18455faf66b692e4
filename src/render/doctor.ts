// `doctor`'s output, pure: the checklist (one PASS/WARN/FAIL/SKIP line per check, the fix under it),
// the tally and the verdict for humans; the --json fields; the GitHub Actions report.
import type { ChalkInstance } from 'chalk';
import type { DoctorResult } from '../doctor/diagnose.js';
import type { Check, CheckStatus } from '../doctor/checks.js';
import type { Verdict } from '../types.js';
import { joinBlocks } from './blocks.js';
import type { CiReport } from './github.js';

const LABEL: Record<CheckStatus, string> = { pass: 'PASS', warn: 'WARN', fail: 'FAIL', skip: 'SKIP' };

/** The checklist: the ids in a column, the hint of a check that did not pass on the line below. */
export function renderChecks(checks: readonly Check[], color: ChalkInstance): string {
  const paint: Record<CheckStatus, (s: string) => string> = {
    pass: color.green, warn: color.yellow, fail: color.red, skip: color.dim,
  };
  const width = Math.max(...checks.map((c) => c.id.length));
  return checks.map((c) => {
    const line = `${paint[c.status](LABEL[c.status])}  ${c.id.padEnd(width)}  ${c.message}`;
    return c.hint !== null && c.status !== 'pass' ? `${line}\n${' '.repeat(width + 8)}${color.dim(`→ ${c.hint}`)}` : line;
  }).join('\n');
}

/** The human output of `doctor` on stdout: what was checked, the checklist, the tally, the verdict and its fix. */
export function renderDoctor(result: DoctorResult, color: ChalkInstance): string {
  const { checks, verdict, target } = result;
  const failing = checks.filter((c) => c.status === 'fail').length;
  const warnings = checks.filter((c) => c.status === 'warn').length;
  const paint = verdict.code === 'no-problem-found' ? color.green : failing > 0 ? color.red : color.yellow;
  return joinBlocks([
    `chutes-diag doctor: inference ${target.url.href}, management ${result.managementBaseUrl ?? 'not checked'}, key ${target.keyFingerprint ?? 'none'}\n`,
    renderChecks(checks, color),
    `\n${failing} failing, ${warnings} warning${warnings === 1 ? '' : 's'}, ${checks.filter((c) => c.status === 'pass').length} passing.`,
    `${paint('Verdict')} ${color.dim(`[${verdict.code}]`)} ${verdict.message}\n${color.bold('Fix')}     ${verdict.hint}`,
  ]);
}

/** The --json fields of `doctor` (beside the envelope of render/json.ts). */
export function doctorJson(result: DoctorResult): Record<string, unknown> {
  return {
    checks: result.checks,
    verdict: result.verdict,
    // null: no request went to a management host (see the management-reachable check).
    managementBaseUrl: result.managementBaseUrl,
    inference: result.inference,
    responses: result.records,
  };
}

/** The GitHub Actions report: the verdict as the headline, one row per check, warn checks as warnings, fail checks as errors. */
export function doctorCiReport(checks: readonly Check[], verdict: Verdict): CiReport {
  const annotate = (c: Check) => `${c.id}: ${c.message}${c.hint !== null ? ` → ${c.hint}` : ''}`;
  return {
    command: 'doctor',
    headline: `Verdict [${verdict.code}]: ${verdict.message}${verdict.hint ? ` Fix: ${verdict.hint}` : ''}`,
    rows: checks.map((c): [string, string] => [c.id, `${c.status}: ${c.message}`]),
    warnings: checks.filter((c) => c.status === 'warn').map(annotate),
    errors: checks.filter((c) => c.status === 'fail').map(annotate),
  };
}
