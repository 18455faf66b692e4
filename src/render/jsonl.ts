// --out: one JSON line per response, appended and flushed as each completes, so a crash or
// Ctrl-C leaves a valid JSONL file behind.
import { closeSync, openSync, writeSync } from 'node:fs';
import { UsageError } from '../errors.js';
import type { Redactor } from '../redact.js';

export interface JsonlWriter {
  write(value: unknown): void;
  close(): void;
}

/** Opens the file before anything is sent, so an unwritable path fails first (exit 2). */
export function openJsonlWriter(path: string, redactor: Redactor, onError: (message: string) => void = () => undefined): JsonlWriter {
  let fd: number;
  try {
    fd = openSync(path, 'a');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'unwritable';
    throw new UsageError(`--out: cannot open ${path} for writing (${code}); expected a writable file path.`);
  }
  let open = true;
  return {
    write(value) {
      if (!open) return;
      // One writeSync per line: a line is either wholly in the file or not at all.
      try {
        writeSync(fd, `${redactor.redact(JSON.stringify(value))}\n`);
      } catch (error) {
        // A full disk must not lose the run: warn once, stop writing, let the command finish.
        open = false;
        try { closeSync(fd); } catch { /* already failing */ }
        onError(`--out: cannot write to ${path} (${(error as NodeJS.ErrnoException).code ?? 'error'}); further responses are not written.`);
      }
    },
    close() {
      if (!open) return;
      open = false;
      closeSync(fd);
    },
  };
}
