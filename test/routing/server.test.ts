import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readRows } from '../../src/datasets/index.js';
import { routingPlugin } from '../../src/routing/server.js';
import { openLabelStore, type LabelStore } from '../../src/routing/store/label-store.js';
import { rewardScorerJudge } from '../../src/routing/pipeline.js';
import { fitPpm } from '../../src/routing/ppm/model.js';
import { readMixTable, VALIDATION_SET_FILE } from '../../src/routing/ppm/mixes.js';

const ADMIN = 'admin-secret';
let dir: string;
let store: LabelStore;
let app: FastifyInstance;
let baseUrl: string;

// A real judge function: the longer response wins (a length-preferring "reward model").
const judge = rewardScorerJudge('length-judge', async (_prompt, response) => response.length);

const pairs = Array.from({ length: 8 }, (_, i) => ({
  id: `q${i}`,
  prompt: i % 2 ? `Write a short poem number ${i} about the sea.` : `Calculate ${i} plus ${i}.`,
  response_a: `Answer ${i}`,
  response_b: i % 3 ? `A longer answer for ${i} with more words in it` : `No`,
}));

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'alignkit-routing-server-'));
  store = openLabelStore({ path: path.join(dir, 'labels.sqlite') });
  app = Fastify();
  const model = fitPpm(readMixTable(VALIDATION_SET_FILE).data, { ridge: 1 });
  await app.register(routingPlugin({ store, model, judge, adminKey: ADMIN }), { prefix: '/routing' });
  baseUrl = `${await app.listen({ port: 0, host: '127.0.0.1' })}/routing`;
});

