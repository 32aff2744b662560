// Regression tests for #12 §1, "health must tell the truth": /healthz is liveness, /readyz says
// whether this replica should get traffic (workers alive, a permit free, not draining), and an
// inference worker thread that dies is restarted and counted in /metrics instead of being left
// dead behind a 200. The real fixture reward model in its worker thread.
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FIXTURE_MODEL, buildServer } from '../../src/serve/index.js';
import { LinearRewardModel } from '../rewards/support/linear-reward-model.js';
import { metricValue, settle } from './support/sockets.js';

const NAME = 'tiny-gpt2-rm';
const item = { prompt: 'What is the capital of France?', response: 'Paris.' };
let app: FastifyInstance;

beforeAll(async () => {
  app = buildServer({ config: { models: [FIXTURE_MODEL], maxConcurrent: 4, batchWindowMs: 1 } });
  await app.ready();
});
afterAll(() => app?.close());

const score = () => app.inject({ method: 'POST', url: '/v1/score', payload: { items: [item] } });
const readyStatus = async () => (await app.inject('/readyz')).statusCode;

describe('readiness', () => {
  it('reports workers alive and permits free', async () => {
    const r = await app.inject('/readyz');
    expect(r.statusCode).toBe(200);
    expect(r.json()).toEqual({ status: 'ready', draining: false, models: [{ name: NAME, alive: true, restarts: 0 }], permits: { inFlight: 0, max: 4, free: 4 } });
    expect((await app.inject('/healthz')).json()).toEqual({ status: 'ok', models: [NAME] });
  });

  it('is 503 while every permit is taken, and 200 again after', async () => {
    const rm = await LinearRewardModel.create('len', ['score'], [[1], [2], [-1]]);
    const slow = buildServer({ rewardModels: [rm], config: { maxConcurrent: 1, batchWindowMs: 300 } });
    await slow.ready();
    try {
      const pending = slow.inject({ method: 'POST', url: '/v1/score', payload: { items: [item] } });
      await new Promise((r) => setTimeout(r, 50));
      const busy = await slow.inject('/readyz');
      expect(busy.statusCode).toBe(503);
      expect(busy.json()).toMatchObject({ status: 'not ready', permits: { inFlight: 1, max: 1, free: 0 } });
      expect((await slow.inject('/healthz')).statusCode).toBe(200);
      expect((await pending).statusCode).toBe(200);
      expect((await slow.inject('/readyz')).statusCode).toBe(200);
    } finally {
      await slow.close();
    }
  });
});

describe('a worker thread that dies', () => {
  it('is restarted, counted in /metrics, and scores as before; meanwhile requests get a 503 that says to retry', async () => {
    const before = (await score()).json().results[0].reward;
    const worker = app.scoring.model(NAME).worker!;
    await worker.crash();
    // Down until the new thread has loaded the model: not ready, still live, requests told to retry.
    const down = await app.inject('/readyz');
    expect(down.statusCode).toBe(503);
    expect(down.json().models).toEqual([{ name: NAME, alive: false, restarts: 0 }]);
    expect((await app.inject('/healthz')).statusCode).toBe(200);
    const refused = await score();
    expect(refused.statusCode).toBe(503);
    expect(refused.json()).toMatchObject({ code: 'ALIGNKIT_ERR_UNAVAILABLE', error_type: 'unhealthy' });
    expect(refused.json().error).toMatch(/retry/);

    expect(await settle(readyStatus, 200, 10_000)).toBe(200);
    expect(await metricValue(app, 'alignkit_worker_restarts_total', `{model="${NAME}"}`)).toBe(1);
    expect(await metricValue(app, 'alignkit_worker_up', `{model="${NAME}"}`)).toBe(1);
    expect((await app.inject('/readyz')).json().models).toEqual([{ name: NAME, alive: true, restarts: 1 }]);
    const after = await score();
    expect(after.statusCode).toBe(200);
    expect(after.json().results[0].reward).toBeCloseTo(before, 5);
  });

  it('a request waiting on a worker that dies gets a 503, not a 500; the run before the crash completes', async () => {
    const heavy = Array.from({ length: 32 }, (_, i) => ({ prompt: 'the quick brown fox jumps over the lazy dog '.repeat(2) + i, response: 'ok' }));
    const running = app.inject({ method: 'POST', url: '/v1/score', payload: { items: heavy } });
    await new Promise((r) => setTimeout(r, 20)); // its batch is in the worker
    const crashed = app.scoring.model(NAME).worker!.crash(); // the thread exits after that run
    const waiting = await score(); // sent to the worker behind the crash
    expect((await running).statusCode).toBe(200);
    expect(waiting.statusCode).toBe(503);
    expect(waiting.json().code).toBe('ALIGNKIT_ERR_UNAVAILABLE');
    await crashed;
    expect(await settle(readyStatus, 200, 10_000)).toBe(200);
  });
});
