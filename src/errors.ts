// One error hierarchy with stable codes; cli.ts maps them to exit codes in one place.

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

export class DiagError extends Error {
  readonly code: string;
  readonly exitCode: number;
  constructor(code: string, message: string, exitCode: number, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'DiagError';
    this.code = code;
    this.exitCode = exitCode;
  }
}

/** Bad flag, bad value, bad file: the message names the flag and the accepted form. */
export class UsageError extends DiagError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('usage', message, ExitCode.usage, options);
    this.name = 'UsageError';
  }
}

/** DNS, connect, TLS, reset, timeout: nothing usable came back. */
export class NetworkError extends DiagError {
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(code, message, ExitCode.network, options);
    this.name = 'NetworkError';
  }
}

/** SIGINT / SIGTERM: partial results were kept. */
export class InterruptedError extends DiagError {
  constructor(signal: string) {
    super('interrupted', `interrupted by ${signal}`, ExitCode.interrupted);
    this.name = 'InterruptedError';
  }
}
