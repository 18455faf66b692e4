// Code the user pastes, filled with a recommendation's numbers, one per client. Option names are the
// clients' own (checked against their source/docs: openai-node 6.49 client.js, bottleneck 2.19.5 README,
// p-queue 9.3.5 options.d.ts, ai (vercel/ai) retry-with-exponential-backoff.ts, litellm Router.__init__,
// aiolimiter README, tenacity wait.py). The JavaScript ones are executed against the emulator in
// test/integration/recommend-snippets.test.js. Pure: numbers in, text out.
import { retriesToCover, type Pace } from './settings.js';
import { CLIENTS, type ClientName, type RecommendContext, type RetryAdvice } from './types.js';

export interface SnippetInput {
  requestsPerMinute: number | null;
  minIntervalMs: number | null;
  maxConcurrency: number | null;
  retry: RetryAdvice;
  pace: Pace;
  context: RecommendContext;
}

const DEFAULT_BASE_URL = 'https://llm.chutes.ai/v1';
/** The AI SDK's own backoff (vercel/ai retryWithExponentialBackoffRespectingRetryHeaders): 2 s, doubling. */
const AI_SDK_INITIAL_DELAY_MS = 2000;

const q = (s: string) => JSON.stringify(s);
const pct = (margin: number) => `${Math.round(margin * 100)} %`;
const num = (n: number) => String(Math.round(n * 10) / 10);
const secondsText = (ms: number) => String(Math.round(ms) / 1000);

/** Per attempt: 10 × the slowest answers seen, at least a minute (answers of a 1-token probe are not a long generation). */
function timeoutMs(context: RecommendContext): { ms: number; why: string } {
  const p99 = context.latencyP99Ms;
  if (p99 === null) return { ms: 60_000, why: 'no latency was measured: raise it for long generations' };
  const ms = Math.max(60_000, Math.ceil((p99 * 10) / 1000) * 1000);
  return { ms, why: `10 × the slowest answers seen (p99 ${Math.round(p99)} ms), at least a minute` };
}

function header(client: string, s: SnippetInput): string {
  const cap = s.maxConcurrency === null ? 'no concurrency cap (not measured)' : `at most ${s.maxConcurrency} in flight`;
  return `${client}: ${num(s.pace.requestsPerMinute)} requests/min (one start every ${s.pace.minIntervalMs} ms, ${pct(s.pace.margin)} under the measured ${num(s.pace.measuredPerMinute)}/min), ${cap}. From chutes-diag recommend.`;
}

function banLine(retry: RetryAdvice, comment: string): string {
  const wait = retry.onBan?.waitAtLeastSeconds;
  return `${comment} No automatic retries: refusals lengthened the block here (a penalty box / edge ban). Stop, wait${wait ? ` at least ${wait} s (the longest ban seen)` : ''}, then send one request.`;
}

const retries = (s: SnippetInput) => s.retry.maxRetries ?? 0;

// ---------------------------------------------------------------------------------------------
// JavaScript pieces shared by the JS snippets

/** Constants and the delay before retry `attempt` (0-based): Retry-After when the server sends it, else doubling backoff, jittered upwards. */
function retryDelayJs(s: SnippetInput): string {
  const lines = [
    `const MAX_RETRIES = ${retries(s)};`,
    `const BASE_DELAY_MS = ${s.retry.baseDelayMs}; // doubling up to MAX_DELAY_MS: matched to the limit's ${s.pace.windowMs === null ? 'minute' : 'window'}`,
    `const MAX_DELAY_MS = ${s.retry.maxDelayMs};`,
    '',
    '/** How long to wait before retry number `attempt` (0-based) of a refused (429) call. */',
    'function retryDelayMs(error, attempt) {',
  ];
  if (s.retry.honourRetryAfter) {
    lines.push(
      '  // The server sends Retry-After / retry-after-ms: wait what it says.',
      "  const get = (name) => (typeof error?.headers?.get === 'function' ? error.headers.get(name) : error?.headers?.[name]) ?? null;",
      "  const afterMs = Number.parseFloat(get('retry-after-ms') ?? '');",
      '  if (Number.isFinite(afterMs) && afterMs >= 0) return afterMs;',
      "  const after = get('retry-after');",
      '  if (after !== null) {',
      '    const seconds = Number.parseFloat(after);',
      '    return Number.isFinite(seconds) ? seconds * 1000 : Math.max(0, Date.parse(after) - Date.now());',
      '  }',
    );
  }
  lines.push('  return Math.min(MAX_DELAY_MS, BASE_DELAY_MS * 2 ** attempt) * (1 + Math.random() * 0.25);', '}');
  return lines.join('\n');
}

