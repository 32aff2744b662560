// The server on the real fixture reward models, each in its inference worker thread: the default
// single-head tiny-gpt2-rm and the three-head tiny-bert-rm-multi. Expected scores come from the same
// model directories loaded directly in the test (OnnxRewardModel, one item at a time).
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OnnxRewardModel, type ScoreItem } from '../../src/rewards/index.js';
import { FIXTURE_MODEL, PACKAGE_ROOT, buildServer } from '../../src/serve/index.js';

const MULTI_DIR = path.join(PACKAGE_ROOT, 'data', 'models', 'tiny-bert-rm-multi');
const weights = { correctness: 0.5, coherence: 2 };
let app: FastifyInstance;
let gpt2: OnnxRewardModel;
let bert: OnnxRewardModel;

beforeAll(async () => {
  app = buildServer({ config: { models: [FIXTURE_MODEL, { dir: MULTI_DIR, name: 'multi', headWeights: weights }], batchWindowMs: 25 } });
  [gpt2, bert] = await Promise.all([OnnxRewardModel.load(FIXTURE_MODEL.dir), OnnxRewardModel.load(MULTI_DIR), app.ready()]);
});
afterAll(() => app?.close());

const items: ScoreItem[] = [
  { prompt: 'What is the capital of France?', response: 'Paris is the capital of France.' },
  { prompt: 'Say something kind.', response: 'You are doing great work.' },
  { prompt: [{ role: 'user', content: 'Name a prime.' }], response: [{ role: 'assistant', content: 'Seven.' }] },
  { prompt: '', response: 'Once upon a time there was a tiny model.' },
];

async function oneByOne(model: OnnxRewardModel, xs: ScoreItem[]): Promise<number[][]> {
  const out = [];
  for (const x of xs) out.push([...(await model.score([x]))[0]]);
  return out;
}

const closeTo = (a: number[], b: number[]) => a.forEach((x, i) => expect(x).toBeCloseTo(b[i], 4));
const worker = (name: string) => app.scoring.model(name).worker!;

