// doctor's domain call. readDoctorKey finds the key without throwing on a bad one (a bad key is a
// finding); gatherDoctorFacts runs the checklist, gathering the facts: DNS and a TCP/TLS
// connection, two free management GETs, one inference request; concludeDoctor (pure) adjusts the
// checks by what the answers confirmed and picks the verdict, the exit code and the response to blame.
import { ExitCode, UsageError } from '../errors.js';
import type { HttpClient } from '../http/client.js';
import type { Redactor } from '../redact.js';
import { getManagement, hasAuthorizationHeader, QUOTA_USAGE_PATH, USER_PATH, type ManagementAnswer, type ManagementContext } from '../quota/management.js';
import { parseQuotaUsage, summariseQuota, type QuotaSummary } from '../quota/usage.js';
import { buildRecord } from '../record.js';
import { checkRawKey, cleanKey, findRawKey, type NetworkOptions } from '../target.js';
import type { ModelChoice } from '../models/choose.js';
import { fetchModelList } from '../models/fetch.js';
import { cheapestFirst } from '../models/list.js';
import type { AuthScheme, ResponseRecord, Target, Verdict } from '../types.js';
import {
  acceptedKeyFormat, check, checkAuthScheme, checkBaseUrl, checkInference, checkKeyFormat, checkKeyPresent, checkKeyValid,
  checkModelServed, checkQuota, isChutesHost, managementSkipReason, wrongHostConfirmed, type Check, type KeyInput,
} from './checks.js';
import { checkReachable } from './reach.js';
import { chooseVerdict, doctorExitCode, type DoctorFindings } from './verdicts.js';

export interface DoctorKey {
  /** The key as found (before cleaning) and where. */
  input: KeyInput;
  /** The cleaned key; null when there is none or it is unusable (the key-format check says why). */
  key: string | null;
  /** Why the key could not be read at all (an unreadable --api-key-file); null otherwise. */
  readProblem: string | null;
  /** For stderr: the key came from argv, or was cleaned of whitespace or quotes. */
  warnings: string[];
}

/** Finds and cleans the key; a missing, unreadable or malformed key is returned as a finding, never thrown. */
export function readDoctorKey(opts: Pick<NetworkOptions, 'apiKey' | 'apiKeyFile'>, env: NodeJS.ProcessEnv): DoctorKey {
  let input: KeyInput;
  let readProblem: string | null = null;
  try {
    input = findRawKey(opts, env);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    input = { raw: null, source: '--api-key-file' };
    readProblem = error.message;
  }
  try {
    const read = checkRawKey(input);
    return { input, key: read.key, readProblem, warnings: read.warnings };
  } catch (error) {
    // A malformed key is a finding (the key-format check reports it), not a usage error.
    if (!(error instanceof UsageError)) throw error;
    return { input, key: null, readProblem, warnings: [] };
  }
}

/** What doctor is asked to check: the resolved options. */
export interface DoctorSetup {
  auth: AuthScheme;
  base: URL;
  apiBase: URL;
  timeoutMs: number;
  key: DoctorKey;
  /** The inference request. */
  target: Target;
  /** -H headers, sent to the management host too. */
  extraHeaders?: Array<[string, string]>;
  /** Whether the user named --base-url and --api-base-url (flag or env). */
  explicit: { baseUrl: boolean; apiBaseUrl: boolean };
  skipInference: boolean;
  /** The model the inference request names and whether it is served; null when --body names its own. */
  model: ModelChoice | null;
}

/** What gatherDoctorFacts may touch. */
export interface DoctorDeps {
  /** For the proxy variables: behind a proxy, a direct connection is not tested. */
  env: NodeJS.ProcessEnv;
  redactor: Redactor;
  signal: AbortSignal;
  http: HttpClient;
  now: () => number;
  /** Each response as it completes (the --out JSONL). */
  onRecord: (record: ResponseRecord) => void;
}

export interface DoctorFacts {
  setup: DoctorSetup;
  checks: Check[];
  /** Every response, in seq order. */
  records: ResponseRecord[];
  inference: ResponseRecord | null;
  keyAnswer: ManagementAnswer | null;
  quota: QuotaSummary | null;
  /** Why the management checks were skipped (a non-Chutes host); null when they ran. */
  managementSkip: string | null;
  nowMs: number;
}

