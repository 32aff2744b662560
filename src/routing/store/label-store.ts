// The label store: pairs, their features, routing decisions, AI labels with their judge, annotators,
// the pairs handed to each annotator, and human labels with annotator, time and confidence. One
// implementation over a SQL driver (./driver.ts): SQLite for one server, PostgreSQL for several
// servers sharing the store. Every write is one transaction that is durable when the call
// resolves, so a label the server acknowledged survives a kill -9.
//
// Who may label what is enforced here, inside the transaction that writes, so it holds however
// many servers write at once: an annotator labels only a pair routed to humans in the latest run
// that `nextPairFor` handed to them, and no pair gets more than `labelsPerPair` human labels.
// An admin may record a label past those checks (`override`), and the label says so.

import crypto from 'node:crypto';
import { fail } from '../../errors.js';
import { buildFeatureTable, type FeatureTable } from '../features/extract.js';
import { LEXICAL_SCORES, type TagRecord } from '../features/catalog.js';
import type { LexicalScores } from '../features/lexical.js';
import { PREFERENCES, preferenceFromScale } from '../labels.js';
import type { Preference, Route, RoutingPair } from '../types.js';
import type { SqlDriver, SqlExecutor, SqlRow, SqlValue } from './driver.js';
import { migrate, schemaVersion } from './migrate.js';
import {
  annotationPolicy, exportRow, latestAiLabel, toAiLabel, toHumanLabel, toPair, toRoutingRun,
  type AiLabel, type AnnotationPolicy, type ExportRow, type HumanLabel, type RoutingRun,
} from './records.js';
import { checkId, checkPair, checkScale, checkText, storable, type PairFieldNames } from './validate.js';

const now = () => new Date().toISOString();
const placeholders = (n: number) => Array.from({ length: n }, () => '?').join(', ');
const finiteOrNull = (v: number | null | undefined) => (typeof v === 'number' && Number.isFinite(v) ? v : null);

/** API keys are stored as SHA-256 hashes; the key itself is shown once, at creation. */
export function hashApiKey(key: string): string {
  return crypto.createHash('sha256').update(key).digest('hex');
}

export function newApiKey(): string {
  return `ak_${crypto.randomBytes(24).toString('base64url')}`;
}

/** Pairs per page when the export streams the store. */
const EXPORT_PAGE = 500;

/** Rows per multi-row statement: few round trips, well under SQLite's 32,766 parameters. */
const BATCH = 500;

function chunks<T>(items: T[], size = BATCH): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** Runs `INSERT ... VALUES (...), (...) <suffix>` over the rows in batches; resolves to rows changed. */
async function insertRows(tx: SqlExecutor, head: string, rows: SqlValue[][], suffix = ''): Promise<number> {
  let changed = 0;
  for (const batch of chunks(rows)) {
    const values = batch.map((r) => `(${placeholders(r.length)})`).join(', ');
    changed += await tx.run(`${head} VALUES ${values} ${suffix}`, batch.flat());
  }
  return changed;
}

/**
 * Slots of pair `p` taken by someone other than annotator ?: its human labels, plus live leases
 * (expiring after ?) of other annotators who have not labelled it yet. Parameters: annotator, now.
 */
const SLOTS_TAKEN = `(SELECT COUNT(*) FROM human_labels h WHERE h.pair_id = p.id)
  + (SELECT COUNT(*) FROM assignments a WHERE a.pair_id = p.id AND a.annotator_id <> ? AND a.expires_at > ?
       AND NOT EXISTS (SELECT 1 FROM human_labels h2 WHERE h2.pair_id = a.pair_id AND h2.annotator_id = a.annotator_id))`;

export class LabelStore {
  constructor(readonly driver: SqlDriver) {}

  /** Runs the missing migrations; `openLabelStore` does this. */
  async migrate(): Promise<number> {
    return migrate(this.driver);
  }

  /** Where the store lives (a file, or a PostgreSQL URL with the password masked). */
  get location(): string {
    return this.driver.location;
  }

  /** Schema version the store is at (0 = empty). */
  schemaVersion(): Promise<number> {
    return schemaVersion(this.driver);
  }

  close(): Promise<void> {
    return this.driver.close();
  }

  private get order(): string {
    return this.driver.sql.pairOrder;
  }

  // ---- pairs and features

