// The 2026 Chutes shapes (issue #14 part 3), beyond the one row each in verdict-classify.test.js:
// the full messages, what the hints tell the user to do, the exit codes, and the decisions between
// these rows and their neighbours (a relayed 429 from another provider, a generic 402).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { classifyResponse, exitCodeForOutcome } from '../../dist/verdict/classify.js';

const LLM = 'https://llm.chutes.ai/v1/chat/completions';
const OPENROUTER = 'https://openrouter.ai/api/v1/chat/completions';
const CHUTES = { 'content-type': 'application/json', server: 'nginx', via: '1.1 google', 'x-chutes-invocationid': 'a1b2c3d4-0000-4000-8000-000000000000' };
const JSON_CT = { 'content-type': 'application/json' };
const detail = (d) => JSON.stringify({ detail: d });
const relayed = (provider, raw) => JSON.stringify({
  error: { message: 'Provider returned error', code: 429, metadata: { raw, provider_name: provider } },
  user_id: 'user_fake0000',
});
const RAW_429 = 'deepseek/deepseek-chat-v3-0324:free is temporarily rate-limited upstream. Please retry shortly, or add your own key to accumulate your rate limits: https://openrouter.ai/settings/integrations';

/** @param {{ status: number, body: string, headers?: Record<string, string>, url?: string }} response */
function classify({ status, body, headers = CHUTES, url = LLM }) {
  return classifyResponse(
    { status, headers, body, error: null, rateLimit: { policies: [], retryAfterSeconds: null, warnings: [] } },
    { auth: 'bearer', url: new URL(url), hasKey: true },
  );
}

// [name, response, code, exit code, what the message and hint must say]
/** @type {Array<[string, {status: number, body: string, headers?: Record<string, string>, url?: string}, string, number, RegExp[]]>} */
const ROWS = [
  ['402 TEE model on the one-time tier',
    { status: 402, body: detail('TEE models require an active subscription or positive balance.') },
    'tee-model-needs-balance', 3, [/TEE/, /add balance or take a subscription/i, /non-TEE model/, /-m <model>/]],
  ['402 gated model',
    { status: 402, body: detail('This model requires a higher subscription tier or positive balance.') },
    'model-tier-required', 3, [/higher subscription tier/, /Upgrade the subscription or add balance/, /another model/]],
  ['402 subscription cap, with the balance sentence',
    { status: 402, body: detail('Subscription usage cap exceeded. Please add balance to continue.') },
    'subscription-cap-exceeded', 3, [/Subscription usage cap exceeded\. Please add balance to continue\./, /4-hour/, /chutes-diag quota/]],
  ['429 free-model cap, full message',
    { status: 429, body: detail('Free models limit reached for today - maintain >= $10 balance or upgrade subscription to pro to unlock more.') },
    'free-model-daily-cap', 3, [/maintain >= \$10 balance or upgrade subscription to pro/, /at least \$10/, /Pro/, /00:00 UTC/]],
  ['429 model under maintenance',
    { status: 429, body: detail('model is under maintenance') },
    'model-under-maintenance', 3, [/under maintenance/, /not your rate limit/, /another model/, /\/v1\/models/]],
  ['429 Chutes relayed by OpenRouter',
    { status: 429, headers: JSON_CT, url: OPENROUTER, body: relayed('Chutes', RAW_429) },
    'openrouter-chutes-upstream-limit', 3, [/relayed by OpenRouter from Chutes/, /temporarily rate-limited upstream/, /not OpenRouter's limit/, /"ignore": \["Chutes"\]/]],
  ['429 relayed by OpenRouter, provider name in another case',
    { status: 429, headers: JSON_CT, url: OPENROUTER, body: relayed('chutes', RAW_429) },
    'openrouter-chutes-upstream-limit', 3, [/Chutes/]],
  ['429 relayed by OpenRouter with Chutes\' capacity text: still named as relayed',
    { status: 429, headers: JSON_CT, url: OPENROUTER, body: relayed('Chutes', '{"detail":"Infrastructure is at maximum capacity, try again later"}') },
    'openrouter-chutes-upstream-limit', 3, [/maximum capacity/]],
  ['429 relayed from another provider is not blamed on Chutes',
    { status: 429, headers: JSON_CT, url: OPENROUTER, body: relayed('Together', RAW_429) },
    'rate-limited-no-headers', 3, [/Provider returned error/]],
  ['another 402 stays generic',
    { status: 402, body: detail('Account balance is $0.0, please send tao to 5FakeAddress') },
    'payment-required', 3, [/402/]],
  ['"under maintenance" on a 503 is not the 429 row',
    { status: 503, body: detail('model is under maintenance') },
    'server-error', 5, [/503/]],
];

for (const [name, response, code, exit, mentions] of ROWS) {
  test(`2026 shape: ${name} → ${code}, exit ${exit}`, () => {
    const { outcome, verdict } = classify(response);
    assert.equal(verdict.code, code, `verdict for ${name}: ${verdict.message}`);
    assert.equal(exitCodeForOutcome(outcome), exit, `exit code for outcome ${outcome}`);
    const text = `${verdict.message}\n${verdict.hint}`;
    for (const pattern of mentions) assert.match(text, pattern);
    assert.doesNotMatch(text, /undefined|null|NaN|\[object/);
  });
}
