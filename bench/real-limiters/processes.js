// Processes of the real-limiter bench: limiter servers (bench/real-limiters/server.js, forked), nginx
// (Debian's nginx-light, installed on demand, started with a generated config in a temp dir), and the
// built CLI. Everything started here is tracked and stopped by stopAll(), which the bench calls at the
// end, on an error, and on Ctrl-C / SIGTERM.
import { execFile, fork, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const BIN = path.join(ROOT, 'bin', 'chutes-diag.js');
/** The CLI the rows run: this checkout's, or another build's (`--cli`, to compare commits with one bench). */
let cliBin = BIN;
export function useCli(bin) {
  cliBin = bin;
}
const SERVER = fileURLToPath(new URL('./server.js', import.meta.url));
export const NGINX = '/usr/sbin/nginx';

/** @type {Set<import('node:child_process').ChildProcess>} */
const live = new Set();
/** @type {Set<string>} */
const tempDirs = new Set();

function track(child) {
  live.add(child);
  child.on('exit', () => live.delete(child));
  return child;
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves once the process has exited (at once if it had). */
function terminate(child, graceMs) {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve(undefined);
    const killer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(killer);
      resolve(undefined);
    });
    child.kill('SIGTERM');
  });
}

/** Stops every process this module started (SIGTERM, then SIGKILL) and removes its temp dirs. */
export async function stopAll() {
  await Promise.all([...live].map((child) => terminate(child, 3000)));
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
  tempDirs.clear();
}

/** Last resort on process exit: no waiting possible, so SIGKILL whatever is left. */
export function killAllNow() {
  for (const child of live) child.kill('SIGKILL');
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
}

/**
 * Forks one limiter/backend server (server.js) with the given spec. Resolves {port, pid, log(), stop()}.
 * log() asks the server for its request log; stop() ends it.
 */
export function startServer(spec) {
  return new Promise((resolve, reject) => {
    const child = track(fork(SERVER, [JSON.stringify(spec)], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe', 'ipc'], env: { PATH: process.env.PATH, NODE_ENV: 'production' } }));
    let stderr = '';
    child.stderr?.setEncoding('utf8').on('data', (d) => {
      stderr += d;
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`server ${spec.kind} did not start in 20 s${stderr ? `: ${stderr.trim().split('\n').at(-1)}` : ''}`));
    }, 20_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`server ${spec.kind} exited (${code})${stderr ? `: ${stderr.trim().split('\n').at(-1)}` : ''}`));
    });
    child.on('message', function onReady(message) {
      const m = /** @type {{type: string, port: number, pid: number}} */ (message);
      if (m.type !== 'ready') return;
      clearTimeout(timer);
      child.off('message', onReady);
      resolve({
        port: m.port,
        pid: m.pid,
        /** @returns {Promise<{log: {n: number, t: number, end: number | null, method: string, path: string, status: number | null, inFlight: number}[], maxInFlight: number, now: number}>} */
        log: () =>
          new Promise((res, rej) => {
            const t = setTimeout(() => rej(new Error(`server ${spec.kind} did not hand over its log`)), 10_000);
            child.on('message', function onLog(msg) {
              const l = /** @type {any} */ (msg);
              if (l.type !== 'log') return;
              clearTimeout(t);
              child.off('message', onLog);
              res(l);
            });
            child.send({ type: 'log' });
          }),
        stop: () =>
          new Promise((res) => {
            if (child.exitCode !== null || child.signalCode !== null) return res(undefined);
            child.removeAllListeners('exit');
            const killer = setTimeout(() => child.kill('SIGKILL'), 3000);
            child.once('exit', () => {
              clearTimeout(killer);
              res(undefined);
            });
            child.send({ type: 'stop' });
          }),
      });
    });
  });
}

// ------------------------------------------------------------------------------------------ nginx

function run(cmd, args, timeoutMs) {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: timeoutMs, maxBuffer: 16 * 2 ** 20, env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } }, (error, stdout, stderr) => {
      resolve({ ok: !error, code: error ? /** @type {any} */ (error).code : 0, stdout, stderr });
    });
  });
}

