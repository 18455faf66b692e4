// `chutes-diag analyze <file>`: the tap's summary and estimates from a recording (probe/tap JSONL, a
// --json result, a HAR file); spends nothing. Wiring only: src/analyze/ reads and figures.
import { analyzeRecords } from '../analyze/analyze.js';
import { loadRecording } from '../analyze/load.js';
import { jsonDocument } from '../render/json.js';
import { renderTrafficReport, trafficDocumentFields } from '../render/traffic.js';
import type { CommandContext } from './common.js';

export interface AnalyzeOptions {
  json?: boolean;
}

export function runAnalyze(file: string, _opts: AnalyzeOptions, ctx: CommandContext): number {
  const { io } = ctx;
  const recording = loadRecording(file, io.redactor);
  const analysis = analyzeRecords(recording.records);
  const source = { command: 'analyze' as const, input: { file, format: recording.format, records: recording.records.length }, notes: recording.notes };
  if (io.json) io.print(jsonDocument('analyze', null, 0, trafficDocumentFields(analysis, source)).trimEnd());
  else io.print(renderTrafficReport(analysis, source, io.color));
  return 0;
}