  /** Adds pairs; ids already in the store are left as they are. `names` words the errors. */
  async addPairs(pairs: RoutingPair[], names?: PairFieldNames): Promise<{ inserted: number; existing: number }> {
    pairs.forEach((p, i) => checkPair(p, `pairs[${i}]`, names));
    const t = now();
    const rows = pairs.map((p) => [p.id, p.prompt, p.responseA, p.responseB, JSON.stringify(p.extra ?? {}), t]);
    const inserted = await this.driver.transaction((tx) => insertRows(tx, 'INSERT INTO pairs (id, prompt, response_a, response_b, extra, created_at)', rows, 'ON CONFLICT (id) DO NOTHING'));
    return { inserted, existing: pairs.length - inserted };
  }

  /** Deletes a pair with its features, routing decisions, leases and labels; false when absent. */
  async deletePair(id: string): Promise<boolean> {
    if (!storable(id)) return false;
    return (await this.driver.transaction((tx) => tx.run('DELETE FROM pairs WHERE id = ?', [id]))) > 0;
  }

  async getPair(id: string, ex: SqlExecutor = this.driver): Promise<RoutingPair | undefined> {
    if (!storable(id)) return undefined;
    const r = await ex.get('SELECT id, prompt, response_a, response_b, extra FROM pairs WHERE id = ?', [id]);
    return r ? toPair(r) : undefined;
  }

  async listPairs(): Promise<RoutingPair[]> {
    return (await this.driver.all(`SELECT p.id, p.prompt, p.response_a, p.response_b, p.extra FROM pairs p ORDER BY ${this.order}`)).map(toPair);
  }

  async countPairs(): Promise<number> {
    return Number((await this.driver.get('SELECT COUNT(*) AS n FROM pairs'))!.n);
  }

  /**
   * The ids among `ids` that name stored pairs, read inside a write transaction (PostgreSQL keeps
   * them from being deleted before it commits), so rows that refer to them never break a foreign key.
   */
  private async existingPairs(tx: SqlExecutor, ids: string[]): Promise<Set<string>> {
    const found = new Set<string>();
    for (const batch of chunks(ids.filter(storable))) {
      for (const r of await tx.all(`SELECT id FROM pairs WHERE id IN (${placeholders(batch.length)})${this.driver.sql.lockShared}`, batch)) found.add(String(r.id));
    }
    return found;
  }

  /** Stores features; rows of pairs deleted meanwhile are skipped. */
  async saveFeatures(table: FeatureTable): Promise<void> {
    const f = table.names.length;
    await this.driver.transaction(async (tx) => {
      const existing = await this.existingPairs(tx, table.ids);
      const rows = table.ids.flatMap((id, i) => {
        if (!existing.has(id)) return [];
        const active = table.names.filter((_, j) => table.active[i * f + j]);
        const scores = Object.fromEntries(LEXICAL_SCORES.map((s) => [s, table.scores[s][i]]));
        return [[id, JSON.stringify(active), JSON.stringify(scores), JSON.stringify(table.tags[i])]];
      });
      await insertRows(tx, 'INSERT INTO features (pair_id, active, scores, tags)', rows, 'ON CONFLICT (pair_id) DO UPDATE SET active = excluded.active, scores = excluded.scores, tags = excluded.tags');
    });
  }

  async pairIdsWithFeatures(): Promise<Set<string>> {
    return new Set((await this.driver.all('SELECT pair_id FROM features')).map((r) => String(r.pair_id)));
  }

  /**
   * The feature table of the given pairs (all pairs with features by default), rebuilt from raw
   * scores so percentile ranks are computed within this pool.
   */
  async loadFeatureTable(ids?: string[]): Promise<FeatureTable> {
    const wanted = ids && new Set(ids);
    const rows = (await this.driver.all(`SELECT f.pair_id, f.scores, f.tags FROM features f JOIN pairs p ON p.id = f.pair_id ORDER BY ${this.order}`)).filter(
      (r) => !wanted || wanted.has(String(r.pair_id)),
    );
    const parsed = rows.map((r) => JSON.parse(String(r.scores)) as Record<string, number>);
    const scores = Object.fromEntries(LEXICAL_SCORES.map((s) => [s, Float64Array.from(parsed, (p) => Number(p[s]))])) as LexicalScores;
    return buildFeatureTable(rows.map((r) => String(r.pair_id)), scores, rows.map((r) => JSON.parse(String(r.tags)) as TagRecord));
  }

  // ---- routing

