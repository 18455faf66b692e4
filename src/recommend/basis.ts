// The sentences of a recommendation: the basis (which figures, how sure; with no numbers, what to
// measure) and one reason per part. Pure: figures in, text out.
import { formatSeconds } from '../format.js';
import type { ConcurrencyCap, Pace } from './settings.js';
import type { ConcurrencyInput, RateInput, RetryAdvice } from './types.js';

const pct = (margin: number) => `${Math.round(margin * 100)} %`;
const num = (n: number) => String(Math.round(n * 10) / 10);

/** "10 per 2s (300/min)", "≥ 30 per 15s (≥ 120/min)", "120/min". */
export function describeMeasured(rate: RateInput, pace: Pace): string {
  const atLeast = rate.bound === 'at-least' ? '≥ ' : '';
  const perMinute = `${atLeast}${num(pace.measuredPerMinute)}/min`;
  if (rate.limit === null || rate.windowSeconds === null) return perMinute;
  const kind = rate.algorithm === 'token-bucket' ? `a token bucket refilling ${atLeast}${num(rate.limit)} per ${formatSeconds(rate.windowSeconds)}${rate.burst !== null ? `, ${num(rate.burst)} deep` : ''}` : `${atLeast}${num(rate.limit)} per ${formatSeconds(rate.windowSeconds)}`;
  return `${kind} (${perMinute})`;
}

function howSure(rate: RateInput): string {
  const from = rate.source === 'headers' ? 'stated by the rate-limit headers' : rate.source === 'both' ? 'from the headers and the timing of the answers' : 'timed from the answers';
  const bound = rate.bound === 'exact' ? 'exact' : rate.bound === 'approx' ? 'approximate' : 'a lower bound';
  return `${bound}, ${from}, ${rate.confidence} confidence`;
}

/** What to measure when there is no pace to recommend. */
export function whatToMeasure(rate: RateInput): string {
  if (rate.limit !== null && rate.windowSeconds === null) {
    return `the limit (${num(rate.limit)} per window) is known but not its window: run \`chutes-diag probe\` longer (a larger --max-duration and --max-requests) so a reset is timed`;
  }
  return 'no sustained rate was measured: run `chutes-diag probe` (a larger --max-requests, or a higher --rpm) until it sees a 429, so the limit and its window are measured';
}

export function paceReason(rate: RateInput, pace: Pace | null): string {
  if (pace === null) return `No pace: ${whatToMeasure(rate)}.`;
  const lower = rate.bound === 'at-least' ? ' The limit was never reached, so the real one may be higher: a longer probe at a higher --rpm finds it.' : '';
  return `One start every ${pace.minIntervalMs} ms (${num(pace.requestsPerMinute)}/min), ${pct(pace.margin)} under the measured ${describeMeasured(rate, pace)}; spaced starts never burst, so no window sees more than its limit.${lower}`;
}

export function concurrencyReason(concurrency: ConcurrencyInput, cap: ConcurrencyCap): string {
  switch (cap.kind) {
    case 'measured':
      return `At most ${cap.value} in flight: the measured concurrency limit.`;
    case 'lower-bound':
      return `At most ${cap.value} in flight: that many at once were all accepted; more was not tested (the limit is at least ${cap.value}).`;
    case 'approx':
      return `At most ${cap.value} in flight: one under the approximate concurrency limit of ${concurrency.limit}.`;
    case 'not-measured':
      return `No concurrency cap: the concurrency limit was not measured${concurrency.testedUpTo === null ? '' : ` (tested up to ${concurrency.testedUpTo})`}; \`chutes-diag probe --concurrency auto\` measures it.`;
  }
}

export function retryReason(retry: RetryAdvice, matchedTo: 'window' | 'refill' | null): string {
  if (retry.maxRetries === 0) {
    const wait = retry.onBan?.waitAtLeastSeconds;
    return `No automatic retries: refusals here lengthen the block (a penalty box or the edge's ban); stop, wait${wait ? ` at least ${formatSeconds(wait)} (the longest ban seen)` : ''}, then send one request.`;
  }
  if (retry.maxRetries === null) return `Retry${retry.honourRetryAfter ? ' after the Retry-After the server sends' : ''} only with a backoff you choose: nothing measured tells how long the allowance takes to come back.`;
  const backoff = `${retry.baseDelayMs} ms doubling to ${retry.maxDelayMs} ms, at most ${retry.maxRetries} times (matched to the ${matchedTo === 'refill' ? 'refill' : 'window'})`;
  return retry.honourRetryAfter
    ? `On a 429, wait what Retry-After / retry-after-ms says (the server sent it); without it, back off ${backoff}.`
    : `On a 429, back off ${backoff}: the server sent no Retry-After.`;
}

/** The one-sentence basis. */
export function basisSentence(rate: RateInput, pace: Pace | null, cap: ConcurrencyCap, retry: RetryAdvice): string {
  const concurrency = cap.value === null ? 'concurrency not measured' : `${cap.value} in flight (${cap.kind === 'measured' ? 'measured' : cap.kind === 'lower-bound' ? 'a lower bound' : 'approximate'})`;
  const ban = retry.maxRetries === 0 ? '; no automatic retries, because refusals lengthened the block' : '';
  if (pace === null) return `No numbers: ${whatToMeasure(rate)}${cap.value === null ? '' : `; ${concurrency}`}${ban}.`;
  return `${num(pace.requestsPerMinute)}/min, ${pct(pace.margin)} under the measured ${describeMeasured(rate, pace)}: ${howSure(rate)}; ${concurrency}${ban}.`;
}
