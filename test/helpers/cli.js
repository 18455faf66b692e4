// Spawns the built CLI (bin/chutes-diag.js) as a user would, and an emulator on loopback.
import { spawn } from 'node:child_process';
import { after } from 'node:test';
import { fileURLToPath } from 'node:url';

export const BIN = fileURLToPath(new URL('../../bin/chutes-diag.js', import.meta.url));

/** An obviously fake key in the Chutes format. */
export const FAKE_KEY = `cpk_${'0'.repeat(32)}.${'f'.repeat(32)}.FAKEtestKEYdoNOTuse0000000000000`;

/**
 * Runs `chutes-diag ...args`. The environment is minimal (no CHUTES_* from the developer's shell),
 * plus `env`. Resolves with {code, signal, stdout, stderr}; kills the child after timeoutMs.
 * @param {string[]} args
 * @param {{ env?: Record<string, string>, timeoutMs?: number, input?: string, onSpawn?: (child: import('node:child_process').ChildProcess) => void }} [options]
 * @returns {Promise<{ code: number | null, signal: NodeJS.Signals | null, stdout: string, stderr: string }>}
 */
export function runCli(args, { env = {}, timeoutMs = 120_000, input, onSpawn } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      env: { PATH: process.env.PATH, HOME: process.env.HOME, NO_COLOR: '1', ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d) => { stdout += d; });
    child.stderr.setEncoding('utf8').on('data', (d) => { stderr += d; });
    // A safety net against hangs, not a speed limit: a killed run says so in its stderr.
    const timer = setTimeout(() => {
      stderr += `\n[test harness: killed after ${timeoutMs} ms without exiting]\n`;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
    if (input !== undefined) child.stdin.end(input); else child.stdin.end();
    onSpawn?.(child);
  });
}

/** Parses the single JSON document a --json run must print. */
export function parseJsonOutput(stdout) {
  return JSON.parse(stdout);
}

/**
 * Call at a test file's top level: returns `start(options)`, which starts an emulator on
 * loopback (ports 0) and closes it after the file's tests.
 */
export function emulatorPool(defaults = {}) {
  const running = [];
  after(() => Promise.all(running.map((e) => e.close())));
  return async function start(options = {}) {
    const { startEmulator } = await import('../../dist/emulator/server.js');
    const emulator = await startEmulator({ port: 0, apiPort: 0, ...defaults, ...options });
    running.push(emulator);
    return emulator;
  };
}

/** A loopback URL with nothing listening: a port bound, then released (port 1 may be taken by a user's mock). */
export async function closedPortUrl() {
  const { createServer } = await import('node:net');
  const server = createServer();
  await /** @type {Promise<void>} */ (new Promise((resolve) => server.listen(0, '127.0.0.1', resolve)));
  const { port } = /** @type {import('node:net').AddressInfo} */ (server.address());
  await new Promise((resolve) => server.close(resolve));
  return `http://127.0.0.1:${port}`;
}

/**
 * Call at a test file's top level: returns `start(options)`, which starts an emulator whose clock is
 * `clock.now` (settable by the test, starting at `startMs`) and closes it after the file's tests.
 * @param {number} startMs
 */
export function clockedEmulatorPool(startMs) {
  /** @type {Array<{ close: () => Promise<void> }>} */
  const running = [];
  after(() => Promise.all(running.map((e) => e.close())));
  /** @param {any} [options] emulator options; tables of cases pass them in many shapes */
  return async function start(options = {}) {
    const { startEmulator } = await import('../../dist/emulator/server.js');
    const clock = { now: startMs };
    const emulator = await startEmulator({ port: 0, apiPort: 0, now: () => clock.now, ...options });
    running.push(emulator);
    return { emulator, clock };
  };
}
