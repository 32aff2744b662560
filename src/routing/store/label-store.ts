// The embedded label store (better-sqlite3, WAL journal): pairs, their features, routing
// decisions, AI labels with their judge, and human labels with annotator, time and confidence.
// Every write is one transaction that has reached the disk when the call returns
// (synchronous=FULL), so a label the server acknowledged survives a kill -9.

import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { fail } from '../../errors.js';
import { buildFeatureTable, type FeatureTable } from '../features/extract.js';
import { LEXICAL_SCORES, type TagRecord } from '../features/catalog.js';
import type { LexicalScores } from '../features/lexical.js';
import { preferenceFromScale } from '../labels.js';
import type { Preference, Route, RoutingPair } from '../types.js';
import { MIGRATIONS } from './migrations.js';

export interface LabelStoreConfig {
  /** SQLite file; ':memory:' for a throwaway store. */
  path: string;
  /** FULL (default) fsyncs the WAL on every commit: durable acknowledgements. NORMAL trades that for speed. */
  synchronous: 'FULL' | 'NORMAL' | 'EXTRA';
  busyTimeoutMs: number;
}

export const DEFAULT_LABEL_STORE_CONFIG: Omit<LabelStoreConfig, 'path'> = { synchronous: 'FULL', busyTimeoutMs: 5000 };

export interface HumanLabel {
  id: number;
  pairId: string;
  annotatorId: string;
  /** -2 A clearly better, -1 A slightly, 0 tie, 1 B slightly, 2 B clearly. */
  scale: number;
  preference: Preference;
  confidence: number;
  createdAt: string;
  updatedAt: string;
}

export interface AiLabel {
  pairId: string;
  judge: string;
  preference: Preference | null;
  scoreA: number | null;
  scoreB: number | null;
  createdAt: string;
}

export interface RoutingRun {
  id: number;
  strategy: string;
  budget: number | null;
  params: Record<string, unknown>;
  predicted: number | null;
  createdAt: string;
}

export interface ExportRow {
  id: string;
  prompt: string;
  response_a: string;
  response_b: string;
  preference: Preference | null;
  chosen: string | null;
  rejected: string | null;
  label_source: 'human' | 'ai' | 'none';
  route: Route | null;
  judge: string | null;
  /** Comma-separated annotator ids (a flat string so Arrow/Parquet exports stay flat). */
  annotators: string;
  n_human_labels: number;
  confidence: number | null;
}

const now = () => new Date().toISOString();

/** API keys are stored as SHA-256 hashes; the key itself is shown once, at creation. */
export function hashApiKey(key: string): string {
  return crypto.createHash('sha256').update(key).digest('hex');
}

function validateScale(scale: number, confidence: number): void {
  if (!Number.isInteger(scale) || scale < -2 || scale > 2) throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `label scale must be an integer in -2..2, got ${scale}`, { field: 'scale' });
  if (!(confidence >= 0 && confidence <= 1)) throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `label confidence must be in [0, 1], got ${confidence}`, { field: 'confidence' });
}

type Row = Record<string, unknown>;

function toHumanLabel(r: Row): HumanLabel {
  return {
    id: Number(r.id),
    pairId: String(r.pair_id),
    annotatorId: String(r.annotator_id),
    scale: Number(r.scale),
    preference: r.preference as Preference,
    confidence: Number(r.confidence),
    createdAt: String(r.created_at),
    updatedAt: String(r.updated_at),
  };
}

function toPair(r: Row): RoutingPair {
  return { id: String(r.id), prompt: String(r.prompt), responseA: String(r.response_a), responseB: String(r.response_b), extra: JSON.parse(String(r.extra)) };
}

export class LabelStore {
  readonly db: Database.Database;
  readonly config: LabelStoreConfig;

  constructor(config: LabelStoreConfig) {
    this.config = config;
    if (config.path !== ':memory:') fs.mkdirSync(path.dirname(path.resolve(config.path)), { recursive: true });
    this.db = new Database(config.path);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma(`synchronous = ${config.synchronous}`);
    this.db.pragma('foreign_keys = ON');
    this.db.pragma(`busy_timeout = ${config.busyTimeoutMs}`);
    this.migrate();
  }

  /** Schema version this file is at (0 = empty file). */
  schemaVersion(): number {
    const row = this.db.prepare('SELECT version FROM schema_version').get() as { version: number } | undefined;
    return row?.version ?? 0;
  }

