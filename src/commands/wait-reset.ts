// `chutes-diag wait-reset`: retest until the limit window resets, guided by Retry-After and reset
// headers, with as few requests as possible. Wiring only: the loop is src/wait/ (wait-for-reset.ts,
// driven by retest.ts), the output src/render/wait.ts.
import type { Countdown } from '../render/countdown.js';
import { emitGithubReport } from '../render/github.js';
import { jsonDocument } from '../render/json.js';
import {
  renderNextTest, renderWaitInterrupted, renderWaitResponse, renderWaitSummary, waitResetCiReport, waitResetJson,
} from '../render/wait.js';
import { retestUntilReset, waitResetExitCode, type RetestResult, type RetestSettings } from '../wait/retest.js';
import { CHUTES_EDGE_WINDOW_MS, DEFAULT_INTERVAL_MS, DEFAULT_MAX_INTERVAL_MS, DEFAULT_MAX_WAIT_MS } from '../wait/wait-for-reset.js';
import { failureLine, reportModelChoice, resolveModel, resolveNetwork, type CommandContext, type CommonOptions } from './common.js';

export interface WaitResetOptions extends CommonOptions {
  interval?: number;
  maxInterval?: number;
  maxWait?: number;
  banWindow?: number;
}

export async function runWaitReset(opts: WaitResetOptions, ctx: CommandContext): Promise<number> {
  const { io, signal } = ctx;
  const model = await resolveModel(opts, ctx);
  const { target, out } = resolveNetwork(opts, io, model);
  if (opts.body === undefined) reportModelChoice(model, io);
  const settings: RetestSettings = {
    intervalMs: opts.interval ?? DEFAULT_INTERVAL_MS,
    maxIntervalMs: opts.maxInterval ?? DEFAULT_MAX_INTERVAL_MS,
    maxWaitMs: opts.maxWait ?? DEFAULT_MAX_WAIT_MS,
    banWindowMs: opts.banWindow ?? CHUTES_EDGE_WINDOW_MS,
  };
  const countdown: Countdown | null = io.interactive ? (await import('../render/countdown.js')).startCountdown(io.stderr) : null;
  let explained = false;
  let result: RetestResult;
  try {
    result = await retestUntilReset({
      ...settings,
      target, redactor: io.redactor, signal, http: ctx.http, now: ctx.now,
      onResponse: (obs) => {
        countdown?.stop();
        out?.write(obs.data);
        if (io.json) return;
        // The first limited response says which limit it is (later ones repeat it); an error ends the wait, so say why.
        const explain = (obs.state === 'limited' && !explained) || obs.state === 'error';
        if (explain) explained = true;
        io.print(renderWaitResponse(obs.data, explain, io.color));
      },
      onWait: (next, progress) => {
        if (!io.json) io.print(renderNextTest(next, io.color));
        countdown?.show({ nextAtMs: next.atMs, source: next.source, origin: next.origin, attempts: progress.attempts, startedAt: progress.startedAt });
      },
    });
  } finally {
    countdown?.stop();
    out?.close();
  }
  const exitCode = waitResetExitCode(result);
  const failure = failureLine(result.final?.data, exitCode);
  emitGithubReport(io, waitResetCiReport(result, settings.maxWaitMs, ctx.now(), failure));
  if (io.json) io.print(jsonDocument('wait-reset', target, exitCode, waitResetJson(result, settings)).trimEnd());
  else io.print(`\n${renderWaitSummary(result, settings.maxWaitMs, ctx.now())}`);
  if (result.stop === 'aborted') {
    io.printErr(renderWaitInterrupted(result, typeof signal.reason === 'string' ? signal.reason : 'a signal', opts.out));
  }
  if (failure) io.printErr(`${failure}\n`);
  return exitCode;
}
