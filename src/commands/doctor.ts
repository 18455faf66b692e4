// `chutes-diag doctor`: an ordered checklist from the key to one inference request, then the single
// most likely cause of the user's 429s and its fix. Wiring only: the checks, the verdict table and
// the gathering are src/doctor/, the output src/render/doctor.ts.
import { ExitCode } from '../errors.js';
import { concludeDoctor, gatherDoctorFacts, readDoctorKey, type DoctorFacts } from '../doctor/diagnose.js';
import { explicitOption } from '../doctor/checks.js';
import { doctorCiReport, doctorJson, renderDoctor } from '../render/doctor.js';
import { emitGithubReport } from '../render/github.js';
import { jsonDocument } from '../render/json.js';
import { openJsonlWriter } from '../render/jsonl.js';
import {
  buildTarget, DEFAULT_API_BASE_URL, DEFAULT_BASE_URL, DEFAULT_PATH, DEFAULT_TIMEOUT_MS, defaultBody, readBody,
} from '../target.js';
import { failureLine, reportModelChoice, resolveModel, type CommandContext, type CommonOptions } from './common.js';

export interface DoctorOptions extends CommonOptions {
  skipInference?: boolean;
}

export async function runDoctor(opts: DoctorOptions, ctx: CommandContext): Promise<number> {
  const { io, signal } = ctx;
  const auth = opts.auth ?? 'bearer';
  const base = opts.baseUrl ?? new URL(DEFAULT_BASE_URL);
  const apiBase = opts.apiBaseUrl ?? new URL(DEFAULT_API_BASE_URL);
  const timeoutMs = opts.timeout ?? DEFAULT_TIMEOUT_MS;

  // The key: never thrown on (a bad key is a finding, not a usage error), and masked in every output.
  const key = readDoctorKey(opts, io.env);
  io.redactor.addSecret(key.input.raw);
  for (const warning of key.warnings) io.warn(warning);
  io.redactor.addSecret(key.key);

  // The model: the user's, or on Chutes the cheapest served one (the list is free and needs no key).
  const model = await resolveModel(opts, ctx);
  const body = opts.body !== undefined ? readBody(opts.body) : defaultBody(model.model);
  const target = buildTarget({
    base, path: opts.path ?? DEFAULT_PATH, auth, key: key.key, body, extraHeaders: opts.header ?? [], timeoutMs, redactor: io.redactor,
  });
  if (opts.body === undefined) {
    target.model = { id: model.model, source: model.source };
    reportModelChoice(model, io);
  }
  const out = opts.out ? openJsonlWriter(opts.out, io.redactor, (message) => io.warn(message)) : null;
  const setup = {
    auth, base, apiBase, timeoutMs, key, target, extraHeaders: opts.header,
    explicit: { baseUrl: explicitOption(opts, 'baseUrl'), apiBaseUrl: explicitOption(opts, 'apiBaseUrl') },
    skipInference: opts.skipInference ?? false,
    model: opts.body === undefined ? model : null,
  };
  let facts: DoctorFacts;
  try {
    facts = await gatherDoctorFacts(setup, {
      env: io.env, redactor: io.redactor, signal, http: ctx.http, now: ctx.now, onRecord: (record) => out?.write(record),
    });
  } finally {
    out?.close();
  }

  const result = concludeDoctor(facts, signal.aborted);
  const { exitCode, verdict } = result;
  // Last on stderr for exit 4/6: the rejected response, or the verdict when no response came (a dead host).
  const failure = exitCode === ExitCode.auth || exitCode === ExitCode.network
    ? failureLine(result.failed ?? undefined, exitCode) ?? `error: ${verdict.message}`
    : null;
  emitGithubReport(io, doctorCiReport(result.checks, verdict));
  if (io.json) io.print(jsonDocument('doctor', target, exitCode, doctorJson(result)).trimEnd());
  else io.print(renderDoctor(result, io.color));
  if (signal.aborted) io.printErr(`interrupted by ${typeof signal.reason === 'string' ? signal.reason : 'a signal'}; the checks done so far are reported\n`);
  if (failure) io.printErr(`${failure}\n`);
  return exitCode;
}