afterAll(async () => {
  await app.close();
  store.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

const admin = { authorization: `Bearer ${ADMIN}` };

describe('routing plugin', () => {
  let alice: { id: string; apiKey: string };
  let bob: { id: string; apiKey: string };

  it('admin routes need the admin key (401 without, 403 with another key)', async () => {
    const none = await app.inject({ method: 'POST', url: '/routing/pairs', payload: { pairs } });
    expect(none.statusCode).toBe(401);
    expect(none.json().error.code).toBe('ALIGNKIT_ERR_UNAUTHORIZED');
    const wrong = await app.inject({ method: 'POST', url: '/routing/pairs', payload: { pairs }, headers: { 'x-api-key': 'nope' } });
    expect(wrong.statusCode).toBe(403);
    expect(wrong.json().error.code).toBe('ALIGNKIT_ERR_FORBIDDEN');
  });

  it('validates bodies against the route schemas', async () => {
    const bad = await app.inject({ method: 'POST', url: '/routing/pairs', payload: { pairs: [{ id: 'x' }] }, headers: admin });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.code).toBe('ALIGNKIT_ERR_BAD_REQUEST');
  });

  it('submits a pool, routes it with topk, creates annotators', async () => {
    const submitted = await app.inject({ method: 'POST', url: '/routing/pairs', payload: { pairs }, headers: admin });
    expect(submitted.json()).toEqual({ inserted: 8, existing: 0 });
    const routed = await app.inject({ method: 'POST', url: '/routing/route', payload: { strategy: 'topk', budget: 0.5 }, headers: admin });
    expect(routed.statusCode).toBe(200);
    expect(routed.json()).toMatchObject({ human: 4, ai: 4, featuresComputed: 8 });
    expect(typeof routed.json().predicted).toBe('number');
    const unknown = await app.inject({ method: 'POST', url: '/routing/route', payload: { strategy: 'best', budget: 0.5 }, headers: admin });
    expect(unknown.statusCode).toBe(400);
    expect(unknown.json().error.code).toBe('ALIGNKIT_ERR_UNKNOWN_NAME');
    const a = await app.inject({ method: 'POST', url: '/routing/annotators', payload: { name: 'alice' }, headers: admin });
    expect(a.statusCode).toBe(201);
    alice = a.json();
    bob = (await app.inject({ method: 'POST', url: '/routing/annotators', payload: { name: 'bob' }, headers: admin })).json();
  });

  it('annotator routes: 401 without or with an unknown key; next pair is a human-routed one', async () => {
    expect((await app.inject({ method: 'GET', url: '/routing/next' })).statusCode).toBe(401);
    const unknown = await app.inject({ method: 'GET', url: '/routing/next', headers: { 'x-api-key': 'ak_unknown' } });
    expect(unknown.statusCode).toBe(401);
    expect(unknown.json().error.message).toMatch(/unknown API key/);
    const next = await app.inject({ method: 'GET', url: '/routing/next', headers: { authorization: `Bearer ${alice.apiKey}` } });
    expect(next.statusCode).toBe(200);
    const run = store.latestRun()!;
    const human = store.decisions(run.id).filter((d) => d.route === 'human').map((d) => d.pairId);
    expect(human).toContain(next.json().pair.id);
    expect(next.json().annotator.name).toBe('alice');
  });

  it('labels are idempotent per annotator and pair, and only their annotator may change them (real port)', async () => {
    const next = await (await fetch(`${baseUrl}/next`, { headers: { 'x-api-key': alice.apiKey } })).json();
    const post = (key: string, body: object) =>
      fetch(`${baseUrl}/labels`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-api-key': key }, body: JSON.stringify(body) });
    const first = await post(alice.apiKey, { pairId: next.pair.id, scale: 2, confidence: 0.67 });
    expect(first.status).toBe(201);
    const label = (await first.json()).label;
    const again = await post(alice.apiKey, { pairId: next.pair.id, scale: 2, confidence: 0.67 });
    expect(again.status).toBe(200);
    expect(await again.json()).toMatchObject({ created: false, changed: false, label: { id: label.id } });
    expect(store.humanLabels(next.pair.id)).toHaveLength(1);

    const steal = await fetch(`${baseUrl}/labels/${label.id}`, { method: 'PUT', headers: { 'content-type': 'application/json', 'x-api-key': bob.apiKey }, body: JSON.stringify({ scale: -2 }) });
    expect(steal.status).toBe(403);
    expect((await steal.json()).error.code).toBe('ALIGNKIT_ERR_FORBIDDEN');
    const own = await fetch(`${baseUrl}/labels/${label.id}`, { method: 'PUT', headers: { 'content-type': 'application/json', authorization: `Bearer ${alice.apiKey}` }, body: JSON.stringify({ scale: -1, confidence: 1 }) });
    expect(own.status).toBe(200);
    expect((await own.json()).label).toMatchObject({ id: label.id, preference: 'A', scale: -1 });
    const missing = await post(alice.apiKey, { pairId: 'nope', scale: 0 });
    expect(missing.status).toBe(404);
  });

  it('gets AI labels for the AI-routed pairs from the configured judge and exports the mix', async () => {
    const res = await app.inject({ method: 'POST', url: '/routing/ai-labels', payload: {}, headers: admin });
    expect(res.json()).toEqual({ judge: 'length-judge', labelled: 4 });
    const exported = await app.inject({ method: 'GET', url: '/routing/export', headers: admin });
    expect(exported.headers['content-type']).toMatch(/ndjson/);
    const rows = exported.body.trim().split('\n').map((l) => JSON.parse(l));
    expect(rows).toHaveLength(8);
    const human = rows.filter((r) => r.label_source === 'human');
    expect(human).toHaveLength(1);
    expect(human[0]).toMatchObject({ preference: 'A', annotators: alice.id, n_human_labels: 1 });
    for (const r of rows.filter((r) => r.label_source === 'ai')) {
      const p = pairs.find((q) => q.id === r.id)!;
      expect(r.route).toBe('ai');
      expect(r.judge).toBe('length-judge');
      expect(r.preference).toBe(p.response_a.length > p.response_b.length ? 'A' : 'B');
      expect(r.chosen).toBe(r.preference === 'A' ? p.response_a : p.response_b);
    }
  });

  it.each(['parquet', 'arrow'])('exports %s through alignkit/datasets', async (format) => {
    const res = await app.inject({ method: 'GET', url: `/routing/export?format=${format}`, headers: admin });
    expect(res.statusCode).toBe(200);
    const file = path.join(dir, `out.${format}`);
    fs.writeFileSync(file, res.rawPayload);
    const rows = [];
    for await (const { row } of readRows(file)) rows.push(row);
    expect(rows).toHaveLength(8);
    expect(rows.filter((r) => r.label_source === 'human')).toHaveLength(1);
    expect(rows.filter((r) => r.label_source === 'ai').every((r) => r.judge === 'length-judge')).toBe(true);
  });

  it('serves the annotator page with no external assets', async () => {
    const res = await app.inject({ method: 'GET', url: '/routing/annotate' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/text\/html/);
    expect(res.headers['content-security-policy']).toContain("default-src 'none'");
    expect(res.body).not.toMatch(/(src|href)=["']https?:/);
    expect(res.body).toContain('A is clearly better');
  });
});
