// One label-store suite, run against SQLite and PostgreSQL alike: both backends must keep the same
// API and the same guarantees. SQLite-only details (WAL, the repair of ids written before they
// were validated) follow in their own describe.

import { Buffer } from 'node:buffer';
import Database from 'better-sqlite3';
import { afterAll, afterEach, beforeAll, describe, expect, it, onTestFinished, vi } from 'vitest';
import { extractFeatures } from '../../src/routing/features/extract.js';
import { MIGRATIONS } from '../../src/routing/store/migrations.js';
import { addVerdicts, hashApiKey, listVerdicts, openLabelStore, type ExportRow, type LabelStore } from '../../src/routing/store/index.js';
import { initialSchema } from '../../src/routing/store/schema/001-initial.js';
import { createTagger } from '../../src/routing/taggers/index.js';
import type { RoutingPair } from '../../src/routing/types.js';
import { backendsUnderTest } from './store-backends.js';

const pairs: RoutingPair[] = [
  { id: 'p1', prompt: 'Say hi', responseA: 'hi', responseB: 'hello there' },
  { id: 'p2', prompt: 'Add 2 and 2', responseA: '4', responseB: '5' },
  { id: 'p3', prompt: 'Name a color', responseA: 'red', responseB: 'blue' },
];

const coded = (code: string) => expect.objectContaining({ code });
const collect = async <T>(rows: AsyncIterable<T>): Promise<T[]> => {
  const out: T[] = [];
  for await (const r of rows) out.push(r);
  return out;
};

