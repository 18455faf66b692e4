// Reads what `chutes-diag recommend <file>` recommends from: a saved `--json` result (probe's, tap's,
// analyze's: any document with `estimate` in probe's shape), or a recording (probe/tap JSONL, HAR), read
// and estimated as `analyze` does. loadEstimate() dispatches on the content. Every problem is a
// UsageError (exit 2) naming the line or the field.
import { readFileSync } from 'node:fs';
import { UsageError } from '../errors.js';
import { analyzeRecords } from '../analyze/analyze.js';
import { parseRecording } from '../analyze/load.js';
import { contextFromRecords, type RecordFacts } from './context.js';
import type { EstimateInput, RecommendContext } from './types.js';

export interface LoadedEstimate {
  estimate: EstimateInput;
  context: RecommendContext;
  /** The saved document's command and target, echoed in the recommend document. */
  command: string;
  target: unknown;
}

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

class FieldReader {
  constructor(private readonly file: string) {}

  fail(field: string, want: string, got: unknown): never {
    const shown = got === undefined ? 'missing' : `got ${JSON.stringify(got)?.slice(0, 40)}`;
    throw new UsageError(`${this.file}: \`${field}\` must be ${want} (${shown}); pass a \`chutes-diag probe --json\` result.`);
  }

  object(parent: Json, key: string, path: string): Json {
    const v = parent[key];
    return isObject(v) ? v : this.fail(path, 'an object', v);
  }

  numberOrNull(parent: Json, key: string, path: string): number | null {
    const v = parent[key];
    if (v === null || (typeof v === 'number' && Number.isFinite(v))) return v;
    return this.fail(path, 'a number or null', v);
  }

  oneOf<T extends string>(parent: Json, key: string, path: string, allowed: readonly T[]): T {
    const v = parent[key];
    return allowed.includes(v as T) ? (v as T) : this.fail(path, `one of ${allowed.join('|')}`, v);
  }
}

/** A JSON.parse failure as "line N": its message gives a position (Node 20) or a line (Node 22+). */
function parseLine(text: string, error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const line = /line (\d+)/.exec(message)?.[1];
  const position = /position (\d+)/.exec(message)?.[1];
  if (line) return `line ${line}`;
  if (position) return `line ${text.slice(0, Number(position)).split('\n').length}`;
  return 'line 1';
}

