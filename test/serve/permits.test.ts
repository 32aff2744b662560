// Regression tests for #12 §1, "concurrency permits leak when a client goes away": every way a
// client can leave (time-out, a Content-Length that lies, an SSE stream dropped, a client process
// killed mid-body) must give its permit back exactly once, so `alignkit_requests_in_flight` returns
// to 0 and the server never answers 429 forever. Real sockets on a listening port throughout.
import { spawn } from 'node:child_process';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { RewardModel } from '../../src/rewards/index.js';
import { Generator } from '../../src/generate/index.js';
import { buildServer } from '../../src/serve/index.js';
import { generateRoutes } from '../../src/serve/routes/generate.js';
import { LinearRewardModel } from '../rewards/support/linear-reward-model.js';
import { addressOf, connect, metricValue, postHead, readUntilClose, settle, sleep } from './support/sockets.js';

const LM = path.resolve('data/models/tiny-gpt2');
const MAX = 4;
let app: FastifyInstance;
let url: string;

/** The real tiny LM, each decoding step slowed so a disconnect lands mid-generation. */
async function slowGenerator(msPerStep: number): Promise<Generator> {
  const gen = await Generator.load(LM);
  const step = gen.base.step.bind(gen.base);
  gen.base.step = async (inputs) => {
    await sleep(msPerStep);
    return step(inputs);
  };
  return gen;
}

let model: RewardModel;
let gen: Generator;
beforeAll(async () => {
  [model, gen] = await Promise.all([LinearRewardModel.create('len', ['score'], [[1], [2], [-1]]), slowGenerator(20)]);
});

// A fresh server per test, so one leak cannot fail the tests after it. A 100 ms collection window
// keeps every scoring request in flight long enough to walk away from.
beforeEach(async () => {
  app = buildServer({ rewardModels: [model], config: { maxConcurrent: MAX, batchWindowMs: 100 }, plugins: [generateRoutes(gen, { maxNewTokens: 60, maxN: 4 })] });
  url = await app.listen({ port: 0, host: '127.0.0.1' });
});
afterEach(() => app?.close());

const inFlight = () => metricValue(app, 'alignkit_requests_in_flight');
const scoreBody = JSON.stringify({ items: [{ prompt: 'p', response: 'hello' }] });

async function expectAllPermitsBack(): Promise<void> {
  expect(await settle(inFlight, 0)).toBe(0);
  // More requests than the cap, one after another: none may find the permits gone.
  for (let i = 0; i < MAX + 1; i++) {
    const r = await fetch(`${url}/v1/score`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: scoreBody });
    expect(r.status).toBe(200);
  }
  expect(await inFlight()).toBe(0);
}

describe('permits come back whichever way a client leaves', () => {
  it('client time-outs: the socket closes after the body was read, before the answer', async () => {
    const calls = Array.from({ length: MAX * 2 }, () =>
      fetch(`${url}/v1/score`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: scoreBody, signal: AbortSignal.timeout(30) }).catch((e: Error) => e),
    );
    const outcomes = await Promise.all(calls);
    expect(outcomes.filter((o) => o instanceof Error).length).toBeGreaterThan(0);
    await expectAllPermitsBack();
  });

  it('a Content-Length 5 bytes short (Node answers 400 to the rest)', async () => {
    const sockets = await Promise.all(Array.from({ length: MAX * 3 }, () => connect(app)));
    const answers = sockets.map((s) => {
      const answer = readUntilClose(s);
      s.write(postHead('/v1/score', scoreBody, Buffer.byteLength(scoreBody) - 5) + scoreBody);
      return answer;
    });
    for (const a of await Promise.all(answers)) expect(a).toMatch(/^HTTP\/1\.1 4\d\d/);
    await expectAllPermitsBack();
  });

  it('a client process killed mid-body', async () => {
    const { host, port } = addressOf(app);
    const head = postHead('/v1/score', scoreBody);
    const half = scoreBody.slice(0, 10);
    const script = `const s = require('net').connect(${port}, '${host}', () => s.write(${JSON.stringify(head + half)}, () => console.log('sent'))); setInterval(() => {}, 1000);`;
    const kills = Array.from({ length: MAX }, () =>
      new Promise<void>((resolve) => {
        const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
        child.stdout.once('data', () => child.kill('SIGKILL'));
        child.once('exit', () => resolve());
      }),
    );
    await Promise.all(kills);
    await expectAllPermitsBack();
  });

  it('a raw keep-alive socket destroyed while its request waits for a batch', async () => {
    const s = await connect(app);
    s.write(postHead('/v1/score', scoreBody) + scoreBody);
    await sleep(20);
    s.destroy();
    await expectAllPermitsBack();
  });
});

describe('generation routes', () => {
  const post = (route: string, body: unknown, signal?: AbortSignal) =>
    fetch(`${url}${route}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), signal });

  it('a streamed /v1/generate that runs to its end', async () => {
    for (let i = 0; i < MAX + 1; i++) {
      const r = await post('/v1/generate', { prompt: 'Once', max_tokens: 2, greedy: true, stream: true });
      expect(r.status).toBe(200);
      expect(await r.text()).toContain('event: done');
    }
    await expectAllPermitsBack();
  });

  it('an SSE client of /v1/generate that disconnects mid-stream', async () => {
    for (let i = 0; i < MAX + 1; i++) {
      const ctl = new AbortController();
      const r = await post('/v1/generate', { prompt: 'Once', max_tokens: 60, greedy: true, stream: true }, ctl.signal);
      await r.body!.getReader().read();
      ctl.abort();
    }
    await expectAllPermitsBack();
  });

  it('a /v1/best-of-n client that disconnects mid-generation', async () => {
    const calls = Array.from({ length: MAX }, () => post('/v1/best-of-n', { prompt: 'Once', n: 2, max_tokens: 60 }, AbortSignal.timeout(100)).catch((e: Error) => e));
    for (const o of await Promise.all(calls)) expect(o).toBeInstanceOf(Error);
    await expectAllPermitsBack();
  });
});
