// The annotation part of the reliability suite, on SQLite and on PostgreSQL: two annotator server
// processes on one store, annotators working through them concurrently over real sockets.
// - Quotas: no pair is handed to, or labelled by, more annotators than labelsPerPair.
// - Durability: 20 kill -9, alternating between the two servers, lose no acknowledged label.
// - A bounded fuzz of every routing write route (ids with lone surrogates, NUL, wrong types,
//   deep nesting, broken JSON): never a 5xx, and the pool can still be routed and exported.

import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRng, type Rng } from '../../src/routing/rng.js';
import { rewardScorerJudge } from '../../src/routing/pipeline.js';
import { routingPlugin } from '../../src/routing/server.js';
import { openLabelStore } from '../../src/routing/store/index.js';
import { annotate, seedStore, startServer, type Ack, type AnnotatorServer } from './annotators.js';
import { backendsUnderTest } from './store-backends.js';

async function storedLabels(location: string) {
  const store = await openLabelStore(location);
  try {
    return await store.humanLabels();
  } finally {
    await store.close();
  }
}

describe.each(backendsUnderTest())('annotation on $name', (backend) => {
  const servers: AnnotatorServer[] = [];
  beforeAll(() => backend.start(), 60_000);
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.kill()));
    await backend.stop();
  });

  it('two servers, 16 annotators at once: every pair gets exactly labelsPerPair labels, from as many annotators as it was handed to', async () => {
    const location = await backend.location();
    const { pairIds, annotators } = await seedStore(location, 60, 16);
    const pair = [await startServer(location, 2), await startServer(location, 2)];
    servers.push(...pair);
    const acks: Ack[] = [];
    const handed = new Map<string, Set<string>>();
    let turn = 0;
    await Promise.all(annotators.map((a) => annotate(a, () => pair[turn++ % 2].address, acks, handed)));
    const labels = await storedLabels(location);
    expect(labels).toHaveLength(pairIds.length * 2);
    for (const id of pairIds) {
      expect(labels.filter((l) => l.pairId === id)).toHaveLength(2);
      expect(handed.get(id)?.size).toBe(2);
    }
    expect(acks).toHaveLength(labels.length);
    await Promise.all(pair.map((s) => s.kill()));
  });

  it('20 kill -9 of either of two servers lose no acknowledged label and break no quota', async () => {
    const location = await backend.location();
    // Large enough that the annotators never run out while a killed server restarts (a few seconds each).
    const { annotators } = await seedStore(location, 5000, 8);
    const live = [await startServer(location, 1), await startServer(location, 1)];
    servers.push(...live);
    const acks: Ack[] = [];
    const handed = new Map<string, Set<string>>();
    let turn = 0;
    let done = false;
    let failed: unknown;
    let finished = 0;
    const working = annotators.map((a) =>
      annotate(a, () => live[turn++ % 2].address, acks, handed, () => done).then(
        () => void finished++,
        (e) => void (failed ??= e),
      ),
    );
    for (let kill = 0; kill < 20; kill++) {
      const before = acks.length;
      while (acks.length < before + 10) {
        if (failed) throw failed;
        if (finished === annotators.length) throw new Error(`the pool ran out after ${kill} kills`);
        await new Promise((r) => setTimeout(r, 2));
      }
      const victim = kill % 2;
      await live[victim].kill();
      expect(live[victim].child.signalCode).toBe('SIGKILL');
      live[victim] = await startServer(location, 1);
      servers.push(live[victim]);
    }
    done = true;
    await Promise.all(working);
    await Promise.all(live.map((s) => s.kill()));

    const labels = await storedLabels(location);
    const stored = new Map(labels.map((l) => [`${l.annotatorId}/${l.pairId}`, l.scale]));
    const lost = acks.filter((a) => stored.get(`${a.annotatorId}/${a.pairId}`) !== a.scale).length;
    console.info(`durability on ${backend.name}: 20 kill -9 over two servers, ${acks.length} labels acknowledged, ${labels.length} stored, ${lost} lost`);
    expect(acks.length).toBeGreaterThanOrEqual(200);
    for (const ack of acks) expect(stored.get(`${ack.annotatorId}/${ack.pairId}`)).toBe(ack.scale);
    const perPair = new Map<string, number>();
    for (const l of labels) perPair.set(l.pairId, (perPair.get(l.pairId) ?? 0) + 1);
    expect(Math.max(...perPair.values())).toBe(1);
    for (const who of handed.values()) expect(who.size).toBe(1);
  }, 600_000);

  it('a bounded fuzz of the routing write routes never answers 5xx, and the pool still routes and exports', async () => {
    const store = await openLabelStore(await backend.location());
    const app = Fastify();
    await app.register(routingPlugin({ store, judge: rewardScorerJudge('len', async (_p, r) => r.length) }), { prefix: '/routing' });
    const rng = createRng(12);
    const annotator = await store.createAnnotator('fuzzer', 'fuzzer');
    const statuses = new Map<number, number>();
    const cases = 2400;
    for (let i = 0; i < cases; i++) {
      const { method, url, payload, key } = fuzzCase(rng, i);
      const headers = { ...(payload && { 'content-type': 'application/json' }), 'x-api-key': key === 'annotator' ? annotator.apiKey : 'unused' };
      const res = await app.inject({ method, url, payload, headers });
      statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1);
      if (res.statusCode >= 500) throw new Error(`case ${i}: ${method} ${url} ${payload.slice(0, 300)} answered ${res.statusCode} ${res.body}`);
    }
    console.info(`routing fuzz on ${backend.name}: ${cases} requests, statuses ${JSON.stringify(Object.fromEntries([...statuses].sort((a, b) => a[0] - b[0])))}`);
    expect([...statuses.keys()].every((s) => s < 500)).toBe(true);
    expect(statuses.get(200)! + (statuses.get(201) ?? 0)).toBeGreaterThan(50); // the fuzz also reached the handlers
    expect((await app.inject({ method: 'POST', url: '/routing/pairs', payload: { pairs: [{ id: 'fine', prompt: 'p', response_a: 'a', response_b: 'bb' }] } })).statusCode).toBe(200);
    const routed = await app.inject({ method: 'POST', url: '/routing/route', payload: { strategy: 'random', budget: 0.5 } });
    expect(routed.statusCode).toBe(200);
    const exported = await app.inject({ method: 'GET', url: '/routing/export' });
    expect(exported.statusCode).toBe(200);
    expect(exported.body.trim().split('\n').length).toBe(await store.countPairs());
    await app.close();
    await store.close();
  }, 600_000);
});

