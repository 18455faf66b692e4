#!/usr/bin/env node
// `chutes-diag --version` answers without loading the CLI (commander alone costs more than node's start).
const args = process.argv.slice(2);
if (args.length === 1 && (args[0] === '--version' || args[0] === '-V')) {
  const { readFileSync } = await import('node:fs');
  process.stdout.write(`${JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')).version}\n`);
} else {
  // `chutes-diag --help | head -1`: the reader went away; end quietly, not with an EPIPE stack trace.
  process.stdout.on('error', (error) => {
    if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw error;
  });
  const { main } = await import('../dist/cli.js');
  process.exitCode = await main(process.argv);
}
