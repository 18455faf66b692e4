// #14: the default model comes from GET /v1/models (free, no key), and a gone model gets its own verdict.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { FAKE_KEY, emulatorPool, parseJsonOutput, runCli } from '../helpers/cli.js';
import { closeAll, startHttp } from '../hostile/servers.js';

const start = emulatorPool();
after(closeAll);
const env = { CHUTES_API_KEY: FAKE_KEY };
const MODELS = [
  { id: 'org/pricey', prompt: 1, completion: 2 },
  { id: 'org/cheap', prompt: 0.01, completion: 0.5 },
  { id: 'org/middle', prompt: 0.1, completion: 0.1 },
];

describe('the default model (#14)', { concurrency: true }, () => {
  it('--model auto picks the emulator\'s cheapest served text model, says so, and succeeds', async () => {
    const emulator = await start({ models: MODELS });
    const human = await runCli(['headers', '--base-url', emulator.url, '--model', 'auto'], { env });
    assert.equal(human.code, 0, human.stderr);
    assert.match(human.stdout, /model org\/cheap \(the cheapest of 3 served text models in GET \/v1\/models/);
    const json = await runCli(['headers', '--base-url', emulator.url, '--model', 'auto', '--json'], { env });
    assert.equal(json.code, 0, json.stderr);
    const doc = parseJsonOutput(json.stdout);
    assert.equal(doc.target.model, 'org/cheap');
    assert.equal(doc.target.modelSource, 'list');
    assert.equal(doc.results[0].status, 200);
    assert.deepEqual(emulator.arrivals.filter((a) => a.listener === 'llm').map((a) => a.path),
      ['/v1/models', '/v1/chat/completions', '/v1/models', '/v1/chat/completions'], 'one list read per run, before the request');
  });

  it('without --model on a non-Chutes host: today\'s fallback, one request, no list read; the emulator serves it', async () => {
    const emulator = await start();
    const { code, stdout, stderr } = await runCli(['headers', '--base-url', emulator.url, '--json'], { env });
    assert.equal(code, 0, stderr);
    const doc = parseJsonOutput(stdout);
    assert.equal(doc.target.modelSource, 'fallback');
    assert.equal(doc.target.model, 'unsloth/Mistral-Nemo-Instruct-2407-TEE');
    assert.deepEqual(emulator.arrivals.map((a) => a.path), ['/v1/chat/completions']);
  });

  it('doctor with a gone model: model-served fails, the verdict names the served ids, exit 1; also with --skip-inference', async () => {
    const emulator = await start({ models: MODELS });
    for (const extra of [[], ['--skip-inference']]) {
      const { code, stdout, stderr } = await runCli(['doctor', '--base-url', emulator.url, '--api-base-url', emulator.apiUrl, '--model', 'unsloth/gemma-3-4b-it', '--json', ...extra], { env });
      assert.equal(code, 1, `${extra}: ${stderr}`);
      const doc = parseJsonOutput(stdout);
      assert.equal(doc.checks.find((c) => c.id === 'model-served')?.status, 'fail');
      assert.equal(doc.verdict.code, 'model-not-found');
      assert.match(doc.verdict.message, /unsloth\/gemma-3-4b-it is not in GET \/v1\/models \(3 text models served\)/);
      assert.match(doc.verdict.hint, /^Served now, cheapest first: org\/cheap, org\/middle, org\/pricey;/);
    }
    assert.equal(emulator.arrivals.filter((a) => a.path === '/v1/chat/completions').length, 1, 'one inference request, none with --skip-inference');
  });

  it('a gone model: 404 model-not-found, exit 5, naming the model and the served ids cheapest first', async () => {
    const emulator = await start({ models: MODELS });
    const { code, stdout, stderr } = await runCli(['headers', '--base-url', emulator.url, '--model', 'unsloth/gemma-3-4b-it', '--json'], { env });
    assert.equal(code, 5, stderr);
    const doc = parseJsonOutput(stdout);
    assert.equal(doc.target.modelSource, 'option');
    const [record] = doc.results;
    assert.ok(record && record.verdict, `a verdict: ${stdout}`);
    assert.equal(record.status, 404);
    assert.equal(record.verdict.code, 'model-not-found');
    assert.match(record.verdict.message, /the model unsloth\/gemma-3-4b-it is not served/);
    assert.match(record.verdict.hint, /Served now, cheapest first: org\/cheap, org\/middle, org\/pricey/);
    assert.match(stderr, /^error: 404: the model unsloth\/gemma-3-4b-it/m);
  });

  it('the list GET carries no key and no -H header; the chat request does', async () => {
    const server = await startHttp((req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      if (req.url === '/v1/models') return res.end(JSON.stringify({ object: 'list', data: [{ id: 'org/x', chute_id: 'c', pricing: { prompt: 0.1, completion: 0.1 } }] }));
      res.end('{"choices":[]}');
    });
    const { code, stderr } = await runCli(['headers', '--base-url', server.url, '--model', 'auto', '-H', 'X-Team: blue'], { env });
    assert.equal(code, 0, stderr);
    assert.equal(server.requests.length, 2);
    const [list, chat] = server.requests;
    assert.ok(list && chat, 'two requests');
    assert.equal(list.url, '/v1/models');
    assert.equal(list.method, 'GET');
    assert.equal(list.headers.authorization, undefined, 'the key went to the model list');
    assert.equal(list.headers['x-team'], undefined);
    assert.equal(chat.headers.authorization, `Bearer ${FAKE_KEY}`);
  });

  it('an unreadable list (HTTP 500): a warning naming the fallback, and the run goes on', async () => {
    const server = await startHttp((req, res) => {
      if (req.url === '/v1/models') {
        res.writeHead(500, { 'content-type': 'text/plain' });
        return res.end('down');
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"choices":[]}');
    });
    const { code, stdout, stderr } = await runCli(['headers', '--base-url', server.url, '--model', 'auto', '--json'], { env });
    assert.equal(code, 0, stderr);
    assert.match(stderr, /warning: model unsloth\/Mistral-Nemo-Instruct-2407-TEE \(fallback: the model list \(GET \/v1\/models\) could not be read: HTTP 500/);
    assert.equal(parseJsonOutput(stdout).target.modelSource, 'fallback');
    assert.equal(server.requests.length, 2);
  });
});