  /** Records a routing run; decisions on pairs deleted meanwhile are skipped. */
  async recordRouting(run: { strategy: string; budget: number | null; params?: Record<string, unknown>; predicted?: number | null }, decisions: { pairId: string; route: Route; gain?: number | null }[]): Promise<number> {
    return this.driver.transaction(async (tx) => {
      const row = await tx.get('INSERT INTO routing_runs (strategy, budget, params, predicted, created_at) VALUES (?, ?, ?, ?, ?) RETURNING id', [
        run.strategy, finiteOrNull(run.budget), JSON.stringify(run.params ?? {}), finiteOrNull(run.predicted), now(),
      ]);
      const runId = Number(row!.id);
      const existing = await this.existingPairs(tx, decisions.map((d) => d.pairId));
      // The hand-out order: highest gain first (no gain counts as 0), ties in the order given.
      const ranked = decisions.filter((d) => existing.has(d.pairId)).map((d, i) => ({ d, i, g: finiteOrNull(d.gain) ?? 0 }));
      ranked.sort((a, b) => b.g - a.g || a.i - b.i);
      const rows = ranked.map(({ d }, rank) => [runId, d.pairId, d.route, finiteOrNull(d.gain), rank]);
      await insertRows(tx, 'INSERT INTO routing_decisions (run_id, pair_id, route, gain, rank)', rows);
      return runId;
    });
  }

  async latestRun(ex: SqlExecutor = this.driver): Promise<RoutingRun | undefined> {
    const r = await ex.get('SELECT * FROM routing_runs ORDER BY id DESC LIMIT 1');
    return r ? toRoutingRun(r) : undefined;
  }

  async decisions(runId: number): Promise<{ pairId: string; route: Route; gain: number | null }[]> {
    return (await this.driver.all('SELECT pair_id, route, gain FROM routing_decisions WHERE run_id = ?', [runId])).map((r) => ({
      pairId: String(r.pair_id),
      route: r.route as Route,
      gain: r.gain === null ? null : Number(r.gain),
    }));
  }

  // ---- AI labels

  /** Stores (or replaces) each judge's label of a pair; resolves to how many pairs still existed. */
  async addAiLabels(labels: { pairId: string; judge: string; preference: Preference | null; scoreA?: number | null; scoreB?: number | null }[]): Promise<number> {
    for (const l of labels) {
      checkText(l.judge, 'judge');
      if (l.preference !== null && !PREFERENCES.includes(l.preference)) {
        throw fail('ALIGNKIT_ERR_JUDGE', `judge '${l.judge}' answered ${JSON.stringify(l.preference)} for pair '${l.pairId}'; a preference is A, B, tie or null`, { judge: l.judge, pairId: l.pairId });
      }
    }
    // One row per (pair, judge), the last given: a multi-row upsert may not touch a row twice.
    const latest = new Map(labels.map((l) => [JSON.stringify([l.pairId, l.judge]), l]));
    return this.driver.transaction(async (tx) => {
      const t = now();
      const existing = await this.existingPairs(tx, [...latest.values()].map((l) => l.pairId));
      const rows = [...latest.values()].filter((l) => existing.has(l.pairId)).map((l) => [l.pairId, l.judge, l.preference, finiteOrNull(l.scoreA), finiteOrNull(l.scoreB), t]);
      await insertRows(
        tx,
        'INSERT INTO ai_labels (pair_id, judge, preference, score_a, score_b, created_at)',
        rows,
        'ON CONFLICT (pair_id, judge) DO UPDATE SET preference = excluded.preference, score_a = excluded.score_a, score_b = excluded.score_b, created_at = excluded.created_at',
      );
      return rows.length;
    });
  }

  async aiLabels(pairId?: string): Promise<AiLabel[]> {
    if (pairId !== undefined && !storable(pairId)) return [];
    const rows = pairId ? await this.driver.all('SELECT * FROM ai_labels WHERE pair_id = ?', [pairId]) : await this.driver.all('SELECT * FROM ai_labels');
    return rows.map(toAiLabel);
  }

  // ---- annotators

