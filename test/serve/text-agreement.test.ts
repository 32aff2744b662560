// Regression tests for #12 §1: /v1/score accepts an empty response, and /get_reward and /v1/score
// agree on the same text. The disagreement came from the empty prompt /get_reward used: decoder
// models start a sequence whose prompt is empty with a BOS/EOS token, so the query was scored with
// one token more than the same text sent as {prompt, response}. Real models in worker threads: the
// shipped alignkit-rm (GPT-2 style, the model the discrepancy was reported on) and the encoder
// fixture tiny-bert-rm-multi.
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OnnxRewardModel } from '../../src/rewards/index.js';
import { buildServer, DEFAULT_MODEL, PACKAGE_ROOT } from '../../src/serve/index.js';

const BERT = { dir: path.join(PACKAGE_ROOT, 'data', 'models', 'tiny-bert-rm-multi'), name: 'bert' };
const prompt = '\n\nHuman: How do I make a cake?\n\nAssistant:';
const response = ' Mix flour, eggs and sugar, then bake it for 30 minutes.';
let app: FastifyInstance;

beforeAll(async () => {
  app = buildServer({ config: { models: [DEFAULT_MODEL, BERT] } });
  await app.ready();
});
afterAll(() => app?.close());

const post = (url: string, payload: object) => app.inject({ method: 'POST', url, payload });
const score = async (items: object[], models?: string[]) => (await post('/v1/score', { items, ...(models && { models }) })).json().results.map((r: { reward: number }) => r.reward);

describe('/get_reward and /v1/score on the same text', () => {
  it('agree exactly when OpenRLHF sends the prompts (the query is split after its prompt)', async () => {
    const [expected] = await score([{ prompt, response }]);
    const r = (await post('/get_reward', { query: [prompt + response], prompts: [prompt] })).json();
    expect(r.rewards[0]).toBeCloseTo(expected, 5);
  });

  it('agree for a decoder model without the prompts: the query is one text, with no BOS inserted before it', async () => {
    const [expected] = await score([{ prompt, response }], ['alignkit-rm']);
    const [whole] = await score([{ prompt: prompt + response, response: '' }], ['alignkit-rm']);
    expect(whole).toBeCloseTo(expected, 5);
    const r = (await post('/get_reward', { query: [prompt + response] })).json();
    const [bertWhole] = await score([{ prompt: prompt + response, response: '' }], ['bert']);
    expect(r.rewards[0]).toBeCloseTo((whole + bertWhole) / 2, 5);
  });

  it('score a whole text as the model loaded directly scores it', async () => {
    const direct = await OnnxRewardModel.load(DEFAULT_MODEL.dir);
    const [[expected]] = await direct.score([{ prompt, response }]);
    await direct.release();
    const gpt = await app.inject({ method: 'POST', url: '/predict', payload: { inputs: prompt + response, raw_scores: true } });
    expect(gpt.json()[0].score).toBeCloseTo(expected!, 5);
  });
});

describe('an empty response', () => {
  it('is scored, and does not fail the other items of its batch', async () => {
    const r = await post('/v1/score', { items: [{ prompt: 'Say something.', response: '' }, { prompt: 'Say something.', response: 'Hello.' }] });
    expect(r.statusCode).toBe(200);
    const rewards = r.json().results.map((x: { reward: number }) => x.reward);
    expect(rewards.every(Number.isFinite)).toBe(true);
    expect(rewards[0]).not.toBe(rewards[1]);
    const compare = await post('/v1/compare', { prompt: 'Say something.', responses: ['', 'Hello.'] });
    expect(compare.statusCode).toBe(200);
    expect(compare.json().rewards).toEqual(rewards.map((x: number) => expect.closeTo(x, 5)));
  });
});
