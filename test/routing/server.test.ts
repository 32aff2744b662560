import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readRows } from '../../src/datasets/index.js';
import { routingPlugin } from '../../src/routing/server.js';
import { openLabelStore, type LabelStore } from '../../src/routing/store/index.js';
import { rewardScorerJudge } from '../../src/routing/pipeline.js';
import { fitPpm } from '../../src/routing/ppm/model.js';
import { readMixTable, VALIDATION_SET_FILE } from '../../src/routing/ppm/mixes.js';
import { buildServer } from '../../src/serve/index.js';
import { LinearRewardModel } from '../rewards/support/linear-reward-model.js';

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
  store = await openLabelStore(path.join(dir, 'labels.sqlite'));
  // A default Fastify(): the plugin must validate and answer errors on its own.
  app = Fastify();
  const model = fitPpm(readMixTable(VALIDATION_SET_FILE).data, { ridge: 1 });
  await app.register(routingPlugin({ store, model, judge, adminKey: ADMIN }), { prefix: '/routing' });
  baseUrl = `${await app.listen({ port: 0, host: '127.0.0.1' })}/routing`;
});

afterAll(async () => {
  await app.close();
  await store.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

const admin = { authorization: `Bearer ${ADMIN}` };
const json = { 'content-type': 'application/json' };
const postRaw = (url: string, body: string, headers: Record<string, string> = admin) => app.inject({ method: 'POST', url, payload: body, headers: { ...json, ...headers } });

describe('routing plugin', () => {
  let alice: { id: string; apiKey: string };
  let bob: { id: string; apiKey: string };

  it('admin routes need the admin key (401 without, 403 with another key)', async () => {
    const none = await app.inject({ method: 'POST', url: '/routing/pairs', payload: { pairs } });
    expect(none.statusCode).toBe(401);
    expect(none.json().code).toBe('ALIGNKIT_ERR_UNAUTHORIZED');
    const wrong = await app.inject({ method: 'POST', url: '/routing/pairs', payload: { pairs }, headers: { 'x-api-key': 'nope' } });
    expect(wrong.statusCode).toBe(403);
    expect(wrong.json().code).toBe('ALIGNKIT_ERR_FORBIDDEN');
  });

  it('answers an unknown path under its prefix with the same envelope', async () => {
    const res = await app.inject({ method: 'GET', url: '/routing/nope' });
    expect(res.statusCode).toBe(404);
    expect(res.json()).toMatchObject({ code: 'ALIGNKIT_ERR_NOT_FOUND', statusCode: 404, error: 'no route GET /routing/nope' });
  });

  it('validates bodies against the route schemas, naming the field', async () => {
    const bad = await app.inject({ method: 'POST', url: '/routing/pairs', payload: { pairs: [{ id: 'x' }] }, headers: admin });
    expect(bad.statusCode).toBe(400);
    expect(bad.json()).toMatchObject({ code: 'ALIGNKIT_ERR_BAD_REQUEST', field: 'body.pairs[0].prompt', error_type: 'validation', statusCode: 400 });
  });

  // Regression: on a default Fastify() the plugin used Fastify's coercing Ajv and stored "123", "" and "true".
  it('does not coerce types on a default Fastify instance', async () => {
    const res = await postRaw('/routing/pairs', '{"pairs":[{"id":123,"prompt":null,"response_a":true,"response_b":"b"}]}');
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ code: 'ALIGNKIT_ERR_BAD_REQUEST', field: 'body.pairs[0].id' });
    const extraField = await app.inject({ method: 'POST', url: '/routing/pairs', payload: { pairs: [{ ...pairs[0], id: 'zz', colour: 'red' }] }, headers: admin });
    expect(extraField.statusCode).toBe(400);
    expect(extraField.json().error).toMatch(/colour is not a known field/);
    expect(await store.countPairs()).toBe(0);
  });

  // Regression: "\ud800" was stored as bytes that read back as other characters; from then on every
  // POST /route answered 500 (FOREIGN KEY constraint failed).
  it('refuses a pair id with a lone surrogate with a 400 naming the field, and routing keeps working', async () => {
    const res = await postRaw('/routing/pairs', `{"pairs":[${JSON.stringify(pairs[0])},{"id":"bad\\ud800","prompt":"p","response_a":"a","response_b":"b"}]}`);
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ code: 'ALIGNKIT_ERR_INVALID_ARGUMENT', field: 'pairs[1].id' });
    const text = await postRaw('/routing/pairs', `{"pairs":[{"id":"t","prompt":"p","response_a":"a\\udc00","response_b":"b"}]}`);
    expect(text.json()).toMatchObject({ statusCode: 400, field: 'pairs[0].response_a' });
    expect(await store.countPairs()).toBe(0);
  });

  // Regression: `extra` nested 5,000 levels deep overflowed the stack while being stored: a 500.
  it('refuses an extra nested thousands of levels deep with a 400', async () => {
    const deep = '{"a":'.repeat(5000) + '{}' + '}'.repeat(5000);
    const res = await postRaw('/routing/pairs', `{"pairs":[{"id":"deep","prompt":"p","response_a":"a","response_b":"b","extra":${deep}}]}`);
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ code: 'ALIGNKIT_ERR_INVALID_ARGUMENT', field: 'pairs[0].extra' });
  });

  it('submits a pool, routes it with topk, creates annotators; a duplicate annotator id is a 409', async () => {
    const submitted = await app.inject({ method: 'POST', url: '/routing/pairs', payload: { pairs }, headers: admin });
    expect(submitted.json()).toEqual({ inserted: 8, existing: 0 });
    const routed = await app.inject({ method: 'POST', url: '/routing/route', payload: { strategy: 'topk', budget: 0.5 }, headers: admin });
    expect(routed.statusCode).toBe(200);
    expect(routed.json()).toMatchObject({ human: 4, ai: 4, featuresComputed: 8 });
    expect(typeof routed.json().predicted).toBe('number');
    const unknown = await app.inject({ method: 'POST', url: '/routing/route', payload: { strategy: 'best', budget: 0.5 }, headers: admin });
    expect(unknown.statusCode).toBe(400);
    expect(unknown.json().code).toBe('ALIGNKIT_ERR_UNKNOWN_NAME');
    const a = await app.inject({ method: 'POST', url: '/routing/annotators', payload: { name: 'alice', id: 'alice' }, headers: admin });
    expect(a.statusCode).toBe(201);
    alice = a.json();
    bob = (await app.inject({ method: 'POST', url: '/routing/annotators', payload: { name: 'bob' }, headers: admin })).json();
    // Regression: the SQLite UNIQUE constraint surfaced as a 500.
    const dup = await app.inject({ method: 'POST', url: '/routing/annotators', payload: { name: 'another alice', id: 'alice' }, headers: admin });
    expect(dup.statusCode).toBe(409);
    expect(dup.json()).toMatchObject({ code: 'ALIGNKIT_ERR_CONFLICT', field: 'id' });
  });

  it('annotator routes: 401 without or with an unknown key; next pair is a human-routed one', async () => {
    expect((await app.inject({ method: 'GET', url: '/routing/next' })).statusCode).toBe(401);
    const unknown = await app.inject({ method: 'GET', url: '/routing/next', headers: { 'x-api-key': 'ak_unknown' } });
    expect(unknown.statusCode).toBe(401);
    expect(unknown.json().error).toMatch(/unknown API key/);
    const next = await app.inject({ method: 'GET', url: '/routing/next', headers: { authorization: `Bearer ${alice.apiKey}` } });
    expect(next.statusCode).toBe(200);
    const run = (await store.latestRun())!;
    const human = (await store.decisions(run.id)).filter((d) => d.route === 'human').map((d) => d.pairId);
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
    expect(await store.humanLabels(next.pair.id)).toHaveLength(1);

    const steal = await fetch(`${baseUrl}/labels/${label.id}`, { method: 'PUT', headers: { 'content-type': 'application/json', 'x-api-key': bob.apiKey }, body: JSON.stringify({ scale: -2 }) });
    expect(steal.status).toBe(403);
    expect((await steal.json()).code).toBe('ALIGNKIT_ERR_FORBIDDEN');
    const own = await fetch(`${baseUrl}/labels/${label.id}`, { method: 'PUT', headers: { 'content-type': 'application/json', authorization: `Bearer ${alice.apiKey}` }, body: JSON.stringify({ scale: -1, confidence: 1 }) });
    expect(own.status).toBe(200);
    expect((await own.json()).label).toMatchObject({ id: label.id, preference: 'A', scale: -1 });
    const missing = await post(alice.apiKey, { pairId: 'nope', scale: 0 });
    expect(missing.status).toBe(404);
  });

  // Regression: an annotator could label a pair never handed to them, one already at its quota,
  // or one routed to the AI, and flip the exported label (label_source then said human).
  it('an annotator cannot label a pair not handed to them, beyond the quota, or routed to the AI; an admin override can', async () => {
    const run = (await store.latestRun())!;
    const decisions = await store.decisions(run.id);
    const aiPair = decisions.find((d) => d.route === 'ai')!.pairId;
    const labelled = (await store.humanLabels())[0].pairId;
    const post = (body: object, headers: Record<string, string>) => app.inject({ method: 'POST', url: '/routing/labels', payload: body, headers });
    const toAi = await post({ pairId: aiPair, scale: 2 }, { 'x-api-key': bob.apiKey });
    expect(toAi.statusCode).toBe(409);
    expect(toAi.json().error).toMatch(/routed to the AI judge/);
    const notHanded = await post({ pairId: decisions.find((d) => d.route === 'human' && d.pairId !== labelled)!.pairId, scale: 2 }, { 'x-api-key': bob.apiKey });
    expect(notHanded.statusCode).toBe(403);
    const full = await post({ pairId: labelled, scale: 2 }, { 'x-api-key': bob.apiKey });
    expect(full.statusCode).toBe(403); // never handed to bob: its one slot went to alice
    const annotatorOverride = await app.inject({ method: 'POST', url: '/routing/labels/override', payload: { pairId: aiPair, annotatorId: bob.id, scale: 2 }, headers: { 'x-api-key': bob.apiKey } });
    expect(annotatorOverride.statusCode).toBe(403);
    const forced = await app.inject({ method: 'POST', url: '/routing/labels/override', payload: { pairId: aiPair, annotatorId: bob.id, scale: 2 }, headers: admin });
    expect(forced.statusCode).toBe(201);
    expect(forced.json().label).toMatchObject({ pairId: aiPair, annotatorId: bob.id, override: true });
    expect((await store.humanLabels(aiPair))[0].override).toBe(true);
    // Undo the override so the export checks below see the routing as decided.
    await store.driver.run('DELETE FROM human_labels WHERE pair_id = ?', [aiPair]);
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

  it('admins delete a pair; deleting it again is a 404', async () => {
    const del = await app.inject({ method: 'DELETE', url: '/routing/pairs/q7', headers: admin });
    expect(del.statusCode).toBe(200);
    expect(del.json()).toEqual({ id: 'q7', deleted: true });
    expect(await store.getPair('q7')).toBeUndefined();
    expect((await app.inject({ method: 'DELETE', url: '/routing/pairs/q7', headers: admin })).statusCode).toBe(404);
    expect((await app.inject({ method: 'DELETE', url: '/routing/pairs/q6', headers: { 'x-api-key': alice.apiKey } })).statusCode).toBe(403);
    const rerouted = await app.inject({ method: 'POST', url: '/routing/route', payload: { strategy: 'random', budget: 0.5 }, headers: admin });
    expect(rerouted.statusCode).toBe(200);
    expect(rerouted.json().human + rerouted.json().ai).toBe(7);
  });

  it('serves the annotator page with no external assets, unframeable, and refuses a key in the URL', async () => {
    const res = await app.inject({ method: 'GET', url: '/routing/annotate' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/text\/html/);
    expect(res.headers['content-security-policy']).toContain("default-src 'none'");
    expect(res.headers['content-security-policy']).toContain("frame-ancestors 'none'");
    expect(res.headers['x-frame-options']).toBe('DENY');
    expect(res.headers['referrer-policy']).toBe('no-referrer');
    expect(res.body).not.toMatch(/(src|href)=["']https?:/);
    expect(res.body).toContain('A is clearly better');
    expect(res.body).not.toMatch(/searchParams|URLSearchParams|location\.search/);
    // Regression: the page read the key from ?key=, which browser history and access logs keep.
    const inUrl = await app.inject({ method: 'GET', url: `/routing/annotate?key=${alice.apiKey}` });
    expect(inUrl.statusCode).toBe(400);
    expect(inUrl.json()).toMatchObject({ code: 'ALIGNKIT_ERR_INVALID_ARGUMENT', field: 'querystring.key' });
    expect(inUrl.body).not.toContain(alice.apiKey);
    const keyParam = await app.inject({ method: 'GET', url: `/routing/next?key=${alice.apiKey}` });
    expect(keyParam.statusCode).toBe(401);
  });
});

describe('routing plugin inside the scoring server', () => {
  let server: FastifyInstance;
  let scoringStore: LabelStore;

  beforeAll(async () => {
    scoringStore = await openLabelStore(':memory:');
    server = buildServer({ rewardModels: [await LinearRewardModel.create('len', ['score'], [[1], [2], [-1]], 200)], plugins: [async (app) => app.register(routingPlugin({ store: scoringStore }), { prefix: '/routing' })] });
    await server.ready();
  });
  afterAll(async () => {
    await server.close();
    await scoringStore.close();
  });

  it('answers errors in the scoring routes\' envelope, and validates as it does on a bare Fastify', async () => {
    const scoring = await server.inject({ method: 'POST', url: '/v1/score', payload: { items: [{ prompt: 1, response: 'x' }] } });
    const routing = await server.inject({ method: 'POST', url: '/routing/pairs', payload: { pairs: [{ id: 123, prompt: null, response_a: true, response_b: 'b' }] } });
    expect(routing.statusCode).toBe(400);
    expect(Object.keys(routing.json()).sort()).toEqual(Object.keys(scoring.json()).sort());
    expect(routing.json()).toMatchObject({ code: 'ALIGNKIT_ERR_BAD_REQUEST', error_type: 'validation', field: 'body.pairs[0].id' });
    expect(routing.headers['x-request-id']).toBe(routing.json().requestId);
    const missing = await server.inject({ method: 'GET', url: '/routing/nope' });
    expect(missing.statusCode).toBe(404);
    expect(Object.keys(missing.json()).sort()).toEqual(Object.keys((await server.inject({ method: 'GET', url: '/nope' })).json()).sort());
    const params = await server.inject({ method: 'PUT', url: '/routing/labels/5', payload: { scale: 1 } });
    expect(params.statusCode).toBe(401); // the id path parameter passed validation
    const notAnId = await server.inject({ method: 'PUT', url: '/routing/labels/1e3', payload: { scale: 1 } });
    expect(notAnId.json()).toMatchObject({ statusCode: 400, field: 'params.id' });
  });

  // Regression: fastify's router refuses a path parameter over 100 characters with a 414, so a pair
  // stored with a longer id (POST /pairs takes any length) could never be deleted.
  it('admins delete a pair whose id is longer than fastify\'s default 100-character path parameter', async () => {
    const store = await openLabelStore(':memory:');
    const app = buildServer({ rewardModels: [await LinearRewardModel.create('len', ['score'], [[1], [2], [-1]], 200)], plugins: [async (a) => a.register(routingPlugin({ store, adminKey: ADMIN }), { prefix: '/routing' })] });
    try {
      const ids = ['x'.repeat(150), 'é'.repeat(300)];
      const added = await app.inject({ method: 'POST', url: '/routing/pairs', headers: admin, payload: { pairs: ids.map((id) => ({ id, prompt: 'p', response_a: 'a', response_b: 'b' })) } });
      expect(added.json()).toMatchObject({ inserted: 2 });
      for (const id of ids) {
        const del = await app.inject({ method: 'DELETE', url: `/routing/pairs/${encodeURIComponent(id)}`, headers: admin });
        expect(del.statusCode).toBe(200);
        expect(del.json()).toEqual({ id, deleted: true });
      }
    } finally {
      await app.close();
      await store.close();
    }
  });
});