// ---- fuzz cases

const NASTY_STRINGS = ['\ud800', 'a\udfffb', '\udbff\udbff', 'x\u0000y', '', ' ', '😀', '\u202e', '../..', 'x'.repeat(20_000), '%00', 'null'];
const deepJson = (n: number) => '{"a":'.repeat(n) + '1' + '}'.repeat(n);
const deepArray = (n: number) => '['.repeat(n) + ']'.repeat(n);

function value(rng: Rng): string {
  const kinds: (() => string)[] = [
    () => JSON.stringify(NASTY_STRINGS[rng.int(NASTY_STRINGS.length)]),
    () => JSON.stringify(`id-${rng.int(20)}`),
    () => String([0, -1, 1e308, 3.5, 2 ** 53, -0][rng.int(6)]),
    () => ['null', 'true', 'false', '[]', '{}'][rng.int(5)],
    () => deepJson(1 + rng.int(6000)),
    () => deepArray(1 + rng.int(6000)),
    () => JSON.stringify({ k: NASTY_STRINGS[rng.int(NASTY_STRINGS.length)] }),
  ];
  return kinds[rng.int(kinds.length)]();
}

/** A body with the route's fields, each either sensible or replaced by a hostile value. */
function body(rng: Rng, fields: Record<string, () => string>): string {
  const entries = Object.entries(fields).filter(() => rng.next() < 0.9);
  if (rng.next() < 0.2) entries.push([NASTY_STRINGS[rng.int(NASTY_STRINGS.length)], () => value(rng)]);
  return `{${entries.map(([k, sensible]) => `${JSON.stringify(k)}:${rng.next() < 0.6 ? sensible() : value(rng)}`).join(',')}}`;
}

