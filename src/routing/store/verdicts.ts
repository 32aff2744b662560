// Judge verdicts in the label store: several AI verdicts per pair (any number of judges, each in one
// or both response orders, with confidence and per-response scores), kept beside the one-judge
// `ai_labels` table, which is left as it is. Added by its own migration, in SQL that SQLite and
// PostgreSQL both accept (`?` placeholders, ON CONFLICT upserts), through the few queries below.

import { fail } from '../../errors.js';
import type { Preference } from '../types.js';
import type { JudgeOrder, Verdict } from '../verdicts/verdict.js';
import type { LabelStore } from './label-store.js';
import type { Migration } from './migrations.js';

const JUDGE_VERDICTS_DDL = `
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
`;

/**
 * The migration, for either backend. PostgreSQL's REAL is 4 bytes (a confidence of 0.9 would read
 * back as 0.899999976), so its columns are DOUBLE PRECISION there, like SQLite's 8-byte REAL.
 */
export const VERDICTS_MIGRATION: Migration = {
  description: 'judge verdicts: several judges per pair, both response orders, confidence and scores',
  sqlite: JUDGE_VERDICTS_DDL,
  postgres: JUDGE_VERDICTS_DDL.replaceAll(' REAL', ' DOUBLE PRECISION'),
};

export interface StoredVerdict extends Verdict {
  pairId: string;
  createdAt: string;
}

const UPSERT = `INSERT INTO judge_verdicts (pair_id, judge, response_order, preference, confidence, score_a, score_b, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
  ON CONFLICT (pair_id, judge, response_order) DO UPDATE SET preference = excluded.preference, confidence = excluded.confidence,
  score_a = excluded.score_a, score_b = excluded.score_b, created_at = excluded.created_at`;

/** Adds (or replaces, per pair, judge and order) verdicts in one transaction; unknown pairs are refused. */
export async function addVerdicts(store: LabelStore, verdicts: readonly (Verdict & { pairId: string })[]): Promise<number> {
  const sql = store.driver;
  const ids = [...new Set(verdicts.map((v) => v.pairId))];
  const known = new Set<string>();
  for (let k = 0; k < ids.length; k += 500) {
    const chunk = ids.slice(k, k + 500);
    for (const r of await sql.all(`SELECT id FROM pairs WHERE id IN (${chunk.map(() => '?').join(', ')})`, chunk)) known.add(String(r.id));
  }
  const unknown = ids.find((id) => !known.has(id));
  if (unknown !== undefined) throw fail('ALIGNKIT_ERR_UNKNOWN_PAIR', `no pair with id '${unknown}' in the label store (add the pairs before their verdicts)`, { field: 'pairId', pairId: unknown });
  const t = new Date().toISOString();
  await sql.transaction(async (tx) => {
    for (const v of verdicts) await tx.run(UPSERT, [v.pairId, v.judge, v.order, v.preference, v.confidence ?? null, v.scoreA ?? null, v.scoreB ?? null, t]);
  });
  return verdicts.length;
}

/** Verdicts of one pair, or of every pair, by pair id, judge and order. */
export async function listVerdicts(store: LabelStore, pairId?: string): Promise<StoredVerdict[]> {
  const where = pairId === undefined ? '' : 'WHERE pair_id = ?';
  const rows = await store.driver.all(`SELECT * FROM judge_verdicts ${where} ORDER BY pair_id, judge, response_order`, pairId === undefined ? [] : [pairId]);
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
