// `chutes-diag probe`: a paced, open-loop burst that estimates the per-window rate limit and the
// concurrency limit. Wiring only: the plan goes out first (with a confirmation for large plans), the run
// (probe/run.ts) does the probing, render/probe.ts writes what it found.
import { createInterface } from 'node:readline/promises';
import { ExitCode, UsageError } from '../errors.js';
import { plannedRefusals, probePlan, runProbeSession, type ProbeSettings } from '../probe/run.js';
import { emitGithubReport } from '../render/github.js';
import type { Stream } from '../render/io.js';
import { jsonDocument } from '../render/json.js';
import { isChutesHost } from '../target.js';
import { openJsonlWriter } from '../render/jsonl.js';
import { probeCiReport, probeJsonFields, progressText, renderPlan, renderProbeReport, shownWarnings } from '../render/probe.js';
import { startSpinner } from '../render/spinner.js';
import { renderRecommendation } from '../render/recommend.js';
import { DEFAULT_CLIENT, type ClientName } from '../recommend/types.js';
import { reportModelChoice, resolveModel, resolveNetwork, type CommandContext, type CommonOptions } from './common.js';

export interface ProbeOptions extends CommonOptions, ProbeSettings {
  dryRun?: boolean;
  yes?: boolean;
  /** --for: the client whose snippet the human report ends with. */
  for?: ClientName;
}

/** Plans above this many requests need --yes or a confirmation on a TTY. */
export const CONFIRM_ABOVE_REQUESTS = 100;

/** y/N on the terminal; anything but y/yes is no. */
async function confirmOnTty(question: string, input: CommandContext['stdin'], output: Stream): Promise<boolean> {
  const rl = createInterface({ input, output: output as NodeJS.WritableStream });
  try {
    const answer = await rl.question(question);
    return /^y(es)?$/i.test(answer.trim());
  } finally {
    rl.close();
  }
}

export async function runProbe(opts: ProbeOptions, ctx: CommandContext): Promise<number> {
  const { io } = ctx;
  // --out is opened only once the plan is accepted: a dry run or a refusal leaves no file behind.
  // The model list (GET /v1/models, free, no key) is read only for a real run: a dry run sends nothing.
  const model = opts.dryRun ? undefined : await resolveModel(opts, ctx);
  const { target } = resolveNetwork({ ...opts, out: undefined }, io, model);
  const plan = probePlan(opts);
  if (!io.json) io.print(renderPlan(plan, target, io.color, plannedRefusals(opts, isChutesHost(target.url.hostname))));
  if (model && opts.body === undefined) reportModelChoice(model, io);

  if (opts.dryRun) {
    if (io.json) io.print(jsonDocument('probe', target, ExitCode.ok, { dryRun: true, plan }).trimEnd());
    else io.print('Dry run: nothing was sent.');
    return ExitCode.ok;
  }
  if (plan.maxRequests > CONFIRM_ABOVE_REQUESTS && !opts.yes) {
    const tty = Boolean(ctx.stdin.isTTY) && Boolean(io.stderr.isTTY);
    if (!tty) throw new UsageError(`this plan sends up to ${plan.maxRequests} requests (more than ${CONFIRM_ABOVE_REQUESTS}); pass --yes (-y) to confirm, or lower --max-requests.`);
    if (!(await confirmOnTty(`Send up to ${plan.maxRequests} requests? [y/N] `, ctx.stdin, io.stderr))) {
      io.printErr('Nothing was sent.\n');
      return ExitCode.usage;
    }
  }
  const out = opts.out ? openJsonlWriter(opts.out, io.redactor, (message) => io.warn(message)) : null;
  try {
    const report = await runProbeSession({
      settings: opts,
      plan,
      target,
      http: ctx.http,
      redactor: io.redactor,
      signal: ctx.signal,
      out,
      progress: (state) => startSpinner(io, () => progressText(state()), ctx.now),
      // Chutes mode found from the answers, and the quota share: said as soon as known, before more is sent.
      notice: (text) => io.warn(text),
    });
    const { result, summary, records, exitCode, interrupted } = report;
    emitGithubReport(io, probeCiReport({ result, summary, records, warnings: shownWarnings(report, io.verbose), exitCode, interrupted }));
    if (io.json) {
      io.print(jsonDocument('probe', target, exitCode, probeJsonFields(plan, report)).trimEnd());
    } else {
      for (const { stream, text } of renderProbeReport(report, { color: io.color, verbose: io.verbose })) {
        if (stream === 'stdout') io.print(text);
        else io.printErr(text);
      }
      // The report ends with what to configure: only when there was an estimate to derive it from.
      if (exitCode === ExitCode.ok || interrupted) io.print(`\n${renderRecommendation(report.recommendation, opts.for ?? DEFAULT_CLIENT, io.color)}`);
    }
    return exitCode;
  } finally {
    out?.close();
  }
}
