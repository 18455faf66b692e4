// A recommendation as text: the numbers, why each is what it is, and one client's snippet. Pure.
import type { ChalkInstance } from 'chalk';
import { CLIENTS, type ClientName, type Recommendation } from '../recommend/types.js';
import { makeTable } from './table.js';

const show = (v: number | null, unit = '') => (v === null ? '—' : `${v}${unit}`);

export function renderRecommendation(rec: Recommendation, client: ClientName, color: ChalkInstance): string {
  const lines = [color.bold('Recommendation'), rec.basis];
  if (rec.requestsPerMinute !== null || rec.maxConcurrency !== null || rec.retry.maxRetries !== null) {
    const table = makeTable(['requests/min', 'min interval', 'max concurrency', 'retries', 'backoff', 'Retry-After'], color);
    const backoff = rec.retry.baseDelayMs === null ? '—' : rec.retry.maxDelayMs === null ? `wait ≥ ${rec.retry.baseDelayMs} ms` : `${rec.retry.baseDelayMs}–${rec.retry.maxDelayMs} ms`;
    table.push([show(rec.requestsPerMinute), show(rec.minIntervalMs, ' ms'), show(rec.maxConcurrency), show(rec.retry.maxRetries), backoff, rec.retry.honourRetryAfter ? 'honour' : 'not sent']);
    lines.push(table.toString());
  }
  lines.push(`  ${rec.reasons.pace}`, `  ${rec.reasons.concurrency}`, `  ${rec.reasons.retry}`);
  if (rec.retry.onBan) lines.push(color.yellow(`  On a ban: ${rec.retry.onBan.advice}`));
  const snippet = rec.snippets[client];
  if (snippet === undefined) {
    lines.push(color.dim('No snippet: there is no measured limit to fill it with.'));
  } else {
    const others = CLIENTS.filter((c) => c !== client).join(', ');
    lines.push('', color.bold(`Snippet for ${client}`) + color.dim(` (--for picks another: ${others})`), snippet.trimEnd());
  }
  return lines.join('\n');
}
