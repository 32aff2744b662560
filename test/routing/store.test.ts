import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { hashApiKey, openLabelStore, type LabelStore } from '../../src/routing/store/label-store.js';
import { MIGRATIONS } from '../../src/routing/store/migrations.js';
import { extractFeatures } from '../../src/routing/features/extract.js';
import { createTagger } from '../../src/routing/taggers/index.js';

let dir: string;
let file: string;
let store: LabelStore;

const pairs = [
  { id: 'p1', prompt: 'Say hi', responseA: 'hi', responseB: 'hello there' },
  { id: 'p2', prompt: 'Add 2 and 2', responseA: '4', responseB: '5' },
  { id: 'p3', prompt: 'Name a color', responseA: 'red', responseB: 'blue' },
];

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'alignkit-store-'));
  file = path.join(dir, 'sub', 'labels.sqlite');
  store = openLabelStore({ path: file });
});

afterEach(() => {
  store.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('label store', () => {
  it('opens in WAL mode with synchronous=FULL at the latest schema version', () => {
    expect(store.db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(store.db.pragma('synchronous', { simple: true })).toBe(2); // FULL
    expect(store.schemaVersion()).toBe(MIGRATIONS.length);
    store.close();
    store = openLabelStore({ path: file }); // reopening runs no migration twice
    expect(store.schemaVersion()).toBe(MIGRATIONS.length);
  });

  it('refuses a file whose schema is newer than the code', () => {
    store.db.prepare('UPDATE schema_version SET version = ?').run(MIGRATIONS.length + 1);
    store.close();
    expect(() => (store = openLabelStore({ path: file }))).toThrow(/newer than this alignkit/);
    store = openLabelStore({ path: path.join(dir, 'other.sqlite') });
  });

  it('stores pairs idempotently and keeps annotator keys only as hashes', () => {
    expect(store.addPairs(pairs)).toEqual({ inserted: 3, existing: 0 });
    expect(store.addPairs(pairs.slice(0, 1))).toEqual({ inserted: 0, existing: 1 });
    const { id, apiKey } = store.createAnnotator('ann');
    expect(store.annotatorByKey(apiKey)).toEqual({ id, name: 'ann' });
    expect(store.annotatorByKey('wrong')).toBeUndefined();
    const raw = new Database(file, { readonly: true });
    const row = raw.prepare('SELECT key_hash FROM annotators').get() as { key_hash: string };
    raw.close();
    expect(row.key_hash).toBe(hashApiKey(apiKey));
    expect(row.key_hash).not.toContain(apiKey);
  });

  it('human labels are idempotent per annotator and pair; only the owner can change one', () => {
    store.addPairs(pairs);
    const a = store.createAnnotator('a');
    const b = store.createAnnotator('b');
    const first = store.submitHumanLabel({ pairId: 'p1', annotatorId: a.id, scale: -2, confidence: 1 });
    expect(first).toMatchObject({ created: true, changed: true, label: { preference: 'A', scale: -2 } });
    expect(store.submitHumanLabel({ pairId: 'p1', annotatorId: a.id, scale: -2, confidence: 1 })).toMatchObject({ created: false, changed: false, label: { id: first.label.id } });
    expect(store.submitHumanLabel({ pairId: 'p1', annotatorId: a.id, scale: 1, confidence: 0.5 })).toMatchObject({ created: false, changed: true, label: { id: first.label.id, preference: 'B' } });
    expect(store.humanLabels('p1')).toHaveLength(1);
    expect(() => store.updateHumanLabel(first.label.id, b.id, { scale: 0, confidence: 1 })).toThrow(expect.objectContaining({ code: 'ALIGNKIT_ERR_FORBIDDEN' }));
    expect(store.updateHumanLabel(first.label.id, a.id, { scale: 0, confidence: 1 }).preference).toBe('tie');
    expect(() => store.submitHumanLabel({ pairId: 'nope', annotatorId: a.id, scale: 0, confidence: 1 })).toThrow(expect.objectContaining({ code: 'ALIGNKIT_ERR_UNKNOWN_PAIR' }));
    expect(() => store.submitHumanLabel({ pairId: 'p1', annotatorId: a.id, scale: 3, confidence: 1 })).toThrow(/-2..2/);
  });

  it('serves human-routed pairs by gain and exports human labels over AI labels with provenance', async () => {
    store.addPairs(pairs);
    const table = await extractFeatures(store.listPairs(), { tagger: createTagger('rules') });
    store.saveFeatures(table);
    expect(store.loadFeatureTable().ids).toEqual(['p1', 'p2', 'p3']);
    expect(Array.from(store.loadFeatureTable().active)).toEqual(Array.from(table.active));
    store.recordRouting({ strategy: 'topk', budget: 2 }, [
      { pairId: 'p1', route: 'human', gain: 0.1 },
      { pairId: 'p2', route: 'human', gain: 0.3 },
      { pairId: 'p3', route: 'ai', gain: -0.2 },
    ]);
    const a = store.createAnnotator('a');
    expect(store.nextPairFor(a.id)?.id).toBe('p2');
    store.submitHumanLabel({ pairId: 'p2', annotatorId: a.id, scale: -1, confidence: 0.67 });
    expect(store.nextPairFor(a.id)?.id).toBe('p1');
    store.addAiLabels([
      { pairId: 'p2', judge: 'j', preference: 'B' },
      { pairId: 'p3', judge: 'j', preference: 'B', scoreA: 0.1, scoreB: 0.9 },
    ]);
    const rows = store.exportLabelled();
    expect(rows.map((r) => [r.id, r.preference, r.label_source, r.route, r.judge])).toEqual([
      ['p1', null, 'none', 'human', null],
      ['p2', 'A', 'human', 'human', null],
      ['p3', 'B', 'ai', 'ai', 'j'],
    ]);
    expect(rows[1]).toMatchObject({ chosen: '4', rejected: '5', annotators: a.id, n_human_labels: 1, confidence: 0.67 });
  });
});
