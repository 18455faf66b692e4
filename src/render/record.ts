// Human rendering of one response record: status line, headers, parsed policies, verdict.
import type { ChalkInstance } from 'chalk';
import type { Outcome, ResponseRecord } from '../types.js';
import { resetInstantMs } from '../format.js';
import { formatLocalTime, formatNumber, formatSeconds, makeTable } from './table.js';

export function outcomeColor(color: ChalkInstance, outcome: Outcome): (text: string) => string {
  if (outcome === 'ok') return color.green;
  if (outcome === 'rate_limited' || outcome === 'quota_exceeded' || outcome === 'capacity') return color.yellow;
  return color.red;
}

export function renderStatusLine(record: ResponseRecord, color: ChalkInstance): string {
  const paint = outcomeColor(color, record.outcome);
  const status = record.status === null ? 'no response' : `HTTP ${record.status}`;
  const latency = record.latencyMs === null ? '' : ` in ${record.latencyMs.toFixed(0)} ms`;
  return `#${record.seq} ${paint(status)}${latency} — ${paint(record.outcome)}`;
}

export function renderVerdict(record: ResponseRecord, color: ChalkInstance): string {
  if (!record.verdict) return '';
  const paint = outcomeColor(color, record.outcome);
  return `${paint('Verdict')} ${color.dim(`[${record.verdict.code}]`)} ${record.verdict.message}\n${color.bold('Hint')}    ${record.verdict.hint}`;
}

export function renderHeaderTable(record: ResponseRecord, color: ChalkInstance): string {
  const names = Object.keys(record.headers).sort();
  if (names.length === 0) return color.dim('No rate-limit headers in the response.');
  const table = makeTable(['header', 'value'], color);
  for (const name of names) table.push([name, record.headers[name] ?? '']);
  return table.toString();
}

/** Parsed policies, with reset both as seconds and as the local time it falls on. */
export function renderPolicyTable(record: ResponseRecord, color: ChalkInstance, receivedAtMs: number): string {
  const { policies, retryAfterSeconds } = record.rateLimit;
  const lines: string[] = [];
  if (policies.length > 0) {
    const table = makeTable(['policy', 'unit', 'limit', 'remaining', 'resets in', 'resets at', 'window', 'dialect'], color);
    for (const p of policies) {
      const remaining = p.remaining === 0 ? color.red('0') : formatNumber(p.remaining);
      table.push([
        p.name, p.unit, formatNumber(p.limit), remaining, formatSeconds(p.resetSeconds),
        p.resetSeconds === null ? '—' : formatLocalTime(resetInstantMs(receivedAtMs, p.resetSeconds)),
        formatSeconds(p.windowSeconds), p.dialect,
      ]);
    }
    lines.push(table.toString());
  }
  if (retryAfterSeconds !== null) {
    lines.push(`Retry-After: ${formatSeconds(retryAfterSeconds)} (at ${formatLocalTime(resetInstantMs(receivedAtMs, retryAfterSeconds))})`);
  }
  return lines.join('\n');
}
