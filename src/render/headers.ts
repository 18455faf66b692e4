// `headers`' output, pure: one response in detail (header table, parsed policies, parser warnings,
// verdict), the assertion lines, the --json fields and the GitHub Actions report.
import type { ChalkInstance } from 'chalk';
import { remainingPolicy, type Assertion } from '../headers/assertions.js';
import type { HeadersResponse } from '../headers/send.js';
import type { ResponseRecord } from '../types.js';
import { joinBlocks } from './blocks.js';
import type { CiReport } from './github.js';
import { renderHeaderTable, renderPolicyTable, renderVerdict } from './record.js';

export interface HeadersStyle {
  color: ChalkInstance;
  /** -v: the transport error's code under the verdict. */
  verbose: boolean;
}

/** The header table, parsed policies, warnings and verdict of one response (human output). */
export function renderHeaderDetails(response: Pick<HeadersResponse, 'built' | 'receivedAt'>, style: HeadersStyle): string {
  const { color } = style;
  const { record, warnings } = response.built;
  return joinBlocks([
    renderHeaderTable(record, color),
    renderPolicyTable(record, color, response.receivedAt) || null,
    ...warnings.map((warning) => color.yellow(`! ${warning}`)),
    renderVerdict(record, color),
    record.error && style.verbose ? color.dim(`error: ${record.error.code}: ${record.error.message}`) : null,
  ]);
}

/** One PASS/FAIL line per assertion ('' when none was asked for). */
export function renderAssertions(assertions: readonly Assertion[], color: ChalkInstance): string {
  return joinBlocks(assertions.map((a) => `${a.passed ? color.green('PASS') : color.red('FAIL')} ${a.name}: ${a.message}`));
}

/** The --json fields of `headers` (beside the envelope of render/json.ts). */
export function headersJson(records: ResponseRecord[], assertions: Assertion[], warnings: string[]): Record<string, unknown> {
  return {
    results: records,
    ...(assertions.length > 0 ? { assertions } : {}),
    warnings,
  };
}

/** The GitHub Actions report: the last response as the headline, the last limit a warning, failed assertions and errors as errors. */
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