  private migrate(): void {
    this.db.exec('CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)');
    const current = this.schemaVersion();
    if (current > MIGRATIONS.length) {
      throw fail('ALIGNKIT_ERR_STORE', `label store ${this.config.path} has schema version ${current}, newer than this alignkit (${MIGRATIONS.length})`, { file: this.config.path });
    }
    for (let v = current; v < MIGRATIONS.length; v++) {
      this.db.transaction(() => {
        MIGRATIONS[v].up(this.db);
        this.db.prepare('DELETE FROM schema_version').run();
        this.db.prepare('INSERT INTO schema_version (version) VALUES (?)').run(v + 1);
      })();
    }
  }

  close(): void {
    this.db.close();
  }

  // ---- pairs and features

  addPairs(pairs: RoutingPair[]): { inserted: number; existing: number } {
    const insert = this.db.prepare('INSERT OR IGNORE INTO pairs (id, prompt, response_a, response_b, extra, created_at) VALUES (?, ?, ?, ?, ?, ?)');
    let inserted = 0;
    this.db.transaction(() => {
      const t = now();
      for (const p of pairs) inserted += insert.run(p.id, p.prompt, p.responseA, p.responseB, JSON.stringify(p.extra ?? {}), t).changes;
    })();
    return { inserted, existing: pairs.length - inserted };
  }

  getPair(id: string): RoutingPair | undefined {
    const r = this.db.prepare('SELECT * FROM pairs WHERE id = ?').get(id) as Row | undefined;
    return r ? toPair(r) : undefined;
  }

  listPairs(): RoutingPair[] {
    return (this.db.prepare('SELECT * FROM pairs ORDER BY rowid').all() as Row[]).map(toPair);
  }

  countPairs(): number {
    return Number((this.db.prepare('SELECT COUNT(*) AS n FROM pairs').get() as Row).n);
  }

  saveFeatures(table: FeatureTable): void {
    const upsert = this.db.prepare('INSERT OR REPLACE INTO features (pair_id, active, scores, tags) VALUES (?, ?, ?, ?)');
    const f = table.names.length;
    this.db.transaction(() => {
      table.ids.forEach((id, i) => {
        const active = table.names.filter((_, j) => table.active[i * f + j]);
        const scores = Object.fromEntries(LEXICAL_SCORES.map((s) => [s, table.scores[s][i]]));
        upsert.run(id, JSON.stringify(active), JSON.stringify(scores), JSON.stringify(table.tags[i]));
      });
    })();
  }

  pairIdsWithFeatures(): Set<string> {
    return new Set((this.db.prepare('SELECT pair_id FROM features').all() as Row[]).map((r) => String(r.pair_id)));
  }

  /**
   * The feature table of the given pairs (all pairs with features by default), rebuilt from raw
   * scores so percentile ranks are computed within this pool.
   */
  loadFeatureTable(ids?: string[]): FeatureTable {
    const rows = (this.db.prepare('SELECT f.* FROM features f JOIN pairs p ON p.id = f.pair_id ORDER BY p.rowid').all() as Row[]).filter((r) => !ids || ids.includes(String(r.pair_id)));
    const scores = Object.fromEntries(LEXICAL_SCORES.map((s) => [s, Float64Array.from(rows, (r) => Number(JSON.parse(String(r.scores))[s]))])) as LexicalScores;
    return buildFeatureTable(rows.map((r) => String(r.pair_id)), scores, rows.map((r) => JSON.parse(String(r.tags)) as TagRecord));
  }

  // ---- routing

  recordRouting(run: { strategy: string; budget: number | null; params?: Record<string, unknown>; predicted?: number | null }, decisions: { pairId: string; route: Route; gain?: number | null }[]): number {
    return this.db.transaction(() => {
      const info = this.db
        .prepare('INSERT INTO routing_runs (strategy, budget, params, predicted, created_at) VALUES (?, ?, ?, ?, ?)')
        .run(run.strategy, run.budget, JSON.stringify(run.params ?? {}), run.predicted ?? null, now());
      const runId = Number(info.lastInsertRowid);
      const insert = this.db.prepare('INSERT INTO routing_decisions (run_id, pair_id, route, gain) VALUES (?, ?, ?, ?)');
      for (const d of decisions) insert.run(runId, d.pairId, d.route, d.gain ?? null);
      return runId;
    })();
  }

  latestRun(): RoutingRun | undefined {
    const r = this.db.prepare('SELECT * FROM routing_runs ORDER BY id DESC LIMIT 1').get() as Row | undefined;
    return r
      ? { id: Number(r.id), strategy: String(r.strategy), budget: r.budget === null ? null : Number(r.budget), params: JSON.parse(String(r.params)), predicted: r.predicted === null ? null : Number(r.predicted), createdAt: String(r.created_at) }
      : undefined;
  }

