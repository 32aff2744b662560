// The reliability suite of #12 §1, on real sockets: a bounded fuzz of every POST route (no 5xx,
// every error in the envelope), load with client time-outs and disconnects after which no permit is
// left taken, and inference workers killed under load and restarted. The figures it prints are the
// ones the README's reliability section quotes.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Generator } from '../../src/generate/index.js';
import { buildServer, FIXTURE_MODEL } from '../../src/serve/index.js';
import { generateRoutes } from '../../src/serve/routes/generate.js';
import { fuzzCases } from './support/fuzz.js';
import { load } from './support/load.js';
import { connect, metricValue, postHead, settle, sleep } from './support/sockets.js';

const LM = path.resolve('data/models/tiny-gpt2');
const PER_ROUTE = 400; // 6 routes: 2,400 cases
let gen: Generator;
const logged: string[] = [];

beforeAll(async () => {
  gen = await Generator.load(LM, [{ dir: LM, alpha: 0.5, name: 'arm' }]);
});

/**
 * A server on a real port with the fixture reward model in its worker and the generation routes;
 * each check gets its own, so the work a load run leaves queued cannot slow the next check.
 */
async function serve(): Promise<{ app: FastifyInstance; url: string }> {
  const app = buildServer({
    config: { models: [FIXTURE_MODEL], maxClientBatch: 8, maxConcurrent: 64 },
    plugins: [generateRoutes(gen, { maxNewTokens: 8, maxN: 3 })],
    // Errors the server logs (every 5xx is logged with its cause) are kept to explain a failure.
    logger: { level: 'error', stream: { write: (line: string) => void logged.push(line) } },
  });
  return { app, url: await app.listen({ port: 0, host: '127.0.0.1' }) };
}

let app: FastifyInstance;
let url: string;
beforeEach(async () => {
  ({ app, url } = await serve());
});
afterEach(() => app?.close());

const inFlight = () => metricValue(app, 'alignkit_requests_in_flight');
const scoreBody = (i: number) => JSON.stringify({ items: [{ prompt: `Question ${i}: ${'why '.repeat(i % 20)}?`, response: `Answer ${i}.` }] });

async function pool<T>(items: T[], width: number, run: (x: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: width }, async () => {
    while (next < items.length) await run(items[next++]!);
  }));
}

describe('fuzz', () => {
  it(`${PER_ROUTE * 6} malformed and odd requests over every POST route: no 5xx, every error in the envelope`, async () => {
    const cases = fuzzCases(20261207, PER_ROUTE);
    const byStatus: Record<string, number> = {};
    const failures: string[] = [];
    await pool(cases, 8, async (c) => {
      const r = await fetch(`${url}${c.route}`, { method: 'POST', headers: { 'content-type': c.contentType }, body: c.body });
      const text = await r.text();
      byStatus[r.status] = (byStatus[r.status] ?? 0) + 1;
      if (r.status >= 500) failures.push(`${r.status} ${c.route} ${c.body.slice(0, 300)} -> ${text.slice(0, 300)}`);
      else if (r.status >= 400) {
        const body = JSON.parse(text);
        if (typeof body.code !== 'string' || body.statusCode !== r.status || typeof body.requestId !== 'string') failures.push(`not the envelope: ${c.route} -> ${text.slice(0, 200)}`);
      }
    });
    console.log(`fuzz: ${cases.length} requests over ${Object.keys(byStatus).length} statuses ${JSON.stringify(byStatus)}; 5xx: ${failures.filter((f) => /^5/.test(f)).length}`);
    expect(failures, `${failures.join('\n')}\n${logged.join('')}`).toEqual([]);
    expect(cases.length).toBeGreaterThanOrEqual(2000);
    expect(Object.keys(byStatus).filter((s) => Number(s) >= 500)).toEqual([]);
    expect(byStatus[200]).toBeGreaterThan(0); // the fuzz also reaches the models, not only validation
    expect(await settle(inFlight, 0)).toBe(0);
  });
});

