import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { Generator } from '../../src/generate/index.js';
import { buildServer, FIXTURE_MODEL } from '../../src/serve/index.js';
import { generateRoutes } from '../../src/serve/routes/generate.js';

const LM = path.resolve('data/models/tiny-gpt2');
let app: FastifyInstance;
let gen: Generator;

beforeAll(async () => {
  gen = await Generator.load(LM, [{ dir: LM, alpha: 0.5, name: 'arm' }]);
  app = buildServer({ config: { models: [FIXTURE_MODEL] }, plugins: [generateRoutes(gen, { maxNewTokens: 32, maxN: 4 })] });
  await app.ready();
});

afterAll(async () => {
  await app.close();
});

describe('POST /v1/generate', () => {
  it('returns the same text as the library for the same request', async () => {
    const res = await app.inject({ method: 'POST', url: '/v1/generate', payload: { prompt: 'Once upon a time', max_tokens: 8, greedy: true } });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    const [lib] = await gen.generate(['Once upon a time'], { sampler: 'greedy', maxNewTokens: 8 });
    expect(body.text).toBe(lib!.text);
    expect(body.num_tokens).toBe(lib!.tokens.length);
    expect(body.arm_logprobs.arm).toHaveLength(lib!.tokens.length);
  });

  it('streams Server-Sent Events ending with the full result', async () => {
    const res = await app.inject({ method: 'POST', url: '/v1/generate', payload: { prompt: 'The cat', max_tokens: 5, greedy: true, stream: true } });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/text\/event-stream/);
    const events = res.body.trim().split('\n\n');
    const tokens = events.filter((e) => e.startsWith('data:')).map((e) => JSON.parse(e.slice(5)).token);
    const done = events.find((e) => e.startsWith('event: done'))!;
    const final = JSON.parse(done.split('\n')[1]!.slice(5));
    expect(tokens).toEqual(final.tokens);
  });

  it('rejects limits and unknown ARMs with 4xx naming the field', async () => {
    const tooMany = await app.inject({ method: 'POST', url: '/v1/generate', payload: { prompt: 'x', max_tokens: 33 } });
    expect(tooMany.statusCode).toBe(400);
    expect(tooMany.body).toMatch(/max_tokens/);
    const unknownArm = await app.inject({ method: 'POST', url: '/v1/generate', payload: { prompt: 'x', alphas: { nope: 1 } } });
    expect(unknownArm.statusCode).toBe(400);
    expect(unknownArm.json().error).toMatch(/no ARM named nope/);
    const longPrompt = await app.inject({ method: 'POST', url: '/v1/generate', payload: { prompt: 'word '.repeat(200), max_tokens: 8 } });
    expect(longPrompt.statusCode).toBe(413);
    expect(longPrompt.json().error).toMatch(/prompt has \d+ tokens/);
    const empty = await app.inject({ method: 'POST', url: '/v1/generate', payload: { prompt: '' } });
    expect(empty.statusCode).toBe(400);
  });
});

describe('POST /v1/best-of-n', () => {
  it('returns n candidates with rewards from the served model and picks the highest', async () => {
    const res = await app.inject({ method: 'POST', url: '/v1/best-of-n', payload: { prompt: 'Once upon a time', n: 3, max_tokens: 6, seed: 5 } });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body.candidates).toHaveLength(3);
    const rewards = body.candidates.map((c: { reward: number }) => c.reward);
    expect(body.best).toBe(rewards.indexOf(Math.max(...rewards)));
    // the reward is the served model's score of that candidate
    const scored = await app.inject({ method: 'POST', url: '/v1/score', payload: { items: [{ prompt: 'Once upon a time', response: body.candidates[0].text || ' ' }] } });
    if (body.candidates[0].text) expect(scored.json().results[0].reward).toBeCloseTo(rewards[0], 4);
    const tooMany = await app.inject({ method: 'POST', url: '/v1/best-of-n', payload: { prompt: 'x', n: 5 } });
    expect(tooMany.statusCode).toBe(400);
    expect(tooMany.body).toMatch(/\bn\b/);
  });
});

describe('cancellation', () => {
  it('stops decoding when the client disconnects mid-stream (real port)', async () => {
    const slowGen = await Generator.load(LM);
    let steps = 0;
    const step = slowGen.base.step.bind(slowGen.base);
    // The real model, slowed so the disconnect lands mid-generation.
    slowGen.base.step = async (inputs) => {
      steps++;
      await new Promise((r) => setTimeout(r, 15));
      return step(inputs);
    };
    const server = buildServer({ config: { models: [FIXTURE_MODEL] }, plugins: [generateRoutes(slowGen, { maxNewTokens: 100, maxN: 1 })] });
    await server.listen({ port: 0, host: '127.0.0.1' });
    const { port } = server.server.address() as { port: number };
    const ctl = new AbortController();
    const res = await fetch(`http://127.0.0.1:${port}/v1/generate`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, signal: ctl.signal,
      body: JSON.stringify({ prompt: 'Once', max_tokens: 100, stream: true, greedy: true }),
    });
    const reader = res.body!.getReader();
    await reader.read();
    ctl.abort();
    await new Promise((r) => setTimeout(r, 300));
    const afterAbort = steps;
    await new Promise((r) => setTimeout(r, 300));
    expect(steps).toBe(afterAbort);
    expect(steps).toBeLessThan(60);
    await server.close();
  });
});

describe('alignkit serve --generate', () => {
  it('serves /v1/generate next to scoring when given a base model and an ARM', async () => {
    const { startServer } = await import('../../src/cli/commands/serve.js');
    const lines: string[] = [];
    const { app: server, url } = await startServer(['--port', '0', '--generate', LM, '--arm', `helpful=${LM}:0.5`, '--max-new-tokens', '16'], (l) => lines.push(l));
    try {
      expect(lines.join('\n')).toMatch(/guided by helpful \(alpha 0.5\)/);
      const res = await fetch(`${url}/v1/generate`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ prompt: 'Hi', max_tokens: 4, alphas: { helpful: 1 } }) });
      expect(res.status).toBe(200);
      const body = await res.json();
      expect(Object.keys(body.arm_logprobs)).toEqual(['helpful']);
      const over = await fetch(`${url}/v1/generate`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ prompt: 'Hi', max_tokens: 17 }) });
      expect(over.status).toBe(400);
    } finally {
      await server.close();
    }
  });

  it('refuses --arm without --generate', async () => {
    const { startServer } = await import('../../src/cli/commands/serve.js');
    await expect(startServer(['--port', '0', '--arm', `${LM}:1`], () => {})).rejects.toThrow(/--arm needs --generate/);
  });
});
