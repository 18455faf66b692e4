// `chutes-diag headers`: send one request (or --count N, one after another), show every
// rate-limit header raw and parsed, and what the response means. Wiring only: the sequence and
// the assertions are src/headers/, the output src/render/headers.ts.
import { UsageError } from '../errors.js';
import { checkAssertions, headersExitCode, type AssertionOptions } from '../headers/assertions.js';
import { sendSequence, type HeadersResponse } from '../headers/send.js';
import { emitGithubReport } from '../render/github.js';
import { headersCiReport, headersJson, renderAssertions, renderHeaderDetails } from '../render/headers.js';
import { jsonDocument } from '../render/json.js';
import { renderStatusLine } from '../render/record.js';
import { servedModelIds } from '../models/served.js';
import { DEFAULT_BASE_URL } from '../target.js';
import { failureLine, resolveModel, resolveNetwork, reportModelChoice, type CommandContext, type CommonOptions } from './common.js';

export interface HeadersOptions extends CommonOptions, AssertionOptions {
  count?: number;
  all?: boolean;
}

export async function runHeaders(opts: HeadersOptions, ctx: CommandContext): Promise<number> {
  const { io, signal } = ctx;
  if (opts.policy !== undefined && opts.minRemaining === undefined) {
    throw new UsageError('--policy <name> only chooses the policy --min-remaining checks; add --min-remaining <n>.');
  }
  const model = await resolveModel(opts, ctx);
  const { target, out } = resolveNetwork(opts, io, model);
  if (opts.body === undefined) reportModelChoice(model, io);
  const servedModels = servedModelIds(model, ctx.http, opts.baseUrl ?? new URL(DEFAULT_BASE_URL), signal);
  const count = opts.count ?? 1;
  const style = { color: io.color, verbose: io.verbose };
  let responses: HeadersResponse[];
  // Whether the last response got its full table and verdict as it came.
  let lastDetailed = false;
  try {
    responses = await sendSequence({
      target, count, allHeaders: opts.all ?? false, redactor: io.redactor, signal, http: ctx.http, servedModels,
      onResponse: (response) => {
        out?.write(response.built.record);
        const shown = !io.json && (response.built.record.status !== null || io.verbose);
        lastDetailed = shown && (count === 1 || response.seq === count || io.verbose);
        if (shown) io.print(renderStatusLine(response.built.record, io.color));
        if (lastDetailed) io.print(renderHeaderDetails(response, style));
      },
    });
  } finally {
    out?.close();
  }
  const records = responses.map((r) => r.built.record);
  const interrupted = signal.aborted;
  const assertions = checkAssertions(records, opts);
  const exitCode = headersExitCode(records, assertions, interrupted);
  emitGithubReport(io, headersCiReport(records, assertions));
  if (io.json) {
    const warnings = new Set(responses.flatMap((r) => r.built.warnings));
    io.print(jsonDocument('headers', target, exitCode, headersJson(records, assertions, [...warnings])).trimEnd());
  } else {
    // Interrupted mid-run: the last completed response still gets its full table and verdict.
    const last = responses.at(-1);
    if (interrupted && last && !lastDetailed && last.built.record.status !== null) io.print(renderHeaderDetails(last, style));
    const lines = renderAssertions(assertions, io.color);
    if (lines !== '') io.print(lines);
  }
  if (interrupted) {
    const by = typeof signal.reason === 'string' ? signal.reason : 'a signal';
    const kept = opts.out ? `; every completed response is in ${opts.out}` : '';
    io.printErr(`interrupted by ${by} after ${records.length} of ${count} request${count === 1 ? '' : 's'}${kept}\n`);
  }
  const failure = failureLine(records.at(-1), exitCode);
  if (failure) io.printErr(`${failure}\n`);
  return exitCode;
}