/** The estimate (and what the answers showed) from a saved probe `--json` document. */
export function estimateFromDocument(doc: Json, file: string): LoadedEstimate {
  const read = new FieldReader(file);
  const estimate = read.object(doc, 'estimate', 'estimate');
  const rate = read.object(estimate, 'rate', 'estimate.rate');
  const concurrency = read.object(estimate, 'concurrency', 'estimate.concurrency');
  const penaltyValue = rate.penalty ?? null;
  let penalty: EstimateInput['rate']['penalty'] = null;
  if (penaltyValue !== null) {
    const bans = isObject(penaltyValue) ? penaltyValue.observedBanSeconds : undefined;
    if (!Array.isArray(bans) || !bans.every((b) => typeof b === 'number' && Number.isFinite(b))) {
      read.fail('estimate.rate.penalty.observedBanSeconds', 'an array of numbers', bans);
    }
    penalty = { escalating: Boolean((penaltyValue as Json).escalating), observedBanSeconds: bans as number[] };
  }
  const bounds = ['exact', 'approx', 'at-least', 'unknown'] as const;
  const input: EstimateInput = {
    rate: {
      limit: read.numberOrNull(rate, 'limit', 'estimate.rate.limit'),
      windowSeconds: read.numberOrNull(rate, 'windowSeconds', 'estimate.rate.windowSeconds'),
      perMinute: read.numberOrNull(rate, 'perMinute', 'estimate.rate.perMinute'),
      burst: read.numberOrNull(rate, 'burst', 'estimate.rate.burst'),
      algorithm: read.oneOf(rate, 'algorithm', 'estimate.rate.algorithm', ['fixed-window', 'sliding-window', 'token-bucket', 'unknown'] as const),
      bound: read.oneOf(rate, 'bound', 'estimate.rate.bound', bounds),
      source: read.oneOf(rate, 'source', 'estimate.rate.source', ['headers', 'observed', 'both'] as const),
      confidence: read.oneOf(rate, 'confidence', 'estimate.rate.confidence', ['high', 'medium', 'low'] as const),
      penalty,
    },
    concurrency: {
      limit: read.numberOrNull(concurrency, 'limit', 'estimate.concurrency.limit'),
      bound: read.oneOf(concurrency, 'bound', 'estimate.concurrency.bound', bounds),
      testedUpTo: read.numberOrNull(concurrency, 'testedUpTo', 'estimate.concurrency.testedUpTo'),
    },
  };
  const responses = Array.isArray(doc.responses) ? doc.responses.filter(isObject) : [];
  const records: RecordFacts[] = responses.map((r) => ({
    status: typeof r.status === 'number' ? r.status : null,
    latencyMs: typeof r.latencyMs === 'number' ? r.latencyMs : null,
    verdict: isObject(r.verdict) && typeof r.verdict.code === 'string' ? { code: r.verdict.code } : null,
    headers: isObject(r.headers) ? (r.headers as Record<string, string>) : {},
    rateLimit: { retryAfterSeconds: isObject(r.rateLimit) && typeof r.rateLimit.retryAfterSeconds === 'number' ? r.rateLimit.retryAfterSeconds : null },
  }));
  const target = isObject(doc.target) ? doc.target : null;
  const context = contextFromRecords(records, {
    url: typeof target?.url === 'string' ? target.url : null,
    model: typeof target?.model === 'string' ? target.model : null,
  });
  return { estimate: input, context, command: typeof doc.command === 'string' ? doc.command : 'unknown', target: doc.target ?? null };
}

/** What a file holds, from its content (not its name): one JSON document, a HAR, or JSON lines. */
export function loadEstimateFromText(text: string, file: string): LoadedEstimate {
  const trimmed = text.trim();
  if (trimmed === '') throw new UsageError(`${file}: the file is empty; pass a \`chutes-diag probe --json\` result.`);
  let doc: unknown;
  try {
    doc = JSON.parse(trimmed);
  } catch (error) {
    // Several JSON values, one per line: probe/tap records (--out), analyze's to read.
    const first = trimmed.split('\n', 1)[0] ?? '';
    if (parsesAsObject(first)) return fromRecording(trimmed, file);
    throw new UsageError(`${file}: ${parseLine(trimmed, error)}: not JSON; pass a \`chutes-diag probe --json\` result.`);
  }
  if (!isObject(doc)) throw new UsageError(`${file}: line 1: a JSON object is expected, not ${Array.isArray(doc) ? 'an array' : typeof doc}; pass a \`chutes-diag probe --json\` result.`);
  if (isObject(doc.log) && Array.isArray(doc.log.entries)) return fromRecording(trimmed, file);
  if (doc.estimate === undefined && typeof doc.seq === 'number') return fromRecording(trimmed, file);
  return estimateFromDocument(doc, file);
}

function parsesAsObject(text: string): boolean {
  try {
    return isObject(JSON.parse(text));
  } catch {
    return false;
  }
}

/** A recording (probe/tap JSONL, HAR): analyze's loader and passive estimate, as `chutes-diag analyze` reads it. */
function fromRecording(text: string, file: string): LoadedEstimate {
  const recording = parseRecording(text, file);
  const analysis = analyzeRecords(recording.records);
  return {
    estimate: analysis.estimate,
    context: contextFromRecords(recording.records, { url: null, model: null }),
    command: 'analyze',
    target: null,
  };
}

export function loadEstimate(path: string): LoadedEstimate {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'a directory, not a file' : code === 'EACCES' ? 'permission denied' : (code ?? 'unreadable');
    throw new UsageError(`${path}: cannot read it (${why}).`);
  }
  return loadEstimateFromText(text, path);
}
