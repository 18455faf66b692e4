// Picking the model from GET /v1/models (#14): the cheapest served text model, as a table.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { cheapestFirst, isServed, pickCheapestTextModel, readModelList } from '../../dist/models/list.js';
import { chooseModel, readModelListAnswer } from '../../dist/models/choose.js';

const item = (id, prompt, completion, extra = {}) => ({ id, chute_id: `c-${id}`, pricing: prompt === undefined ? undefined : { prompt, completion }, ...extra });
const list = (...items) => ({ object: 'list', data: items });

describe('pickCheapestTextModel', () => {
  /** @type {Array<[string, unknown, string | null]>} */
  const cases = [
    ['the cheapest by input price', list(item('a', 0.3, 0.4), item('b', 0.02, 0.9), item('c', 0.1, 0.1)), 'b'],
    ['a tie on input price: the cheaper output', list(item('a', 0.1, 0.5), item('b', 0.1, 0.2)), 'b'],
    ['a full tie: the server order (most used first)', list(item('first', 0.1, 0.2), item('second', 0.1, 0.2)), 'first'],
    ['missing pricing sorts after any known price', list(item('nopricing', undefined), item('priced', 5, 5)), 'priced'],
    ['price.input.usd when pricing is absent', list({ id: 'p', chute_id: 'x', price: { input: { usd: 0.5 }, output: { usd: 1 } } }, item('q', 0.6, 0.1)), 'p'],
    ['no pricing anywhere: the first listed', list(item('x', undefined), item('y', undefined)), 'x'],
    ['an embedding model is never picked, however cheap', list(item('BAAI/bge-large-embedding', 0.001, 0), item('chat', 0.2, 0.2)), 'chat'],
    ['an image model is never picked', list(item('black-forest-labs/FLUX.1-dev', 0, 0), item('chat', 0.2, 0.2)), 'chat'],
    ['output_modalities without text is not a text model', list(item('m', 0, 0, { output_modalities: ['image'] }), item('chat', 1, 1)), 'chat'],
    ['an empty list: nothing', list(), null],
    ['only non-text models: nothing', list(item('intfloat/e5-embed', 0.01, 0)), null],
  ];
  for (const [name, json, expected] of cases) {
    it(name, () => {
      const models = readModelList(json);
      assert.ok(models, 'the list was read');
      assert.equal(pickCheapestTextModel(models)?.id ?? null, expected);
    });
  }

  it('cheapestFirst orders every text model', () => {
    const models = readModelList(list(item('a', 0.3, 0.4), item('b', 0.02, 0.9), item('c', undefined), item('d', 0.1, 0.1)));
    assert.ok(models, 'the list was read');
    assert.deepEqual(cheapestFirst(models).map((m) => m.id), ['b', 'd', 'a', 'c']);
  });
});

describe('readModelList: only the Chutes shape', () => {
  /** @type {Array<[string, unknown]>} */
  const cases = [
    ['an OpenAI list (no chute_id, pricing or price)', { object: 'list', data: [{ id: 'gpt-4o', object: 'model' }] }],
    ['no data array', { object: 'list' }],
    ['an array', []],
    ['null', null],
  ];
  for (const [name, json] of cases) it(`${name} → null`, () => assert.equal(readModelList(json), null));
});

describe('isServed', () => {
  const models = readModelList(list(item('org/a', 1, 1), item('org/b', 2, 2)));
  /** @type {Array<[string, boolean]>} */
  const cases = [['org/a', true], ['org/gone', false], ['org/a:latency', true], ['org/gone, org/b', true], ['org/gone,org/x', false]];
  for (const [id, expected] of cases) it(`${id} → ${expected}`, () => assert.equal(isServed(id, models ?? []), expected));
});

describe('chooseModel', () => {
  /** @type {import('../../dist/models/choose.js').ModelRequest} */
  const chutes = { named: undefined, namedSource: 'option', base: new URL('https://llm.chutes.ai'), fallback: 'fallback/model' };
  const ok = readModelListAnswer(200, JSON.stringify(list(item('dear', 1, 1), item('cheap', 0.01, 0.02))), null);
  /** @type {Array<[string, import('../../dist/models/choose.js').ModelRequest, import('../../dist/models/choose.js').ModelListAnswer | null, string, string, string | null]>} */
  const cases = [
    ['the list read: the cheapest, source list', chutes, ok, 'cheap', 'list', null],
    ['a named model wins, the list still kept', { ...chutes, named: 'mine' }, ok, 'mine', 'option', null],
    ['CHUTES_MODEL: source env', { ...chutes, named: 'mine', namedSource: 'env' }, ok, 'mine', 'env', null],
    ['--model auto picks', { ...chutes, named: 'auto' }, ok, 'cheap', 'list', null],
    ['not asked (another host): fallback, no problem', chutes, null, 'fallback/model', 'fallback', null],
    ['a network failure: fallback with the problem', chutes, readModelListAnswer(null, null, 'timeout'), 'fallback/model', 'fallback', 'timeout'],
    ['HTTP 500: fallback', chutes, readModelListAnswer(500, 'oops', null), 'fallback/model', 'fallback', 'HTTP 500'],
    ['not JSON: fallback', chutes, readModelListAnswer(200, '<html>', null), 'fallback/model', 'fallback', 'the answer is not JSON'],
    ['not the Chutes shape: fallback', chutes, readModelListAnswer(200, '{"data":[{"id":"x"}]}', null), 'fallback/model', 'fallback', 'the answer is not a Chutes model list'],
    ['an empty list: fallback', chutes, readModelListAnswer(200, '{"object":"list","data":[]}', null), 'fallback/model', 'fallback', 'no text model listed'],
  ];
  for (const [name, request, answer, model, source, problem] of cases) {
    it(name, () => {
      const choice = chooseModel(request, answer);
      assert.equal(choice.model, model);
      assert.equal(choice.source, source);
      assert.equal(choice.problem, problem);
      assert.ok(choice.reason.includes(model), `the reason names the model: ${choice.reason}`);
    });
  }
  it('the reason of a pick says why: cheapest, how many, the price', () => {
    assert.match(chooseModel(chutes, ok).reason, /model cheap \(the cheapest of 2 served text models in GET \/v1\/models: \$0\.01\/M tokens in, \$0\.02\/M out\)/);
  });
});
