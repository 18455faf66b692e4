#!/usr/bin/env node
import { main } from '../dist/cli.js';

// `chutes-diag --help | head -1`: the reader went away; end quietly, not with an EPIPE stack trace.
process.stdout.on('error', (error) => {
  if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw error;
});

process.exitCode = await main(process.argv);
