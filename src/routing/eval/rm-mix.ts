// The paper's mix evaluator (Miranda et al. 2024, "Hybrid Preferences": a reward model trained on
// each human/AI mix, scored on RewardBench), made small enough for this machine: the
// mix's labelled pairs are oriented by the mixed label (ties and missing labels dropped), written
// to a temp JSONL, a reward model is fine-tuned with alignkit's own `runTraining` (Bradley-Terry,
// a short run, fixed seed), and its pairwise accuracy is measured on held-out
// pairs oriented by the HUMAN MAJORITY. The held-out pairs are a separate list from the pool, so
// no mix can ever train on them.
//
// `rmAccuracyTracker` trains one on the selections of a budgeted evaluation (`route eval --rm-eval`).

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fail } from '../../errors.js';
import { OnnxRewardModel } from '../../rewards/index.js';
import { resolveRunConfig, runTraining } from '../../train/run/index.js';
import { routingDataPath } from '../data-path.js';
import { mixLabels, type EvaluateMix, type Mix } from '../simulate.js';
import type { Preference, RoutingPair } from '../types.js';

export interface RmMixOptions {
  /** Reward model directory to fine-tune (Hugging Face layout with an ONNX sequence classifier). */
  model: string;
  /** Which weights train: `head`, `last:N` or `full` (see RunConfig.train). */
  train: string;
  steps: number;
  batchSize: number;
  lr: number;
  maxLength: number;
  maxPromptLength: number;
  /** The training seed: the same for every mix, so mixes differ only in their labels. */
  seed: number;
  threads: number;
  /** Items per scoring batch on the held-out pairs. */
  scoreBatch: number;
}

/**
 * Full fine-tuning for ~1 epoch of a PandaLM pool: on this 2-core machine a run takes ~16 s. Training
 * only the head or the last block (`last:1`, 30 steps) is ~10 s but left held-out accuracy at
 * chance (50 +- 1 %) for every mix, so it could not tell mixes apart.
 */
export const DEFAULT_RM_MIX: RmMixOptions = {
  model: routingDataPath('..', 'models', 'alignkit-rm'),
  train: 'full',
  steps: 100,
  batchSize: 8,
  lr: 5e-4,
  maxLength: 128,
  maxPromptLength: 64,
  seed: 0,
  threads: 2,
  scoreBatch: 32,
};

export interface RmMixInput {
  /** The pool a mix labels (Mix.isHuman indexes it). */
  pool: RoutingPair[];
  /** Per pool pair: the human label and the AI label. */
  human: readonly (Preference | null)[];
  ai: readonly (Preference | null)[];
  /** Held-out pairs and their human-majority labels (ties and nulls are not scored). */
  heldOut: RoutingPair[];
  heldOutMajority: readonly (Preference | null)[];
}

export interface RmMixResult {
  /** Pairwise accuracy on the scored held-out pairs: share where the majority's choice scores higher. */
  accuracy: number;
  /** Labelled pool pairs trained on (ties and missing labels dropped). */
  trainPairs: number;
  /** Held-out pairs scored (majority A or B). */
  heldOutPairs: number;
  seconds: number;
}

/** A paired row oriented by its label; null for a tie or a missing label (nothing to prefer). */
export function orientedRow(pair: RoutingPair, label: Preference | null): { id: string; prompt: string; chosen: string; rejected: string } | null {
  if (label === 'A') return { id: pair.id, prompt: pair.prompt, chosen: pair.responseA, rejected: pair.responseB };
  if (label === 'B') return { id: pair.id, prompt: pair.prompt, chosen: pair.responseB, rejected: pair.responseA };
  return null;
}

/** Pairwise accuracy of a reward model on pairs oriented by `reference` (ties and nulls skipped). */
export async function pairwiseAccuracy(model: OnnxRewardModel, pairs: RoutingPair[], reference: readonly (Preference | null)[], batch: number): Promise<{ accuracy: number; counted: number }> {
  const rows = pairs.map((p, i) => orientedRow(p, reference[i])).filter((r) => r !== null);
  let correct = 0;
  for (let start = 0; start < rows.length; start += batch) {
    const chunk = rows.slice(start, start + batch);
    // Chosen and rejected of the chunk in one batched run: [chosen..., rejected...].
    const scores = await model.score([...chunk.map((r) => ({ prompt: r.prompt, response: r.chosen })), ...chunk.map((r) => ({ prompt: r.prompt, response: r.rejected }))], { truncate: true });
    // A tie in score counts as wrong: the model did not prefer the majority's choice.
    chunk.forEach((_, k) => {
      if (scores[k]![0]! > scores[chunk.length + k]![0]!) correct++;
    });
  }
  return { accuracy: rows.length === 0 ? 0 : correct / rows.length, counted: rows.length };
}

