// The judge_verdicts table of the label store (its own migration): several judges per pair in both
// orders, upserted per (pair, judge, order), refused for pairs the store does not hold.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openLabelStore } from '../../src/routing/store/index.js';
import { MIGRATIONS } from '../../src/routing/store/migrations.js';
import { addVerdicts, listVerdicts, VERDICTS_MIGRATION } from '../../src/routing/store/verdicts.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'alignkit-verdict-store-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('judge verdicts in the label store', () => {
  it('is a migration, stores both orders per judge, replaces a verdict given again, refuses unknown pairs', async () => {
    expect(MIGRATIONS).toContain(VERDICTS_MIGRATION);
    const store = await openLabelStore({ path: path.join(dir, 'labels.sqlite') });
    try {
      await store.addPairs([{ id: 'p1', prompt: 'q', responseA: 'a', responseB: 'b' }]);
      await addVerdicts(store, [
        { pairId: 'p1', judge: 'gpt', order: 'AB', preference: 'A', confidence: 0.9 },
        { pairId: 'p1', judge: 'gpt', order: 'BA', preference: 'B' },
        { pairId: 'p1', judge: 'rater', order: 'AB', preference: null, scoreA: 7, scoreB: 4 },
      ]);
      await addVerdicts(store, [{ pairId: 'p1', judge: 'gpt', order: 'BA', preference: 'A', confidence: 0.6 }]);
      const stored = await listVerdicts(store, 'p1');
      expect(stored.map(({ createdAt: _c, ...v }) => v)).toEqual([
        { pairId: 'p1', judge: 'gpt', order: 'AB', preference: 'A', confidence: 0.9, scoreA: null, scoreB: null },
        { pairId: 'p1', judge: 'gpt', order: 'BA', preference: 'A', confidence: 0.6, scoreA: null, scoreB: null },
        { pairId: 'p1', judge: 'rater', order: 'AB', preference: null, confidence: null, scoreA: 7, scoreB: 4 },
      ]);
      await expect(addVerdicts(store, [{ pairId: 'nope', judge: 'gpt', order: 'AB', preference: 'A' }])).rejects.toThrow(/no pair with id 'nope' in the label store/);
      expect(await listVerdicts(store)).toHaveLength(3);
    } finally {
      await store.close();
    }
  });
});
