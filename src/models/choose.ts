// Which model the default request body names, and why. The user's --model / CHUTES_MODEL wins;
// without one, on a Chutes host (or with `--model auto`), the cheapest served text model from
// GET /v1/models; when that list cannot be read, the documented fallback. Other OpenAI-compatible
// hosts keep the fallback without asking: a GET they did not ask for is a request they did not budget.
import { isChutesHost } from '../target.js';
import { cheapestFirst, describePrice, readModelList, type ServedModel } from './list.js';

/** The id that asks for a pick from the list explicitly (any host): `--model auto` or CHUTES_MODEL=auto. */
export const AUTO_MODEL = 'auto';
/** How long the model list may take: it decides nothing the run cannot do without. */
export const MODEL_LIST_TIMEOUT_MS = 5_000;

/** Where the model came from (the contract's `target.modelSource`). */
export type ModelSource = 'option' | 'env' | 'list' | 'fallback';

export interface ModelChoice {
  model: string;
  source: ModelSource;
  /** One line for the output: which model and why. */
  reason: string;
  /** The served models, cheapest first, when the list was read in the Chutes shape; else null. */
  served: ServedModel[] | null;
  /** Why the list was asked but gave no model (unreadable, no text model): worth a warning; else null. */
  problem: string | null;
}

/** What came back from GET /v1/models: a list in the Chutes shape, or why there is none. */
export type ModelListAnswer = { ok: true; models: ServedModel[] } | { ok: false; problem: string };

/** Reads a /v1/models answer: its status and body text. */
export function readModelListAnswer(status: number | null, body: string | null, error: string | null): ModelListAnswer {
  if (status === null) return { ok: false, problem: error ?? 'no answer' };
  if (status !== 200) return { ok: false, problem: `HTTP ${status}` };
  let json: unknown;
  try {
    json = JSON.parse(body ?? '');
  } catch {
    return { ok: false, problem: 'the answer is not JSON' };
  }
  const models = readModelList(json);
  return models === null ? { ok: false, problem: 'the answer is not a Chutes model list' } : { ok: true, models };
}

export interface ModelRequest {
  /** --model or CHUTES_MODEL as given, or undefined when the user named none. */
  named: string | undefined;
  namedSource: 'option' | 'env';
  base: URL;
  fallback: string;
}

/** Whether the list is to be read for this run: a pick is needed, or a named model can be checked on Chutes. */
export function wantsModelList(request: ModelRequest): boolean {
  return request.named === AUTO_MODEL || isChutesHost(request.base.hostname);
}

/** The choice, given what the list answered (null when it was not asked). Pure. */
export function chooseModel(request: ModelRequest, answer: ModelListAnswer | null): ModelChoice {
  const served = answer?.ok ? cheapestFirst(answer.models) : null;
  if (request.named !== undefined && request.named !== AUTO_MODEL) {
    const by = request.namedSource === 'env' ? 'CHUTES_MODEL' : '--model';
    return { model: request.named, source: request.namedSource, reason: `model ${request.named} (from ${by})`, served, problem: null };
  }
  const fallback = (why: string, problem: string | null): ModelChoice => ({
    model: request.fallback, source: 'fallback', reason: `model ${request.fallback} (fallback: ${why}; name one with --model <id>)`, served, problem,
  });
  if (answer === null) return fallback(`${request.base.host} is not a Chutes host, so its model list was not read (--model auto reads it)`, null);
  if (!answer.ok) return fallback(`the model list (GET /v1/models) could not be read: ${answer.problem}`, answer.problem);
  const cheapest = served?.[0];
  if (cheapest === undefined) return fallback('the model list names no text model', 'no text model listed');
  return {
    model: cheapest.id,
    source: 'list',
    reason: `model ${cheapest.id} (the cheapest of ${served?.length ?? 0} served text models in GET /v1/models: ${describePrice(cheapest)})`,
    served,
    problem: null,
  };
}
