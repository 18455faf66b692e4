// Issue #12 item 15: packaging. The published package runs no install script, ships a LICENSE,
// says where to report a bug, links only to files it has, says it is ESM-only; and every command's
// --help lists its exit codes and (where it takes one) the duration syntax.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { runCli } from '../helpers/cli.js';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../..', import.meta.url));
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const COMMANDS = ['headers', 'probe', 'wait-reset', 'quota', 'doctor', 'mock', 'demo'];
/** The lifecycle scripts npm runs when a package is installed (npm install --ignore-scripts skips these). */
const INSTALL_SCRIPTS = ['preinstall', 'install', 'postinstall', 'prepare'];

/** What `npm pack` would put in the tarball; --dry-run writes nothing and needs no network, --ignore-scripts skips the prepack build. */
async function packedFiles() {
  const { stdout } = await run(npm, ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: root });
  const [result] = JSON.parse(stdout);
  assert.ok(result && Array.isArray(result.files), `npm pack --dry-run --json lists files: ${stdout.slice(0, 300)}`);
  return result.files.map((f) => f.path);
}

test('the packed package.json has no install script, and a fresh clone still builds (prepack, predemo, pretest)', { timeout: 120_000 }, async () => {
  const files = await packedFiles();
  assert.ok(files.includes('package.json'), 'package.json is packed (as is: npm pack does not rewrite scripts)');
  const present = INSTALL_SCRIPTS.filter((name) => pkg.scripts?.[name] !== undefined);
  assert.deepEqual(present, [], 'no install-time lifecycle script: npm would warn about (or block) it on install');
  for (const name of ['prepack', 'predemo', 'pretest']) {
    assert.match(pkg.scripts?.[name] ?? '', /npm run build/, `scripts.${name} builds dist/ (npm pack; npm install && npm run demo; npm test)`);
  }
});

test('LICENSE (MIT) ships in the tarball; repository and bugs point at the project', { timeout: 120_000 }, async () => {
  const files = await packedFiles();
  assert.ok(files.includes('LICENSE'), `LICENSE is in the tarball: ${files.filter((f) => !f.startsWith('dist/')).join(', ')}`);
  const license = readFileSync(join(root, 'LICENSE'), 'utf8');
  assert.equal(pkg.license, 'MIT');
  assert.match(license, /^MIT License/);
  assert.match(license, /Copyright \(c\) 2026 chutes-diag contributors/);
  assert.match(license, /THE SOFTWARE IS PROVIDED "AS IS"/);
  assert.deepEqual(pkg.repository, { type: 'git', url: 'git+https://github.com/chutes-diag/chutes-diag.git' });
  assert.equal(pkg.bugs?.url, 'https://github.com/chutes-diag/chutes-diag/issues');
  assert.equal(pkg.homepage, 'https://github.com/chutes-diag/chutes-diag#readme');
});

test('the README links only to files inside the repository (and packed with it), and says the package is ESM-only', async () => {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const files = await packedFiles();
  const links = [...readme.matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1]).filter((href) => !/^(https?:|mailto:|#)/.test(href));
  assert.ok(links.some((href) => href.includes('cli-contract.md')), 'the README links the CLI contract');
  for (const href of links) {
    const path = resolve(root, href.split('#')[0]);
    const inside = relative(root, path);
    assert.ok(!inside.startsWith('..'), `README links ${href}, outside the repository`);
    assert.ok(existsSync(path), `README links ${href}, which does not exist`);
    assert.ok(files.includes(inside.split('\\').join('/')), `README links ${href}, which is not in the tarball`);
  }
  assert.equal(pkg.type, 'module');
  assert.match(readme, /ESM-only/);
  // The copy in docs/ is the contract itself, not a summary.
  const contract = join(root, 'docs', 'cli-contract.md');
  assert.ok(existsSync(contract), 'docs/cli-contract.md is in the repository');
  assert.match(readFileSync(contract, 'utf8'), /^# chutes-diag — the command-line contract\n[\s\S]*## Exit codes\n[\s\S]*## JSON/);
});

test("every command's --help lists its exit codes, and the duration syntax where it takes a duration", async () => {
  for (const command of COMMANDS) {
    const { code, stdout } = await runCli([command, '--help']);
    assert.equal(code, 0, `${command} --help`);
    assert.match(stdout, /^Exit codes:$/m, `${command} --help has an "Exit codes:" section`);
    const listed = [...stdout.slice(stdout.indexOf('Exit codes:')).matchAll(/^ {2}(\d+) {2,}\S/gm)].map((m) => Number(m[1]));
    assert.ok(listed.includes(0), `${command} --help lists exit 0: ${listed}`);
    if (command !== 'mock') assert.ok(listed.includes(130), `${command} --help lists exit 130: ${listed}`);
    assert.ok(listed.includes(2) && listed.includes(70), `${command} --help lists 2 (usage) and 70 (a bug): ${listed}`);
    if (stdout.includes('<duration>')) {
      assert.match(stdout, /^Durations: 250ms, 10s, 5m/m, `${command} takes a duration, so its --help shows the syntax`);
    }
  }
  const headers = await runCli(['headers', '--help']);
  assert.match(headers.stdout, /^ {2}1 {2,}.*--min-remaining/m, 'headers: exit 1 names its CI assertions');
  const doctor = await runCli(['doctor', '--help']);
  assert.match(doctor.stdout, /^ {2}1 {2,}.*check/m, 'doctor: exit 1 is a failing check');
  const top = await runCli(['--help']);
  assert.match(top.stdout, /please report it.*\n?.*github\.com\/chutes-diag\/chutes-diag\/issues/, 'the top-level help says where to report a bug (exit 70)');
});