/** `limited(call)`: each attempt goes through `schedule(call)` again, so a retry is paced like any call. */
function retryLoopJs(s: SnippetInput, schedule: (call: string) => string, refused: string): string {
  if (retries(s) === 0) {
    return [banLine(s.retry, '//'), `const limited = (call) => ${schedule('call')};`].join('\n');
  }
  return [
    retryDelayJs(s),
    '',
    '/** Runs `call` under the limiter; a 429 is retried (through the limiter again) up to MAX_RETRIES times. */',
    'async function limited(call) {',
    '  for (let attempt = 0; ; attempt += 1) {',
    '    try {',
    `      return await ${schedule('call')};`,
    '    } catch (error) {',
    `      if (!(${refused}) || attempt >= MAX_RETRIES) throw error;`,
    '      await new Promise((resolve) => setTimeout(resolve, retryDelayMs(error, attempt)));',
    '    }',
    '  }',
    '}',
  ].join('\n');
}

/** A dependency-free pacer: spaced starts (no drift: each start is planned from the last planned one) and a concurrency cap. */
function pacerJs(s: SnippetInput): string {
  return [
    `const MIN_INTERVAL_MS = ${s.pace.minIntervalMs}; // one start at most this often`,
    `const MAX_CONCURRENCY = ${s.maxConcurrency ?? 'Infinity'};${s.maxConcurrency === null ? ' // the concurrency limit was not measured' : ''}`,
    'let nextStartAt = 0;',
    'let inFlight = 0;',
    'const queued = [];',
    '',
    'async function acquire() {',
    '  while (inFlight >= MAX_CONCURRENCY) await new Promise((resolve) => queued.push(resolve));',
    '  inFlight += 1;',
    '  const now = Date.now();',
    '  const startAt = Math.max(now, nextStartAt);',
    '  nextStartAt = startAt + MIN_INTERVAL_MS;',
    '  if (startAt > now) await new Promise((resolve) => setTimeout(resolve, startAt - now));',
    '}',
    '',
    'function release() {',
    '  inFlight -= 1;',
    '  queued.shift()?.();',
    '}',
  ].join('\n');
}

function chatCall(context: RecommendContext): string {
  return `client.chat.completions.create({ model: ${q(context.model ?? 'MODEL')}, messages: [{ role: 'user', content: 'Hello' }] })`;
}

// ---------------------------------------------------------------------------------------------
// The clients

function openaiNode(s: SnippetInput): string {
  const timeout = timeoutMs(s.context);
  return [
    `// ${header('openai-node', s)}`,
    "import OpenAI from 'openai';",
    '',
    'const client = new OpenAI({',
    `  baseURL: ${q(s.context.baseUrl ?? DEFAULT_BASE_URL)},`,
    '  apiKey: process.env.CHUTES_API_KEY,',
    "  maxRetries: 0, // limited() retries instead, through the pacer: the SDK's own retries would skip it",
    `  timeout: ${timeout.ms}, // ms per attempt: ${timeout.why}`,
    '});',
    '',
    pacerJs(s),
    '',
    retryLoopJs(s, (call) => `paced(${call})`, 'error instanceof OpenAI.RateLimitError'),
    '',
    'async function paced(call) {',
    '  await acquire();',
    '  try {',
    '    return await call();',
    '  } finally {',
    '    release();',
    '  }',
    '}',
    '',
    `// const reply = await limited(() => ${chatCall(s.context)});`,
    '',
  ].join('\n');
}

function aiSdk(s: SnippetInput): string {
  // Its backoff is fixed (2 s, doubling; a Retry-After under 60 s instead): enough retries to span the cap.
  const maxRetries = retries(s) === 0 ? 0 : retriesToCover(AI_SDK_INITIAL_DELAY_MS, Number.POSITIVE_INFINITY, s.retry.maxDelayMs ?? AI_SDK_INITIAL_DELAY_MS);
  const retryComment = maxRetries === 0
    ? banLine(s.retry, '  //').trimStart()
    : `// its own backoff: 2 s, doubling (a Retry-After under 60 s instead); ${maxRetries} of them span the ${secondsText(s.retry.maxDelayMs ?? 0)} s the allowance takes to come back. These retries are not paced by acquire().`;
  return [
    `// ${header('Vercel AI SDK', s)}`,
    "import { createOpenAICompatible } from '@ai-sdk/openai-compatible';",
    "import { generateText } from 'ai';",
    '',
    `const chutes = createOpenAICompatible({ name: 'chutes', baseURL: ${q(s.context.baseUrl ?? DEFAULT_BASE_URL)}, apiKey: process.env.CHUTES_API_KEY });`,
    '',
    pacerJs(s),
    '',
    'async function generate(prompt) {',
    '  await acquire();',
    '  try {',
    `    return await generateText({ model: chutes.chatModel(${q(s.context.model ?? 'MODEL')}), prompt, maxRetries: ${maxRetries} }); ${retryComment}`,
    '  } finally {',
    '    release();',
    '  }',
    '}',
    '',
    "// const { text } = await generate('Hello');",
    '',
  ].join('\n');
}

