// The emulator's edge ban over real loopback sockets (#14): answers exactly as the edge does, the ban
// state in stats(), `headers` naming it edge-ban (exit 3), and mock's flags. Ban time runs on an
// injected clock, so no test waits for a ban to end.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { BIN, clockedEmulatorPool, FAKE_KEY, runCli } from '../helpers/cli.js';

const BEARER = { authorization: `Bearer ${FAKE_KEY}` };
const CHAT_BODY = JSON.stringify({ model: 'unsloth/gemma-3-4b-it', messages: [{ role: 'user', content: 'hi' }], max_tokens: 1 });
const NOON = Date.UTC(2026, 0, 15, 12, 0, 1);
const EDGE_429_HTML =
  '<html>\r\n<head><title>429 Too Many Requests</title></head>\r\n<body>\r\n<center><h1>429 Too Many Requests</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n';
// 2 per 10 s; 1 s ban doubling up to 8 s.
const TINY = { limit: 2, windowMs: 10_000, baseMs: 1_000, growth: 2, maxMs: 8_000 };

/** Emulators on a settable clock (`clock.now`), closed after the file's tests. */
const start = clockedEmulatorPool(NOON);

/** POST /v1/chat/completions; resolves with status, headers and body text. */
async function chat(emulator, headers = BEARER) {
  const response = await fetch(`${emulator.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: CHAT_BODY,
  });
  return { status: response.status, headers: Object.fromEntries(response.headers), text: await response.text() };
}

test('without edgeBan (the library default) there is no edge ban and stats() has no edgeBan', async () => {
  const { emulator } = await start({ limit: 0 });
  for (let i = 0; i < 5; i++) assert.equal((await chat(emulator)).status, 200);
  assert.equal(emulator.stats().edgeBan, undefined);
});

test('over the edge limit: the edge\'s HTML 429, byte for byte, with no X-Chutes-*, no rate-limit headers, no Retry-After', async () => {
  const { emulator } = await start({ limit: 0, edgeBan: TINY });
  assert.deepEqual([(await chat(emulator)).status, (await chat(emulator)).status], [200, 200]);
  const refused = await chat(emulator);
  assert.equal(refused.status, 429);
  assert.equal(refused.text, EDGE_429_HTML);
  assert.equal(refused.headers['content-type'], 'text/html');
  assert.equal(refused.headers.server, 'nginx');
  assert.equal(refused.headers.via, '1.1 google');
  const extra = Object.keys(refused.headers).filter((name) => /^(x-chutes-|x-ratelimit|ratelimit|retry-after)/.test(name));
  assert.deepEqual(extra, [], 'the ban answer carries no Chutes, rate-limit or Retry-After header');
  assert.deepEqual(emulator.stats().edgeBan, { violations: 1, bannedUntil: NOON + 1_000 });
});

test('a request during the ban re-arms it, doubled; once the ban and the window have passed, requests are served again', async () => {
  const { emulator, clock } = await start({ limit: 0, edgeBan: TINY });
  await chat(emulator);
  await chat(emulator);
  assert.equal((await chat(emulator)).status, 429); // 1st violation: 1 s, until NOON+1000
  clock.now = NOON + 500;
  assert.equal((await chat(emulator)).status, 429, 'a retest during the ban is refused');
  assert.deepEqual(emulator.stats().edgeBan, { violations: 2, bannedUntil: NOON + 2_500 }, 're-armed for 2 s from the retest');
  clock.now = NOON + 2_500;
  // The ban is over but the two admitted requests are in the 10 s window until NOON+10 000: a violation.
  assert.equal((await chat(emulator)).status, 429);
  assert.deepEqual(emulator.stats().edgeBan, { violations: 3, bannedUntil: NOON + 6_500 });
  clock.now = NOON + 10_000;
  assert.equal((await chat(emulator)).status, 200, 'served once the ban has ended and the window has room');
  assert.deepEqual(emulator.stats().edgeBan, { violations: 3, bannedUntil: null });
});

test('the edge comes before the key check: during a ban even a bad key gets the HTML 429, and the model list is not counted', async () => {
  const { emulator } = await start({ limit: 0, edgeBan: { ...TINY, limit: 1 } });
  for (let i = 0; i < 3; i++) assert.equal((await fetch(`${emulator.url}/v1/models`)).status, 200);
  assert.equal((await chat(emulator)).status, 200, 'GET /v1/models did not use up the edge limit');
  const bad = await chat(emulator, { authorization: 'Bearer not-a-chutes-key' });
  assert.equal(bad.status, 429);
  assert.equal(bad.text, EDGE_429_HTML);
});

test('with no account limiter, X-Chutes-RL-User announces the edge limit rather than inf', async () => {
  const { emulator } = await start({ limit: 0, edgeBan: { ...TINY, limit: 60 } });
  const ok = await chat(emulator);
  assert.equal(ok.status, 200);
  assert.equal(ok.headers['x-chutes-rl-user'], '60');
});

test('headers -n 3 against a tiny edge limit: the third answer is an edge ban, exit 3, and the verdict says stop', async () => {
  const { emulator } = await start({ limit: 0, edgeBan: TINY });
  const { code, stdout, stderr } = await runCli(['headers', '--base-url', emulator.url, '-n', '3', '--json'], { env: { CHUTES_API_KEY: FAKE_KEY } });
  assert.equal(code, 3, `exit code; stderr: ${stderr}`);
  const doc = JSON.parse(stdout);
  assert.ok(Array.isArray(doc.results) && doc.results.length === 3, `three results: ${stdout.slice(0, 500)}`);
  assert.deepEqual(doc.results.map((r) => r.status), [200, 200, 429]);
  const last = doc.results[2];
  assert.ok(last.verdict, `the refusal has a verdict: ${JSON.stringify(last)}`);
  assert.equal(last.verdict.code, 'edge-ban');
  assert.equal(last.outcome, 'rate_limited');
  assert.match(last.verdict.hint, /every refused request lengthens the ban \(up to a day\)/);
  assert.ok(!stdout.includes(FAKE_KEY), 'the key is not in the output');
  const stats = emulator.stats();
  assert.deepEqual(stats.edgeBan?.violations, 1, 'one violation');
});

test('headers in text mode names the edge ban and tells the user to stop', async () => {
  const { emulator } = await start({ limit: 0, edgeBan: { ...TINY, limit: 1 } });
  const { code, stdout, stderr } = await runCli(['headers', '--base-url', emulator.url, '-n', '2'], { env: { CHUTES_API_KEY: FAKE_KEY } });
  assert.equal(code, 3, `exit code; stderr: ${stderr}`);
  assert.match(stdout, /edge-ban/);
  assert.match(stdout, /temporary edge ban/);
});

test('mock --help lists the edge-ban options and says the ban is on by default with the Chutes headers', async () => {
  const { code, stdout } = await runCli(['mock', '--help']);
  assert.equal(code, 0);
  for (const flag of ['--edge-limit <n>', '--edge-window <duration>', '--ban-base <duration>', '--ban-growth <x>', '--ban-max <duration>', '--no-edge-ban']) {
    assert.ok(stdout.includes(flag), `mock --help lists ${flag}`);
  }
  assert.match(stdout.replace(/\s+/g, ' '), /ON by default with --headers chutes/);
});

/** @type {Array<[string[], RegExp]>} [args, the banner's edge-ban line] */
const BANNERS = [
  [[], /edge ban: 60 requests per 1m00s; .* 3s ×2 per violation, up to 24h00m/],
  [['--edge-limit', '5', '--ban-base', '2s', '--ban-max', '1d'], /edge ban: 5 requests per 1m00s; .* 2s ×2 per violation, up to 24h00m/],
  [['--no-edge-ban'], /edge ban: off/],
  [['--headers', 'ietf'], /edge ban: off/],
];

for (const [args, line] of BANNERS) {
  test(`mock ${args.join(' ') || '(defaults)'}: the start-up lines say ${line.source.slice(0, 30)}…`, { timeout: 120_000 }, async (t) => {
    const child = spawn(process.execPath, [BIN, 'mock', '--port', '0', '--api-port', '0', ...args], {
      stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: process.env.PATH, HOME: process.env.HOME, NO_COLOR: '1' },
    });
    t.after(() => { if (child.exitCode === null) child.kill('SIGKILL'); });
    let stdout = '';
    child.stdout.setEncoding('utf8').on('data', (d) => { stdout += d; });
    const closed = once(child, 'close');
    while (!stdout.includes('Ctrl-C to stop')) {
      const ended = await Promise.race([once(child.stdout, 'data').then(() => false), closed.then(() => true)]);
      assert.ok(!ended || stdout.includes('Ctrl-C to stop'), `mock exited before it was ready: ${stdout}`);
    }
    assert.match(stdout, line);
    child.kill('SIGINT');
    const [code] = await closed;
    assert.equal(code, 0);
  });
}

test('mock: contradictory or impossible edge-ban flags are usage errors naming the flag', async () => {
  const off = await runCli(['mock', '--port', '0', '--no-edge-ban', '--ban-base', '2s']);
  assert.equal(off.code, 2);
  assert.match(off.stderr, /^error: --no-edge-ban: /m);
  const short = await runCli(['mock', '--port', '0', '--ban-base', '10s', '--ban-max', '5s']);
  assert.equal(short.code, 2);
  assert.match(short.stderr, /^error: --ban-max: 5s is shorter than --ban-base 10s/m);
  const growth = await runCli(['mock', '--port', '0', '--ban-growth', '0.5']);
  assert.equal(growth.code, 2);
  assert.match(growth.stderr, /--ban-growth <x>/);
  for (const result of [off, short, growth]) assert.doesNotMatch(result.stderr, /\n\s+at /, 'no stack trace');
});

test('doctor against a banned edge: the verdict is edge-ban and says stop all traffic', { timeout: 120_000 }, async () => {
  const { emulator } = await start({ limit: 0, edgeBan: { ...TINY, limit: 1 } });
  assert.equal((await chat(emulator)).status, 200, 'the one request the edge admits');
  const { code, stdout, stderr } = await runCli(['doctor', '--base-url', emulator.url, '--api-base-url', emulator.apiUrl, '--json'], { env: { CHUTES_API_KEY: FAKE_KEY } });
  const doc = JSON.parse(stdout);
  assert.ok(doc.verdict, `doctor has a verdict: ${stdout.slice(0, 500)}; stderr ${stderr}`);
  assert.equal(doc.verdict.code, 'edge-ban', `verdict ${JSON.stringify(doc.verdict)}`);
  assert.match(doc.verdict.hint, /stop all traffic from this key and address/i);
  assert.notEqual(code, 0, 'doctor does not pass');
});
