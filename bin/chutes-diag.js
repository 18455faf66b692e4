#!/usr/bin/env node
// `chutes-diag --version`, and `--help` on a pipe, answer without loading the CLI (commander alone costs
// more than node's start). The help text is rendered by the CLI itself at build time (dist/help.txt).
import { existsSync, readFileSync } from 'node:fs';

// `chutes-diag headers | head -1`: the reader went away. No EPIPE stack trace, and no early exit
// either: the stream is dropped (later writes are discarded) and the command runs to its end, so
// the exit code is still its own (1 for a failed assertion, 3 for a 429, ...), not a quiet 0.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error) => {
    if (error.code !== 'EPIPE') throw error;
  });
}

const args = process.argv.slice(2);
const only = args.length === 1 ? args[0] : null;
let answered = false;
if (only === '--version' || only === '-V') {
  process.stdout.write(`${JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')).version}\n`);
  answered = true;
} else if ((only === '--help' || only === '-h') && !process.stdout.isTTY) {
  try {
    process.stdout.write(readFileSync(new URL('../dist/help.txt', import.meta.url), 'utf8'));
    answered = true;
  } catch {
    // No snapshot (a build without it): the CLI renders the help itself.
  }
}
if (!answered) {
  const cli = new URL('../dist/cli.js', import.meta.url);
  if (!existsSync(cli)) {
    // A clone that was installed but not built (the package builds on `npm pack`, not on install).
    process.stderr.write('error: chutes-diag is not built yet (no dist/cli.js): run `npm run build` in its folder first\n');
    process.exit(70);
  }
  const { main } = await import(cli.href);
  process.exitCode = await main(process.argv);
}