/**
 * Bottleneck's reservoir as a second guard, per minute (per window when the window is longer), as its
 * README's example does; the interval is a multiple of 250 ms, as bottleneck asks. The amount is the most
 * starts minTime lets into a span that long (floor(span / minTime) + 1), never more than the measured
 * allowance for it. minTime alone already keeps every window at or under its limit; a reservoir refreshed
 * per short window would bind whenever bottleneck's 250 ms heartbeat refreshes it late, and cost pace.
 */
function reservoir(s: SnippetInput): { amount: number; intervalMs: number } {
  const intervalMs = Math.ceil(Math.max(60_000, s.pace.windowMs ?? 0) / 250) * 250;
  const allowance = Math.floor((s.pace.measuredPerMinute * intervalMs) / 60_000);
  return { amount: Math.max(1, Math.min(Math.floor(intervalMs / s.pace.minIntervalMs) + 1, allowance)), intervalMs };
}

function bottleneck(s: SnippetInput): string {
  const r = reservoir(s);
  return [
    `// ${header('bottleneck', s)}`,
    "import Bottleneck from 'bottleneck';",
    '',
    'const limiter = new Bottleneck({',
    `  maxConcurrent: ${s.maxConcurrency ?? 'null'},${s.maxConcurrency === null ? ' // the concurrency limit was not measured' : ''}`,
    `  minTime: ${s.pace.minIntervalMs}, // ms between starts: the pace`,
    `  reservoir: ${r.amount}, // a second guard: at most this many starts …`,
    `  reservoirRefreshAmount: ${r.amount},`,
    `  reservoirRefreshInterval: ${r.intervalMs}, // … per ${r.intervalMs} ms`,
    '});',
    '',
    "// Retries go through limiter.schedule() again: retries from bottleneck's 'failed' event skip minTime and the reservoir.",
    retryLoopJs(s, (call) => `limiter.schedule(${call})`, 'error?.status === 429'),
    '',
    `// const reply = await limited(() => ${chatCall(s.context)});`,
    '',
  ].join('\n');
}

function pQueue(s: SnippetInput): string {
  return [
    `// ${header('p-queue', s)}`,
    "import PQueue from 'p-queue';",
    '',
    'const queue = new PQueue({',
    `  concurrency: ${s.maxConcurrency ?? 'Infinity'},${s.maxConcurrency === null ? ' // the concurrency limit was not measured' : ''}`,
    '  intervalCap: 1, // one start …',
    `  interval: ${s.pace.minIntervalMs}, // … per ${s.pace.minIntervalMs} ms`,
    '  strict: true, // a sliding window: no two starts closer than `interval` (never a burst at a window edge)',
    '});',
    '',
    retryLoopJs(s, (call) => `queue.add(${call})`, 'error?.status === 429'),
    '',
    `// const reply = await limited(() => ${chatCall(s.context)});`,
    '',
  ].join('\n');
}

