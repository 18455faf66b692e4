// `chutes-diag wait-reset`: retest until the limit window resets, guided by Retry-After and reset
// headers, with as few requests as possible. The loop itself is src/wait/wait-for-reset.ts.
import { ExitCode } from '../errors.js';
import { buildRecord } from '../record.js';
import type { Countdown } from '../render/countdown.js';
import { emitGithubReport, type CiReport } from '../render/github.js';
import { jsonDocument } from '../render/json.js';
import { renderStatusLine, renderVerdict } from '../render/record.js';
import { formatLocalTime, formatSeconds } from '../render/table.js';
import type { ResponseRecord } from '../types.js';
import { exitCodeForOutcome } from '../verdict/classify.js';
import {
  DEFAULT_INTERVAL_MS, DEFAULT_MAX_INTERVAL_MS, DEFAULT_MAX_WAIT_MS, observeResponse, waitForReset,
  type NextTest, type ResetHint, type ResetWindow, type WaitForResetResult,
} from '../wait/wait-for-reset.js';
import { failureLine, resolveNetwork, type CommandContext, type CommonOptions } from './common.js';

export interface WaitResetOptions extends CommonOptions {
  interval?: number;
  maxInterval?: number;
  maxWait?: number;
}

type Result = WaitForResetResult<ResponseRecord>;

export function waitResetExitCode(result: Result): number {
  switch (result.stop) {
    case 'reset':
    case 'not-limited':
      return ExitCode.ok;
    case 'max-wait':
    case 'reset-beyond-max-wait':
      return ExitCode.rateLimited;
    case 'aborted':
      return ExitCode.interrupted;
    case 'error':
      return result.final === null ? ExitCode.network : exitCodeForOutcome(result.final.data.outcome);
  }
}

const iso = (ms: number) => new Date(ms).toISOString();
const seconds = (ms: number) => Math.round(ms) / 1000;

function windowJson(window: ResetWindow | null) {
  return window && {
    resetAt: iso(window.resetAt),
    earliestAt: iso(window.earliestAt),
    latestAt: iso(window.latestAt),
    firstLimitedAt: iso(window.firstLimitedAt),
    resetAfterSeconds: seconds(window.resetAfterMs),
    basis: window.basis,
    source: window.source,
    header: window.origin,
    missedHints: window.missedHints,
  };
}

function hintJson(hint: ResetHint | null) {
  return hint && { at: iso(hint.atMs), source: hint.source, header: hint.origin, binding: hint.binding };
}

function nextTestJson(next: NextTest | null) {
  return next && { at: iso(next.atMs), source: next.source, header: next.origin };
}

/** The extra --json fields beside the contract's reset, waitedSeconds, attempts, final and responses. */
export function waitResetJson(result: Result, opts: { intervalMs: number; maxIntervalMs: number; maxWaitMs: number }): Record<string, unknown> {
  return {
    reset: result.reset,
    waitedSeconds: seconds(result.waitedMs),
    attempts: result.attempts,
    stop: result.stop,
    limited: result.observations.some((o) => o.state === 'limited'),
    window: windowJson(result.window),
    pendingReset: hintJson(result.pendingHint),
    nextTest: nextTestJson(result.nextTest),
    settings: { intervalSeconds: seconds(opts.intervalMs), maxIntervalSeconds: seconds(opts.maxIntervalMs), maxWaitSeconds: seconds(opts.maxWaitMs) },
    final: result.final?.data ?? null,
    responses: result.observations.map((o) => o.data),
  };
}

