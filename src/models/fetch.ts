// The one GET /v1/models of a run: free and unauthenticated on Chutes (shared/chutes-facts.md), so it
// carries no key and no -H header, and it has a short deadline of its own. It is not an inference
// request: no probe budget counts it.
import type { HttpClient } from '../http/client.js';
import { buildTarget } from '../target.js';
import { MODEL_LIST_TIMEOUT_MS, readModelListAnswer, type ModelListAnswer } from './choose.js';

export const MODEL_LIST_PATH = '/v1/models';

export async function fetchModelList(http: HttpClient, base: URL, options: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<ModelListAnswer> {
  const target = buildTarget({
    base, path: MODEL_LIST_PATH, method: 'GET', auth: 'none', key: null, body: null,
    timeoutMs: Math.min(options.timeoutMs ?? MODEL_LIST_TIMEOUT_MS, MODEL_LIST_TIMEOUT_MS),
  });
  const raw = await http.send(target, options.signal ? { signal: options.signal } : {});
  return readModelListAnswer(raw.status, raw.body, raw.error?.message ?? null);
}
