// Scores both sides of every preference pair with a reward model, in batches, and keeps what the
// pairwise report needs: the two rewards, the two response lengths and the pair's subset.

import path from 'node:path';
import { fail, isAlignkitError } from '../errors.js';
import { textLength, type PairedExample } from '../datasets/index.js';
import { headWeights, weightedReward, type RewardModel } from '../rewards/index.js';

export interface ScorePairsOptions {
  /** Pairs per `score` call (each call scores 2 x batchSize items). */
  batchSize?: number;
  /** Cut over-long inputs (the prompt's start) instead of failing. */
  truncate?: boolean;
  /** Head weights for multi-head models (default: the first head alone). */
  headWeights?: Record<string, number>;
  /** Called after each batch with the pairs this call has scored so far. */
  onBatch?: (scored: number) => void;
}

export interface ScoredPair {
  id: string;
  source: string;
  chosenLength: number;
  rejectedLength: number;
  chosen: number;
  rejected: number;
}

/** The pair's subset: its `source` field, else the file it came from (so several --data files are several subsets). */
export function pairSource(example: PairedExample, file: string): string {
  return example.source ?? path.basename(file);
}

/** A model error about batch item `row` re-said about the pair and side it came from. */
function inPair(e: unknown, batch: readonly PairedExample[], sources: readonly string[], model: string): unknown {
  const row = isAlignkitError(e) ? e.details.row : undefined;
  if (!isAlignkitError(e) || typeof row !== 'number' || batch[Math.floor(row / 2)] === undefined) return e;
  const pair = batch[Math.floor(row / 2)]!;
  const side = row % 2 === 0 ? 'chosen' : 'rejected';
  return fail(e.code, `${model} cannot score pair ${pair.id} (${sources[Math.floor(row / 2)]}), ${side} side: ${e.message}`, { ...e.details, row: undefined, id: pair.id, field: side }, e);
}

export async function scorePairs(rm: RewardModel, examples: readonly PairedExample[], sources: readonly string[], opts: ScorePairsOptions = {}): Promise<ScoredPair[]> {
  const batchSize = opts.batchSize ?? 16;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `batchSize must be a positive integer, got ${batchSize}`, { parameter: 'batchSize' });
  const weights = headWeights(rm.heads, opts.headWeights, rm.name);
  const out: ScoredPair[] = [];
  for (let start = 0; start < examples.length; start += batchSize) {
    const batch = examples.slice(start, start + batchSize);
    const items = batch.flatMap((e) => [{ prompt: e.prompt, response: e.chosen }, { prompt: e.prompt, response: e.rejected }]);
    const scores = await rm.score(items, { truncate: opts.truncate ?? false }).catch((e: unknown) => {
      throw inPair(e, batch, sources.slice(start), rm.name);
    });
    batch.forEach((e, i) => {
      out.push({
        id: e.id,
        source: sources[start + i]!,
        chosenLength: textLength(e.chosen),
        rejectedLength: textLength(e.rejected),
        chosen: weightedReward(scores[2 * i]!, weights),
        rejected: weightedReward(scores[2 * i + 1]!, weights),
      });
    });
    opts.onBatch?.(out.length);
  }
  return out;
}