/** Runs the checklist in order, from the key to one inference request. */
export async function gatherDoctorFacts(setup: DoctorSetup, deps: DoctorDeps): Promise<DoctorFacts> {
  const { auth, base, apiBase, target } = setup;
  const { input, key, readProblem } = setup.key;
  const { signal } = deps;
  const headerAuth = hasAuthorizationHeader(setup.extraHeaders);
  const { explicit } = setup;
  // The management host counts only when the user named it: the default api.chutes.ai says nothing about the API tested.
  const chutesContext = isChutesHost(base.hostname) || !explicit.baseUrl || (explicit.apiBaseUrl && isChutesHost(apiBase.hostname))
    || /^c[pa]k_/.test(key ?? cleanKey(input.raw ?? ''));
  const managementSkip = managementSkipReason(base, apiBase, explicit);

  const checks: Check[] = [
    checkKeyPresent(input, auth, readProblem, headerAuth),
    checkKeyFormat(input, chutesContext),
    checkBaseUrl(base, apiBase),
    checkAuthScheme(auth, chutesContext),
  ];
  const connectTimeout = Math.min(setup.timeoutMs, 10_000);
  const records: ResponseRecord[] = [];
  let inference: ResponseRecord | null = null;
  let keyAnswer: ManagementAnswer | null = null;
  let quota: QuotaSummary | null = null;
  const nowMs = deps.now();
  const [inferenceReach, managementReach] = await Promise.all([
    checkReachable('inference-reachable', base, connectTimeout, deps.env),
    managementSkip !== null || base.origin === apiBase.origin ? null : checkReachable('management-reachable', apiBase, connectTimeout, deps.env),
  ]);
  const managementCheck = managementSkip !== null
    ? check('management-reachable', 'skip', managementSkip)
    : managementReach ?? { ...inferenceReach, id: 'management-reachable' };
  checks.push(inferenceReach, managementCheck);
  const managementUp = managementCheck.status !== 'fail';

  // Free lookups, with the key in Authorization whatever --auth says: they test the key, auth-scheme tests the scheme.
  const keySkip = managementSkip !== null ? managementSkip
    : key === null && !headerAuth ? 'No usable key.' : auth === 'none' ? '--auth none: no key is sent.' : !managementUp ? 'The management host is unreachable.' : null;
  const mctx: ManagementContext = {
    apiBase, auth: auth === 'raw' ? 'raw' : 'bearer', key, extraHeaders: setup.extraHeaders, timeoutMs: setup.timeoutMs,
    redactor: deps.redactor, signal, http: deps.http,
  };
  let quotaAnswer: ManagementAnswer | null = null;
  if (keySkip === null) {
    [keyAnswer, quotaAnswer] = await Promise.all([getManagement(mctx, USER_PATH, 1), getManagement(mctx, QUOTA_USAGE_PATH, 2)]);
    records.push(keyAnswer.record, quotaAnswer.record);
    deps.onRecord(keyAnswer.record);
    deps.onRecord(quotaAnswer.record);
    quota = summariseQuota(parseQuotaUsage(quotaAnswer.json), null, nowMs);
  }
  checks.push(checkKeyValid(keyAnswer, keySkip, apiBase.host));
  checks.push(checkQuota(quota, quotaAnswer, keySkip, nowMs));
  // The model list, when the model was not picked from it (a host not known as Chutes): free, no key, not inference.
  let model = setup.model;
  let listProblem: string | null = null;
  if (model !== null && model.served === null && model.problem === null && inferenceReach.status !== 'fail' && !signal.aborted) {
    const answer = await fetchModelList(deps.http, base, { timeoutMs: setup.timeoutMs, signal });
    if (answer.ok) model = { ...model, served: cheapestFirst(answer.models) };
    else listProblem = answer.problem;
  }
  checks.push(checkModelServed(model, listProblem));

  const inferenceSkip = setup.skipInference ? 'Skipped (--skip-inference): nothing spent.'
    : inferenceReach.status === 'fail' ? 'The inference host is unreachable.'
      : signal.aborted ? 'Interrupted.' : null;
  if (inferenceSkip === null) {
    const raw = await deps.http.send(target, { signal });
    if (raw.error?.code !== 'aborted') {
      const servedModels = model?.served?.map((m) => m.id);
      inference = buildRecord(raw, { seq: records.length + 1, target, redactor: deps.redactor, ...(servedModels ? { servedModels } : {}) }).record;
      records.push(inference);
      deps.onRecord(inference);
    }
  }
  checks.push(checkInference(inference, inferenceSkip ?? (signal.aborted ? 'Interrupted.' : null)));
  return { setup, checks, records, inference, keyAnswer, quota, managementSkip, nowMs };
}

export interface DoctorResult {
  checks: Check[];
  verdict: Verdict;
  exitCode: number;
  /** The inference request (its URL and key fingerprint head the human output). */
  target: Target;
  /** The management host asked; null when no request went to one (see the management-reachable check). */
  managementBaseUrl: string | null;
  inference: ResponseRecord | null;
  records: ResponseRecord[];
  /** The response a failing exit blames: the rejected key's answer for exit 4, else the inference response. */
  failed: ResponseRecord | null;
}

/** The facts → the final checks, the verdict and the exit code (`aborted`: the run was interrupted). */
export function concludeDoctor(facts: DoctorFacts, aborted: boolean): DoctorResult {
  const { setup, inference, keyAnswer } = facts;
  const { auth, base, apiBase } = setup;
  const key = setup.key.key;
  const checks = [...facts.checks];
  // The inference answer confirms a host mistake that the URL alone only suggested.
  if (inference?.verdict?.code === 'wrong-host') {
    const index = checks.findIndex((c) => c.id === 'base-url');
    const current = checks[index];
    if (current !== undefined && current.status !== 'fail') checks[index] = wrongHostConfirmed(base);
  }
  // key-valid passed, or the inference request got through with the key: the server accepted it.
  const keyAcceptedBy = checks.find((c) => c.id === 'key-valid')?.status === 'pass' ? apiBase.host
    : inference?.outcome === 'ok' && key !== null && auth !== 'none' ? base.host : null;
  const formatIndex = checks.findIndex((c) => c.id === 'key-format');
  const format = checks[formatIndex];
  const formatAccepted = keyAcceptedBy !== null && format?.status === 'fail';
  if (formatAccepted) checks[formatIndex] = acceptedKeyFormat(format, keyAcceptedBy);
  const findings: DoctorFindings = {
    checks, auth, inference, keyValidOutcome: keyAnswer?.record.outcome ?? null, quota: facts.quota, nowMs: facts.nowMs,
    keyAcceptedBy: formatAccepted ? keyAcceptedBy : null,
  };
  const verdict = chooseVerdict(findings);
  const exitCode = doctorExitCode(findings, aborted);
  const failed = exitCode === ExitCode.auth && keyAnswer?.record.outcome === 'auth_error' ? keyAnswer.record : inference;
  return {
    checks,
    verdict,
    exitCode,
    target: setup.target,
    managementBaseUrl: facts.managementSkip === null ? apiBase.href : null,
    inference,
    records: facts.records,
    failed,
  };
}
