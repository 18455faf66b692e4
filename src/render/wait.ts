// `wait-reset`'s output, pure: each response as it comes (status line, the verdict of the first
// limited one), the next planned test, the closing summary, the --json fields and the GitHub
// Actions report.
import type { ChalkInstance } from 'chalk';
import type { ResponseRecord } from '../types.js';
import type { RetestResult, RetestSettings } from '../wait/retest.js';
import { BAN_SAFE_GROWTH, type NextTest, type ResetHint, type ResetWindow } from '../wait/wait-for-reset.js';
import { joinBlocks } from './blocks.js';
import { BAN_BACKOFF_REASON } from './countdown.js';
import type { CiReport } from './github.js';
import { renderStatusLine, renderVerdict } from './record.js';
import { formatLocalTime, formatSeconds } from './table.js';

type Result = RetestResult;

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
export function waitResetJson(result: Result, opts: RetestSettings): Record<string, unknown> {
  return {
    reset: result.reset,
    waitedSeconds: seconds(result.waitedMs),
    attempts: result.attempts,
    stop: result.stop,
    banSafe: result.banSafe,
    limited: result.observations.some((o) => o.state === 'limited'),
    window: windowJson(result.window),
    pendingReset: hintJson(result.pendingHint),
    nextTest: nextTestJson(result.nextTest),
    settings: { intervalSeconds: seconds(opts.intervalMs), maxIntervalSeconds: seconds(opts.maxIntervalMs), maxWaitSeconds: seconds(opts.maxWaitMs), banWindowSeconds: seconds(opts.banWindowMs) },
    final: result.final?.data ?? null,
    responses: result.observations.map((o) => o.data),
  };
}

function describeSource(source: string | null, header: string | null): string {
  if (source === 'retry-after') return header === null || header === 'retry-after' ? 'Retry-After' : header;
  if (source === 'quota-reset-timestamp') return "the 402's quota_reset_timestamp";
  if (source === 'ban-backoff') return BAN_BACKOFF_REASON;
  if (source === 'backoff' || source === null) return 'backoff: the server gave no hint';
  return header ?? 'a reset header';
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/** One response as it comes: its status line, and with `explain` its verdict, indented under it. */
export function renderWaitResponse(record: ResponseRecord, explain: boolean, color: ChalkInstance): string {
  const verdict = explain ? renderVerdict(record, color) : '';
  return joinBlocks([renderStatusLine(record, color), verdict ? verdict.replace(/^/gm, '   ') : null]);
}

/** The line before each wait: when the next test goes out, and on whose word. */
export function renderNextTest(next: NextTest, color: ChalkInstance): string {
  return color.dim(`   next test at ${formatLocalTime(next.atMs)} (in ${formatSeconds(next.delayMs / 1000)}), from ${describeSource(next.source, next.origin)}`);
}

/** How the run ended on stderr when interrupted: the requests made, and where they were kept. */
export function renderWaitInterrupted(result: Result, by: string, out: string | undefined): string {
  return `interrupted by ${by} after ${plural(result.attempts, 'request')}${out ? `; every completed response is in ${out}` : ''}\n`;
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
        result.banSafe ? banSafeLine(result) : null,
        `${spent}.`,
      ].filter((line) => line !== null).join('\n');
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
      if (result.banSafe) return banStillOn(result, maxWaitMs, nowMs, spent);
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

function refusals(result: Result): number {
  return result.observations.filter((o) => o.state === 'limited').length;
}

/** After an edge ban cleared: why the retests were so far apart. */
function banSafeLine(result: Result): string {
  return [
    `A header-less edge ban: every refused retest could lengthen it, so the retests backed off ×${BAN_SAFE_GROWTH} each time (${plural(refusals(result), 'refused request')} in all).`,
    'Each refusal re-armed the ban: this is when the last one ended, not how long the first one was.',
  ].join('\n');
}

/**
 * Still banned at --max-wait, without a last retest that would only have lengthened the ban: the
 * honest bracket (the last refusal re-armed it, and it had outlasted the wait before), the safe time.
 */
function banStillOn(result: Result, maxWaitMs: number, nowMs: number, spent: string): string {
  const limited = result.observations.filter((o) => o.state === 'limited');
  const last = limited.at(-1);
  const before = limited.at(-2);
  const next = result.nextTest;
  const lines = [`Still banned after --max-wait ${formatSeconds(maxWaitMs / 1000)}: gave up rather than retest early, since every refused request lengthens the ban (${spent}).`];
  if (last !== undefined) {
    lines.push(before === undefined
      ? `The ban was re-armed by the refusal at ${formatLocalTime(last.sentAt)}; how long it lasts is unknown (up to a day).`
      : `The refusal at ${formatLocalTime(last.sentAt)} re-armed it after it had outlasted a wait of ${formatSeconds((last.sentAt - before.sentAt) / 1000)}: it lasts more than that from then, up to a day.`);
  }
  if (next !== null) {
    lines.push(`Send nothing from this key and address until the next ban-safe retest at ${formatLocalTime(next.atMs)} (in ${formatSeconds(Math.max(0, next.atMs - nowMs) / 1000)}); a --max-wait of ${formatSeconds(Math.ceil((next.atMs - result.startedAt) / 1000))} or more waits for it.`);
  }
  return lines.join('\n');
}

/** Where the reset estimate (or the pending reset) came from, for the CI summary. */
function hintSourceRow(result: Result): string {
  const w = result.window;
  if (w !== null) {
    if (w.basis === 'hint') return describeSource(w.source, w.origin);
    return w.missedHints > 0 ? "tests only (the server's hint proved wrong)" : 'tests only (no usable hint)';
  }
  if (result.stop === 'not-limited') return '— (not limited)';
  if (result.banSafe && result.pendingHint === null) return 'none (edge ban: ban-safe backoff)';
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
