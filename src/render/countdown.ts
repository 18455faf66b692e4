// The wait-reset countdown: a pure one-line formatter and a writer that redraws it on a TTY stderr.
import type { ResetHintSource } from '../wait/wait-for-reset.js';
import type { Stream } from './io.js';
import { formatLocalTime, formatSeconds } from './table.js';

export interface CountdownState {
  nowMs: number;
  nextAtMs: number;
  source: ResetHintSource;
  origin: string | null;
  attempts: number;
  startedAt: number;
}

/** Why a ban-safe wait is so long, in the countdown and the line before each wait. */
export const BAN_BACKOFF_REASON = 'ban-safe backoff (a header-less edge ban: every refused retest can lengthen it, so the first retest waits out the edge\'s minute and each later one waits ×8 longer)';

/** Where the next test time came from, in words a user can check against the response headers. */
export function describeHintSource(source: ResetHintSource, origin: string | null): string {
  switch (source) {
    case 'retry-after':
      return origin === null || origin === 'retry-after' ? 'Retry-After' : origin;
    case 'reset-header':
      return `${origin ?? 'reset header'} (exhausted policy)`;
    case 'quota-reset-timestamp':
      return "402's quota_reset_timestamp";
    case 'policy-reset':
      return `${origin ?? 'reset header'} (a guess: no policy at 0)`;
    case 'backoff':
      return 'backoff (the server gave no hint)';
    case 'ban-backoff':
      return BAN_BACKOFF_REASON;
  }
}

export function formatCountdown(state: CountdownState): string {
  const left = Math.max(0, (state.nextAtMs - state.nowMs) / 1000);
  const plural = state.attempts === 1 ? '' : 's';
  return `next test in ${formatSeconds(left)} at ${formatLocalTime(state.nextAtMs)} · from ${describeHintSource(state.source, state.origin)}` +
    ` · ${state.attempts} request${plural} · waited ${formatSeconds(Math.max(0, state.nowMs - state.startedAt) / 1000)}`;
}

/**
 * Fits a line into a terminal `columns` wide: whole " · " parts are dropped from the end first, then what
 * is left is cut with "…". One column stays free: a line that reaches the last column wraps on some
 * terminals, and every `\r` redraw would then leave a line behind. No width (not a terminal): unchanged.
 */
export function fitToWidth(line: string, columns: number | undefined): string {
  if (columns === undefined || !(columns > 1)) return line;
  const max = Math.floor(columns) - 1;
  const length = (text: string) => [...text].length;
  if (length(line) <= max) return line;
  const parts = line.split(' · ');
  while (parts.length > 1 && length(parts.join(' · ')) > max) parts.pop();
  const kept = parts.join(' · ');
  return length(kept) <= max ? kept : `${[...kept].slice(0, max - 1).join('')}…`;
}

export interface Countdown {
  show(state: Omit<CountdownState, 'nowMs'>): void;
  /** Clears the line so the next output starts clean. */
  stop(): void;
}

const REDRAW_MS = 200;

/**
 * Redraws one `\r` line, cut to the stream's width (read at each redraw: the terminal may be resized); the
 * caller creates it only when stderr is an interactive TTY.
 */
export function startCountdown(stream: Stream, now: () => number = Date.now): Countdown {
  let current: Omit<CountdownState, 'nowMs'> | null = null;
  let timer: NodeJS.Timeout | null = null;
  const draw = () => {
    if (current !== null) stream.write(`\r${fitToWidth(formatCountdown({ ...current, nowMs: now() }), stream.columns)}\x1b[K`);
  };
  return {
    show(state) {
      current = state;
      draw();
      timer ??= setInterval(draw, REDRAW_MS);
      timer.unref();
    },
    stop() {
      if (timer !== null) clearInterval(timer);
      timer = null;
      if (current !== null) stream.write('\r\x1b[K');
      current = null;
    },
  };
}
