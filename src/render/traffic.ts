// `tap` and `analyze` as text: the JSON document's fields (one function builds them from the analysis),
// the human report (summary, timeline, estimate, verdicts), the tap's live line and per-exchange line,
// and the OpenMetrics text of /metrics. Pure: data in, strings out.
import type { ChalkInstance } from 'chalk';
import type { TrafficAnalysis } from '../analyze/analyze.js';
import type { TapSnapshot } from '../tap/stats.js';
import { DEFAULT_CLIENT, type ClientName, type Recommendation } from '../recommend/types.js';
import type { ResponseRecord } from '../types.js';
import { renderTimelineChart } from './chart.js';
import { renderRecommendation } from './recommend.js';
import { formatSeconds, makeTable } from './table.js';

/** Where the figures came from: a live tap, or a file read back. */
export interface TrafficSource {
  command: 'tap' | 'analyze';
  /** analyze: the file and its format; tap: the listen URL and the upstream. */
  input: Record<string, unknown>;
  /** Exact counts when the analysis read only the latest records (a long tap). */
  totals?: { exchanges: number; ok: number; rateLimited: number; errors: number } | null;
  notes: string[];
  /** From the same estimate (recommend/recommend.ts); the human report ends with it and `client`'s snippet. */
  recommendation: Recommendation;
  client?: ClientName;
}

/**
 * The JSON document's fields for `tap` and `analyze` (cli-contract.md, last section). The one place that
 * assembles them: a `recommendation` field belongs here, built from the same analysis.
 */
export function trafficDocumentFields(analysis: TrafficAnalysis, source: TrafficSource): Record<string, unknown> {
  const summary = source.totals
    ? { ...analysis.summary, sent: source.totals.exchanges, ok: source.totals.ok, rateLimited: source.totals.rateLimited, errors: source.totals.errors }
    : analysis.summary;
  return {
    input: source.input,
    summary,
    estimate: { rate: analysis.estimate.rate, concurrency: analysis.estimate.concurrency },
    verdicts: analysis.verdicts,
    timeline: analysis.timeline.buckets,
    notes: source.notes,
    recommendation: source.recommendation,
  };
}

function show(value: number | string | null, unit = ''): string {
  return value === null ? '—' : `${value}${unit}`;
}

/** The human report: what passed, when, what the limits look like from it, and what the answers meant. */
export function renderTrafficReport(analysis: TrafficAnalysis, source: TrafficSource, color: ChalkInstance): string {
  const fields = trafficDocumentFields(analysis, source);
  const summary = fields.summary as TrafficAnalysis['summary'];
  const lines: string[] = [];
  const table = makeTable(['exchanges', 'ok', '429', 'errors', 'duration', 'latency p50', 'p90', 'p99', 'max'], color, Array(9).fill('right'));
  const ms = (v: number | null) => show(v === null ? null : Math.round(v), ' ms');
  table.push([summary.sent, summary.ok, summary.rateLimited, summary.errors, formatSeconds(summary.durationSeconds),
    ms(summary.latencyMs.p50), ms(summary.latencyMs.p90), ms(summary.latencyMs.p99), ms(summary.latencyMs.max)].map(String));
  lines.push('', table.toString());
  if (summary.sent === 0) {
    lines.push('No exchange was recorded: nothing to estimate.');
    for (const note of source.notes) lines.push(color.dim(note));
    return lines.join('\n');
  }
  lines.push('', color.bold('Timeline'), renderTimelineChart(analysis.timeline, color), '');
  const { rate, concurrency } = analysis.estimate;
  const atLeast = rate.bound === 'at-least' ? '≥ ' : '';
  const est = makeTable(['rate limit', 'window', 'per minute', 'burst', 'algorithm', 'bound', 'source', 'confidence'], color);
  est.push([rate.limit === null ? '—' : `${rate.limit}`, rate.windowSeconds === null ? '—' : formatSeconds(rate.windowSeconds),
    rate.perMinute === null ? '—' : `${atLeast}${rate.perMinute}`, show(rate.burst), rate.algorithm, rate.bound, rate.source, rate.confidence]);
  const conc = makeTable(['concurrency limit', 'bound', 'most in flight'], color);
  conc.push([`${concurrency.bound === 'at-least' ? '≥ ' : ''}${show(concurrency.limit)}`, concurrency.bound, show(concurrency.testedUpTo)]);
  lines.push(color.bold('Estimate from this traffic (no request of its own was sent)'), est.toString(), rate.explanation, conc.toString(), concurrency.explanation);
  if (analysis.verdicts.length > 0) {
    lines.push('', color.bold('Verdicts'));
    const v = makeTable(['count', 'verdict', 'meaning'], color, ['right', 'left', 'left']);
    for (const verdict of analysis.verdicts) v.push([String(verdict.count), verdict.code, verdict.message]);
    lines.push(v.toString());
    const hints = analysis.verdicts.filter((verdict) => verdict.code !== 'ok' && verdict.hint);
    for (const verdict of hints.slice(0, 3)) lines.push(`${color.bold('Hint')} (${verdict.code}) ${verdict.hint}`);
  }
  for (const note of source.notes) lines.push(color.dim(note));
  lines.push('', renderRecommendation(source.recommendation, source.client ?? DEFAULT_CLIENT, color));
  return lines.join('\n');
}