const id = (rng: Rng) => () => JSON.stringify(rng.next() < 0.7 ? `id-${rng.int(20)}` : NASTY_STRINGS[rng.int(NASTY_STRINGS.length)]);
const text = (rng: Rng) => () => JSON.stringify(rng.next() < 0.8 ? `text ${rng.int(1000)}` : NASTY_STRINGS[rng.int(NASTY_STRINGS.length)]);
const pair = (rng: Rng) => () => body(rng, { id: id(rng), prompt: text(rng), response_a: text(rng), response_b: text(rng), extra: () => (rng.next() < 0.5 ? '{"source":"fuzz"}' : deepJson(1 + rng.int(200))) });

function fuzzCase(rng: Rng, i: number): { method: 'POST' | 'PUT' | 'DELETE'; url: string; payload: string; key: 'admin' | 'annotator' } {
  const broken = ['{', '{"pairs":[', '{"pairs":[{"id":"x"}]', '\u0000', 'not json', '{"pairs":[' + '{"id":1},'.repeat(50)];
  if (i % 23 === 0) return { method: 'POST', url: ['/routing/pairs', '/routing/labels', '/routing/route'][rng.int(3)], payload: broken[rng.int(broken.length)], key: 'admin' };
  const routes: (() => { method: 'POST' | 'PUT' | 'DELETE'; url: string; payload: string; key: 'admin' | 'annotator' })[] = [
    () => ({ method: 'POST', url: '/routing/pairs', payload: `{"pairs":[${Array.from({ length: 1 + rng.int(4) }, pair(rng)).join(',')}]}`, key: 'admin' }),
    () => ({ method: 'POST', url: '/routing/route', payload: body(rng, { strategy: () => JSON.stringify(['random', 'topk', 'knapsack', 'x'][rng.int(4)]), budget: () => String(rng.next()), seed: () => String(rng.int(100)) }), key: 'admin' }),
    () => ({ method: 'POST', url: '/routing/annotators', payload: body(rng, { name: text(rng), id: id(rng) }), key: 'admin' }),
    () => ({ method: 'POST', url: '/routing/ai-labels', payload: body(rng, { pairIds: () => `[${id(rng)()}]` }), key: 'admin' }),
    () => ({ method: 'POST', url: '/routing/labels', payload: body(rng, { pairId: id(rng), scale: () => String(rng.int(5) - 2), confidence: () => String(rng.next()) }), key: 'annotator' }),
    () => ({ method: 'POST', url: '/routing/labels/override', payload: body(rng, { pairId: id(rng), annotatorId: () => JSON.stringify(rng.next() < 0.5 ? 'fuzzer' : 'ghost'), scale: () => String(rng.int(5) - 2) }), key: 'admin' }),
    () => ({ method: 'PUT', url: `/routing/labels/${[1, 2, 0, -1, 'x', '1e3'][rng.int(6)]}`, payload: body(rng, { scale: () => String(rng.int(5) - 2) }), key: 'annotator' }),
    () => ({ method: 'DELETE', url: `/routing/pairs/${encodeURIComponent(`id-${rng.int(20)}`)}${['', '', '', '%ED%A0%80', '%00', '%F0%9F%98%80'][rng.int(6)]}`, payload: '', key: 'admin' }),
  ];
  return routes[rng.int(routes.length)]();
}
