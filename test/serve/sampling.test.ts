// Regression tests for #12 §1, "sampling parameters that can only produce garbage are refused with
// a 400 naming the field": temperatures and ARM weights that overflow every float32 score (today a
// 200 with token 0 and an empty text), and a max_tokens that leaves no room in the model's window
// (today a 413 after the prompt was encoded, now a 400 from validation). The real tiny GPT-2 as
// base model and as ARM.
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Generator } from '../../src/generate/index.js';
import { buildServer } from '../../src/serve/index.js';
import { generateRoutes } from '../../src/serve/routes/generate.js';
import { LinearRewardModel } from '../rewards/support/linear-reward-model.js';

const LM = path.resolve('data/models/tiny-gpt2'); // a 128-token window
let app: FastifyInstance;
let gen: Generator;

beforeAll(async () => {
  gen = await Generator.load(LM, [{ dir: LM, alpha: 0.5, name: 'arm' }]);
  const rm = await LinearRewardModel.create('len', ['score'], [[1], [2], [-1]]);
  // The server's own max_tokens limit is above the window, so only the window can refuse.
  app = buildServer({ rewardModels: [rm], plugins: [generateRoutes(gen, { maxNewTokens: 1000, maxN: 4 })] });
  await app.ready();
});
afterAll(() => app?.close());

const post = (url: string, payload: object) => app.inject({ method: 'POST', url, payload });
const generate = (extra: object) => post('/v1/generate', { prompt: 'Once upon a time', max_tokens: 4, ...extra });

describe('parameters under which every score overflows float32', () => {
  const refused: [string, object, string][] = [
    ['a temperature below float32\'s smallest normal', { temperature: 1e-39 }, 'temperature'],
    ['a temperature that overflows scores', { temperature: 1e-36 }, 'temperature'],
    ['an alpha so large every score is -Infinity', { alphas: { arm: 1e38 } }, 'alphas.arm'],
    ['an alpha so negative every score is +Infinity', { alphas: { arm: -1e38 } }, 'alphas.arm'],
    ['a repetition penalty that overflows repeated tokens', { repetition_penalty: 1e-40 }, 'repetition_penalty'],
  ];
  it.each(refused)('%s is a 400 naming the field', async (_name, extra, field) => {
    for (const r of [await generate(extra), await generate({ ...extra, stream: true }), await post('/v1/best-of-n', { prompt: 'Once', n: 2, max_tokens: 4, ...extra })]) {
      expect(r.statusCode).toBe(400);
      expect(r.json()).toMatchObject({ code: 'ALIGNKIT_ERR_INVALID_ARGUMENT', field });
      expect(r.json().error).toMatch(new RegExp(`^${field.replace('.', '\\.')}: .*overflows float32`));
    }
  });

  it('an alpha JSON cannot hold as a finite number (1e400) is a 400', async () => {
    const r = await app.inject({ method: 'POST', url: '/v1/generate', headers: { 'content-type': 'application/json' }, payload: '{"prompt": "Once", "max_tokens": 2, "alphas": {"arm": 1e400}}' });
    expect(r.statusCode).toBe(400);
    expect(r.json()).toMatchObject({ field: 'body.alphas.arm', error: 'body.alphas.arm must be number' });
  });

  it('small but safe values still generate: a temperature of 1e-3 decodes like greedy', async () => {
    const greedy = (await generate({ greedy: true, seed: 1 })).json();
    const cold = await generate({ temperature: 1e-3, seed: 1 });
    expect(cold.statusCode).toBe(200);
    expect(cold.json().tokens).toEqual(greedy.tokens);
    expect((await generate({ alphas: { arm: 1e3 } })).statusCode).toBe(200);
  });
});

describe('max_tokens and the model window', () => {
  it('a max_tokens that leaves no room for a prompt is a 400 from validation, not a 413 after work', async () => {
    for (const maxTokens of [128, 500]) {
      const r = await generate({ max_tokens: maxTokens });
      expect(r.statusCode).toBe(400);
      expect(r.json()).toMatchObject({ code: 'ALIGNKIT_ERR_BAD_REQUEST', field: 'body.max_tokens', error: 'body.max_tokens must be <= 127' });
    }
    expect((await post('/v1/best-of-n', { prompt: 'Once', n: 2, max_tokens: 128 })).json().field).toBe('body.max_tokens');
  });

  it('the largest max_tokens leaving room for the prompt is accepted; a prompt too long for it is still a 413', async () => {
    const room = 128 - gen.encodePrompt('Once').length;
    const r = await generate({ prompt: 'Once', max_tokens: room, greedy: true });
    expect(r.statusCode).toBe(200);
    const long = await generate({ prompt: 'Once upon a time', max_tokens: room });
    expect(long.statusCode).toBe(413);
    expect(long.json().field).toBe('prompt');
  });

  it('documents the effective limit in the OpenAPI document', async () => {
    const doc = (await app.inject('/docs/json')).json();
    expect(doc.paths['/v1/generate'].post.requestBody.content['application/json'].schema.properties.max_tokens.maximum).toBe(127);
  });
});
