// `chutes-diag quota`: the account's daily quota, usage and subscription caps from the Chutes
// management API. Three free GETs; no inference request is spent. Wiring only: the lookup is
// src/quota/, the output src/render/quota.ts.
import { ExitCode } from '../errors.js';
import { emitGithubReport } from '../render/github.js';
import { jsonDocument } from '../render/json.js';
import { quotaCiReport, quotaJson, renderQuota } from '../render/quota.js';
import { assessQuota, fetchQuota } from '../quota/lookup.js';
import { hasAuthorizationHeader, type ManagementContext } from '../quota/management.js';
import { readApiKey } from '../target.js';
import { failureLine, requireKey, resolveNetwork, type CommandContext, type CommonOptions } from './common.js';

export type QuotaOptions = CommonOptions;

export async function runQuota(opts: QuotaOptions, ctx: CommandContext): Promise<number> {
  const { io, signal } = ctx;
  const auth = opts.auth ?? 'bearer';
  // The management API answers nothing useful without a key: say so before sending anything.
  if (auth !== 'none' && !hasAuthorizationHeader(opts.header)) requireKey(readApiKey(opts, io.env).key, 'quota');
  if (auth === 'x-api-key') {
    io.warn('Chutes never reads X-API-Key (the management API answers 401 to it); sending it in the Authorization header (Bearer scheme) instead.');
  }
  const { key, apiBase, out } = resolveNetwork(opts, io);
  const mctx: ManagementContext = {
    apiBase, auth, key, extraHeaders: opts.header, timeoutMs: opts.timeout, redactor: io.redactor, signal, http: ctx.http,
  };
  const answers = await fetchQuota(mctx);
  for (const answer of answers) out?.write(answer.record);
  out?.close();

  const result = assessQuota(answers, ctx.now(), signal.aborted);
  const { exitCode, verdict } = result;
  // Last on stderr for a failing run: the exhausted quota in words (its responses were all 200), else the failed response.
  const failure = exitCode === ExitCode.rateLimited && verdict !== null
    ? `error: ${verdict.message}`
    : failureLine((result.failed ?? answers[0]).record, exitCode);
  emitGithubReport(io, quotaCiReport({
    summary: result.summary, subscription: result.subscription, subscriptionState: result.states[2], verdict, exitCode, failure, apiHost: apiBase.host,
  }));
  if (io.json) {
    io.print(jsonDocument('quota', answers[0].target, exitCode, quotaJson(result)).trimEnd());
  } else {
    const text = renderQuota(result, { color: io.color, verbose: io.verbose }, apiBase.host);
    if (text !== '') io.print(text);
  }
  if (failure) io.printErr(`${failure}\n`);
  return exitCode;
}
