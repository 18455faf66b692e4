// What the user sees while the tap runs: on a TTY one status line redrawn each second; otherwise one plain
// line per exchange; with --json nothing but warnings. Warnings that must be heard at once (X-API-Key sent
// to Chutes, an edge ban, a refused request) are said the first time, above the status line.
import type { Io } from '../render/io.js';
import { exchangeLine, liveStatusLine } from '../render/traffic.js';
import type { AuthScheme, ResponseRecord } from '../types.js';
import type { Refusal } from './guard.js';
import type { TapStats } from './stats.js';

export interface LiveView {
  record(record: ResponseRecord, request: { method: string; path: string }): void;
  auth(auth: AuthScheme): void;
  refused(refusal: Refusal): void;
  stop(): void;
}

export function startLiveView(io: Io, stats: () => TapStats, now: () => number, { chutes }: { chutes: boolean }): LiveView {
  const said = new Set<string>();
  const tty = io.interactive;
  let shown = false;
  let stopped = false;
  const clear = () => {
    if (tty && shown) io.stderr.write('\r\x1b[K');
    shown = false;
  };
  const draw = () => {
    if (!tty || stopped) return;
    io.stderr.write(`\r\x1b[K${io.redactor.redact(liveStatusLine(stats().snapshot(now())))}`);
    shown = true;
  };
  const once = (id: string, message: string) => {
    if (said.has(id)) return;
    said.add(id);
    clear();
    io.warn(message);
    draw();
  };
  const timer = tty ? setInterval(draw, 1000) : null;
  timer?.unref();
  return {
    record(record, request) {
      if (record.verdict?.code === 'edge-ban') once('edge-ban', `edge ban: ${record.verdict.message} ${record.verdict.hint}`);
      if (record.verdict?.code === 'x-api-key-ignored') once('x-api-key-ignored', `${record.verdict.message} ${record.verdict.hint}`);
      if (!tty && !io.json) io.printErr(exchangeLine(record, request));
    },
    auth(auth) {
      if (auth === 'x-api-key' && chutes) {
        once('x-api-key', 'the app authenticates with X-API-Key, which Chutes ignores on inference: its requests are anonymous and get the edge\'s 429. Send the key as Authorization: Bearer <key>.');
      }
    },
    refused(refusal) {
      once(`refused-${refusal.code}`, `refused a request (${refusal.code}): ${refusal.message}. Further ones are counted, not repeated.`);
    },
    stop() {
      stopped = true;
      if (timer) clearInterval(timer);
      clear();
    },
  };
}
