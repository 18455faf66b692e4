// A live one-line status on stderr (ora): only on an interactive terminal that reports its width, and
// redrawn at most every 100 ms however often it is told something changed. The caller gives the line
// (a pure formatter, e.g. render/probe.ts's progressText) and the clock.
import type { Io } from './io.js';

export interface Spinner {
  /** Something changed: redraw the line (throttled). */
  update(): void;
  stop(): void;
}

const REDRAW_MS = 100;

/** Starts the spinner with `text()`, or a silent stand-in when stderr is no interactive terminal. */
export async function startSpinner(io: Io, text: () => string, now: () => number): Promise<Spinner> {
  // A terminal that reports no width (some CI pseudo-terminals) makes ora erase "infinitely many" lines.
  if (!io.interactive || !((io.stderr.columns ?? 0) > 0)) return { update() {}, stop() {} };
  const { default: ora } = await import('ora');
  const spinner = ora({ text: text(), stream: io.stderr as NodeJS.WritableStream, discardStdin: false }).start();
  let last = 0;
  return {
    update() {
      const at = now();
      if (at - last < REDRAW_MS) return;
      last = at;
      spinner.text = text();
    },
    stop() {
      spinner.stop();
    },
  };
}
