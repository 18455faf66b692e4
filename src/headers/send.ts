// `headers`' domain call: N requests one after another (never overlapping), each recorded,
// parsed and classified, handed to the caller as it arrives; an interrupt stops the sequence.
import type { HttpClient } from '../http/client.js';
import { isModelNotFound } from '../models/served.js';
import type { Redactor } from '../redact.js';
import { buildRecord, type BuiltRecord } from '../record.js';
import type { Target } from '../types.js';

/** One completed response: its record, parsed rate limit and warnings, and when it arrived. */
export interface HeadersResponse {
  seq: number;
  built: BuiltRecord;
  /** Epoch ms (the reset countdowns in the policy table count from here). */
  receivedAt: number;
}

export interface SendSequenceInput {
  target: Target;
  count: number;
  /** --all: record every response header, not only the rate-limit ones. */
  allHeaders: boolean;
  redactor: Redactor;
  signal: AbortSignal;
  http: HttpClient;
  /**
   * The served model ids, cheapest first, for a model-not-found verdict; asked only when a 404
   * "model not found" came back (see src/models/served.ts), so a healthy run sends nothing more.
   */
  servedModels?: () => Promise<readonly string[] | null>;
  /** After each completed response (the request cut short by an interrupt is not one). */
  onResponse: (response: HeadersResponse) => void;
}

/** Sends `count` requests in sequence; returns the completed responses, in order. */
export async function sendSequence(input: SendSequenceInput): Promise<HeadersResponse[]> {
  const { target, signal } = input;
  const responses: HeadersResponse[] = [];
  for (let seq = 1; seq <= input.count && !signal.aborted; seq++) {
    const raw = await input.http.send(target, { signal });
    if (raw.error?.code === 'aborted') break;
    const served = isModelNotFound(raw) ? await input.servedModels?.() : null;
    const built = buildRecord(raw, { seq, target, redactor: input.redactor, allHeaders: input.allHeaders, ...(served ? { servedModels: served } : {}) });
    const response = { seq, built, receivedAt: raw.receivedAt };
    responses.push(response);
    input.onResponse(response);
  }
  return responses;
}
