// The verdict rules as a table. classifyResponse walks it top to bottom and the first rule whose
// `when` holds names the response. Specific rules come before generic ones: the Chutes rows
// (from shared/chutes-facts.md, "Error shapes and what they mean") before the plain status
// codes, so a Chutes body phrase wins over "some 429".
// Codes are a stable interface (scripts switch on them): add rules, never rename a code.

import { formatSeconds } from '../format.js';
import type { Outcome } from '../types.js';
import type { ResponseFacts } from './facts.js';
import { clip, describePolicy, hasRoomLeft, isAuthorizationHeader, isBetween, isEdgePage, isSuccess, missingModel, quote, retryAfterClause, says, servedList, statusPrefix, waitClause, type Text } from './phrases.js';

export { renderText } from './phrases.js';

export interface VerdictRule {
  /** Stable kebab-case code; unique in the table. */
  code: string;
  outcome: Outcome;
  /** The chutes-facts.md row or generic case this rule stands for. */
  source: string;
  when: (f: ResponseFacts) => boolean;
  /** One sentence: what the response means. */
  message: Text;
  /** A concrete next step: a command, a flag or a header to send. */
  hint: Text;
}

const BEARER_HINT = 'Send the key as `Authorization: Bearer <key>` (`--auth bearer`, the default).';
const SET_KEY_HINT =
  'Set `CHUTES_API_KEY` (or `--api-key-file <path>`) and send it as `Authorization: Bearer <key>` (`--auth bearer`).';
const OTHER_MODEL_HINT =
  'Retry in a few minutes or pick another model with `-m <model>` (the list is at GET https://llm.chutes.ai/v1/models).';