/** Clients that walk away: sockets destroyed mid-wait, Content-Lengths that lie, SSE streams dropped. */
async function rudeClients(until: number): Promise<number> {
  let count = 0;
  while (Date.now() < until) {
    const kind = count % 4;
    count++;
    if (kind === 3) {
      const ctl = new AbortController();
      const r = await fetch(`${url}/v1/generate`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ prompt: 'Once', max_tokens: 8, stream: true }), signal: ctl.signal }).catch(() => undefined);
      if (r?.body) await r.body.getReader().read().catch(() => undefined);
      ctl.abort();
      continue;
    }
    const s = await connect(app).catch(() => undefined);
    if (!s) continue;
    s.on('error', () => undefined);
    const body = scoreBody(count);
    if (kind === 0) s.write(postHead('/v1/score', body) + body);
    if (kind === 1) s.write(postHead('/v1/score', body, Buffer.byteLength(body) - 5) + body);
    if (kind === 2) s.write(postHead('/v1/score', body) + body.slice(0, 8));
    await sleep(count % 30);
    s.destroy();
  }
  return count;
}

describe('load with client time-outs and disconnects', () => {
  it('leaves no permit taken: in-flight returns to 0 and the server keeps answering', async () => {
    // Light and heavy requests (8 items of a full 128-token window): at 64 and 256 connections the
    // heavy ones wait for seconds, past the 1 s client time-out, which drops them with their sockets.
    const heavy = JSON.stringify({ truncate: true, items: Array.from({ length: 8 }, (_, i) => ({ prompt: `${i} ${'the quick brown fox jumps over the lazy dog '.repeat(12)}`, response: 'It jumps.' })) });
    const bodies = Array.from({ length: 64 }, (_, i) => (i % 4 === 0 ? heavy : scoreBody(i)));
    const phases = [];
    for (const connections of [64, 256]) {
      const rude = rudeClients(Date.now() + 8000);
      const result = await load({ url, connections, duration: 8, timeout: 1, path: '/v1/score', bodies });
      phases.push({ connections, ...result, rude: await rude });
    }
    const after = await settle(inFlight, 0, 30_000);
    console.log(`load: ${JSON.stringify(phases)}; in-flight after: ${after}`);
    for (const p of phases) expect(Object.keys(p.statuses).filter((s) => Number(s) >= 500)).toEqual([]);
    expect(phases.reduce((n, p) => n + p.timeouts, 0)).toBeGreaterThan(0);
    expect(phases.reduce((n, p) => n + p.rude, 0)).toBeGreaterThan(0);
    expect(after).toBe(0);
    expect(await settle(async () => (await fetch(`${url}/readyz`)).status, 200, 60_000)).toBe(200);
    const r = await fetch(`${url}/v1/score`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: scoreBody(1) });
    expect(r.status).toBe(200);
  });
});

describe('inference workers killed under load', () => {
  it('are restarted; meanwhile requests get 503 (retry), never 500; afterwards all is as before', async () => {
    const bodies = Array.from({ length: 64 }, (_, i) => scoreBody(i));
    const worker = app.scoring.models[0]!.worker!;
    const restartsBefore = worker.restarts;
    const kills = (async () => {
      for (let k = 0; k < 3; k++) {
        await sleep(1500);
        await settle(async () => (worker.healthy ? 1 : 0), 1, 10_000);
        await worker.crash();
      }
    })();
    const result = await load({ url, connections: 32, duration: 8, path: '/v1/score', bodies });
    await kills;
    expect(await settle(async () => (await fetch(`${url}/readyz`)).status, 200, 10_000)).toBe(200);
    console.log(`worker kills: ${JSON.stringify(result)}; restarts: ${worker.restarts - restartsBefore}`);
    expect(Object.keys(result.statuses).sort()).toEqual(result.statuses[503] ? ['200', '503'] : ['200']);
    expect(result.errors + result.timeouts).toBe(0);
    expect(worker.restarts - restartsBefore).toBe(3);
    expect(await metricValue(app, 'alignkit_worker_restarts_total', `{model="${worker.name}"}`)).toBe(worker.restarts);
    expect(await settle(inFlight, 0)).toBe(0);
  });

  it('one that cannot be restarted (its model directory is gone) fails liveness', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'alignkit-dead-worker-'));
    fs.cpSync(FIXTURE_MODEL.dir, dir, { recursive: true });
    const doomed = buildServer({ config: { models: [{ dir, name: 'doomed' }] } });
    await doomed.ready();
    try {
      fs.rmSync(dir, { recursive: true, force: true });
      await doomed.scoring.model('doomed').worker!.crash();
      const live = async () => (await doomed.inject('/healthz')).statusCode;
      expect(await settle(live, 503, 15_000)).toBe(503);
      expect((await doomed.inject('/healthz')).json()).toEqual({ status: 'unhealthy', models: ['doomed'], dead: ['doomed'] });
      expect((await doomed.inject('/readyz')).statusCode).toBe(503);
    } finally {
      await doomed.close();
    }
  });
});