let nginxReady = null;

/**
 * Makes sure /usr/sbin/nginx exists: installs Debian's nginx-light with apt-get when missing (as root).
 * Resolves {ok: true, how} or {ok: false, reason}; never throws, never skips silently.
 */
export function ensureNginx(progress) {
  nginxReady ??= (async () => {
    if (existsSync(NGINX)) return { ok: true, how: 'already installed' };
    if (typeof process.getuid === 'function' && process.getuid() !== 0) return { ok: false, reason: `${NGINX} is missing and the bench is not root (cannot apt-get install nginx-light)` };
    progress('nginx is missing: apt-get install -y nginx-light');
    let install = await run('apt-get', ['install', '-y', '--no-install-recommends', 'nginx-light'], 300_000);
    if (!install.ok) {
      progress('apt-get install failed; apt-get update, then once more');
      await run('apt-get', ['update'], 300_000);
      install = await run('apt-get', ['install', '-y', '--no-install-recommends', 'nginx-light'], 300_000);
    }
    if (!install.ok || !existsSync(NGINX)) {
      const detail = `${install.stderr}`.trim().split('\n').filter(Boolean).at(-1) ?? `exit ${install.code}`;
      return { ok: false, reason: `apt-get install nginx-light failed: ${detail}` };
    }
    // The package's own service may have been started by its postinst: that one is not ours to keep running
    // on port 80, but it is not ours to kill either; the bench uses its own instances on free ports.
    return { ok: true, how: 'installed nginx-light with apt-get' };
  })();
  return nginxReady;
}

/** A free TCP port on 127.0.0.1 (bound and released; nginx needs a number in its config). */
function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const address = s.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      s.close(() => resolve(port));
    });
  });
}

