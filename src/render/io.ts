// Where output goes. Data on stdout, progress and warnings on stderr; everything redacted.
import { Chalk, type ChalkInstance } from 'chalk';
import { Redactor } from '../redact.js';

export interface Stream {
  write(chunk: string): boolean;
  isTTY?: boolean;
  columns?: number;
}

/** The streams and environment the CLI runs with (process's own, or a test's or demo's). */
export interface MainIo {
  stdout: Stream;
  stderr: Stream;
  env: NodeJS.ProcessEnv;
}

export interface Io {
  stdout: Stream;
  stderr: Stream;
  env: NodeJS.ProcessEnv;
  redactor: Redactor;
  /** Colours for stdout, decided once from the stream and the environment. */
  color: ChalkInstance;
  /** Progress (spinners, countdowns) only on a TTY stderr, and never with --json. */
  interactive: boolean;
  json: boolean;
  verbose: boolean;
  /** Writes a line (or lines) to stdout, redacted. */
  print(text: string): void;
  /** Writes to stderr, redacted. */
  printErr(text: string): void;
  warn(message: string): void;
}

export interface IoOptions {
  json?: boolean;
  verbose?: boolean;
  /** commander's --no-color sets color: false. */
  color?: boolean;
}

/** NO_COLOR (non-empty) wins, then --no-color, then FORCE_COLOR, then "is stdout a TTY". */
export function colorLevel(stream: Stream, env: NodeJS.ProcessEnv, flag: boolean | undefined): 0 | 1 | 2 | 3 {
  if (env.NO_COLOR) return 0;
  if (flag === false) return 0;
  if (env.FORCE_COLOR !== undefined) {
    if (env.FORCE_COLOR === '0' || env.FORCE_COLOR === 'false') return 0;
    const level = Number(env.FORCE_COLOR);
    return level >= 1 && level <= 3 ? (level as 1 | 2 | 3) : 1;
  }
  if (!stream.isTTY || env.TERM === 'dumb') return 0;
  return env.COLORTERM === 'truecolor' ? 3 : 2;
}

export function createIo(base: { stdout: Stream; stderr: Stream; env: NodeJS.ProcessEnv }, options: IoOptions = {}, redactor = new Redactor()): Io {
  const json = Boolean(options.json);
  const color = new Chalk({ level: json ? 0 : colorLevel(base.stdout, base.env, options.color) });
  const warnColor = new Chalk({ level: colorLevel(base.stderr, base.env, options.color) });
  return {
    ...base,
    redactor,
    color,
    interactive: Boolean(base.stderr.isTTY) && !json && base.env.CI !== 'true',
    json,
    verbose: Boolean(options.verbose),
    print(text) {
      base.stdout.write(redactor.redact(text.endsWith('\n') ? text : `${text}\n`));
    },
    printErr(text) {
      base.stderr.write(redactor.redact(text));
    },
    warn(message) {
      base.stderr.write(redactor.redact(`${warnColor.yellow('warning:')} ${message}\n`));
    },
  };
}