/** The TTY status line: requests per minute, in flight, ok / 429 by cause, the latest verdict. */
export function liveStatusLine(s: TapSnapshot): string {
  const causes = s.limitedBy.length === 0 ? '' : ` (${s.limitedBy.slice(0, 3).map(([code, n]) => `${code} ${n}`).join(', ')})`;
  const latest = s.latest ? ` · latest: ${s.latest.status ?? '—'} ${s.latest.verdict?.code ?? s.latest.outcome}` : '';
  return `tap: ${s.perMinute}/min · in flight ${s.inFlight} · ok ${s.ok} · 429 ${s.rateLimited}${causes} · errors ${s.errors}${latest}`;
}

/** One plain line per exchange (not a TTY): seq, method, path, status, latency, verdict. */
export function exchangeLine(record: ResponseRecord, request: { method: string; path: string }): string {
  const status = record.status ?? record.error?.code ?? 'no answer';
  const latency = record.latencyMs === null ? '' : ` ${Math.round(record.latencyMs)} ms`;
  return `#${record.seq} ${request.method} ${request.path} → ${status}${latency} ${record.verdict?.code ?? record.outcome} (in flight ${record.inFlight})\n`;
}

/** An OpenMetrics label value: backslash, quote and newline escaped. */
function label(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

/** /metrics: requests by status and verdict, in flight, refusals, the latest remaining per policy. */
export function renderOpenMetrics(s: TapSnapshot): string {
  const out: string[] = [
    '# TYPE chutes_diag_tap_requests counter',
    '# HELP chutes_diag_tap_requests Exchanges forwarded, by upstream status ("none": no answer) and verdict.',
    ...s.byStatusVerdict.map((r) => `chutes_diag_tap_requests_total{status="${label(r.status)}",verdict="${label(r.verdict)}"} ${r.count}`),
    '# TYPE chutes_diag_tap_in_flight gauge',
    '# HELP chutes_diag_tap_in_flight Exchanges in flight now.',
    `chutes_diag_tap_in_flight ${s.inFlight}`,
    '# TYPE chutes_diag_tap_refused counter',
    '# HELP chutes_diag_tap_refused Requests refused by the tap itself (open-proxy or DNS-rebinding attempts).',
    ...s.refused.map(([code, n]) => `chutes_diag_tap_refused_total{reason="${label(code)}"} ${n}`),
    '# TYPE chutes_diag_tap_ratelimit_remaining gauge',
    '# HELP chutes_diag_tap_ratelimit_remaining The latest remaining allowance each rate-limit policy stated.',
    ...s.policies.map((p) => `chutes_diag_tap_ratelimit_remaining{policy="${label(p.name)}",dialect="${label(p.dialect)}",unit="${label(p.unit)}"} ${p.remaining}`),
    '# TYPE chutes_diag_tap_ratelimit_limit gauge',
    '# HELP chutes_diag_tap_ratelimit_limit The latest limit each rate-limit policy stated.',
    ...s.policies.filter((p) => p.limit !== null).map((p) => `chutes_diag_tap_ratelimit_limit{policy="${label(p.name)}",dialect="${label(p.dialect)}",unit="${label(p.unit)}"} ${p.limit}`),
    '# EOF',
  ];
  return `${out.join('\n')}\n`;
}