function checkInput(input: RmMixInput): void {
  const n = input.pool.length;
  if (input.human.length !== n || input.ai.length !== n) throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `labels (${input.human.length} human, ${input.ai.length} AI) do not match the ${n} pool pairs`, { parameter: 'labels' });
  if (input.heldOutMajority.length !== input.heldOut.length) throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `${input.heldOutMajority.length} held-out labels for ${input.heldOut.length} held-out pairs`, { parameter: 'heldOutMajority' });
  const poolIds = new Set(input.pool.map((p) => p.id));
  const leaked = input.heldOut.find((p) => poolIds.has(p.id));
  if (leaked) throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `held-out pair '${leaked.id}' is also in the pool a mix trains on`, { parameter: 'heldOut', id: leaked.id });
}

/** Train a reward model on one mix's labels and measure it on the held-out pairs. */
export async function trainOnMix(input: RmMixInput, labels: readonly (Preference | null)[], partial: Partial<RmMixOptions> = {}): Promise<RmMixResult> {
  const options = { ...DEFAULT_RM_MIX, ...partial };
  checkInput(input);
  const started = performance.now();
  const rows = input.pool.map((p, i) => orientedRow(p, labels[i]!)).filter((r) => r !== null);
  if (rows.length === 0) throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', 'the mix has no pair labelled A or B to train on', { parameter: 'labels' });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'alignkit-rm-mix-'));
  try {
    const data = path.join(dir, 'mix.jsonl');
    fs.writeFileSync(data, rows.map((r) => `${JSON.stringify(r)}\n`).join(''));
    const config = resolveRunConfig({
      kind: 'rm', loss: 'bradley_terry', model: options.model, data, output: path.join(dir, 'model'),
      train: options.train, steps: options.steps, batchSize: options.batchSize, microBatchSize: options.batchSize, lr: options.lr,
      maxLength: options.maxLength, maxPromptLength: options.maxPromptLength, seed: options.seed, threads: options.threads,
      // The held-out pairs are the evaluation; no split of the mix is held back.
      evalFraction: 0, progress: false, referenceCache: false, logEvery: options.steps, checkpointEvery: 0,
    });
    const run = await runTraining(config, { stream: fs.createWriteStream(os.devNull) });
    const model = await OnnxRewardModel.load(run.outDir, { session: { intraOpThreads: options.threads } });
    try {
      const { accuracy, counted } = await pairwiseAccuracy(model, input.heldOut, input.heldOutMajority, options.scoreBatch);
      return { accuracy, trainPairs: rows.length, heldOutPairs: counted, seconds: (performance.now() - started) / 1000 };
    } finally {
      await model.release();
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** The `EvaluateMix` of `simulateMixes`: held-out accuracy of a reward model trained on the mix. */
export function rmMixEvaluator(input: RmMixInput, partial: Partial<RmMixOptions> = {}): EvaluateMix {
  return async (mix: Mix) => (await trainOnMix(input, mixLabels(mix.isHuman, input.human, input.ai), partial)).accuracy;
}

// ---------------------------------------------------------------------------------------------
// Downstream reward-model accuracy of the selections of a budgeted evaluation.

/**
 * Trains a reward model on the hybrid labels of the first `selections` selections of every run and
 * budget (`onSelection` of budgetedEvaluation), identical label sets once, and reports held-out
 * pairwise accuracy per run and budget. The held-out pairs must be outside the routed pool.
 */
export function rmAccuracyTracker(input: Omit<RmMixInput, 'human' | 'ai'>, selections: number, partial: Partial<RmMixOptions> = {}, onRun?: (line: string) => void) {
  const trained = new Map<string, number>();
  const scores = new Map<string, number[]>();
  const key = (run: string, budget: unknown) => `${JSON.stringify(budget)}\u0000${run}`;
  return {
    async onSelection(info: { run: string; budget: unknown; seed: number; labels: (Preference | null)[] }): Promise<void> {
      if (info.seed >= selections) return;
      const id = info.labels.join(',');
      if (!trained.has(id)) {
        const r = await trainOnMix({ ...input, human: info.labels, ai: info.labels }, info.labels, partial);
        trained.set(id, r.accuracy);
        onRun?.(`${info.run} budget ${JSON.stringify(info.budget)} selection ${info.seed}: ${r.trainPairs} pairs, held-out accuracy ${r.accuracy.toFixed(4)} on ${r.heldOutPairs} pairs (${r.seconds.toFixed(1)} s)`);
      }
      const k = key(info.run, info.budget);
      scores.set(k, [...(scores.get(k) ?? []), trained.get(id)!]);
    },
    /** Accuracies of one run at one budget (empty when none was trained). */
    accuracies(run: string, budget: unknown): number[] {
      return scores.get(key(run, budget)) ?? [];
    },
  };
}
