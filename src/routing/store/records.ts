// What the label store hands out: labels, routing runs, export rows, and the annotation policy,
// with the mapping from database rows (both backends return the same column names; PostgreSQL
// returns BIGINT columns as strings, hence the Number() calls).

import { fail } from '../../errors.js';
import { preferenceFromScale } from '../labels.js';
import type { Preference, Route, RoutingPair } from '../types.js';
import type { SqlRow } from './driver.js';

export interface HumanLabel {
  id: number;
  pairId: string;
  annotatorId: string;
  /** -2 A clearly better, -1 A slightly, 0 tie, 1 B slightly, 2 B clearly. */
  scale: number;
  preference: Preference;
  confidence: number;
  /** True when an admin recorded it past the routing decision, the hand-out and the quota. */
  override: boolean;
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

/** Who may label what, enforced inside the store's transactions. */
export interface AnnotationPolicy {
  /** Human labels wanted per human-routed pair: no pair is handed out or labelled beyond it. */
  labelsPerPair: number;
  /** How long a pair handed out by `nextPairFor` stays reserved for its annotator. */
  leaseMs: number;
}

/** One label per pair (the paper's setting); a lease long enough to read two long responses. */
export const DEFAULT_ANNOTATION_POLICY: AnnotationPolicy = { labelsPerPair: 1, leaseMs: 30 * 60_000 };

export function annotationPolicy(partial: Partial<AnnotationPolicy> = {}): AnnotationPolicy {
  const given = Object.fromEntries(Object.entries(partial).filter(([, v]) => v !== undefined));
  const policy = { ...DEFAULT_ANNOTATION_POLICY, ...given };
  if (!Number.isInteger(policy.labelsPerPair) || policy.labelsPerPair < 1) throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `labelsPerPair must be a positive integer, got ${policy.labelsPerPair}`, { field: 'labelsPerPair' });
  if (!(policy.leaseMs > 0)) throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `leaseMs must be positive, got ${policy.leaseMs}`, { field: 'leaseMs' });
  return policy;
}

const orNull = (v: unknown) => (v === null || v === undefined ? null : Number(v));

export function toPair(r: SqlRow): RoutingPair {
  return { id: String(r.id), prompt: String(r.prompt), responseA: String(r.response_a), responseB: String(r.response_b), extra: JSON.parse(String(r.extra)) };
}

export function toHumanLabel(r: SqlRow): HumanLabel {
  return {
    id: Number(r.id),
    pairId: String(r.pair_id),
    annotatorId: String(r.annotator_id),
    scale: Number(r.scale),
    preference: r.preference as Preference,
    confidence: Number(r.confidence),
    override: Number(r.override) === 1,
    createdAt: String(r.created_at),
    updatedAt: String(r.updated_at),
  };
}

export function toAiLabel(r: SqlRow): AiLabel {
  return {
    pairId: String(r.pair_id),
    judge: String(r.judge),
    preference: (r.preference as Preference | null) ?? null,
    scoreA: orNull(r.score_a),
    scoreB: orNull(r.score_b),
    createdAt: String(r.created_at),
  };
}

export function toRoutingRun(r: SqlRow): RoutingRun {
  return { id: Number(r.id), strategy: String(r.strategy), budget: orNull(r.budget), params: JSON.parse(String(r.params)), predicted: orNull(r.predicted), createdAt: String(r.created_at) };
}

/** The AI label export uses when a pair has several: the latest, ties to the later judge name. */
export function latestAiLabel(labels: AiLabel[]): AiLabel | undefined {
  return labels.reduce<AiLabel | undefined>((best, l) => (!best || l.createdAt > best.createdAt || (l.createdAt === best.createdAt && l.judge > best.judge) ? l : best), undefined);
}

/**
 * A pair's row in the labelled dataset: its human labels where it has any (several are combined by
 * the sign of their mean scale), else its AI label, with where the label came from.
 */
export function exportRow(pair: RoutingPair, humans: HumanLabel[], ai: AiLabel | undefined, route: Route | null): ExportRow {
  let preference: Preference | null = null;
  let source: ExportRow['label_source'] = 'none';
  let confidence: number | null = null;
  if (humans.length > 0) {
    preference = preferenceFromScale(humans.reduce((s, l) => s + l.scale, 0) / humans.length);
    confidence = humans.reduce((s, l) => s + l.confidence, 0) / humans.length;
    source = 'human';
  } else if (ai?.preference) {
    preference = ai.preference;
    source = 'ai';
  }
  return {
    id: pair.id,
    prompt: pair.prompt,
    response_a: pair.responseA,
    response_b: pair.responseB,
    preference,
    chosen: preference === 'A' ? pair.responseA : preference === 'B' ? pair.responseB : null,
    rejected: preference === 'A' ? pair.responseB : preference === 'B' ? pair.responseA : null,
    label_source: source,
    route,
    judge: source === 'ai' ? ai!.judge : null,
    annotators: humans.map((l) => l.annotatorId).join(','),
    n_human_labels: humans.length,
    confidence,
  };
}
