// `alignkit eval rm` as a library call: load paired data files (ties dropped: neither side is
// "chosen"), score every pair with every reward model, and build the pairwise report.

import { loadPreferenceData, type PairedExample } from '../datasets/index.js';
import type { RewardModel } from '../rewards/index.js';
import { pairwiseReport, type PairScores, type PairwiseReport } from './pairwise.js';
import { pairSource, scorePairs, type ScoredPair, type ScorePairsOptions } from './score-pairs.js';

export interface EvalRmOptions extends ScorePairsOptions {
  /** At most this many pairs per file. */
  limit?: number;
  /** Skip bad rows (counted) instead of failing on the first. */
  skipBadRows?: boolean;
  /** Seed of the majority baseline's A/B order. */
  seed?: number;
  /** Progress: pairs scored so far over all models, and the total (pairs x models). */
  onProgress?: (done: number, total: number) => void;
}

export interface EvalRmResult {
  report: PairwiseReport;
  data: { file: string; convention: string; pairs: number; tiesDropped: number; skipped: number }[];
}

export async function evaluateRewardModels(models: readonly RewardModel[], files: readonly string[], opts: EvalRmOptions = {}): Promise<EvalRmResult> {
  const examples: PairedExample[] = [];
  const sources: string[] = [];
  const data: EvalRmResult['data'] = [];
  for (const file of files) {
    const loaded = await loadPreferenceData(file, { kind: 'paired', limit: opts.limit, dropTies: true, onBadRow: opts.skipBadRows ? 'skip' : 'error' });
    for (const e of loaded.examples) {
      examples.push(e);
      sources.push(pairSource(e, file));
    }
    data.push({ file, convention: loaded.convention, pairs: loaded.examples.length, tiesDropped: loaded.ties, skipped: loaded.skipped.length });
  }
  const perModel: ScoredPair[][] = [];
  const total = examples.length * models.length;
  for (const [m, rm] of models.entries()) {
    const before = m * examples.length;
    perModel.push(await scorePairs(rm, examples, sources, { ...opts, onBatch: (scored) => opts.onProgress?.(before + scored, total) }));
  }
  const pairs: PairScores[] = examples.map((e, i) => {
    const first = perModel[0]![i]!;
    return { id: e.id, source: sources[i]!, chosenLength: first.chosenLength, rejectedLength: first.rejectedLength, rewards: perModel.map((m) => [m[i]!.chosen, m[i]!.rejected] as [number, number]) };
  });
  return { report: pairwiseReport(models.map((m) => m.name), pairs, { seed: opts.seed }), data };
}
