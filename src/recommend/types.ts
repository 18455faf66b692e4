// The vocabulary of a recommendation (cli-contract.md, "recommendation"): what recommend() is given (the
// estimate's figures and what the answers showed) and what it returns (settings, retry, basis, snippets).
import type { ConcurrencyEstimate } from '../probe/estimate-concurrency.js';
import type { RateFigures } from '../probe/estimate-types.js';
import type { Penalty } from '../probe/penalty.js';

/** The clients a snippet is written for, in the order `--for` lists them; the first is the default. */
export const CLIENTS = ['openai-node', 'ai-sdk', 'bottleneck', 'p-queue', 'litellm', 'python'] as const;
export type ClientName = (typeof CLIENTS)[number];
export const DEFAULT_CLIENT: ClientName = 'openai-node';

/** The part of a rate estimate a recommendation reads (probe's `estimate.rate`; tap and analyze give the same shape). */
export interface RateInput extends RateFigures {
  /** `estimate.rate.penalty`: refusals lengthened the block (a penalty box, Chutes' edge bans). */
  penalty: Penalty | null;
}

/** The part of a concurrency estimate a recommendation reads. */
export type ConcurrencyInput = Pick<ConcurrencyEstimate, 'limit' | 'bound' | 'testedUpTo'>;

export interface EstimateInput {
  rate: RateInput;
  concurrency: ConcurrencyInput;
}

/** What the answers showed besides the estimate (context.ts reads it from the records). */
export interface RecommendContext {
  /** A refusal (or any answer) carried Retry-After or retry-after-ms: clients should wait what it says. */
  retryAfterSeen: boolean;
  /** An answer was the Chutes edge's ban page (verdict `edge-ban`). */
  edgeBanSeen: boolean;
  /** The target is Chutes (host or X-Chutes-* headers), where edge bans grow with each refusal. */
  chutes: boolean;
  /** The OpenAI-compatible base URL the snippets call (…/v1), or null for the Chutes default. */
  baseUrl: string | null;
  /** The model the run sent, or null. */
  model: string | null;
  /** The slowest answers' latency (p99, ms), for the per-attempt timeout; null when unknown. */
  latencyP99Ms: number | null;
}

/** What to do when the target bans: stop, never retry automatically, wait at least the ban seen. */
export interface BanAdvice {
  /** A ban (penalty box or edge-ban page) was seen in these answers, rather than only known to exist on this target. */
  observed: boolean;
  /** The longest ban seen, in seconds; null when none was timed. */
  waitAtLeastSeconds: number | null;
  advice: string;
}

export interface RetryAdvice {
  honourRetryAfter: boolean;
  baseDelayMs: number | null;
  maxDelayMs: number | null;
  maxRetries: number | null;
  onBan: BanAdvice | null;
}

/** `recommendation` in the JSON documents (cli-contract.md). Numbers are null when the limit is unknown. */
export interface Recommendation {
  requestsPerMinute: number | null;
  minIntervalMs: number | null;
  maxConcurrency: number | null;
  retry: RetryAdvice;
  /** One sentence: which figures, and how sure; with no numbers, what to measure. */
  basis: string;
  /** Why each part is what it is (pace, concurrency, retry): the human output shows them. */
  reasons: { pace: string; concurrency: string; retry: string };
  /** Per client, code filled with the numbers; empty when the limit is unknown. */
  snippets: Partial<Record<ClientName, string>>;
}
