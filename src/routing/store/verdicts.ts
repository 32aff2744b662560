// Judge verdicts in the label store: several AI verdicts per pair (any number of judges, each in one
// or both response orders, with confidence and per-response scores), kept beside the one-judge
// `ai_labels` table, which is left as it is. Added by its own migration; plain SQL that SQLite and
// PostgreSQL both accept.

import { fail } from '../../errors.js';
import type { Preference } from '../types.js';
import type { JudgeOrder, Verdict } from '../verdicts/verdict.js';
import type { Migration } from './migrations.js';
import type { LabelStore } from './label-store.js';

export const VERDICTS_MIGRATION: Migration = {
  description: 'judge verdicts: several judges per pair, both response orders, confidence and scores',
  up(db) {
    db.exec(`
      CREATE TABLE judge_verdicts (
        pair_id TEXT NOT NULL REFERENCES pairs(id) ON DELETE CASCADE,
        judge TEXT NOT NULL,
        response_order TEXT NOT NULL CHECK (response_order IN ('AB', 'BA')),
        preference TEXT CHECK (preference IN ('A', 'B', 'tie')),
        confidence REAL CHECK (confidence BETWEEN 0 AND 1),
        score_a REAL,
        score_b REAL,
        created_at TEXT NOT NULL,
        PRIMARY KEY (pair_id, judge, response_order)
      );
    `);
  },
};

export interface StoredVerdict extends Verdict {
  pairId: string;
  createdAt: string;
}

/** Adds (or replaces, per pair, judge and order) verdicts in one transaction; unknown pairs are refused. */
export function addVerdicts(store: LabelStore, verdicts: readonly (Verdict & { pairId: string })[]): number {
  const exists = store.db.prepare('SELECT 1 FROM pairs WHERE id = ?');
  const upsert = store.db.prepare(
    'INSERT OR REPLACE INTO judge_verdicts (pair_id, judge, response_order, preference, confidence, score_a, score_b, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
  );
  const t = new Date().toISOString();
  store.db.transaction(() => {
    for (const v of verdicts) {
      if (!exists.get(v.pairId)) throw fail('ALIGNKIT_ERR_UNKNOWN_PAIR', `no pair with id '${v.pairId}' in the label store (add the pairs before their verdicts)`, { field: 'pairId', pairId: v.pairId });
      upsert.run(v.pairId, v.judge, v.order, v.preference, v.confidence ?? null, v.scoreA ?? null, v.scoreB ?? null, t);
    }
  })();
  return verdicts.length;
}

/** Verdicts of one pair, or of every pair, in pair order then judge and order. */
export function listVerdicts(store: LabelStore, pairId?: string): StoredVerdict[] {
  const sql = `SELECT v.* FROM judge_verdicts v JOIN pairs p ON p.id = v.pair_id ${pairId === undefined ? '' : 'WHERE v.pair_id = ?'} ORDER BY p.rowid, v.judge, v.response_order`;
  const rows = (pairId === undefined ? store.db.prepare(sql).all() : store.db.prepare(sql).all(pairId)) as Record<string, unknown>[];
  const num = (x: unknown) => (x === null ? null : Number(x));
  return rows.map((r) => ({
    pairId: String(r.pair_id),
    judge: String(r.judge),
    order: r.response_order as JudgeOrder,
    preference: (r.preference as Preference | null) ?? null,
    confidence: num(r.confidence),
    scoreA: num(r.score_a),
    scoreB: num(r.score_b),
    createdAt: String(r.created_at),
  }));
}
