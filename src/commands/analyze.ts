// `chutes-diag analyze <file>`: the tap's summary and estimates from a recording (probe/tap JSONL, a
// --json result, a HAR file); spends nothing. Wiring only: src/analyze/ reads and figures.
import { analyzeRecords } from '../analyze/analyze.js';
import { loadRecording } from '../analyze/load.js';
import { recommendFromRecords } from '../recommend/recommend.js';
import type { ClientName } from '../recommend/types.js';
import { jsonDocument } from '../render/json.js';
import { renderTrafficReport, trafficDocumentFields } from '../render/traffic.js';
import type { CommandContext } from './common.js';

export interface AnalyzeOptions {
  json?: boolean;
  for?: ClientName;
}

export function runAnalyze(file: string, opts: AnalyzeOptions, ctx: CommandContext): number {
  const { io } = ctx;
  const recording = loadRecording(file, io.redactor);
  const analysis = analyzeRecords(recording.records);
  const recommendation = recommendFromRecords(analysis.estimate, recording.records, { url: null, model: null });
  const source = {
    command: 'analyze' as const, input: { file, format: recording.format, records: recording.records.length }, notes: recording.notes,
    recommendation, ...(opts.for ? { client: opts.for } : {}),
  };
  if (io.json) io.print(jsonDocument('analyze', null, 0, trafficDocumentFields(analysis, source)).trimEnd());
  else io.print(renderTrafficReport(analysis, source, io.color));
  return 0;
}