function describeSource(source: string | null, header: string | null): string {
  if (source === 'retry-after') return header === null || header === 'retry-after' ? 'Retry-After' : header;
  if (source === 'quota-reset-timestamp') return "the 402's quota_reset_timestamp";
  if (source === 'backoff' || source === null) return 'backoff: the server gave no hint';
  return header ?? 'a reset header';
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/** The human summary: what happened, how long the window took, how precisely we know. */
export function renderWaitSummary(result: Result, maxWaitMs: number, nowMs: number): string {
  const spent = `${plural(result.attempts, 'request')}, waited ${formatSeconds(result.waitedMs / 1000)}`;
  const final = result.final?.data ?? null;
  switch (result.stop) {
    case 'not-limited':
      return `Not rate limited: HTTP ${final?.status ?? '?'} on the first request, nothing to wait for (${spent}).`;
    case 'reset': {
      const w = result.window;
      if (w === null) return `Reset: a request passed (${spent}).`;
      const bound = w.basis === 'hint'
        ? `bounded by ${describeSource(w.source, w.origin)}`
        : w.missedHints > 0
          ? `bounded only by when it was tested (the server's hint proved wrong ${w.missedHints === 1 ? 'once' : `${w.missedHints} times`}: still limited when tested at the time it named)`
          : 'bounded only by when it was tested (no usable hint)';
      return [
        `Reset: the limit cleared about ${formatSeconds(w.resetAfterMs / 1000)} after the first limited response (${formatLocalTime(w.firstLimitedAt)}).`,
        `It reset between ${formatLocalTime(w.earliestAt)} and ${formatLocalTime(w.latestAt)} (±${formatSeconds((w.latestAt - w.earliestAt) / 2000)}), ${bound}.`,
        `${spent}.`,
      ].join('\n');
    }
    case 'reset-beyond-max-wait': {
      const hint = result.pendingHint;
      if (hint === null) return `Gave up (${spent}).`;
      const utc = new Date(hint.atMs).toISOString().slice(11, 16);
      return [
        `Not polling: the server says the limit resets at ${iso(hint.atMs)} (${utc} UTC, ${formatLocalTime(hint.atMs)} local, in ${formatSeconds(Math.max(0, hint.atMs - nowMs) / 1000)}), from ${describeSource(hint.source, hint.origin)}.`,
        `That is after --max-wait ${formatSeconds(maxWaitMs / 1000)}; pass a longer --max-wait to wait for it (${spent}).`,
      ].join('\n');
    }
    case 'max-wait': {
      const hint = result.pendingHint;
      const last = hint === null ? '' : ` The server's last hint: resets at ${formatLocalTime(hint.atMs)}, from ${describeSource(hint.source, hint.origin)}.`;
      return `Still limited after --max-wait ${formatSeconds(maxWaitMs / 1000)}: gave up (${spent}).${last}`;
    }
    case 'aborted':
      return `Interrupted while ${result.observations.some((o) => o.state === 'limited') ? 'still limited' : 'waiting'} (${spent}).`;
    case 'error':
      return `Stopped: the response is neither OK nor a rate limit, so waiting will not help (${spent}).`;
  }
}

/** Where the reset estimate (or the pending reset) came from, for the CI summary. */
function hintSourceRow(result: Result): string {
  const w = result.window;
  if (w !== null) {
    if (w.basis === 'hint') return describeSource(w.source, w.origin);
    return w.missedHints > 0 ? "tests only (the server's hint proved wrong)" : 'tests only (no usable hint)';
  }
  if (result.stop === 'not-limited') return '— (not limited)';
  return result.pendingHint === null ? 'none (backoff)' : describeSource(result.pendingHint.source, result.pendingHint.origin);
}

/**
 * The GitHub Actions report: the summary's first line as the headline; still limited at --max-wait
 * is a warning (exit 3), a failure that waiting cannot fix (auth, HTTP, network) an error.
 */
export function waitResetCiReport(result: Result, maxWaitMs: number, nowMs: number, failure: string | null): CiReport {
  const summary = renderWaitSummary(result, maxWaitMs, nowMs).split('\n');
  const w = result.window;
  const rows: Array<[string, string]> = [
    ['reset', result.reset ? 'yes' : 'no'],
    ['stop', result.stop],
    ['attempts', String(result.attempts)],
    ['waited', formatSeconds(result.waitedMs / 1000)],
    ['hint source', hintSourceRow(result)],
  ];
  if (w !== null) {
    rows.push(
      ['reset after', `${formatSeconds(w.resetAfterMs / 1000)} (±${formatSeconds((w.latestAt - w.earliestAt) / 2000)})`],
      ['reset between', `${iso(w.earliestAt)} and ${iso(w.latestAt)}`],
    );
  }
  if (result.pendingHint !== null) rows.push(['server says it resets at', iso(result.pendingHint.atMs)]);
  const stillLimited = result.stop === 'max-wait' || result.stop === 'reset-beyond-max-wait';
  return {
    command: 'wait-reset',
    headline: summary[0] ?? result.stop,
    rows,
    warnings: stillLimited ? [summary.join(' ')] : [],
    errors: result.stop === 'error' ? [failure?.replace(/^error: /, '') ?? summary.join(' ')] : [],
  };
}

export async function runWaitReset(opts: WaitResetOptions, ctx: CommandContext): Promise<number> {
  const { io, signal } = ctx;
  const { target, out } = resolveNetwork(opts, io);
  const settings = {
    intervalMs: opts.interval ?? DEFAULT_INTERVAL_MS,
    maxIntervalMs: opts.maxInterval ?? DEFAULT_MAX_INTERVAL_MS,
    maxWaitMs: opts.maxWait ?? DEFAULT_MAX_WAIT_MS,
  };
  const countdown: Countdown | null = io.interactive ? (await import('../render/countdown.js')).startCountdown(io.stderr) : null;
  let explained = false;
  let result: Result;
  try {
    result = await waitForReset<ResponseRecord>({
      ...settings,
      signal,
      sendOne: async (seq) => {
        const raw = await ctx.http.send(target, { signal });
        const built = buildRecord(raw, { seq, target, redactor: io.redactor });
        return observeResponse(raw, built.record, { rateLimit: built.rateLimit, outcome: built.record.outcome });
      },
      onResponse: (obs) => {
        countdown?.stop();
        out?.write(obs.data);
        if (io.json) return;
        io.print(renderStatusLine(obs.data, io.color));
        // The first limited response says which limit it is (later ones repeat it); an error ends the wait, so say why.
        if ((obs.state === 'limited' && !explained) || obs.state === 'error') {
          explained = true;
          const verdict = renderVerdict(obs.data, io.color);
          if (verdict) io.print(verdict.replace(/^/gm, '   '));
        }
      },
      onWait: (next, progress) => {
        if (!io.json) {
          io.print(io.color.dim(`   next test at ${formatLocalTime(next.atMs)} (in ${formatSeconds(next.delayMs / 1000)}), from ${describeSource(next.source, next.origin)}`));
        }
        countdown?.show({ nextAtMs: next.atMs, source: next.source, origin: next.origin, attempts: progress.attempts, startedAt: progress.startedAt });
      },
    });
  } finally {
    countdown?.stop();
    out?.close();
    await ctx.http.close();
  }
  const exitCode = waitResetExitCode(result);
  const failure = failureLine(result.final?.data, exitCode);
  emitGithubReport(io, waitResetCiReport(result, settings.maxWaitMs, Date.now(), failure));
  if (io.json) io.print(jsonDocument('wait-reset', target, exitCode, waitResetJson(result, settings)).trimEnd());
  else io.print(`\n${renderWaitSummary(result, settings.maxWaitMs, Date.now())}`);
  if (result.stop === 'aborted') {
    const by = typeof signal.reason === 'string' ? signal.reason : 'a signal';
    io.printErr(`interrupted by ${by} after ${plural(result.attempts, 'request')}${opts.out ? `; every completed response is in ${opts.out}` : ''}\n`);
  }
  if (failure) io.printErr(`${failure}\n`);
  return exitCode;
}
