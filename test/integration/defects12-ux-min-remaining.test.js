// Issue #12 item 12: `headers --min-remaining` says which policy it checked, checks the current
// window (the shortest-window request-count policy) rather than the daily quota when both are
// advertised, and `--policy <name>` picks one; an unknown name is a usage error listing the names.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { FAKE_KEY, emulatorPool, parseJsonOutput, runCli } from '../helpers/cli.js';
import { closeAll, startHttp } from '../hostile/servers.js';

after(closeAll);
const env = { CHUTES_API_KEY: FAKE_KEY };
const emulator = emulatorPool();

/** Chutes behind a gateway: its daily quota (30 left) and a per-minute IETF policy (55 left). */
async function chutesBehindGateway() {
  return startHttp((_req, res) => {
    res.writeHead(200, {
      'content-type': 'application/json',
      'x-chutes-quota-total': '200',
      'x-chutes-quota-used': '170',
      'x-chutes-quota-remaining': '30',
      'x-chutes-rl-user': '60',
      'ratelimit-policy': '"minute";q=60;w=60',
      ratelimit: '"minute";r=55;t=20',
    });
    res.end('{"choices":[]}');
  });
}

function assertionOf(stdout, name = 'min-remaining') {
  const doc = parseJsonOutput(stdout);
  assert.ok(Array.isArray(doc.assertions), `the document has assertions: ${stdout.slice(0, 500)}`);
  const found = doc.assertions.find((a) => a.name === name);
  assert.ok(found, `an assertion named ${name}: ${JSON.stringify(doc.assertions)}`);
  return found;
}

test('without --policy: the current window is checked, not the daily quota, and the output names it', { timeout: 60_000 }, async () => {
  const server = await chutesBehindGateway();
  const human = await runCli(['headers', '--base-url', server.url, '--min-remaining', '50'], { env });
  assert.equal(human.code, 0, `55 left in the minute window ≥ 50: ${human.stdout}`);
  assert.match(human.stdout, /PASS min-remaining: .*remaining 55 ≥ 50.*"minute"/);
  const json = await runCli(['headers', '--base-url', server.url, '--min-remaining', '50', '--json'], { env });
  assert.equal(json.code, 0, json.stdout);
  const assertion = assertionOf(json.stdout);
  assert.equal(assertion.policy, 'minute');
  assert.equal(assertion.passed, true);
});

test('--policy daily-quota checks the daily quota instead', { timeout: 60_000 }, async () => {
  const server = await chutesBehindGateway();
  const { code, stdout } = await runCli(['headers', '--base-url', server.url, '--min-remaining', '50', '--policy', 'daily-quota', '--json'], { env });
  assert.equal(code, 1, `30 left today < 50: ${stdout.slice(0, 500)}`);
  const assertion = assertionOf(stdout);
  assert.equal(assertion.policy, 'daily-quota');
  assert.match(assertion.message, /remaining 30 < 50/);
});

test('on Chutes alone (no per-minute remaining) the daily quota is checked, and the output says so', { timeout: 60_000 }, async () => {
  const e = await emulator({ headers: 'chutes', dailyQuota: 200 });
  const { code, stdout } = await runCli(['headers', '--base-url', e.url, '--min-remaining', '5'], { env });
  assert.equal(code, 0, stdout);
  assert.match(stdout, /PASS min-remaining: .*"daily-quota"/);
  assert.match(stdout, /24h00m window.*no shorter window states a remaining count/, 'says it is a day-long policy, and why');
});

test('--policy naming a policy without a remaining count fails the check (exit 1) and says why', { timeout: 60_000 }, async () => {
  const e = await emulator({ headers: 'chutes' });
  const { code, stdout } = await runCli(['headers', '--base-url', e.url, '--min-remaining', '5', '--policy', 'user'], { env });
  assert.equal(code, 1, stdout);
  assert.match(stdout, /FAIL min-remaining: .*"user".*no remaining/);
});

test('an unknown --policy name: exit 2, one error line listing the names the response advertised', { timeout: 60_000 }, async () => {
  const server = await chutesBehindGateway();
  const { code, stderr } = await runCli(['headers', '--base-url', server.url, '--min-remaining', '5', '--policy', 'hourly', '--json'], { env });
  assert.equal(code, 2, stderr);
  assert.match(stderr, /^error: --policy: .*"hourly"/m);
  for (const name of ['minute', 'user', 'daily-quota']) assert.match(stderr, new RegExp(`advertised .*"${name}"`), `lists "${name}"`);
  assert.equal(stderr.trim().split('\n').length, 1, 'one line');
  assert.doesNotMatch(stderr, /\n\s+at /, 'no stack trace');
});

test('--policy without --min-remaining is a usage error before anything is sent', { timeout: 60_000 }, async () => {
  const server = await chutesBehindGateway();
  const { code, stderr } = await runCli(['headers', '--base-url', server.url, '--policy', 'minute'], { env });
  assert.equal(code, 2, stderr);
  assert.match(stderr, /^error: --policy .*--min-remaining/m);
  assert.equal(server.requests.length, 0, 'no request was sent');
});