export const VERDICT_RULES: readonly VerdictRule[] = [
  // ── Network-level failures: no usable response, so the status rules below cannot apply.
  //    They win even when a status arrived (body_timeout, reset mid-body): the response is incomplete.
  {
    code: 'timeout',
    outcome: 'timeout',
    source: 'generic: request or body timeout',
    when: (f) => f.errorCode === 'timeout' || f.errorCode === 'body_timeout',
    message: (f) =>
      f.errorCode === 'body_timeout'
        ? `The response ${statusPrefix(f)}started but its body did not finish within the timeout; this is not a rate limit.`
        : 'No response arrived within the timeout; this is not a rate limit.',
    hint: 'Raise `--timeout` (e.g. `--timeout 120s`) or ask for less output (`max_tokens` in `--body`).',
  },
  {
    code: 'dns-failure',
    outcome: 'network_error',
    source: 'generic: DNS lookup failed',
    when: (f) => f.errorCode === 'dns',
    message: (f) => `The host name ${f.host} could not be resolved (DNS lookup failed).`,
    hint: (f) => `Check the host in \`${f.urlOption}\` and your DNS with \`nslookup ${f.host}\`.`,
  },
  {
    code: 'connection-refused',
    outcome: 'network_error',
    source: 'generic: TCP connection refused',
    when: (f) => f.errorCode === 'connect_refused',
    message: (f) => `${f.host} refused the connection: nothing is listening on that address and port.`,
    hint: (f) => `Check the host and port in \`${f.urlOption}\`; for a local emulator start it first with \`chutes-diag mock --port <n>\`.`,
  },
  {
    code: 'tls-error',
    outcome: 'network_error',
    source: 'generic: TLS handshake or certificate failure',
    when: (f) => f.errorCode === 'tls',
    message: (f) =>
      `The TLS handshake with ${f.host} failed (often a self-signed certificate or a proxy that intercepts TLS).`,
    hint: 'If a corporate proxy intercepts TLS, trust its CA with `NODE_EXTRA_CA_CERTS=/path/to/ca.pem`; never disable certificate verification.',
  },
  {
    code: 'connection-reset',
    outcome: 'network_error',
    source: 'generic: connection reset',
    when: (f) => f.errorCode === 'reset',
    message: (f) => `The connection to ${f.host} was reset before a complete response arrived.`,
    hint: (f) => `Retry once; if it repeats, a firewall or proxy is dropping the connection: compare with \`curl -sv ${f.origin}/\`.`,
  },
  {
    code: 'cross-origin-redirect',
    outcome: 'http_error',
    source: 'generic: redirect to another origin (not followed)',
    when: (f) => f.errorCode === 'redirect',
    message: 'The server redirected to another origin; the redirect was not followed, so the key was not sent there.',
    hint: 'If you trust the new location, put it in `--base-url` directly.',
  },
  {
    code: 'redirect-not-followed',
    outcome: 'http_error',
    source: 'generic: redirect on the same origin (not followed)',
    when: (f) => f.errorCode === 'redirect_not_followed',
    message: 'The server answered with a redirect; it was not followed (each hop would be one more request with your key).',
    hint: 'Put the final URL in `--base-url` / `--path` directly (for example a missing or extra `/v1`, or a trailing slash).',
  },
  {
    code: 'request-aborted',
    outcome: 'network_error',
    source: 'generic: the client aborted the request (Ctrl-C)',
    when: (f) => f.errorCode === 'aborted',
    message: 'The request was aborted before a response arrived (interrupted); nothing is known about the limit.',
    hint: 'Run the command again and let it finish; `--out <file>` keeps every completed response.',
  },
  {
    code: 'network-error',
    outcome: 'network_error',
    source: 'generic: any other failure with no response',
    when: (f) => f.status === null,
    message: (f) =>
      f.errorMessage === null
        ? `No response came back from ${f.host}.`
        : `The request to ${f.host} failed at the network level: ${clip(f.errorMessage)}.`,
    hint: (f) => `Check connectivity with \`curl -sI ${f.origin}/\` and any proxy settings.`,
  },

  // ── Chutes error shapes (chutes-facts.md, one rule per row, some rows split by auth scheme).
  // Edge HTML 429: nginx answered, the Chutes app never saw the request (no X-Chutes-* headers).
  {
    code: 'anonymous-edge-limit',
    outcome: 'rate_limited',
    source: 'facts: 429 text/html nginx page, no X-Chutes-* headers; request sent without a key',
    when: (f) => isEdgePage(f, 429) && !f.keySent,
    message: (f) =>
      `429 from the edge (HTML page, no X-Chutes-* headers): the request never reached Chutes and, sent without a key, hit the anonymous limit${waitClause(f)}.`,
    hint: SET_KEY_HINT,
  },
  {
    code: 'x-api-key-ignored',
    outcome: 'rate_limited',
    source: 'facts: 429 text/html nginx page, no X-Chutes-* headers; key sent as X-API-Key',
    when: (f) => isEdgePage(f, 429) && f.auth === 'x-api-key',
    message: (f) =>
      `429 from the edge (HTML page, no X-Chutes-* headers): the request never reached Chutes and was anonymous, because Chutes ignores X-API-Key${waitClause(f)}.`,
    hint: BEARER_HINT,
  },
  {
    code: 'edge-ban',
    outcome: 'rate_limited',
    // The ban's exact shape: the bare nginx page, no Retry-After or rate-limit headers. On any host, since
    // a local emulator or a proxy in front of Chutes has no *.chutes.ai name.
    source: 'facts: 429 text/html nginx page, no X-Chutes-* headers, no Retry-After; key sent in Authorization (edge bans escalate)',
    when: (f) => isEdgePage(f, 429) && f.keySent && isAuthorizationHeader(f) && f.waitSeconds === null,
    message: (f) =>
      `The edge refused this authenticated request: a temporary edge ban (or the edge's per-minute limit); the 429 is the edge's HTML page with no X-Chutes-* headers and no Retry-After, so Chutes never saw the request${f.onChutes ? '' : ` (${f.host} answers as Chutes' edge does)`}.`,
    hint: 'Stop all traffic from this key and address; every refused request lengthens the ban (up to a day); wait, then send one request (e.g. `chutes-diag headers`), not a burst of retries.',
  },
  {
    code: 'edge-rate-limit',
    outcome: 'rate_limited',
    // Reached when the edge page says when it resets (Retry-After or rate-limit headers): not the bare ban shape.
    source: 'facts: 429 text/html nginx page, no X-Chutes-* headers; key sent in Authorization, with a stated reset',
    when: (f) => isEdgePage(f, 429),
    message: (f) =>
      `429 from the edge (HTML page, no X-Chutes-* headers): the edge limited this client or address before Chutes saw the request, so it is not your account quota${waitClause(f)}.`,
    hint: 'Slow down (e.g. `chutes-diag probe --rpm 10`) and look for other traffic from the same IP address (shared NAT, CI runners, other tools).',
  },
  // ── The 2026 shapes (issue #14): maintenance, TEE and tier gates, a Chutes 429 relayed by OpenRouter.
  //    Kept together; each is a body phrase (or OpenRouter's metadata) the generic 402/429 rows would misname.
  {
    code: 'openrouter-chutes-upstream-limit',
    outcome: 'rate_limited',
    // First of the JSON 429s: whatever Chutes said, the user must learn that it came through OpenRouter.
    source: 'facts: OpenRouter relays a Chutes 429 as "Provider returned error", error.metadata.provider_name "Chutes"',
    when: (f) => f.status === 429 && f.upstreamProvider !== null && f.upstreamProvider.toLowerCase() === 'chutes',
    message: (f) =>
      `429 relayed by OpenRouter from Chutes ("Provider returned error"${f.upstreamRaw === null ? '' : `: "${clip(f.upstreamRaw)}"`}): Chutes limited OpenRouter's traffic upstream; this is not OpenRouter's limit on your key.`,
    hint: 'Retry later with backoff, route around Chutes in the request body (`"provider": {"ignore": ["Chutes"]}`), or call Chutes directly with your own key and check it with `chutes-diag doctor`.',
  },
  {
    code: 'model-under-maintenance',
    // `capacity` (exit 3): a 429 per the contract, but the model's state, not your limit; the probe does not count it.
    outcome: 'capacity',
    source: 'facts: 429 "model is under maintenance" (a disabled model)',
    when: (f) => f.status === 429 && says(f, 'model is under maintenance'),
    message: 'This model is under maintenance on Chutes ("model is under maintenance"): it is disabled for everyone, this is not your rate limit or quota.',
    hint: 'Pick another model with `-m <model>` (the served ids are at GET https://llm.chutes.ai/v1/models, free); retrying this one only spends requests.',
  },
  {
    code: 'tee-model-needs-balance',
    outcome: 'quota_exceeded',
    source: 'facts: 402 "TEE models require an active subscription or positive balance."',
    when: (f) => f.status === 402 && says(f, 'tee models require an active subscription or positive balance'),
    message: 'This is a TEE (confidential compute) model, and on the one-time 200/day tier with a $0 balance TEE models are refused ("TEE models require an active subscription or positive balance."); your daily quota is not the problem.',
    hint: 'Add balance or take a subscription (300, 2000 or 5000/day), or pick a non-TEE model with `-m <model>` (`confidential_compute: false` in GET https://llm.chutes.ai/v1/models).',
  },
  {
    code: 'model-tier-required',
    outcome: 'quota_exceeded',
    source: 'facts: 402 "This model requires a higher subscription tier or positive balance."',
    when: (f) => f.status === 402 && says(f, 'requires a higher subscription tier or positive balance'),
    message: 'This model is gated: it needs a higher subscription tier or a positive balance ("This model requires a higher subscription tier or positive balance."); this is not a rate limit.',
    hint: 'Upgrade the subscription or add balance, or pick another model with `-m <model>`; `chutes-diag quota` shows your subscription without spending a request.',
  },
  {
    code: 'capacity-at-maximum',
    outcome: 'capacity',
    source: 'facts: 429 "Infrastructure is at maximum capacity, try again later"',
    when: (f) => f.status === 429 && says(f, 'infrastructure is at maximum capacity'),
    message: 'Every instance of this model is busy ("Infrastructure is at maximum capacity"): Chutes is out of capacity, this is not your quota.',
    hint: OTHER_MODEL_HINT,
  },
  {
    code: 'free-model-daily-cap',
    outcome: 'quota_exceeded',
    source: 'facts: 429 "Free models limit reached for today"',
    when: (f) => f.status === 429 && says(f, 'free models limit reached'),
    // The full message (facts): "… - maintain >= $10 balance or upgrade subscription to pro to unlock more."
    message: (f) =>
      `The daily cap on free-model calls (100 a day on small accounts) is reached${quote(f)}; it resets at 00:00 UTC. It is not your daily request quota: paid models still work.`,
    hint: 'Keep a balance of at least $10 or upgrade the subscription to Pro to lift the cap; or wait until 00:00 UTC, or use a paid model with `-m <model>`. `chutes-diag quota` shows the account without spending a request.',
  },
  {
    code: 'identical-prompt-spam',
    outcome: 'rate_limited',
    source: 'facts: 429 "Stop spamming this prompt" (>5000 identical prompts in 3 h)',
    when: (f) => f.status === 429 && says(f, 'stop spamming this prompt'),
    message: 'Chutes refuses this exact prompt because it was sent too often ("Stop spamming this prompt"); other prompts still go through.',
    hint: 'Vary the prompt: pass `--body @file.json` with a message that differs per run (e.g. include a timestamp).',
  },
  {
    code: 'account-rate-limit',
    outcome: 'rate_limited',
    source: 'facts: 429 JSON {"detail":"Too many requests"}',
    // Only the FastAPI `detail` field: a bare "Too many requests" text is any server's generic 429.
    when: (f) => f.status === 429 && f.detail !== null && f.detail.toLowerCase().includes('too many requests'),
    message: (f) =>
      `Your account's per-user rate limit was hit ("Too many requests"; a sliding window in older Chutes releases)${waitClause(f)}.`,
    hint: 'Slow down; measure the limit with `chutes-diag probe --rpm 20`, or see when it clears with `chutes-diag wait-reset`.',
  },
  {
    code: 'daily-quota-exhausted',
    outcome: 'quota_exceeded',
    source: 'facts: 402 JSON with detail.quota_reset_timestamp',
    when: (f) => f.status === 402 && f.quotaResetAt !== null,
    message: (f) =>
      `The account's daily request quota is used up and its balance is $0, so requests fail until ${f.quotaResetAt ?? 'the next 00:00 UTC'}.`,
    hint: (f) =>
      `Wait until ${f.quotaResetAt ?? '00:00 UTC'}, or add balance to continue pay-as-you-go; \`chutes-diag quota\` shows usage without spending a request.`,
  },
  {
    code: 'subscription-cap-exceeded',
    outcome: 'quota_exceeded',
    source: 'facts: 402 "Subscription usage cap exceeded"',
    when: (f) => f.status === 402 && says(f, 'subscription usage cap exceeded'),
    message: (f) =>
      `The subscription's monthly or 4-hour usage cap is exceeded and the account balance is $0${quote(f)}; the daily request quota may still have room.`,
    hint: 'Add balance to continue now, or wait: the 4-hour cap resets at the next fixed UTC 4-hour boundary (00:00, 04:00, … 20:00 UTC), the monthly one at its reset_at. `chutes-diag quota` shows which cap is spent and when it resets, without spending a request.',
  },
  {
    code: 'missing-api-key',
    outcome: 'auth_error',
    source: 'facts: 401 JSON; no key sent',
    when: (f) => f.status === 401 && !f.keySent,
    message: (f) => `401: no key was sent and ${f.host} requires one${quote(f)}.`,
    hint: SET_KEY_HINT,
  },
  {
    code: 'x-api-key-rejected',
    outcome: 'auth_error',
    // On the management host an X-API-Key-only request is keyless: 401 "Can't find a user…".
    // Elsewhere X-API-Key may be the right scheme (e.g. Anthropic-style APIs): leave it to `unauthorized`.
    source: 'facts: 401 "Can\'t find a user with that api key in our db :(" after X-API-Key',
    when: (f) =>
      f.status === 401 &&
      f.auth === 'x-api-key' &&
      (f.onChutes || f.fromChutes || says(f, "can't find a user with that api key")),
    message: (f) =>
      `401${quote(f)}: the key was sent as X-API-Key, which Chutes never reads, so the request arrived without a key.`,
    hint: BEARER_HINT,
  },
  {
    code: 'invalid-api-key',
    outcome: 'auth_error',
    source: 'facts: 401 "Invalid token or user not found" / "Missing or invalid authorization header(s)" with a key',
    when: (f) =>
      f.status === 401 &&
      (says(f, 'invalid token or user not found') ||
        says(f, 'missing or invalid authorization header') ||
        says(f, "can't find a user with that api key")),
    message: (f) => `401: Chutes does not accept this key${quote(f)}.`,
    hint: 'Check the key with `chutes-diag doctor` (format `cpk_<32 hex>.<32 hex>.<32 alphanumerics>`, or `cak_…`); create a new key if it was deleted.',
  },
  // ── Models that are gone (#14): the list moves, so a 404 names the model and what is served now.
  {
    code: 'model-not-found',
    // http_error: exit 5 ("other HTTP error"), as the contract has it; the code tells it apart.
    outcome: 'http_error',
    source: 'facts: 404 {"detail":"model not found: <id>"} (the model id is not served, any more)',
    when: (f) => f.status === 404 && says(f, 'model not found'),
    message: (f) => `404: the model ${missingModel(f) ?? '(unnamed)'} is not served here (any more); this is not a rate limit.`,
    hint: (f) =>
      f.servedModels !== null && f.servedModels.length > 0
        ? `Served now, cheapest first: ${servedList(f.servedModels)}; pick one with \`-m <id>\`, or leave -m out to pick the cheapest.`
        : `See the served ids with \`curl ${f.origin}/v1/models\` (free, no key) and pick one with \`-m <id>\`.`,
  },
  {
    code: 'wrong-host',
    outcome: 'http_error',
    // The management host routes by chute, not by model; on the llm host the same text means the model is unknown.
    source: 'facts: 404 "No matching chute found!" (inference sent to the management host)',
    when: (f) => f.status === 404 && says(f, 'no matching chute found') && !f.onLlmHost,
    message: (f) =>
      `404 "No matching chute found!": inference was sent to ${f.host}, the management host, which does not serve /v1/chat/completions.`,
    hint: 'Use the inference host: `--base-url https://llm.chutes.ai` (or unset `CHUTES_BASE_URL`).',
  },
  {
    code: 'model-cold',
    // Not `capacity`: no instance is deployed yet, which is the model's state, not load or your quota;
    // exit 3 stays "you are being limited" and the probe does not count this as a limit.
    outcome: 'http_error',
    source: 'facts: 503 "No instances available (yet) for chute_id=…"',
    when: (f) => f.status === 503 && says(f, 'no instances available'),
    message: 'No instance of this model is running yet (cold or scaling up, "No instances available"); this is not a rate limit.',
    hint: OTHER_MODEL_HINT,
  },
  {
    code: 'model-disabled',
    outcome: 'http_error',
    source: 'facts: 503 "This chute is currently disabled."',
    when: (f) => f.status === 503 && says(f, 'chute is currently disabled'),
    message: 'This model is disabled on Chutes ("This chute is currently disabled."); this is not a rate limit.',
    hint: 'Pick another model with `-m <model>` (the list is at GET https://llm.chutes.ai/v1/models).',
  },
  {
    code: 'no-infrastructure',
    outcome: 'http_error', // a 5xx: exit 5 per the contract (3 is for 429/402), though the cause is capacity
    source: 'facts: 500 "No infrastructure available to serve request"',
    when: (f) => f.status === 500 && says(f, 'no infrastructure available'),
    message: 'Chutes has no capacity to serve this model right now ("No infrastructure available to serve request"); this is not your rate limit.',
    hint: OTHER_MODEL_HINT,
  },
  {
    code: 'edge-blocked',
    // Not `auth_error` (exit 4): the key was never checked, and exit 4 would send the user to their key.
    // HTML never comes from the Chutes app (it answers JSON), so any 403 page without X-Chutes-* is the edge.
    outcome: 'http_error',
    source: 'facts: 403 HTML with via: 1.1 google (edge block)',
    when: (f) => isEdgePage(f, 403),
    message: (f) =>
      `403 HTML page from the edge${f.headers['via'] === undefined ? '' : ` (via: ${clip(f.headers['via'])})`}: the request was blocked before it reached the API; not a rate limit and not your key.`,
    hint: (f) =>
      `Often a TLS-intercepting proxy or firewall on your side: retry from another network and compare with \`curl -sv ${f.origin}/\`.`,
  },
  {
    code: 'edge-timeout',
    outcome: 'http_error',
    source: 'facts: 504 after ~600 s (edge timeout)',
    when: (f) => f.status === 504,
    message: 'The gateway gave up waiting for the model (504; the Chutes edge cuts off after about 600 s); this is not a rate limit.',
    hint: 'Ask for less output (`max_tokens` in `--body`) or retry when the model is less busy.',
  },

  // ── Generic HTTP: any OpenAI-compatible API.
  {
    code: 'ok-limit-exhausted',
    outcome: 'ok',
    source: 'generic: 2xx with a policy at remaining 0',
    when: (f) => isSuccess(f) && f.tightest?.remaining === 0,
    message: (f) => `${f.status ?? ''} OK, but ${describePolicy(f.tightest)}${waitClause(f)}.`,
    hint: (f) =>
      f.waitSeconds === null
        ? 'The next request will likely be limited; see when it clears with `chutes-diag wait-reset`.'
        : `The next request will likely be limited: wait ${formatSeconds(f.waitSeconds)} before sending more.`,
  },
  {
    code: 'ok',
    outcome: 'ok',
    source: 'generic: 2xx',
    when: isSuccess,
    message: (f) =>
      f.tightest === null
        ? `${f.status ?? ''} OK; the response carries no rate-limit headers.`
        : `${f.status ?? ''} OK; ${describePolicy(f.tightest)}${waitClause(f)}.`,
    hint: (f) =>
      f.onLlmHost && f.path.endsWith('/models')
        ? 'GET /v1/models needs no key on Chutes, so this proves nothing about the key: test with `chutes-diag headers` on /v1/chat/completions.'
        : 'Measure the limit with `chutes-diag probe --rpm 20`.',
  },
  {
    code: 'rate-limited-with-headers',
    outcome: 'rate_limited',
    source: 'generic: 429 with rate-limit headers or Retry-After',
    when: (f) => f.status === 429 && (f.tightest !== null || f.rateLimit.retryAfterSeconds !== null),
    // The status wins over headers that claim room (stale, conflicting, or another limit's): never "N left".
    message: (f) =>
      f.tightest === null
        ? `429 Too Many Requests${waitClause(f)}.`
        : hasRoomLeft(f.tightest)
          ? `429 Too Many Requests, although no policy in the rate-limit headers is exhausted: the refusal is what counts; the headers are stale, conflicting or describe another limit${retryAfterClause(f)}.`
          : `429 Too Many Requests: ${describePolicy(f.tightest)}${waitClause(f)}.`,
    hint: (f) =>
      f.waitSeconds === null
        ? 'Run `chutes-diag wait-reset` to retest until the window resets.'
        : `Wait ${formatSeconds(f.waitSeconds)} before retrying, or run \`chutes-diag wait-reset\` to retest with as few requests as possible.`,
  },
  {
    code: 'rate-limited-no-headers',
    outcome: 'rate_limited',
    source: 'generic: 429 with no rate-limit headers',
    when: (f) => f.status === 429,
    message: (f) => `429 Too Many Requests, with no rate-limit headers to say which limit or when it resets${quote(f)}.`,
    hint: 'Measure the limit with `chutes-diag probe --rpm 20`, or find the reset with `chutes-diag wait-reset`.',
  },
  {
    code: 'payment-required',
    outcome: 'quota_exceeded',
    source: 'generic: 402',
    when: (f) => f.status === 402,
    message: (f) => `402 Payment Required: the account needs balance or its quota is spent${quote(f)}.`,
    hint: 'Add balance to the account; `chutes-diag quota` shows quota and usage without spending a request.',
  },
  {
    code: 'unauthorized',
    outcome: 'auth_error',
    source: 'generic: 401',
    when: (f) => f.status === 401,
    message: (f) => `401 Unauthorized: the server rejected the credentials${quote(f)}.`,
    hint: 'Check the key and the scheme: `--auth bearer` sends `Authorization: Bearer <key>`; some servers want `--auth raw` or `--auth x-api-key`.',
  },
  {
    code: 'forbidden',
    outcome: 'auth_error',
    source: 'generic: 403',
    when: (f) => f.status === 403,
    message: (f) => `403 Forbidden: the server refused this request for these credentials${quote(f)}.`,
    hint: 'Check that the key may use this model and endpoint: run `chutes-diag doctor`.',
  },
  {
    code: 'not-found',
    outcome: 'http_error',
    source: 'generic: 404 (unknown path or model)',
    when: (f) => f.status === 404,
    message: (f) => `404 Not Found: the path ${f.path} or the model does not exist here${quote(f)}.`,
    hint: 'Check `--path` (default /v1/chat/completions) and the model id in `-m` against GET /v1/models.',
  },
  {
    code: 'request-timeout',
    outcome: 'http_error',
    source: 'generic: 408',
    when: (f) => f.status === 408,
    message: 'The server gave up waiting for the request (408 Request Timeout); this is not a rate limit.',
    hint: 'Retry; if it repeats, check for a slow proxy or an oversized `--body`.',
  },
  {
    code: 'client-error',
    outcome: 'http_error',
    source: 'generic: other 4xx',
    when: (f) => isBetween(f, 400, 499),
    message: (f) => `HTTP ${f.status ?? ''}: the server rejected the request${quote(f)}.`,
    hint: 'Check `--path`, `-m <model>` and `--body`; `chutes-diag headers --all -v` shows the whole response.',
  },
  {
    code: 'service-unavailable',
    outcome: 'http_error',
    source: 'generic: 503 with Retry-After',
    when: (f) => f.status === 503 && f.rateLimit.retryAfterSeconds !== null,
    message: (f) => `503 Service Unavailable${waitClause(f)}: the server is overloaded or in maintenance${quote(f)}.`,
    // nginx limit_req rejects with 503 by default (ratelimit-dialects.md), so a 503 can hide a rate limit.
    hint: (f) =>
      `Wait ${formatSeconds(f.waitSeconds ?? 0)} before retrying; if 503s come with speed, it is a rate limit in disguise: measure with \`chutes-diag probe --rpm 10\`.`,
  },
  {
    code: 'server-error',
    outcome: 'http_error',
    source: 'generic: 5xx',
    when: (f) => isBetween(f, 500, 599),
    message: (f) => `HTTP ${f.status ?? ''}: the server failed to handle the request${quote(f)}; this is not a rate limit.`,
    hint: (f) => {
      const id = f.headers['x-chutes-invocationid'];
      return id === undefined
        ? 'Retry later; if it persists, report it to the provider with the time of the request.'
        : `Retry later; if it persists, report it to Chutes with X-Chutes-InvocationID ${clip(id)}.`;
    },
  },
];

/** The last resort (1xx, 3xx, anything unforeseen); also the table's final row in effect. */
export const FALLBACK_RULE: VerdictRule = {
  code: 'unexpected-status',
  outcome: 'http_error',
  source: 'generic: any other status (1xx, 3xx)',
  when: () => true,
  message: (f) => `HTTP ${f.status ?? 'with no status'} was not expected for this request${quote(f)}.`,
  hint: 'Check `--base-url` and `--path`; redirects to another origin are not followed.',
};