describe('fixture models behind worker threads', () => {
  it('lists the default fixture and the multi-head model', async () => {
    const { models } = (await app.inject('/v1/models')).json();
    expect(models).toEqual([
      { name: 'tiny-gpt2-rm', heads: ['LABEL_0'], headWeights: { LABEL_0: 1 }, maxLength: 128, fixture: true, device: { provider: 'cpu' } },
      { name: 'multi', heads: ['helpfulness', 'correctness', 'coherence'], headWeights: weights, maxLength: 128, fixture: false, device: { provider: 'cpu' } },
    ]);
  });

  it('scores like the models loaded directly, with weighted heads and the mean', async () => {
    const r = await app.inject({ method: 'POST', url: '/v1/score', payload: { items } });
    expect(r.statusCode).toBe(200);
    const [g, b] = [await oneByOne(gpt2, items), await oneByOne(bert, items)];
    r.json().results.forEach((res: { reward: number; models: { reward: number; heads: Record<string, number> }[] }, i: number) => {
      closeTo([res.models[0].heads.LABEL_0], g[i]);
      closeTo(Object.values(res.models[1].heads), b[i]);
      const multiReward = 0.5 * b[i][1] + 2 * b[i][2];
      expect(res.models[1].reward).toBeCloseTo(multiReward, 4);
      expect(res.reward).toBeCloseTo((g[i][0] + multiReward) / 2, 4);
    });
  });

  it('micro-batches concurrent requests: fewer session runs, same scores as one-by-one', async () => {
    const reqs = Array.from({ length: 16 }, (_, i) => ({ prompt: `Question number ${i}?`, response: `Answer number ${i}.` }));
    const before = worker('tiny-gpt2-rm').runs;
    const answers = await Promise.all(reqs.map((it) => app.inject({ method: 'POST', url: '/v1/score', payload: { items: [it], models: ['tiny-gpt2-rm'] } })));
    const runs = worker('tiny-gpt2-rm').runs - before;
    expect(runs).toBeLessThan(reqs.length);
    expect(runs).toBeGreaterThanOrEqual(1);
    const expected = await oneByOne(gpt2, reqs);
    answers.forEach((a, i) => expect(a.json().results[0].reward).toBeCloseTo(expected[i][0], 4));
  });

  it('serves TEI /predict and OpenRLHF /get_reward from the fixture', async () => {
    const tei = (await app.inject({ method: 'POST', url: '/predict', payload: { inputs: [['What is the capital of France?', 'Paris is the capital of France.']], raw_scores: true } })).json();
    expect(tei[0][0].label).toBe('LABEL_0');
    expect(tei[0][0].score).toBeCloseTo((await oneByOne(gpt2, [items[0]]))[0][0], 4);
    const query = 'Human: hi\n\nAssistant: hello there';
    const rl = (await app.inject({ method: 'POST', url: '/get_reward', payload: { query: [query] } })).json();
    // A query is tokenized whole, with the tokenizer's special tokens (the prompt side of an item).
    const g = (await oneByOne(gpt2, [{ prompt: query, response: '' }]))[0][0];
    const b = (await oneByOne(bert, [{ prompt: query, response: '' }]))[0];
    expect(rl.rewards[0]).toBeCloseTo((g + 0.5 * b[1] + 2 * b[2]) / 2, 4);
  });

  it('rejects a text over the model length with a 413 naming the item, and truncates when asked', async () => {
    const long = 'the quick brown fox jumps over the lazy dog '.repeat(30);
    const payload = { items: [items[0], { prompt: long, response: 'ok' }], models: ['tiny-gpt2-rm'] };
    const r = await app.inject({ method: 'POST', url: '/v1/score', payload });
    expect(r.statusCode).toBe(413);
    expect(r.json()).toMatchObject({ code: 'ALIGNKIT_ERR_TOO_LONG', field: 'items[1]' });
    expect(r.json().error).toMatch(/^items\[1\] has \d+ tokens, more than the 128-token limit of model tiny-gpt2-rm/);
    const tei = await app.inject({ method: 'POST', url: '/predict', payload: { inputs: [['fine'], [long]] } });
    expect(tei.json()).toMatchObject({ statusCode: 413, field: 'inputs[1]' });
    const ok = await app.inject({ method: 'POST', url: '/v1/score', payload: { ...payload, truncate: true } });
    expect(ok.statusCode).toBe(200);
    expect(ok.json().results[0].reward).toBeCloseTo((await oneByOne(gpt2, [items[0]]))[0][0], 4);
  });

  it('keeps the event loop free while a batch runs in the worker', async () => {
    const long = 'the quick brown fox jumps over the lazy dog '.repeat(25);
    const heavy = Array.from({ length: 16 }, (_, i) => ({ prompt: long + i, response: `answer ${i}` }));
    const delay = monitorEventLoopDelay({ resolution: 5 });
    delay.enable();
    const t0 = performance.now();
    let scored = false;
    const scoring = app.inject({ method: 'POST', url: '/v1/score', payload: { items: heavy, truncate: true } }).then((r) => ((scored = true), r));
    const health = [];
    while (!scored && health.length < 200) {
      const h = await app.inject('/healthz');
      if (!scored) health.push(h.statusCode);
    }
    const scoringMs = performance.now() - t0;
    delay.disable();
    expect((await scoring).statusCode).toBe(200);
    // Health checks kept being answered while the batch was scored, and no event loop stall came
    // near the length of the scoring itself (an inline session run would block for all of it).
    expect(health.length).toBeGreaterThan(2);
    expect(health.every((s) => s === 200)).toBe(true);
    expect(delay.max / 1e6).toBeLessThan(scoringMs / 2);
  });

  it('answers real HTTP on a listening port to concurrent clients', async () => {
    const address = await app.listen({ port: 0, host: '127.0.0.1' });
    const post = (url: string, body: unknown) => fetch(`${address}${url}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const calls = items.flatMap((it) => [
      post('/v1/score', { items: [it], models: ['tiny-gpt2-rm'] }),
      post('/v1/compare', { prompt: it.prompt, responses: [it.response, 'no.'], models: ['tiny-gpt2-rm'] }),
    ]);
    const bad = post('/v1/score', { items: [{ response: 7 }] });
    const responses = await Promise.all(calls);
    expect(responses.map((r) => r.status)).toEqual(calls.map(() => 200));
    const bodies = await Promise.all(responses.map((r) => r.json()));
    const expected = await oneByOne(gpt2, items);
    items.forEach((_, i) => {
      expect(bodies[2 * i].results[0].reward).toBeCloseTo(expected[i][0], 4);
      expect(bodies[2 * i + 1].rewards[0]).toBeCloseTo(expected[i][0], 4);
    });
    const badResponse = await bad;
    expect(badResponse.status).toBe(400);
    expect((await badResponse.json()).field).toBe('body.items[0].response');
    expect((await fetch(`${address}/metrics`)).status).toBe(200);
  });

  it('shuts its workers down on close', async () => {
    const w = worker('multi');
    await app.close();
    expect(w.healthy).toBe(false);
  });
});