  decisions(runId: number): { pairId: string; route: Route; gain: number | null }[] {
    return (this.db.prepare('SELECT pair_id, route, gain FROM routing_decisions WHERE run_id = ?').all(runId) as Row[]).map((r) => ({
      pairId: String(r.pair_id),
      route: r.route as Route,
      gain: r.gain === null ? null : Number(r.gain),
    }));
  }

  // ---- AI labels

  addAiLabels(labels: { pairId: string; judge: string; preference: Preference | null; scoreA?: number | null; scoreB?: number | null }[]): void {
    const upsert = this.db.prepare('INSERT OR REPLACE INTO ai_labels (pair_id, judge, preference, score_a, score_b, created_at) VALUES (?, ?, ?, ?, ?, ?)');
    this.db.transaction(() => {
      const t = now();
      for (const l of labels) upsert.run(l.pairId, l.judge, l.preference, l.scoreA ?? null, l.scoreB ?? null, t);
    })();
  }

  aiLabels(pairId?: string): AiLabel[] {
    const rows = (pairId ? this.db.prepare('SELECT * FROM ai_labels WHERE pair_id = ?').all(pairId) : this.db.prepare('SELECT * FROM ai_labels').all()) as Row[];
    return rows.map((r) => ({
      pairId: String(r.pair_id),
      judge: String(r.judge),
      preference: (r.preference as Preference | null) ?? null,
      scoreA: r.score_a === null ? null : Number(r.score_a),
      scoreB: r.score_b === null ? null : Number(r.score_b),
      createdAt: String(r.created_at),
    }));
  }

  // ---- annotators

  /** Creates an annotator and returns its API key (only its hash is stored). */
  createAnnotator(name: string, id: string = crypto.randomUUID()): { id: string; name: string; apiKey: string } {
    const apiKey = `ak_${crypto.randomBytes(24).toString('base64url')}`;
    this.db.prepare('INSERT INTO annotators (id, name, key_hash, created_at) VALUES (?, ?, ?, ?)').run(id, name, hashApiKey(apiKey), now());
    return { id, name, apiKey };
  }

  annotatorByKey(apiKey: string): { id: string; name: string } | undefined {
    const r = this.db.prepare('SELECT id, name FROM annotators WHERE key_hash = ?').get(hashApiKey(apiKey)) as Row | undefined;
    return r ? { id: String(r.id), name: String(r.name) } : undefined;
  }

  // ---- human labels

  /**
   * Records an annotator's label for a pair. Idempotent per (annotator, pair): the same label again
   * changes nothing; a different one from the same annotator replaces it.
   */
  submitHumanLabel(input: { pairId: string; annotatorId: string; scale: number; confidence: number }): { label: HumanLabel; created: boolean; changed: boolean } {
    validateScale(input.scale, input.confidence);
    return this.db.transaction(() => {
      if (!this.getPair(input.pairId)) throw fail('ALIGNKIT_ERR_UNKNOWN_PAIR', `no pair with id '${input.pairId}' in the label store`, { field: 'pairId', pairId: input.pairId });
      const existing = this.db.prepare('SELECT * FROM human_labels WHERE pair_id = ? AND annotator_id = ?').get(input.pairId, input.annotatorId) as Row | undefined;
      const t = now();
      if (!existing) {
        const info = this.db
          .prepare('INSERT INTO human_labels (pair_id, annotator_id, scale, preference, confidence, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)')
          .run(input.pairId, input.annotatorId, input.scale, preferenceFromScale(input.scale), input.confidence, t, t);
        return { label: this.labelById(Number(info.lastInsertRowid))!, created: true, changed: true };
      }
      if (Number(existing.scale) === input.scale && Number(existing.confidence) === input.confidence) {
        return { label: toHumanLabel(existing), created: false, changed: false };
      }
      this.db.prepare('UPDATE human_labels SET scale = ?, preference = ?, confidence = ?, updated_at = ? WHERE id = ?').run(input.scale, preferenceFromScale(input.scale), input.confidence, t, existing.id);
      return { label: this.labelById(Number(existing.id))!, created: false, changed: true };
    })();
  }

  labelById(id: number): HumanLabel | undefined {
    const r = this.db.prepare('SELECT * FROM human_labels WHERE id = ?').get(id) as Row | undefined;
    return r ? toHumanLabel(r) : undefined;
  }

