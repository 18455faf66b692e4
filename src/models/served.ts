// The served ids a model-not-found verdict names: from the run's one GET /v1/models when it was
// read, else read once when such a 404 arrives (its Chutes-shaped body is proof the list exists).
import type { HttpClient, RawResponse } from '../http/client.js';
import type { ModelChoice } from './choose.js';
import { fetchModelList } from './fetch.js';
import { cheapestFirst } from './list.js';

/** A 404 whose body says "model not found" (Chutes: {"detail":"model not found: <id>"}). */
export function isModelNotFound(raw: Pick<RawResponse, 'status' | 'body'>): boolean {
  return raw.status === 404 && /model not found/i.test(raw.body ?? '');
}

/** A memoised getter of the served ids, cheapest first; null when the list cannot be read. */
export function servedModelIds(choice: ModelChoice, http: HttpClient, base: URL, signal?: AbortSignal): () => Promise<readonly string[] | null> {
  let ids: Promise<readonly string[] | null> | null = choice.served ? Promise.resolve(choice.served.map((m) => m.id)) : null;
  return () => {
    ids ??= fetchModelList(http, base, signal ? { signal } : {}).then((answer) => (answer.ok ? cheapestFirst(answer.models).map((m) => m.id) : null));
    return ids;
  };
}