  /** Creates an annotator and returns its API key (only its hash is stored); 409 for a taken id. */
  async createAnnotator(name: string, id: string = crypto.randomUUID()): Promise<{ id: string; name: string; apiKey: string }> {
    checkText(name, 'name');
    checkId(id, 'id');
    const apiKey = newApiKey();
    const inserted = await this.driver.transaction((tx) =>
      tx.run('INSERT INTO annotators (id, name, key_hash, created_at) VALUES (?, ?, ?, ?) ON CONFLICT (id) DO NOTHING', [id, name, hashApiKey(apiKey), now()]),
    );
    if (inserted === 0) throw fail('ALIGNKIT_ERR_CONFLICT', `an annotator with id '${id}' already exists; choose another id or leave it out for a generated one`, { field: 'id', id });
    return { id, name, apiKey };
  }

  /** Creates the annotator or gives it this name and key (a key file kept by the operator). */
  async putAnnotator(annotator: { id: string; name: string; apiKey: string }): Promise<void> {
    checkText(annotator.name, 'name');
    checkId(annotator.id, 'id');
    await this.driver.transaction((tx) =>
      tx.run('INSERT INTO annotators (id, name, key_hash, created_at) VALUES (?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET name = excluded.name, key_hash = excluded.key_hash', [
        annotator.id, annotator.name, hashApiKey(annotator.apiKey), now(),
      ]),
    );
  }

  async annotatorByKey(apiKey: string): Promise<{ id: string; name: string } | undefined> {
    const r = await this.driver.get('SELECT id, name FROM annotators WHERE key_hash = ?', [hashApiKey(apiKey)]);
    return r ? { id: String(r.id), name: String(r.name) } : undefined;
  }

  // ---- handing pairs out

  /**
   * The next pair for an annotator, reserved for them for `leaseMs`: the pair they hold a live
   * lease on if any (a reload does not take a second slot), else the human-routed pair of the
   * latest run with the highest gain that they have not labelled and whose human labels plus
   * other annotators' live leases are under `labelsPerPair`.
   */
  async nextPairFor(annotatorId: string, policy: Partial<AnnotationPolicy> = {}): Promise<RoutingPair | undefined> {
    const { labelsPerPair, leaseMs } = annotationPolicy(policy);
    return this.driver.transaction(async (tx) => {
      const run = await this.latestRun(tx);
      if (!run) return undefined;
      const t = now();
      const expires = new Date(Date.now() + leaseMs).toISOString();
      const held = await tx.get(
        `SELECT p.id FROM assignments me JOIN pairs p ON p.id = me.pair_id
           JOIN routing_decisions d ON d.pair_id = me.pair_id AND d.run_id = ? AND d.route = 'human'
         WHERE me.annotator_id = ? AND me.expires_at > ?
           AND NOT EXISTS (SELECT 1 FROM human_labels h WHERE h.pair_id = p.id AND h.annotator_id = me.annotator_id)
           AND ${SLOTS_TAKEN} < ?
         ORDER BY me.assigned_at, ${this.order} LIMIT 1`,
        [run.id, annotatorId, t, annotatorId, t, labelsPerPair],
      );
      if (held) {
        await tx.run('UPDATE assignments SET expires_at = ? WHERE pair_id = ? AND annotator_id = ?', [expires, String(held.id), annotatorId]);
        return this.getPair(String(held.id), tx);
      }
      // A candidate locked by this query can have lost its last slot to a server whose snapshot
      // was newer: it is counted again under the lock and passed over if full.
      const passed: string[] = [];
      for (;;) {
        const candidate = await tx.get(
          `SELECT p.id FROM routing_decisions d JOIN pairs p ON p.id = d.pair_id
           WHERE d.run_id = ? AND d.route = 'human'
             AND NOT EXISTS (SELECT 1 FROM human_labels h WHERE h.pair_id = p.id AND h.annotator_id = ?)
             AND ${SLOTS_TAKEN} < ?
             ${passed.length ? `AND p.id NOT IN (${placeholders(passed.length)})` : ''}
           ORDER BY d.rank LIMIT 1${this.driver.sql.lockCandidate}`,
          [run.id, annotatorId, annotatorId, t, labelsPerPair, ...passed],
        );
        if (!candidate) return undefined;
        const pairId = String(candidate.id);
        if ((await this.slotsTaken(tx, pairId, annotatorId, t)) >= labelsPerPair) {
          passed.push(pairId);
          continue;
        }
        await tx.run(
          `INSERT INTO assignments (pair_id, annotator_id, assigned_at, expires_at) VALUES (?, ?, ?, ?)
           ON CONFLICT (pair_id, annotator_id) DO UPDATE SET assigned_at = excluded.assigned_at, expires_at = excluded.expires_at`,
          [pairId, annotatorId, t, expires],
        );
        return this.getPair(pairId, tx);
      }
    });
  }