  /** Changes a label by id; only the annotator who gave it may (403 otherwise). */
  updateHumanLabel(id: number, annotatorId: string, change: { scale: number; confidence: number }): HumanLabel {
    validateScale(change.scale, change.confidence);
    const label = this.labelById(id);
    if (!label) throw fail('ALIGNKIT_ERR_UNKNOWN_PAIR', `no human label with id ${id}`, { field: 'id', id });
    if (label.annotatorId !== annotatorId) throw fail('ALIGNKIT_ERR_FORBIDDEN', `label ${id} belongs to another annotator; only its own annotator can change it`, { id });
    return this.submitHumanLabel({ pairId: label.pairId, annotatorId, ...change }).label;
  }

  humanLabels(pairId?: string): HumanLabel[] {
    const rows = (pairId ? this.db.prepare('SELECT * FROM human_labels WHERE pair_id = ? ORDER BY id').all(pairId) : this.db.prepare('SELECT * FROM human_labels ORDER BY id').all()) as Row[];
    return rows.map(toHumanLabel);
  }

  /**
   * The next pair for an annotator: routed to humans in the latest routing run, not yet labelled by
   * this annotator, with fewer than `labelsPerPair` human labels; highest gain first.
   */
  nextPairFor(annotatorId: string, labelsPerPair = 1): RoutingPair | undefined {
    const run = this.latestRun();
    if (!run) return undefined;
    const r = this.db
      .prepare(
        `SELECT p.* FROM routing_decisions d JOIN pairs p ON p.id = d.pair_id
         WHERE d.run_id = ? AND d.route = 'human'
           AND NOT EXISTS (SELECT 1 FROM human_labels h WHERE h.pair_id = p.id AND h.annotator_id = ?)
           AND (SELECT COUNT(*) FROM human_labels h WHERE h.pair_id = p.id) < ?
         ORDER BY COALESCE(d.gain, 0) DESC, p.rowid LIMIT 1`,
      )
      .get(run.id, annotatorId, labelsPerPair) as Row | undefined;
    return r ? toPair(r) : undefined;
  }

  /**
   * The labelled dataset: the human label where there is one (several are combined by the sign of
   * their mean scale), the AI label elsewhere (the named judge, or the latest from any judge),
   * with provenance columns.
   */
  exportLabelled(judge?: string): ExportRow[] {
    const run = this.latestRun();
    const routes = new Map(run ? this.decisions(run.id).map((d) => [d.pairId, d.route]) : []);
    const humans = new Map<string, HumanLabel[]>();
    for (const l of this.humanLabels()) humans.set(l.pairId, [...(humans.get(l.pairId) ?? []), l]);
    const ais = new Map<string, AiLabel>();
    for (const l of this.aiLabels().sort((a, b) => a.createdAt.localeCompare(b.createdAt))) {
      if (!judge || l.judge === judge) ais.set(l.pairId, l);
    }
    return this.listPairs().map((p) => {
      const hs = humans.get(p.id) ?? [];
      const ai = ais.get(p.id);
      let preference: Preference | null = null;
      let source: ExportRow['label_source'] = 'none';
      let confidence: number | null = null;
      if (hs.length > 0) {
        preference = preferenceFromScale(hs.reduce((s, l) => s + l.scale, 0) / hs.length);
        confidence = hs.reduce((s, l) => s + l.confidence, 0) / hs.length;
        source = 'human';
      } else if (ai && ai.preference) {
        preference = ai.preference;
        source = 'ai';
      }
      const chosen = preference === 'A' ? p.responseA : preference === 'B' ? p.responseB : null;
      const rejected = preference === 'A' ? p.responseB : preference === 'B' ? p.responseA : null;
      return {
        id: p.id,
        prompt: p.prompt,
        response_a: p.responseA,
        response_b: p.responseB,
        preference,
        chosen,
        rejected,
        label_source: source,
        route: routes.get(p.id) ?? null,
        judge: source === 'ai' ? ai!.judge : null,
        annotators: hs.map((l) => l.annotatorId).join(','),
        n_human_labels: hs.length,
        confidence,
      };
    });
  }
}

export function openLabelStore(config: Partial<LabelStoreConfig> & Pick<LabelStoreConfig, 'path'>): LabelStore {
  const full = { ...DEFAULT_LABEL_STORE_CONFIG, ...config };
  if (!['FULL', 'NORMAL', 'EXTRA'].includes(full.synchronous)) throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `synchronous must be FULL, NORMAL or EXTRA, got '${full.synchronous}'`, { parameter: 'synchronous' });
  return new LabelStore(full);
}
