// A recording's figures, pure: records in, the summary, the estimates, the verdicts seen and the timeline
// out. `tap` (at its end), `analyze` and `recommend` all build their documents from this.
import { summarize, type Completed, type ProbeSummary } from '../probe/run-summary.js';
import { buildTimeline, type Timeline } from '../probe/timeline.js';
import type { ResponseRecord } from '../types.js';
import { estimatePassive, type PassiveEstimate } from './passive-estimate.js';

/** One verdict code and how often it came, with the first record's words. */
export interface VerdictCount {
  code: string;
  count: number;
  message: string;
  hint: string;
  /** seq of the first record with this verdict. */
  firstSeq: number;
}

export interface TrafficAnalysis {
  summary: ProbeSummary;
  estimate: PassiveEstimate;
  verdicts: VerdictCount[];
  timeline: Timeline;
}

/** Counts by verdict code, most frequent first (then in order of first appearance). */
export function countVerdicts(records: readonly ResponseRecord[]): VerdictCount[] {
  const byCode = new Map<string, VerdictCount>();
  for (const record of records) {
    if (!record.verdict) continue;
    const seen = byCode.get(record.verdict.code);
    if (seen) seen.count += 1;
    else byCode.set(record.verdict.code, { code: record.verdict.code, count: 1, message: record.verdict.message, hint: record.verdict.hint, firstSeq: record.seq });
  }
  return [...byCode.values()].sort((a, b) => b.count - a.count || a.firstSeq - b.firstSeq);
}

/** The figures of a recording; records in any order (they are read in send order). */
export function analyzeRecords(records: readonly ResponseRecord[]): TrafficAnalysis {
  const sorted = [...records].sort((a, b) => Date.parse(a.sentAt) - Date.parse(b.sentAt) || a.seq - b.seq);
  const completed: Completed[] = sorted.map((record) => {
    const sentAt = Date.parse(record.sentAt);
    return { record, sentAt, receivedAt: sentAt + (record.latencyMs ?? 0), scheduledAt: sentAt };
  });
  const start = completed[0]?.sentAt ?? 0;
  const end = Math.max(start, ...completed.map((c) => c.receivedAt));
  return {
    summary: summarize(completed, completed.length, start, end),
    estimate: estimatePassive(sorted),
    verdicts: countVerdicts(sorted),
    timeline: buildTimeline(completed.map((c) => ({ sentAt: c.sentAt, outcome: c.record.outcome })), start, end),
  };
}
