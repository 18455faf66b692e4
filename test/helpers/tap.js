// Runs `chutes-diag tap` as a user would (the built bin), waits for its "listening on" line, and gives the
// URL, the child and its end (exit code, stdout, stderr). Stop it with stop('SIGINT' | 'SIGTERM').
import { spawn } from 'node:child_process';
import { after } from 'node:test';
import { BIN } from './cli.js';

/**
 * @param {string[]} args after `tap`
 * @param {{ env?: Record<string, string>, timeoutMs?: number }} [options]
 * @returns {Promise<{ url: string, child: import('node:child_process').ChildProcess, stderrSoFar: () => string, stop: (signal?: NodeJS.Signals) => Promise<{ code: number | null, signal: NodeJS.Signals | null, stdout: string, stderr: string }> }>}
 */
export function startTapCli(args, { env = {}, timeoutMs = 60_000 } = {}) {
  const child = spawn(process.execPath, [BIN, 'tap', '--listen', '127.0.0.1:0', ...args], {
    env: { PATH: process.env.PATH, HOME: process.env.HOME, NO_COLOR: '1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d) => { stdout += d; });
  child.stderr.setEncoding('utf8').on('data', (d) => { stderr += d; });
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const ended = new Promise((resolve) => child.on('close', (code, signal) => {
    clearTimeout(timer);
    resolve({ code, signal, stdout, stderr });
  }));
  after(() => { if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL'); });
  return new Promise((resolve, reject) => {
    const onData = () => {
      const match = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(stderr);
      if (!match) return;
      child.stderr.off('data', onData);
      resolve({
        url: /** @type {string} */ (match[1]),
        child,
        stderrSoFar: () => stderr,
        stop: (signal = 'SIGINT') => {
          child.kill(signal);
          return ended;
        },
      });
    };
    child.stderr.on('data', onData);
    ended.then((end) => reject(new Error(`tap exited before listening: ${JSON.stringify(end)}`)));
  });
}