function canConnect(port) {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/**
 * The nginx config people deploy in front of an API: limit_req per client address (429 instead of the
 * default 503, as API gateways do), optionally limit_conn, proxy_pass with keep-alive to the backend.
 * The access log records each request with which limiter passed or refused it ($limit_req_status,
 * $limit_conn_status, nginx ≥ 1.17.6).
 */
export function nginxConfig({ dir, port, backendPort, rate, burst, nodelay, conn }) {
  return `# generated by bench/real-limiters.js
worker_processes 1;
daemon off;
master_process on;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log info;
${typeof process.getuid === 'function' && process.getuid() === 0 ? 'user root;' : ''}
events { worker_connections 1024; }
http {
  log_format bench '$msec $status $request_method $request_uri $request_time $connection $connection_requests lr=$limit_req_status lc=$limit_conn_status up=$upstream_response_time';
  access_log ${dir}/access.log bench;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  keepalive_timeout 65s;
  limit_req_zone $binary_remote_addr zone=perip:1m rate=${rate};
${conn ? '  limit_conn_zone $binary_remote_addr zone=connperip:1m;\n' : ''}  upstream api { server 127.0.0.1:${backendPort}; keepalive 16; }
  server {
    listen 127.0.0.1:${port};
    location / {
      limit_req zone=perip burst=${burst}${nodelay ? ' nodelay' : ''};
      limit_req_status 429;
${conn ? `      limit_conn connperip ${conn};\n      limit_conn_status 429;\n` : ''}      proxy_pass http://api;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_read_timeout 60s;
    }
  }
}
`;
}

/**
 * Starts one nginx (master + 1 worker, `daemon off`, so the spawned process is the master) with a generated
 * config in a fresh temp dir. Resolves {port, dir, config, accessLog(), errorLog(), stop()}.
 */
export async function startNginx(settings) {
  for (let attempt = 1; ; attempt++) {
    const dir = mkdtempSync(path.join(tmpdir(), 'bench-nginx-'));
    chmodSync(dir, 0o755);
    tempDirs.add(dir);
    const port = await freePort();
    const config = nginxConfig({ ...settings, dir, port });
    writeFileSync(path.join(dir, 'nginx.conf'), config);
    const child = track(spawn(NGINX, ['-p', dir, '-c', path.join(dir, 'nginx.conf'), '-e', path.join(dir, 'error.log')], { stdio: ['ignore', 'ignore', 'pipe'] }));
    let stderr = '';
    child.stderr?.setEncoding('utf8').on('data', (d) => {
      stderr += d;
    });
    let exited = false;
    child.once('exit', () => {
      exited = true;
    });
    const started = performance.now();
    let up = false;
    while (!exited && performance.now() - started < 10_000) {
      if (await canConnect(port)) {
        up = true;
        break;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    const errorLog = () => (existsSync(path.join(dir, 'error.log')) ? readFileSync(path.join(dir, 'error.log'), 'utf8') : '');
    if (!up) {
      child.kill('SIGKILL');
      const why = `${stderr}\n${errorLog()}`.trim().split('\n').filter((l) => /emerg|alert|crit|error/.test(l)).at(-1) ?? 'did not listen in 10 s';
      if (/Address already in use/.test(why) && attempt < 3) continue;
      throw new Error(`nginx did not start: ${why}`);
    }
    return {
      port,
      dir,
      config,
      accessLog: () => (existsSync(path.join(dir, 'access.log')) ? readFileSync(path.join(dir, 'access.log'), 'utf8') : ''),
      errorLog,
      // SIGQUIT would wait for the open keep-alive connections; SIGTERM is nginx's fast shutdown.
      stop: () => terminate(child, 5000),
    };
  }
}

/** One access-log line of the `bench` format → {endMs, status, method, uri, requestTimeMs, startMs, connection, lr, lc}. */
export function parseAccessLine(line) {
  const m = /^(\d+\.\d+) (\d{3}) (\S+) (\S+) (\d+\.\d+) (\d+) (\d+) lr=(\S*) lc=(\S*) up=(\S*)$/.exec(line.trim());
  if (!m) return null;
  const endMs = Number(m[1]) * 1000;
  const requestTimeMs = Number(m[5]) * 1000;
  return {
    endMs,
    startMs: endMs - requestTimeMs,
    status: Number(m[2]),
    method: m[3],
    uri: m[4],
    requestTimeMs,
    connection: Number(m[6]),
    connectionRequests: Number(m[7]),
    lr: m[8] === '-' ? null : m[8],
    lc: m[9] === '-' ? null : m[9],
    upstream: m[10] === '-' ? null : m[10],
  };
}

// ------------------------------------------------------------------------------------------ the CLI

/**
 * Runs the built CLI (`node bin/chutes-diag.js …`) with a minimal environment; resolves
 * {code, signal, stdout, stderr, wallMs, timedOut, doc, parseError}.
 */
export function runCli(args, { timeoutMs = 240_000, env = {} } = {}) {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = track(spawn(process.execPath, [cliBin, ...args], { cwd: ROOT, env: { PATH: process.env.PATH, HOME: process.env.HOME, NO_COLOR: '1', ...env }, stdio: ['ignore', 'pipe', 'pipe'] }));
    let stdout = '';
    let stderr = '';
    child.stdout?.setEncoding('utf8').on('data', (d) => {
      stdout += d;
    });
    child.stderr?.setEncoding('utf8').on('data', (d) => {
      stderr += d;
    });
    const killer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(killer);
      const wallMs = performance.now() - started;
      let doc = null;
      let parseError = null;
      try {
        doc = JSON.parse(stdout);
      } catch (error) {
        parseError = error instanceof Error ? error.message : String(error);
      }
      resolve({ code, signal, stdout, stderr, wallMs, timedOut: signal === 'SIGKILL', doc, parseError });
    });
  });
}

/** How many processes this module started are still running (the pacing stage runs only when none is). */
export function liveCount() {
  return [...live].filter((child) => child.exitCode === null && child.signalCode === null).length;
}
