// The api.chutes.ai role: the management lookups (/users/me, its quotas, quota usage and subscription
// usage). It reads Authorization only, like the inference host, and refuses inference sent to it.

import type { IncomingMessage } from 'node:http';
import {
  DETAIL,
  detailResponse,
  jsonResponse,
  quotaUsageBody,
  quotasBody,
  subscriptionUsageBody,
  userBody,
  type CannedResponse,
} from './chutes.js';
import { quotaUsedToday, type Account, type Accounts } from './accounts.js';
import { readAuthorization } from './request.js';
import type { Settings } from './settings.js';

/** The answer to one request on the management listener. */
export async function routeManagement(
  settings: Settings,
  accounts: Accounts,
  req: IncomingMessage,
  path: string,
): Promise<CannedResponse> {
  if (req.method === 'POST' && (path === '/v1/chat/completions' || path === '/v1/completions')) {
    // Inference sent to the management host (facts: Hosts).
    return detailResponse(404, DETAIL.noChute);
  }
  const lookup = req.method === 'GET' ? managementLookup(path) : null;
  if (lookup === null) return detailResponse(404, DETAIL.notFound);
  const auth = readAuthorization(req);
  if (auth.kind === 'absent') {
    const detail = req.headers['x-api-key'] === undefined ? DETAIL.missingAuth : DETAIL.apiKeyHeaderIgnored;
    return detailResponse(401, detail);
  }
  if (auth.kind === 'malformed') return detailResponse(401, DETAIL.missingAuth);
  const account = accounts.accountFor(auth.token);
  if (account === null) return detailResponse(401, DETAIL.invalidToken);
  return answerLookup(settings, lookup, account);
}

type ManagementLookup = 'me' | 'quotas' | 'quota-usage' | 'subscription-usage';

function managementLookup(path: string): ManagementLookup | null {
  if (path === '/users/me') return 'me';
  if (path === '/users/me/quotas') return 'quotas';
  if (path === '/users/me/subscription_usage') return 'subscription-usage';
  // The real route is /users/me/quota_usage/{chute_id}; "me" reads the account's global counter (facts: Hosts).
  if (/^\/users\/me\/quota_usage\/[^/]+$/.test(path)) return 'quota-usage';
  return null;
}

function answerLookup(settings: Settings, lookup: ManagementLookup, account: Account): CannedResponse {
  const { dailyQuota, quotasEndpoint, subscription } = settings;
  switch (lookup) {
    case 'me':
      return jsonResponse(200, userBody(account.userId, account.createdAt));
    case 'quotas':
      if (quotasEndpoint === 'missing') return detailResponse(404, DETAIL.notFound);
      return jsonResponse(200, quotasBody(quotasEndpoint, account.userId, dailyQuota));
    case 'quota-usage':
      return jsonResponse(200, quotaUsageBody(dailyQuota, quotaUsedToday(account, settings.now())));
    case 'subscription-usage':
      return jsonResponse(200, subscriptionUsageBody(subscription, settings.now()));
  }
}