  private async slotsTaken(tx: SqlExecutor, pairId: string, annotatorId: string, t: string): Promise<number> {
    return Number((await tx.get(`SELECT ${SLOTS_TAKEN} AS taken FROM pairs p WHERE p.id = ?`, [annotatorId, t, pairId]))!.taken);
  }

  // ---- human labels

  /**
   * Records an annotator's label for a pair. Idempotent per (annotator, pair): the same label again
   * changes nothing; a different one from the same annotator replaces it. Unless `override` (an
   * admin's explicit decision), the pair must be routed to humans in the latest run, and a new
   * label needs the pair to have been handed to this annotator and a free slot under the quota.
   */
  async submitHumanLabel(
    input: { pairId: string; annotatorId: string; scale: number; confidence: number; override?: boolean },
    policy: Partial<AnnotationPolicy> = {},
  ): Promise<{ label: HumanLabel; created: boolean; changed: boolean }> {
    checkScale(input.scale, input.confidence);
    checkId(input.pairId, 'pairId');
    checkId(input.annotatorId, 'annotatorId');
    const { labelsPerPair } = annotationPolicy(policy);
    const { pairId, annotatorId } = input;
    const override = input.override === true;
    return this.driver.transaction(async (tx) => {
      await this.driver.lockPair(tx, pairId);
      if (!(await tx.get('SELECT 1 AS x FROM pairs WHERE id = ?', [pairId]))) throw fail('ALIGNKIT_ERR_UNKNOWN_PAIR', `no pair with id '${pairId}' in the label store`, { field: 'pairId', pairId });
      if (!(await tx.get('SELECT 1 AS x FROM annotators WHERE id = ?', [annotatorId]))) throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `no annotator with id '${annotatorId}' in the label store`, { field: 'annotatorId', annotatorId });
      const existing = await tx.get('SELECT * FROM human_labels WHERE pair_id = ? AND annotator_id = ?', [pairId, annotatorId]);
      if (!override) {
        await this.requireHumanRoute(tx, pairId);
        if (!existing) await this.requireSlot(tx, pairId, annotatorId, labelsPerPair);
      }
      const t = now();
      const values: SqlValue[] = [input.scale, preferenceFromScale(input.scale), input.confidence];
      if (!existing) {
        const row = await tx.get(
          'INSERT INTO human_labels (pair_id, annotator_id, scale, preference, confidence, override, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING *',
          [pairId, annotatorId, ...values, override ? 1 : 0, t, t],
        );
        await tx.run('DELETE FROM assignments WHERE pair_id = ? AND annotator_id = ?', [pairId, annotatorId]);
        return { label: toHumanLabel(row!), created: true, changed: true };
      }
      if (Number(existing.scale) === input.scale && Number(existing.confidence) === input.confidence && (Number(existing.override) === 1) === override) {
        return { label: toHumanLabel(existing), created: false, changed: false };
      }
      const row = await tx.get('UPDATE human_labels SET scale = ?, preference = ?, confidence = ?, override = ?, updated_at = ? WHERE id = ? RETURNING *', [...values, override ? 1 : 0, t, existing.id as SqlValue]);
      return { label: toHumanLabel(row!), created: false, changed: true };
    });
  }

  /** 409 unless the latest routing run sends the pair to human annotators. */
  private async requireHumanRoute(tx: SqlExecutor, pairId: string): Promise<void> {
    const run = await this.latestRun(tx);
    if (!run) throw fail('ALIGNKIT_ERR_CONFLICT', `pair '${pairId}' is not routed yet: route the pool (POST /route) before collecting human labels`, { field: 'pairId', pairId });
    const decision = await tx.get('SELECT route FROM routing_decisions WHERE run_id = ? AND pair_id = ?', [run.id, pairId]);
    if (decision?.route !== 'human') {
      const where = decision ? 'to the AI judge' : 'nowhere (it joined the pool after the run)';
      throw fail('ALIGNKIT_ERR_CONFLICT', `pair '${pairId}' is routed ${where} in routing run ${run.id}; only an admin override records a human label for it`, { field: 'pairId', pairId, runId: run.id });
    }
  }

  /** 403 unless the pair was handed to the annotator; 409 when its label quota is full. */
  private async requireSlot(tx: SqlExecutor, pairId: string, annotatorId: string, labelsPerPair: number): Promise<void> {
    const lease = await tx.get('SELECT expires_at FROM assignments WHERE pair_id = ? AND annotator_id = ?', [pairId, annotatorId]);
    if (!lease) throw fail('ALIGNKIT_ERR_FORBIDDEN', `pair '${pairId}' was not handed to annotator '${annotatorId}'; label the pairs GET /next hands out`, { field: 'pairId', pairId });
    const taken = await this.slotsTaken(tx, pairId, annotatorId, now());
    if (taken >= labelsPerPair) {
      throw fail('ALIGNKIT_ERR_CONFLICT', `pair '${pairId}' already has the ${labelsPerPair} human label${labelsPerPair === 1 ? '' : 's'} it needs (your lease on it had expired); ask GET /next for another`, { field: 'pairId', pairId, labelsPerPair });
    }
  }

  async labelById(id: number): Promise<HumanLabel | undefined> {
    const r = await this.driver.get('SELECT * FROM human_labels WHERE id = ?', [id]);
    return r ? toHumanLabel(r) : undefined;
  }

  /** Changes a label by id; only the annotator who gave it may (403 otherwise). */
  async updateHumanLabel(id: number, annotatorId: string, change: { scale: number; confidence: number }, policy: Partial<AnnotationPolicy> = {}): Promise<HumanLabel> {
    checkScale(change.scale, change.confidence);
    const label = await this.labelById(id);
    if (!label) throw fail('ALIGNKIT_ERR_UNKNOWN_PAIR', `no human label with id ${id}`, { field: 'id', id });
    if (label.annotatorId !== annotatorId) throw fail('ALIGNKIT_ERR_FORBIDDEN', `label ${id} belongs to another annotator; only its own annotator can change it`, { id });
    return (await this.submitHumanLabel({ pairId: label.pairId, annotatorId, ...change }, policy)).label;
  }

  async humanLabels(pairId?: string): Promise<HumanLabel[]> {
    if (pairId !== undefined && !storable(pairId)) return [];
    const rows = pairId ? await this.driver.all('SELECT * FROM human_labels WHERE pair_id = ? ORDER BY id', [pairId]) : await this.driver.all('SELECT * FROM human_labels ORDER BY id');
    return rows.map(toHumanLabel);
  }

  // ---- export

  /**
   * The labelled dataset, streamed from the store a page of pairs at a time: the human label where
   * there is one, the AI label elsewhere (the named judge, or the latest from any judge), with
   * provenance columns.
   */
  async *exportLabelled(judge?: string): AsyncGenerator<ExportRow> {
    if (judge !== undefined) checkText(judge, 'judge');
    const run = await this.latestRun();
    let after: number | undefined;
    for (;;) {
      const page: SqlRow[] = await this.driver.all(
        `SELECT ${this.order} AS k, p.id, p.prompt, p.response_a, p.response_b, p.extra FROM pairs p
         ${after === undefined ? '' : `WHERE ${this.order} > ?`} ORDER BY ${this.order} LIMIT ?`,
        after === undefined ? [EXPORT_PAGE] : [after, EXPORT_PAGE],
      );
      if (page.length === 0) return;
      const ids = page.map((r) => String(r.id));
      const inIds = `pair_id IN (${placeholders(ids.length)})`;
      const humans = groupBy((await this.driver.all(`SELECT * FROM human_labels WHERE ${inIds} ORDER BY id`, ids)).map(toHumanLabel));
      const judged = judge === undefined ? await this.driver.all(`SELECT * FROM ai_labels WHERE ${inIds}`, ids) : await this.driver.all(`SELECT * FROM ai_labels WHERE ${inIds} AND judge = ?`, [...ids, judge]);
      const ais = groupBy(judged.map(toAiLabel));
      const routes = new Map(
        run ? (await this.driver.all(`SELECT pair_id, route FROM routing_decisions WHERE run_id = ? AND ${inIds}`, [run.id, ...ids])).map((r) => [String(r.pair_id), r.route as Route]) : [],
      );
      for (const r of page) {
        const pair = toPair(r);
        yield exportRow(pair, humans.get(pair.id) ?? [], latestAiLabel(ais.get(pair.id) ?? []), routes.get(pair.id) ?? null);
      }
      after = Number(page[page.length - 1].k);
    }
  }
}

function groupBy<T extends { pairId: string }>(items: T[]): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const item of items) out.set(item.pairId, [...(out.get(item.pairId) ?? []), item]);
  return out;
}
