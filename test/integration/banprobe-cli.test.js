// `probe` in Chutes mode end to end: the plan names the ban risk before anything is sent, the run stops
// at its refusal budget and at the quota share, and the new options are checked like the others. Only
// counts and what the emulator logged are asserted, never durations.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { closeAll, startHttp } from '../hostile/servers.js';
import { emulatorPool, FAKE_KEY, parseJsonOutput, runCli } from '../helpers/cli.js';

after(closeAll);

const ENV = { CHUTES_API_KEY: FAKE_KEY };
const emulator = emulatorPool();

function probe(url, args) {
  return runCli(['probe', '--base-url', url, ...args], { env: ENV, timeoutMs: 120_000 });
}

describe('probe: Chutes mode', () => {
  it('the plan for a *.chutes.ai host names the ban risk and the quota check before anything is sent', async () => {
    const res = await probe('https://llm.chutes.ai', ['--dry-run', '--rpm', '120']);
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stdout, /Chutes: each refused request can lengthen an edge ban, up to a day: the probe stops at the first refusal; --allow-refusals N to allow more\./);
    assert.match(res.stdout, /a plan over --max-quota-share of it needs --yes/);
    const more = await probe('https://llm.chutes.ai', ['--dry-run', '--allow-refusals', '3']);
    assert.match(more.stdout, /the probe stops after 3 refusals/);
  });

  it('bad --allow-refusals or --max-quota-share: one error line, exit 2', async () => {
    for (const args of [['--allow-refusals', '0'], ['--allow-refusals', 'abc'], ['--max-quota-share', '101'], ['--max-quota-share', 'ten']]) {
      const res = await probe('https://llm.chutes.ai', ['--dry-run', ...args]);
      assert.equal(res.code, 2, `${args.join(' ')}: ${res.stderr}`);
      assert.match(res.stderr, new RegExp(`^error: .*${args[0]}`, 'm'), `${args.join(' ')}: ${res.stderr}`);
      assert.doesNotMatch(res.stderr, /\n\s+at /, 'no stack trace');
    }
  });

  it('an eager probe on the Chutes profile (quota headers) provokes one refusal and says why it stopped', async () => {
    const e = await emulator({ limit: 10, windowMs: 60_000, headers: 'chutes', dailyQuota: 5000 });
    const res = await probe(e.url, ['--json', '--rpm', '600', '--max-requests', '40']);
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stderr, /each refused request can lengthen an edge ban, up to a day/);
    assert.match(res.stderr, /this plan may spend up to 40 of the 4999 requests left/);
    const doc = parseJsonOutput(res.stdout);
    const refused = doc.responses.filter((r) => r.status === 429);
    assert.equal(refused.length, 1, `${refused.length} refusals`);
    const inference = e.arrivals.filter((a) => a.path === '/v1/chat/completions');
    assert.equal(inference.length, doc.responses.length, 'nothing sent after the refusal but what was answered');
    const { rate, concurrency } = doc.estimate;
    assert.ok(rate, 'an estimate of the rate');
    assert.equal(rate.limit, 10, JSON.stringify(rate));
    assert.equal(rate.windowSeconds, null);
    assert.equal(rate.penalty, null);
    assert.match(rate.explanation, /stopped provoking there/);
    assert.equal(concurrency.limit, null);
    assert.equal(doc.stopReason, 'refusals');
  });

  it('a plan over --max-quota-share of the quota left stops after the first answer, without an error', async () => {
    const e = await emulator({ limit: 10, windowMs: 60_000, headers: 'chutes', dailyQuota: 200 });
    const res = await probe(e.url, ['--json', '--rpm', '600']);
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stderr, /up to 60 of the 199 requests left of today's quota \(30\.2 %\), over --max-quota-share 10 %/);
    const doc = parseJsonOutput(res.stdout);
    assert.equal(doc.responses.length, 1);
    assert.equal(doc.stopReason, 'quota-share');
    assert.ok(doc.warnings.some((w) => /--yes \(or lower --max-requests\) to measure/.test(w)), JSON.stringify(doc.warnings));
  });
});

describe('probe: a penalty box end to end (any target)', () => {
  // A loopback limiter that punishes refusals: 10 per 10 s (a fixed window from its first request), and
  // every refused request restarts a ban of 1 s · 2^(refusals − 1), said in Retry-After. Not Chutes (no
  // X-Chutes-* header, a loopback host): the refusal budget is unlimited, so only the penalty-box
  // detector can stop the probe. Counts come from the server's own log; nothing is timed. The window
  // is 10 s against a ~1 s burst and a 1 s Retry-After: ten times what a loaded machine needs.
  async function penaltyBox() {
    const log = [];
    const state = { windowStart: null, count: 0, refusals: 0, bannedUntil: -Infinity };
    const server = await startHttp((req, res) => {
      const now = Date.now();
      if (req.url === '/' && req.method === 'HEAD') { res.end(); return; } // a warm-up is not counted
      state.windowStart ??= now;
      if (now - state.windowStart >= 10_000) { state.windowStart = now; state.count = 0; }
      const allowed = now >= state.bannedUntil && state.count < 10;
      if (allowed) state.count += 1;
      else {
        state.refusals += 1;
        state.bannedUntil = now + 1000 * 2 ** (state.refusals - 1);
      }
      log.push({ status: allowed ? 200 : 429 });
      if (allowed) {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end('{"choices":[{"message":{"content":"hi"}}]}');
      } else {
        res.writeHead(429, { 'content-type': 'application/json', 'retry-after': String(Math.ceil((state.bannedUntil - now) / 1000)) });
        res.end('{"error":{"message":"Too many requests"}}');
      }
    });
    return { url: server.url, log, refusals: () => log.filter((r) => r.status === 429).length };
  }

  it('stops provoking after the block grew, reports estimate.rate.penalty and says retries lengthen the block', async () => {
    const server = await penaltyBox();
    const res = await runCli(['probe', '--base-url', server.url, '--model', 'm', '--json', '--yes', '--rpm', '600', '--max-requests', '60'], { env: ENV, timeoutMs: 120_000 });
    assert.equal(res.code, 0, `exit ${res.code}: ${res.stderr}`);
    const doc = parseJsonOutput(res.stdout);
    const { rate } = doc.estimate;
    assert.ok(rate.penalty, `penalty reported: ${JSON.stringify(rate)}; server log ${JSON.stringify(server.log)}`);
    assert.equal(rate.penalty.escalating, true);
    assert.ok(rate.penalty.observedBanSeconds.length >= 2, JSON.stringify(rate.penalty));
    assert.equal(doc.stopReason, 'penalty');
    assert.ok(server.refusals() <= 3, `${server.refusals()} refusals at the server: ${JSON.stringify(server.log)}`);
    assert.ok(server.log.length < 60, `stopped well before the budget: ${server.log.length} requests`);
    assert.ok(doc.warnings.some((w) => /^retries lengthen the block/.test(w)), JSON.stringify(doc.warnings));
    const human = await runCli(['probe', '--base-url', (await penaltyBox()).url, '--model', 'm', '--yes', '--rpm', '600', '--max-requests', '60'], { env: ENV, timeoutMs: 120_000 });
    assert.equal(human.code, 0, human.stderr);
    assert.match(human.stdout + human.stderr, /retries lengthen the block/);
    assert.ok(!`${res.stdout}${res.stderr}${human.stdout}${human.stderr}`.includes(FAKE_KEY), 'the key never appears');
  });
});
