// Build step: renders `chutes-diag --help` once, as a pipe would see it (not a TTY, so commander wraps at
// 80 columns and adds no colour), into dist/help.txt. bin/chutes-diag.js prints that file for a bare
// `--help` on a pipe without loading commander (which alone costs more than node's own start-up).
// A test checks that the file still matches what the CLI renders.
import { writeFileSync } from 'node:fs';
import { main } from '../dist/cli.js';

let text = '';
const sink = { write: (chunk) => { text += chunk; return true; }, isTTY: false };
const code = await main(['node', 'chutes-diag', '--help'], { stdout: sink, stderr: process.stderr, env: {} });
if (code !== 0 || !text.startsWith('Usage: chutes-diag')) {
  console.error(`help-snapshot: --help exited ${code} and printed ${JSON.stringify(text.slice(0, 80))}`);
  process.exit(1);
}
writeFileSync(new URL('../dist/help.txt', import.meta.url), text);
