// Schema version 3: what the store needs to enforce who may label what.
// - `assignments`: the pairs GET /next has handed to each annotator, with a lease. A label is
//   accepted only for a pair handed to its annotator, and a pair is handed out only while its human
//   labels plus live leases stay under the label quota.
// - `human_labels.override`: 1 when an admin recorded the label past those checks.
// - `routing_decisions.rank`: the order in which a run hands its pairs out (highest gain first),
//   indexed, so finding the next pair walks the index and stops at the first pair with a free
//   slot instead of sorting the whole pool on every request. Runs recorded before get theirs here.
// - SQLite stores written before ids were validated can hold pair or annotator ids that are not
//   UTF-8 (a lone surrogate such as "\ud800" was written as its 3-byte WTF-8 form): such an id reads
//   back as replacement characters that match no row, so routing failed on a FOREIGN KEY error and
//   the pair could not be deleted. They are rewritten once to what they read as, in every table
//   that refers to them. PostgreSQL never stored such text.

import { isUtf8 } from 'node:buffer';
import type { SqlExecutor } from '../driver.js';
import type { Migration } from '../migrations.js';

const TABLES = `
  CREATE TABLE assignments (
    pair_id TEXT NOT NULL REFERENCES pairs(id) ON DELETE CASCADE,
    annotator_id TEXT NOT NULL REFERENCES annotators(id) ON DELETE CASCADE,
    assigned_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    PRIMARY KEY (pair_id, annotator_id)
  );
  CREATE INDEX assignments_annotator ON assignments(annotator_id, expires_at);
  ALTER TABLE human_labels ADD COLUMN override INTEGER NOT NULL DEFAULT 0;
  CREATE INDEX routing_decisions_pair ON routing_decisions(pair_id);
  ALTER TABLE routing_decisions ADD COLUMN rank INTEGER;
  CREATE INDEX routing_decisions_next ON routing_decisions(run_id, route, rank);
`;

/** Ranks of the decisions of runs recorded under schema 1: by gain (none counts as 0), then pair order. */
async function rankOldRuns(tx: SqlExecutor): Promise<void> {
  const rows = await tx.all('SELECT d.run_id, d.pair_id, COALESCE(d.gain, 0) AS g FROM routing_decisions d JOIN pairs p ON p.id = d.pair_id ORDER BY d.run_id, g DESC, p.rowid');
  let run: unknown;
  let rank = 0;
  for (const r of rows) {
    if (r.run_id !== run) [run, rank] = [r.run_id, 0];
    await tx.run('UPDATE routing_decisions SET rank = ? WHERE run_id = ? AND pair_id = ?', [rank++, r.run_id as number, r.pair_id as string]);
  }
}

/** Tables whose `id` other tables refer to, and those references. */
const ID_REFERENCES: { table: string; children: [string, string][] }[] = [
  { table: 'pairs', children: [['features', 'pair_id'], ['routing_decisions', 'pair_id'], ['ai_labels', 'pair_id'], ['human_labels', 'pair_id'], ['assignments', 'pair_id'], ['judge_verdicts', 'pair_id']] },
  { table: 'annotators', children: [['human_labels', 'annotator_id'], ['assignments', 'annotator_id']] },
];

async function normaliseIds(tx: SqlExecutor, table: string, children: [string, string][]): Promise<void> {
  const rows = (await tx.all(`SELECT CAST(id AS BLOB) AS raw FROM ${table}`)).map((r) => Buffer.from(r.raw as Uint8Array));
  const bad = rows.filter((raw) => !isUtf8(raw));
  if (bad.length === 0) return;
  const taken = new Set(rows.filter((raw) => isUtf8(raw)).map((raw) => raw.toString('utf8')));
  for (const raw of bad) {
    // What the id already read as (one U+FFFD per bad byte); a suffix if that is another row's id.
    const base = raw.toString('utf8');
    let id = base;
    for (let n = 2; taken.has(id); n++) id = `${base} (${n})`;
    taken.add(id);
    for (const [child, column] of children) await tx.run(`UPDATE ${child} SET ${column} = ? WHERE CAST(${column} AS BLOB) = ?`, [id, raw]);
    await tx.run(`UPDATE ${table} SET id = ? WHERE CAST(id AS BLOB) = ?`, [id, raw]);
  }
}

export const annotationGuards: Migration = {
  description: 'assignments with leases, override flag on human labels, ranked decisions; SQLite: ids that are not UTF-8 rewritten once',
  async sqlite(tx) {
    await tx.exec(TABLES);
    // Parent and child rows change one after the other: check the foreign keys at commit.
    await tx.exec('PRAGMA defer_foreign_keys = ON');
    for (const { table, children } of ID_REFERENCES) await normaliseIds(tx, table, children);
    await rankOldRuns(tx);
  },
  postgres: TABLES,
};
