// The served-model list (GET /v1/models) read into plain facts, and the pick of the model the
// tool sends when the user named none: the cheapest served text model. Pure: no I/O.
// Chutes' list (shared/chutes-facts.md, "Models"): {"object":"list","data":[{id, chute_id,
// price.{input,output}.{usd,tao}, pricing.{prompt,completion} (USD per million tokens), …}]},
// sorted by use. The list moves: never treat one id as permanent.

/** One served model, as far as picking and naming it needs. */
export interface ServedModel {
  id: string;
  /** USD per million input tokens; null when the item states no readable price. */
  promptUsd: number | null;
  /** USD per million output tokens; null when unknown. */
  completionUsd: number | null;
  /** False when the id or metadata says embedding, image, audio or reranking: it cannot answer a chat request. */
  text: boolean;
}

// What makes an item not a text (chat) model, as data: a phrase in its id, or an output modality without "text".
const NOT_TEXT_ID = [/embed/i, /rerank/i, /whisper/i, /\btts\b|text-to-speech/i, /diffusion|sdxl|flux|image|dall-?e/i, /musicgen|audio/i];

function field(value: unknown, key: string): unknown {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>)[key] : undefined;
}

/** A finite, non-negative price (Chutes sends numbers; a numeric string is accepted). */
function price(value: unknown): number | null {
  const n = typeof value === 'number' ? value : typeof value === 'string' && value.trim() !== '' ? Number(value) : NaN;
  return Number.isFinite(n) && n >= 0 ? n : null;
}

/** Whether an item can answer a chat completion: its id and modality metadata say nothing else. */
export function isTextModel(item: unknown): boolean {
  const id = field(item, 'id');
  if (typeof id !== 'string' || NOT_TEXT_ID.some((pattern) => pattern.test(id))) return false;
  const outputs = field(item, 'output_modalities') ?? field(field(item, 'architecture'), 'output_modalities');
  if (Array.isArray(outputs) && !outputs.includes('text')) return false;
  const modality = field(item, 'modality') ?? field(field(item, 'architecture'), 'modality');
  if (typeof modality === 'string' && !/->\s*text|^text$/i.test(modality)) return false;
  const type = field(item, 'type') ?? field(item, 'task');
  if (typeof type === 'string' && /embed|image|audio|rerank/i.test(type)) return false;
  return true;
}

/**
 * The served models of a Chutes-shaped list, or null when the document is not one: it needs
 * `data` as an array of items with a string `id`, and at least one item with Chutes' own fields
 * (`chute_id`, `pricing` or `price`). An OpenAI or OpenRouter list is not read as Chutes pricing.
 */
export function readModelList(json: unknown): ServedModel[] | null {
  const data = field(json, 'data');
  if (!Array.isArray(data)) return null;
  const items = data.filter((item) => typeof field(item, 'id') === 'string' && field(item, 'id') !== '');
  const chutesShaped = items.some((item) => field(item, 'chute_id') !== undefined || field(item, 'pricing') !== undefined || field(item, 'price') !== undefined);
  if (items.length > 0 && !chutesShaped) return null;
  return items.map((item) => {
    const pricing = field(item, 'pricing');
    const usd = (side: 'input' | 'output') => price(field(field(field(item, 'price'), side), 'usd'));
    return {
      id: field(item, 'id') as string,
      promptUsd: price(field(pricing, 'prompt')) ?? usd('input'),
      completionUsd: price(field(pricing, 'completion')) ?? usd('output'),
      text: isTextModel(item),
    };
  });
}

/**
 * The text models, cheapest first: by input price (the probe sends a short prompt), then output
 * price; an unknown price sorts after every known one; ties keep the server's order (most used first).
 */
export function cheapestFirst(models: readonly ServedModel[]): ServedModel[] {
  const key = (n: number | null) => n ?? Infinity;
  return models
    .map((model, index) => ({ model, index }))
    .filter(({ model }) => model.text)
    .sort((a, b) =>
      key(a.model.promptUsd) - key(b.model.promptUsd) || key(a.model.completionUsd) - key(b.model.completionUsd) || a.index - b.index)
    .map(({ model }) => model);
}

/** The model to send when none was named: the cheapest served text model, or null when the list has none. */
export function pickCheapestTextModel(models: readonly ServedModel[]): ServedModel | null {
  return cheapestFirst(models)[0] ?? null;
}

/** "$0.0245/M in, $0.1/M out", or "price unknown": why the pick was made, in words. */
export function describePrice(model: ServedModel): string {
  if (model.promptUsd === null && model.completionUsd === null) return 'price not listed';
  const usd = (n: number | null) => (n === null ? '?' : `$${Number(n.toPrecision(4))}`);
  return `${usd(model.promptUsd)}/M tokens in, ${usd(model.completionUsd)}/M out`;
}

/** Whether `id` is served: Chutes also accepts a comma-separated failover list and a `:latency`/`:throughput` suffix. */
export function isServed(id: string, models: readonly ServedModel[]): boolean {
  const served = new Set(models.map((m) => m.id));
  return id.split(',').some((part) => served.has(part.trim().replace(/:(latency|throughput)$/, '')));
}
