// `wait-reset` end to end against an escalating edge ban (issue #14), on a short scale: a loopback
// server that answers like Chutes' edge — every request during a ban is a violation that restarts a
// ban of 200 ms · 2^(violations − 1), answered with the edge's HTML 429 (no X-Chutes-*, no
// Retry-After). The ban starts at the CLI's first request, however late a busy machine starts it,
// and a slow CLI only waits longer, which never costs a refusal: the counts come from the server's
// own log, no timing is asserted.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { closeAll, startHttp } from '../hostile/servers.js';
import { emulatorPool, FAKE_KEY, parseJsonOutput, runCli } from '../helpers/cli.js';

after(closeAll);
const emulator = emulatorPool();

const EDGE_HTML = '<html>\r\n<head><title>429 Too Many Requests</title></head>\r\n<body>\r\n<center><h1>429 Too Many Requests</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n';
const ENV = { CHUTES_API_KEY: FAKE_KEY };

/** `violations` already happened and the ban is on until the CLI's first request re-arms it. */
async function edgeBanServer({ violations, baseMs = 200 }) {
  const state = { violations, bannedUntil: Infinity };
  const log = [];
  const server = await startHttp((req, res) => {
    const now = Date.now();
    const banned = now < state.bannedUntil;
    if (banned) {
      state.violations += 1;
      state.bannedUntil = now + baseMs * 2 ** (state.violations - 1);
    }
    log.push({ status: banned ? 429 : 200, violation: banned ? state.violations : null, authorization: req.headers.authorization ?? null });
    if (banned) {
      res.writeHead(429, { 'content-type': 'text/html', server: 'nginx', via: '1.1 google' });
      res.end(EDGE_HTML);
    } else {
      res.writeHead(200, { 'content-type': 'application/json', 'x-chutes-rl-user': '60' });
      res.end('{"choices":[{"message":{"content":"hi"}}]}');
    }
  });
  const refusals = () => log.filter((r) => r.status === 429).length;
  return { url: server.url, log, refusals };
}

describe('wait-reset against an escalating edge ban (HTML 429, no hints)', () => {
  it('clears a ban met at its 3rd violation (800 ms) with at most 2 refusals: exit 0, --json says banSafe', async () => {
    // Ban-safe: the first test re-arms 800 ms; the retest after 300 ms is refused at worst (1.6 s),
    // the next one 2.4 s later clears it. Today's doubling (300 ms, 600 ms, 1.2 s …) was refused
    // every time, each refusal doubling the ban, until --max-wait: exit 3.
    const server = await edgeBanServer({ violations: 2 });
    const run = await runCli(['wait-reset', '--base-url', server.url, '--interval', '300ms', '--ban-window', '300ms', '--max-wait', '60s', '--json'], { env: ENV });
    assert.equal(run.code, 0, `exit ${run.code}; stderr: ${run.stderr}; server log ${JSON.stringify(server.log)}`);
    assert.ok(server.refusals() >= 1 && server.refusals() <= 2, `refusals: ${server.refusals()}; log ${JSON.stringify(server.log)}`);
    assert.equal(server.log.at(-1)?.status, 200, 'the last request passed');
    assert.ok(server.log.every((r) => r.authorization === `Bearer ${FAKE_KEY}`), 'every request was authenticated');
    const doc = parseJsonOutput(run.stdout);
    assert.ok(doc && typeof doc === 'object', 'one JSON document');
    assert.equal(doc.reset, true);
    assert.equal(doc.banSafe, true);
    assert.equal(doc.attempts, server.log.length);
    assert.ok(!run.stdout.includes(FAKE_KEY) && !run.stderr.includes(FAKE_KEY), 'the key never appears in the output');
  });

  it('--max-wait too short: exit 3 without a shortened retest, the bracket and the next safe time', async () => {
    // Met at its 5th violation (3.2 s): refused at the start and after 300 ms (6.4 s); the next
    // ban-safe retest (2.4 s later, ~2.7 s in) may still fit the 3 s --max-wait and be refused
    // (12.8 s); the one after that (19.2 s) does not, so the CLI stops instead of testing early.
    const server = await edgeBanServer({ violations: 4 });
    const run = await runCli(['wait-reset', '--base-url', server.url, '--interval', '300ms', '--ban-window', '300ms', '--max-wait', '3s'], { env: ENV });
    assert.equal(run.code, 3, `exit ${run.code}; stderr: ${run.stderr}`);
    assert.ok(server.refusals() >= 1 && server.refusals() <= 3, `refusals: ${server.refusals()}`);
    assert.ok(server.log.every((r) => r.status === 429), 'still banned');
    assert.match(run.stdout, /every refused retest can lengthen it, so the first retest waits out the edge's minute/);
    assert.match(run.stdout, /Still banned after --max-wait 3s: gave up rather than retest early/);
    assert.match(run.stdout, /Send nothing from this key and address until the next ban-safe retest at/);
  });
});

describe("probe, then wait-reset, on the emulator's Chutes edge (scaled: 5 per 3 s, 300 ms ban doubling)", () => {
  it('the probe provokes one refusal; wait-reset waits out the edge window and clears with at most one more', async () => {
    const edge = { limit: 5, windowMs: 3000, baseMs: 300, growth: 2, maxMs: 86_400_000 };
    const e = await emulator({ limit: 0, headers: 'chutes', dailyQuota: 5000, edgeBan: edge });
    const probe = await runCli(['probe', '--base-url', e.url, '--json', '--yes', '--rpm', '600', '--max-requests', '30'], { env: ENV });
    assert.equal(probe.code, 0, probe.stderr);
    assert.equal(parseJsonOutput(probe.stdout).stopReason, 'refusals');
    assert.equal(e.stats().edgeBan?.violations, 1, 'the probe provoked one refusal');
    // --ban-window 3s: the edge's window at this scale (Chutes: the default, a minute). With the
    // ban-safe waits starting at --interval instead, the retests inside the still-full window were
    // refused one after the other (BENCHMARKS.md: 3 refusals, not cleared in --max-wait 5m).
    const wait = await runCli(['wait-reset', '--base-url', e.url, '--interval', '300ms', '--ban-window', '3s', '--max-wait', '60s', '--json'], { env: ENV });
    assert.equal(wait.code, 0, `exit ${wait.code}: ${wait.stderr}`);
    const doc = parseJsonOutput(wait.stdout);
    assert.equal(doc.reset, true);
    assert.ok((e.stats().edgeBan?.violations ?? 0) <= 2, `violations ${JSON.stringify(e.stats().edgeBan)}; wait-reset sent ${doc.attempts}`);
    assert.equal(doc.settings.banWindowSeconds, 3);
  });
});
