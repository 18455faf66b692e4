// The packed tarball installs into an empty prefix and runs with only Node.
// Network: the dependencies' tarballs come from npm's cache (the `npm install` that preceded the
// tests put them there), but npm also needs each dependency's registry document, which a plain
// install from the lock file does not cache. So this test asks the npm registry for those
// documents (--prefer-offline: the cache first, the registry for what it lacks). It is the one
// test that touches the network; without the registry it fails, it does not skip.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../..', import.meta.url));
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

test('npm pack → global install into a temporary prefix → the installed binary runs', { timeout: 180_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'chutes-diag-pack-'));
  // --ignore-scripts: dist/ is already built by `pretest`; rebuilding here would race the other tests.
  await run(npm, ['pack', '--ignore-scripts', '--pack-destination', dir], { cwd: root });
  const tarball = readdirSync(dir).find((f) => f.endsWith('.tgz'));
  assert.ok(tarball, 'npm pack produced no tarball');
  const prefix = join(dir, 'prefix');
  await run(npm, ['install', '-g', '--prefer-offline', '--no-audit', '--no-fund', '--prefix', prefix, join(dir, tarball)], { cwd: dir });
  const bin = join(prefix, 'bin', 'chutes-diag');
  const env = { PATH: process.env.PATH, HOME: process.env.HOME, NO_COLOR: '1' };
  const version = await run(bin, ['--version'], { env });
  assert.match(version.stdout, /^\d+\.\d+\.\d+\n$/);
  const help = await run(bin, ['--help'], { env });
  assert.match(help.stdout, /Usage: chutes-diag/);
  assert.match(help.stdout, /probe/);

  // The library entry imports in a plain Node ESM script.
  const script = join(dir, 'use-lib.mjs');
  writeFileSync(script, `import { parseRateLimitHeaders, classifyResponse, estimateRateLimit, schedulePacedSends, waitForReset } from ${JSON.stringify(join(prefix, 'lib', 'node_modules', 'chutes-diag', 'dist', 'index.js'))};
const info = parseRateLimitHeaders({ 'x-ratelimit-limit': '10', 'x-ratelimit-remaining': '0', 'retry-after': '7' });
const fns = [classifyResponse, estimateRateLimit, schedulePacedSends, waitForReset].map((f) => typeof f);
console.log(JSON.stringify({ limit: info.policies[0].limit, retry: info.retryAfterSeconds, fns, schedule: schedulePacedSends({ start: 0, rpm: 600, count: 3 }) }));
`);
  const lib = await run(process.execPath, [script], { env });
  assert.deepEqual(JSON.parse(lib.stdout), { limit: 10, retry: 7, fns: ['function', 'function', 'function', 'function'], schedule: [0, 100, 200] });
});