for (const backend of backendsUnderTest()) describe.skipIf(backend.skipReason !== '')(`label store on ${backend.name}${backend.skipReason}`, () => {
  const open: LabelStore[] = [];
  const fresh = async () => {
    const location = await backend.location();
    const store = await openLabelStore(location);
    open.push(store);
    return { store, location };
  };
  /** A store with the three pairs routed p1, p2 to humans (p2 first by gain) and p3 to the AI. */
  const routed = async () => {
    const { store, location } = await fresh();
    await store.addPairs(pairs);
    await store.recordRouting({ strategy: 'topk', budget: 2 }, [
      { pairId: 'p1', route: 'human', gain: 0.1 },
      { pairId: 'p2', route: 'human', gain: 0.3 },
      { pairId: 'p3', route: 'ai', gain: -0.2 },
    ]);
    return { store, location };
  };

  beforeAll(() => backend.start(), 60_000);
  afterEach(async () => {
    await Promise.all(open.splice(0).map((s) => s.close()));
  });
  afterAll(() => backend.stop());

  it('migrates to the latest schema once, and refuses a store whose schema is newer than the code', async () => {
    const { store, location } = await fresh();
    expect(await store.schemaVersion()).toBe(MIGRATIONS.length);
    await store.close();
    const again = await openLabelStore(location);
    open.push(again);
    expect(await again.schemaVersion()).toBe(MIGRATIONS.length);
    await again.driver.run('UPDATE schema_version SET version = ?', [MIGRATIONS.length + 1]);
    await again.close();
    await expect(openLabelStore(location)).rejects.toThrow(/newer than this alignkit/);
  });

  it('several processes opening one new store at once migrate it once', async () => {
    const location = await backend.location();
    const stores = await Promise.all(Array.from({ length: 4 }, () => openLabelStore(location)));
    open.push(...stores);
    for (const s of stores) expect(await s.schemaVersion()).toBe(MIGRATIONS.length);
    expect(Number((await stores[0].driver.get('SELECT COUNT(*) AS n FROM schema_version'))!.n)).toBe(1);
  });

  it('stores pairs idempotently and keeps annotator keys only as hashes', async () => {
    const { store } = await fresh();
    expect(await store.addPairs(pairs)).toEqual({ inserted: 3, existing: 0 });
    expect(await store.addPairs(pairs.slice(0, 1))).toEqual({ inserted: 0, existing: 1 });
    expect((await store.listPairs()).map((p) => p.id)).toEqual(['p1', 'p2', 'p3']);
    expect(await store.countPairs()).toBe(3);
    const { id, apiKey } = await store.createAnnotator('ann');
    expect(await store.annotatorByKey(apiKey)).toEqual({ id, name: 'ann' });
    expect(await store.annotatorByKey('wrong')).toBeUndefined();
    const row = await store.driver.get('SELECT key_hash FROM annotators');
    expect(row!.key_hash).toBe(hashApiKey(apiKey));
    expect(String(row!.key_hash)).not.toContain(apiKey);
  });

  it('refuses ids and texts that are not well-formed Unicode, NUL characters and deep extras, naming the field', async () => {
    const { store } = await fresh();
    await expect(store.addPairs([pairs[0], { ...pairs[1], id: 'x\ud800' }])).rejects.toThrow(expect.objectContaining({ code: 'ALIGNKIT_ERR_INVALID_ARGUMENT', details: { field: 'pairs[1].id' } }));
    await expect(store.addPairs([{ ...pairs[0], responseB: 'a\udc00' }])).rejects.toThrow(/pairs\[0\]\.responseB is not well-formed Unicode/);
    await expect(store.addPairs([{ ...pairs[0], prompt: 'a\u0000b' }])).rejects.toThrow(/pairs\[0\]\.prompt holds a NUL/);
    let deep: Record<string, unknown> = {};
    for (let i = 0; i < 5000; i++) deep = { a: deep };
    await expect(store.addPairs([{ ...pairs[0], extra: deep }])).rejects.toThrow(/pairs\[0\]\.extra is nested more than 64 levels/);
    await expect(store.createAnnotator('x', '\udfff')).rejects.toThrow(coded('ALIGNKIT_ERR_INVALID_ARGUMENT'));
    // Looking text up that the store cannot hold finds nothing (PostgreSQL would refuse NUL in a query).
    for (const bad of ['p1\u0000', 'p\ud800']) {
      expect(await store.getPair(bad)).toBeUndefined();
      expect(await store.deletePair(bad)).toBe(false);
      expect(await store.humanLabels(bad)).toEqual([]);
      expect(await store.aiLabels(bad)).toEqual([]);
      await expect(store.submitHumanLabel({ pairId: bad, annotatorId: 'a', scale: 0, confidence: 1 })).rejects.toThrow(expect.objectContaining({ code: 'ALIGNKIT_ERR_INVALID_ARGUMENT', details: { field: 'pairId' } }));
    }
    await expect(collect(store.exportLabelled('j\u0000'))).rejects.toThrow(/judge holds a NUL/);
    // A well-formed astral character is fine.
    expect(await store.addPairs([{ ...pairs[0], id: 'emoji-😀' }])).toEqual({ inserted: 1, existing: 0 });
    expect((await store.listPairs()).map((p) => p.id)).toEqual(['emoji-😀']);
  });

  it('a duplicate annotator id is a conflict, not a database error', async () => {
    const { store } = await fresh();
    await store.createAnnotator('first', 'ann-1');
    await expect(store.createAnnotator('second', 'ann-1')).rejects.toThrow(expect.objectContaining({ code: 'ALIGNKIT_ERR_CONFLICT', status: 409 }));
    await store.putAnnotator({ id: 'ann-1', name: 'renamed', apiKey: 'ak_file_key' });
    expect(await store.annotatorByKey('ak_file_key')).toEqual({ id: 'ann-1', name: 'renamed' });
  });

  it('human labels are idempotent per annotator and pair; only the owner can change one', async () => {
    const { store } = await routed();
    const a = await store.createAnnotator('a');
    const b = await store.createAnnotator('b');
    expect((await store.nextPairFor(a.id))?.id).toBe('p2');
    const first = await store.submitHumanLabel({ pairId: 'p2', annotatorId: a.id, scale: -2, confidence: 0.67 });
    expect(first).toMatchObject({ created: true, changed: true, label: { preference: 'A', scale: -2, confidence: 0.67, override: false } });
    expect(await store.submitHumanLabel({ pairId: 'p2', annotatorId: a.id, scale: -2, confidence: 0.67 })).toMatchObject({ created: false, changed: false, label: { id: first.label.id } });
    expect(await store.submitHumanLabel({ pairId: 'p2', annotatorId: a.id, scale: 1, confidence: 0.5 })).toMatchObject({ created: false, changed: true, label: { id: first.label.id, preference: 'B' } });
    expect(await store.humanLabels('p2')).toHaveLength(1);
    await expect(store.updateHumanLabel(first.label.id, b.id, { scale: 0, confidence: 1 })).rejects.toThrow(coded('ALIGNKIT_ERR_FORBIDDEN'));
    expect((await store.updateHumanLabel(first.label.id, a.id, { scale: 0, confidence: 1 })).preference).toBe('tie');
    await expect(store.submitHumanLabel({ pairId: 'nope', annotatorId: a.id, scale: 0, confidence: 1 })).rejects.toThrow(coded('ALIGNKIT_ERR_UNKNOWN_PAIR'));
    await expect(store.submitHumanLabel({ pairId: 'p2', annotatorId: a.id, scale: 3, confidence: 1 })).rejects.toThrow(/-2..2/);
    await expect(store.submitHumanLabel({ pairId: 'p2', annotatorId: 'ghost', scale: 0, confidence: 1, override: true })).rejects.toThrow(/no annotator with id 'ghost'/);
  });

  it('an annotator labels only a pair handed to them, routed to humans, within the quota; an admin override is explicit', async () => {
    const { store } = await routed();
    const a = await store.createAnnotator('a');
    const b = await store.createAnnotator('b');
    // Never handed out: 403.
    await expect(store.submitHumanLabel({ pairId: 'p1', annotatorId: a.id, scale: 1, confidence: 1 })).rejects.toThrow(coded('ALIGNKIT_ERR_FORBIDDEN'));
    // Routed to the AI judge: 409, and the export keeps the AI label.
    await expect(store.submitHumanLabel({ pairId: 'p3', annotatorId: a.id, scale: 2, confidence: 1 })).rejects.toThrow(expect.objectContaining({ code: 'ALIGNKIT_ERR_CONFLICT', message: expect.stringMatching(/routed to the AI judge/) }));
    // Beyond the quota: p2 is handed to a, then an admin override gives b the one label p2 needs.
    expect((await store.nextPairFor(a.id))?.id).toBe('p2');
    await store.submitHumanLabel({ pairId: 'p2', annotatorId: b.id, scale: 2, confidence: 1, override: true });
    await expect(store.submitHumanLabel({ pairId: 'p2', annotatorId: a.id, scale: -2, confidence: 1 })).rejects.toThrow(expect.objectContaining({ code: 'ALIGNKIT_ERR_CONFLICT', message: expect.stringMatching(/already has the 1 human label/) }));
    expect((await store.nextPairFor(a.id))?.id).toBe('p1');
    await store.addAiLabels([{ pairId: 'p3', judge: 'j', preference: 'B' }]);
    // An admin override records the label anyway, marked as such; the export says human.
    const forced = await store.submitHumanLabel({ pairId: 'p3', annotatorId: a.id, scale: -2, confidence: 1, override: true });
    expect(forced).toMatchObject({ created: true, label: { override: true, preference: 'A' } });
    const rows = await collect(store.exportLabelled());
    expect(rows.find((r) => r.id === 'p3')).toMatchObject({ label_source: 'human', route: 'ai', preference: 'A', annotators: a.id });
    expect(rows.find((r) => r.id === 'p2')).toMatchObject({ label_source: 'human', preference: 'B', n_human_labels: 1 });
  });

  it('hands each pair to at most labelsPerPair annotators; a reload returns the same pair; an expired lease frees its slot', async () => {
    const { store } = await routed();
    const ann = await Promise.all(['a', 'b', 'c', 'd', 'e'].map((n) => store.createAnnotator(n)));
    const policy = { labelsPerPair: 2, leaseMs: 300 };
    // The store's clock is frozen and moved by hand: on a loaded machine the six reservations below
    // can take longer than the lease on a real clock, which expired leases early (a flaky failure).
    vi.useFakeTimers({ toFake: ['Date'] });
    onTestFinished(() => {
      vi.useRealTimers();
    });
    expect((await store.nextPairFor(ann[0].id, policy))?.id).toBe('p2');
    expect((await store.nextPairFor(ann[0].id, policy))?.id).toBe('p2'); // reload: same lease
    expect((await store.nextPairFor(ann[1].id, policy))?.id).toBe('p2');
    expect((await store.nextPairFor(ann[2].id, policy))?.id).toBe('p1');
    expect((await store.nextPairFor(ann[3].id, policy))?.id).toBe('p1');
    expect(await store.nextPairFor(ann[4].id, policy)).toBeUndefined(); // 2 human pairs x 2 slots taken
    await store.submitHumanLabel({ pairId: 'p2', annotatorId: ann[0].id, scale: 1, confidence: 1 }, policy);
    vi.setSystemTime(Date.now() + 400); // every lease has expired; p2 holds one label, p1 none
    expect((await store.nextPairFor(ann[4].id, policy))?.id).toBe('p2');
    // ann[1]'s lease on p2 expired and ann[4] holds the last slot: ann[1]'s late label is refused.
    await expect(store.submitHumanLabel({ pairId: 'p2', annotatorId: ann[1].id, scale: 1, confidence: 1 }, policy)).rejects.toThrow(coded('ALIGNKIT_ERR_CONFLICT'));
    // ann[2]'s lease on p1 expired but the slot is still free: the late label is accepted.
    expect((await store.submitHumanLabel({ pairId: 'p1', annotatorId: ann[2].id, scale: 0, confidence: 1 }, policy)).created).toBe(true);
    await store.submitHumanLabel({ pairId: 'p2', annotatorId: ann[4].id, scale: 2, confidence: 1 }, policy);
    expect((await store.humanLabels('p2')).length).toBe(2);
  });

  it('concurrent requests for the next pair never hand one slot out twice', async () => {
    const { store } = await fresh();
    const many = Array.from({ length: 30 }, (_, i) => ({ id: `c${i}`, prompt: `p${i}`, responseA: 'a', responseB: 'b' }));
    await store.addPairs(many);
    await store.recordRouting({ strategy: 'random', budget: 30 }, many.map((p, i) => ({ pairId: p.id, route: 'human' as const, gain: i % 3 })));
    const ann = await Promise.all(Array.from({ length: 40 }, (_, i) => store.createAnnotator(`a${i}`)));
    const handed = await Promise.all(ann.map((a) => store.nextPairFor(a.id)));
    const ids = handed.filter((p) => p !== undefined).map((p) => p!.id);
    expect(ids).toHaveLength(30);
    expect(new Set(ids).size).toBe(30);
  });

  it('deleting a pair removes its labels, decisions and features; routing skips pairs deleted meanwhile', async () => {
    const { store } = await routed();
    const a = await store.createAnnotator('a');
    await store.nextPairFor(a.id);
    await store.submitHumanLabel({ pairId: 'p2', annotatorId: a.id, scale: 1, confidence: 1 });
    expect(await store.deletePair('p2')).toBe(true);
    expect(await store.deletePair('p2')).toBe(false);
    expect(await store.getPair('p2')).toBeUndefined();
    expect(await store.humanLabels()).toEqual([]);
    const run = await store.recordRouting({ strategy: 'random', budget: 1 }, [
      { pairId: 'p1', route: 'human' },
      { pairId: 'p2', route: 'human' },
    ]);
    expect(await store.decisions(run)).toEqual([{ pairId: 'p1', route: 'human', gain: null }]);
  });

  it('features round-trip in insertion order', async () => {
    const { store } = await fresh();
    await store.addPairs(pairs);
    const table = await extractFeatures(await store.listPairs(), { tagger: createTagger('rules') });
    await store.saveFeatures(table);
    const loaded = await store.loadFeatureTable();
    expect(loaded.ids).toEqual(['p1', 'p2', 'p3']);
    expect(Array.from(loaded.active)).toEqual(Array.from(table.active));
    expect((await store.loadFeatureTable(['p3', 'p1'])).ids).toEqual(['p1', 'p3']);
    expect(await store.pairIdsWithFeatures()).toEqual(new Set(['p1', 'p2', 'p3']));
  });

  it('exports human labels over AI labels with provenance, streaming page after page in insertion order', async () => {
    const { store } = await fresh();
    const many = Array.from({ length: 1234 }, (_, i) => ({ id: `e${String(i).padStart(4, '0')}`, prompt: `prompt ${i}`, responseA: `a${i}`, responseB: `b${i}` }));
    await store.addPairs(many.slice().reverse());
    await store.recordRouting({ strategy: 'random', budget: 1 }, [{ pairId: 'e0000', route: 'human' }, { pairId: 'e1233', route: 'ai' }]);
    const a = await store.createAnnotator('a');
    expect((await store.nextPairFor(a.id))?.id).toBe('e0000');
    await store.submitHumanLabel({ pairId: 'e0000', annotatorId: a.id, scale: -1, confidence: 0.67 });
    await store.addAiLabels([
      { pairId: 'e0000', judge: 'j', preference: 'B' },
      { pairId: 'e1233', judge: 'j', preference: 'B', scoreA: 0.1, scoreB: 0.9 },
      { pairId: 'e1232', judge: 'k', preference: 'A' },
    ]);
    const rows: ExportRow[] = await collect(store.exportLabelled());
    expect(rows.map((r) => r.id)).toEqual(many.map((p) => p.id).reverse());
    const byId = new Map(rows.map((r) => [r.id, r]));
    expect(byId.get('e0000')).toMatchObject({ preference: 'A', label_source: 'human', route: 'human', judge: null, chosen: 'a0', rejected: 'b0', annotators: a.id, n_human_labels: 1, confidence: 0.67 });
    expect(byId.get('e1233')).toMatchObject({ preference: 'B', label_source: 'ai', route: 'ai', judge: 'j', chosen: 'b1233' });
    expect(byId.get('e1232')).toMatchObject({ preference: 'A', label_source: 'ai', route: null, judge: 'k' });
    expect(byId.get('e0500')).toMatchObject({ preference: null, label_source: 'none', chosen: null });
    const onlyJ = await collect(store.exportLabelled('j'));
    expect(onlyJ.find((r) => r.id === 'e1232')).toMatchObject({ label_source: 'none' });
  });

  it('keeps several judges\' verdicts per pair, both orders, confidences exact', async () => {
    const { store } = await fresh();
    await store.addPairs(pairs);
    await addVerdicts(store, [
      { pairId: 'p1', judge: 'gpt', order: 'AB', preference: 'A', confidence: 0.9 },
      { pairId: 'p1', judge: 'gpt', order: 'BA', preference: 'B', confidence: 0.67 },
      { pairId: 'p2', judge: 'rater', order: 'AB', preference: null, scoreA: 7.25, scoreB: 4 },
    ]);
    expect((await listVerdicts(store, 'p1')).map((v) => [v.judge, v.order, v.preference, v.confidence])).toEqual([
      ['gpt', 'AB', 'A', 0.9],
      ['gpt', 'BA', 'B', 0.67],
    ]);
    expect(await listVerdicts(store, 'p2')).toMatchObject([{ scoreA: 7.25, scoreB: 4, confidence: null }]);
    expect(await store.deletePair('p1')).toBe(true);
    expect(await listVerdicts(store)).toHaveLength(1);
  });

  it('rejects a judge verdict that is not a preference', async () => {
    const { store } = await fresh();
    await store.addPairs(pairs);
    await expect(store.addAiLabels([{ pairId: 'p1', judge: 'j', preference: 'maybe' as 'A' }])).rejects.toThrow(coded('ALIGNKIT_ERR_JUDGE'));
    expect(await store.addAiLabels([{ pairId: 'p1', judge: 'j', preference: null, scoreA: Number.NaN }, { pairId: 'gone', judge: 'j', preference: 'A' }])).toBe(1);
    expect(await store.aiLabels('p1')).toMatchObject([{ preference: null, scoreA: null }]);
  });
});

