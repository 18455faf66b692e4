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
  }
}

export function formatCountdown(state: CountdownState): string {
  const left = Math.max(0, (state.nextAtMs - state.nowMs) / 1000);
  const plural = state.attempts === 1 ? '' : 's';
  return `next test in ${formatSeconds(left)} at ${formatLocalTime(state.nextAtMs)} · from ${describeHintSource(state.source, state.origin)}` +
    ` · ${state.attempts} request${plural} · waited ${formatSeconds(Math.max(0, state.nowMs - state.startedAt) / 1000)}`;
}

export interface Countdown {
  show(state: Omit<CountdownState, 'nowMs'>): void;
  /** Clears the line so the next output starts clean. */
  stop(): void;
}

const REDRAW_MS = 200;

/** Redraws one `\r` line; the caller creates it only when stderr is an interactive TTY. */
export function startCountdown(stream: Stream, now: () => number = Date.now): Countdown {
  let current: Omit<CountdownState, 'nowMs'> | null = null;
  let timer: NodeJS.Timeout | null = null;
  const draw = () => {
    if (current !== null) stream.write(`\r${formatCountdown({ ...current, nowMs: now() })}\x1b[K`);
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
