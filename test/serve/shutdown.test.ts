// Graceful shutdown (#18 §3): draining turns readiness false at once, keeps accepting for the drain
// delay, then refuses new connections while answering every request already on its way (those on an
// open keep-alive connection too, told to close it), and closes the sockets and the model workers
// only when they are answered or the shutdown time-out has passed. Real sockets throughout.
import net from 'node:net';
import type { FastifyInstance } from 'fastify';
import { describe, expect, it } from 'vitest';
import { buildServer, drain, FIXTURE_MODEL } from '../../src/serve/index.js';
import type { ServeConfig } from '../../src/serve/index.js';
import { LinearRewardModel } from '../rewards/support/linear-reward-model.js';
import { addressOf, connect, postHead, readUntilClose, sleep } from './support/sockets.js';

const body = JSON.stringify({ items: [{ prompt: 'p', response: 'hello' }] });

async function serve(config: Partial<ServeConfig>): Promise<{ app: FastifyInstance; url: string }> {
  const rm = await LinearRewardModel.create('len', ['score'], [[1], [2], [-1]]);
  const app = buildServer({ rewardModels: [rm], config });
  const url = await app.listen({ port: 0, host: '127.0.0.1' });
  return { app, url };
}

function refused({ host, port }: { host: string; port: number }): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, host);
    s.once('connect', () => (s.destroy(), resolve(false)));
    s.once('error', () => resolve(true));
  });
}

describe('drain', () => {
  it('not ready at once; answers in-flight and keep-alive requests; refuses new connections; then closes', async () => {
    // The delay is long enough for the requests made during it even on a loaded machine, and the
    // first request (in its 1.5 s batch window) is still in flight when the delay is over.
    const { app, url } = await serve({ batchWindowMs: 1500, drainDelayMs: 600 });
    const address = addressOf(app);
    const inFlight = fetch(`${url}/v1/score`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    const keptAlive = await connect(app); // opened before the drain, used after it stops accepting
    await sleep(50);
    const drained = drain(app, app.serveConfig);

    // During the drain delay: readiness false, still accepting and serving.
    const ready = await fetch(`${url}/readyz`);
    expect(ready.status).toBe(503);
    expect(await ready.json()).toMatchObject({ status: 'not ready', draining: true });
    expect(ready.headers.get('connection')).toBe('close');
    expect((await fetch(`${url}/healthz`)).status).toBe(200);

    await sleep(700); // past the delay: no new connections
    expect(await refused(address)).toBe(true);
    const answer = readUntilClose(keptAlive);
    keptAlive.write(postHead('/v1/score', body) + body);
    const late = await answer;
    expect(late).toMatch(/^HTTP\/1\.1 200/);
    expect(late.toLowerCase()).toContain('connection: close');

    expect((await inFlight).status).toBe(200);
    await drained;
    expect(app.server.listening).toBe(false);
  });

  it('closes the model workers only after the in-flight requests are answered', async () => {
    const app = buildServer({ config: { models: [FIXTURE_MODEL], batchWindowMs: 300 } });
    const url = await app.listen({ port: 0, host: '127.0.0.1' });
    const worker = app.scoring.models[0]!.worker!;
    const pending = fetch(`${url}/v1/score`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    await sleep(50);
    await drain(app, app.serveConfig);
    const r = await pending;
    expect(r.status).toBe(200);
    expect(Number.isFinite((await r.json()).results[0].reward)).toBe(true);
    expect(worker.healthy).toBe(false);
  });

  it('cuts requests still running after the shutdown time-out', async () => {
    const { app, url } = await serve({ batchWindowMs: 5000, shutdownTimeoutMs: 200 });
    const stuck = fetch(`${url}/v1/score`, { method: 'POST', headers: { 'content-type': 'application/json' }, body }).catch((e: Error) => e);
    await sleep(50);
    const t0 = Date.now();
    await drain(app, app.serveConfig);
    expect(Date.now() - t0).toBeLessThan(2000);
    expect(await stuck).toBeInstanceOf(Error);
  });

  it('a plain close() is graceful too, and does not wait for idle keep-alive sockets', async () => {
    const { app, url } = await serve({ batchWindowMs: 200 });
    const idle = await connect(app); // opened, never used: Node's close() alone leaves it open
    const pending = fetch(`${url}/v1/score`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    await sleep(30);
    const t0 = Date.now();
    await app.close();
    expect(Date.now() - t0).toBeLessThan(1500);
    expect((await pending).status).toBe(200);
    const closed = new Promise<boolean>((resolve) => (idle.closed ? resolve(true) : idle.once('close', () => resolve(true))));
    expect(await Promise.race([closed, sleep(1000).then(() => false)])).toBe(true);
  });
});
