// One error hierarchy with stable codes, and the exit codes they end a run with, in one place:
// ERROR_EXIT_CODES maps every error code to its exit code; cli.ts reports a DiagError and exits with it.

export const ExitCode = {
  ok: 0,
  assertion: 1,
  usage: 2,
  rateLimited: 3,
  auth: 4,
  http: 5,
  network: 6,
  interrupted: 130,
  /** A bug in chutes-diag itself (EX_SOFTWARE); please report it. */
  internal: 70,
} as const;
export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

/** Every DiagError code, with the exit code it ends the run with. Add a row to add a code. */
const ERROR_EXIT_CODES = {
  /** Bad flag, bad value, bad file. */
  usage: ExitCode.usage,
} as const satisfies Record<string, ExitCodeValue>;

/** A stable error code: scripts may read it, so add codes, never rename one. */
export type DiagErrorCode = keyof typeof ERROR_EXIT_CODES;

/** An expected failure: its message is printed as `error: <message>` and the run exits with its code's exit code. */
export class DiagError extends Error {
  readonly code: DiagErrorCode;
  readonly exitCode: ExitCodeValue;
  constructor(code: DiagErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'DiagError';
    this.code = code;
    this.exitCode = ERROR_EXIT_CODES[code];
  }
}

/** Bad flag, bad value, bad file: the message names the flag and the accepted form. */
export class UsageError extends DiagError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('usage', message, options);
    this.name = 'UsageError';
  }
}