function litellm(s: SnippetInput): string {
  const timeout = timeoutMs(s.context);
  const banned = retries(s) === 0;
  const wait = s.retry.onBan?.waitAtLeastSeconds ?? null;
  const cooldown = banned ? Math.ceil(wait ?? 60) : Math.ceil((s.retry.maxDelayMs ?? 60_000) / 1000);
  return [
    `# ${header('LiteLLM Router', s)}`,
    '# rpm is counted per minute and does not space requests: for windows shorter than a minute, put the',
    '# aiolimiter pacer of the python snippet in front of router.acompletion().',
    'import os',
    '',
    'from litellm import Router',
    '',
    'router = Router(',
    '    model_list=[',
    '        {',
    '            "model_name": "chutes",',
    '            "litellm_params": {',
    `                "model": ${q(`openai/${s.context.model ?? 'MODEL'}`)},`,
    `                "api_base": ${q(s.context.baseUrl ?? DEFAULT_BASE_URL)},`,
    '                "api_key": os.environ["CHUTES_API_KEY"],',
    `                "rpm": ${Math.floor(s.pace.requestsPerMinute)},  # requests per minute for this deployment`,
    '            },',
    '        }',
    '    ],',
    '    routing_strategy="usage-based-routing-v2",  # routes by each deployment\'s rpm use',
    `    num_retries=${retries(s)},${banned ? `  ${banLine(s.retry, '#')}` : ''}`,
    `    retry_after=${Math.max(1, Math.ceil((s.retry.baseDelayMs ?? 1000) / 1000))},  # seconds, at least, before a retry`,
    '    allowed_fails=1,',
    `    cooldown_time=${cooldown},  # seconds a deployment rests after failing: ${banned ? 'the ban' : 'the time the allowance takes to come back'}`,
    `    timeout=${timeout.ms / 1000},  # seconds per attempt: ${timeout.why}`,
    ')',
    '',
    '# reply = await router.acompletion(model="chutes", messages=[{"role": "user", "content": "Hello"}])',
    '',
  ].join('\n');
}

function python(s: SnippetInput): string {
  const timeout = timeoutMs(s.context);
  const banned = retries(s) === 0;
  const guard = s.maxConcurrency === null ? 'pace' : 'slots, pace';
  const imports = ['import asyncio', 'import os', '', 'from aiolimiter import AsyncLimiter'];
  imports.push(`from openai import AsyncOpenAI${banned ? '' : ', RateLimitError'}`);
  if (!banned) imports.push('from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_attempt, wait_exponential');
  const lines = [
    `# ${header('python (aiolimiter + tenacity)', s)}`,
    ...imports,
    '',
    `client = AsyncOpenAI(base_url=${q(s.context.baseUrl ?? DEFAULT_BASE_URL)}, api_key=os.environ["CHUTES_API_KEY"], max_retries=0, timeout=${timeout.ms / 1000})`,
    `pace = AsyncLimiter(1, ${secondsText(s.pace.minIntervalMs)})  # max_rate 1: no bursts, one start per ${secondsText(s.pace.minIntervalMs)} s`,
  ];
  if (s.maxConcurrency !== null) lines.push(`slots = asyncio.Semaphore(${s.maxConcurrency})  # at most ${s.maxConcurrency} in flight`);
  if (banned) {
    lines.push('', banLine(s.retry, '#'), '', 'async def limited(call):', `    async with ${guard}:`, '        return await call()');
  } else {
    lines.push(
      `backoff = wait_exponential(multiplier=${secondsText(s.retry.baseDelayMs ?? 1000)}, max=${secondsText(s.retry.maxDelayMs ?? 60_000)})  # seconds, doubling`,
      '',
      '',
      'def wait_before_retry(retry_state):',
    );
    if (s.retry.honourRetryAfter) {
      lines.push(
        '    error = retry_state.outcome.exception()',
        '    after = error.response.headers.get("retry-after") if isinstance(error, RateLimitError) else None',
        '    try:',
        '        return float(after)  # the server sends Retry-After: wait what it says',
        '    except (TypeError, ValueError):',
        '        return backoff(retry_state)',
      );
    } else {
      lines.push('    return backoff(retry_state)  # the server sent no Retry-After');
    }
    lines.push(
      '',
      '',
      'async def limited(call):',
      `    async for attempt in AsyncRetrying(retry=retry_if_exception_type(RateLimitError), stop=stop_after_attempt(${1 + retries(s)}), wait=wait_before_retry, reraise=True):`,
      '        with attempt:',
      `            async with ${guard}:`,
      '                return await call()',
    );
  }
  lines.push('', '', `# reply = await limited(lambda: client.chat.completions.create(model=${q(s.context.model ?? 'MODEL')}, messages=[{"role": "user", "content": "Hello"}]))`, '');
  return lines.join('\n');
}

const WRITERS: Record<ClientName, (s: SnippetInput) => string> = {
  'openai-node': openaiNode,
  'ai-sdk': aiSdk,
  bottleneck,
  'p-queue': pQueue,
  litellm,
  python,
};

export function renderSnippets(input: SnippetInput): Record<ClientName, string> {
  return Object.fromEntries(CLIENTS.map((client) => [client, WRITERS[client](input)])) as Record<ClientName, string>;
}