describe('label store on SQLite: file details', () => {
  const [backend] = backendsUnderTest();
  beforeAll(() => backend.start());
  afterAll(() => backend.stop());

  it('opens in WAL mode with synchronous=FULL', async () => {
    const location = await backend.location();
    const store = await openLabelStore(location);
    const db = (store.driver as unknown as { db: Database.Database }).db;
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(db.pragma('synchronous', { simple: true })).toBe(2); // FULL
    await store.close();
    await expect(openLabelStore({ location, synchronous: 'SOMETIMES' as 'FULL' })).rejects.toThrow(/synchronous must be FULL, NORMAL or EXTRA/);
  });

  it('unknown location schemes are refused with the known ones', async () => {
    await expect(openLabelStore('mysql://db/labels')).rejects.toThrow(/unknown scheme 'mysql:\/\/'; known: postgres, postgresql, sqlite/);
  });

  // Regression: a store written before ids were validated held "\ud800" as the WTF-8 bytes ED A0 80.
  // The id read back as three U+FFFD, matched no row, and POST /route failed on a FOREIGN KEY error.
  it('rewrites ids that are not UTF-8 once, in every table, so routing and deletion work again', async () => {
    const location = await backend.location();
    const { mkdirSync } = await import('node:fs');
    mkdirSync((await import('node:path')).dirname(location), { recursive: true });
    const raw = new Database(location);
    raw.exec(initialSchema.sqlite as string);
    raw.exec('CREATE TABLE schema_version (version INTEGER NOT NULL); INSERT INTO schema_version VALUES (1)');
    const bad = Buffer.from([0x62, 0xed, 0xa0, 0x80]); // "b" + lone surrogate, as V8 wrote it
    const t = new Date().toISOString();
    raw.prepare('INSERT INTO pairs (id, prompt, response_a, response_b, created_at) VALUES (CAST(? AS TEXT), ?, ?, ?, ?)').run(bad, 'p', 'a', 'b', t);
    raw.prepare('INSERT INTO pairs (id, prompt, response_a, response_b, created_at) VALUES (?, ?, ?, ?, ?)').run('ok', 'p', 'a', 'b', t);
    raw.prepare("INSERT INTO ai_labels (pair_id, judge, preference, created_at) VALUES (CAST(? AS TEXT), 'j', 'A', ?)").run(bad, t);
    raw.prepare("INSERT INTO routing_runs (strategy, created_at) VALUES ('topk', ?)").run(t);
    raw.prepare("INSERT INTO routing_decisions (run_id, pair_id, route, gain) VALUES (1, CAST(? AS TEXT), 'human', 0.5)").run(bad);
    raw.prepare("INSERT INTO routing_decisions (run_id, pair_id, route, gain) VALUES (1, 'ok', 'human', 1)").run();
    raw.close();

    const store = await openLabelStore(location);
    const ids = (await store.listPairs()).map((p) => p.id);
    expect(ids).toEqual(['b\ufffd\ufffd\ufffd', 'ok']);
    expect(await store.aiLabels('b\ufffd\ufffd\ufffd')).toHaveLength(1);
    // The old run was ranked by the migration: highest gain first, and its decision on the repaired id holds.
    const annotator = await store.createAnnotator('a');
    expect((await store.nextPairFor(annotator.id))?.id).toBe('ok');
    await store.submitHumanLabel({ pairId: 'ok', annotatorId: annotator.id, scale: 1, confidence: 1 });
    expect((await store.nextPairFor(annotator.id))?.id).toBe('b\ufffd\ufffd\ufffd');
    await store.saveFeatures(await extractFeatures(await store.listPairs(), { tagger: createTagger('rules') }));
    const run = await store.recordRouting({ strategy: 'random', budget: 1 }, ids.map((pairId) => ({ pairId, route: 'human' as const })));
    expect(await store.decisions(run)).toHaveLength(2);
    expect(await store.deletePair('b\ufffd\ufffd\ufffd')).toBe(true);
    await store.close();
  });
});
