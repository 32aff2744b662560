// The paper's mix evaluator (Miranda et al. 2024, "Hybrid Preferences": a reward model trained on
// each human/AI mix, scored on RewardBench), made small enough for this machine: the
// mix's labelled pairs are oriented by the mixed label (ties and missing labels dropped), written
// to a temp JSONL, a reward model is fine-tuned with alignkit's own `runTraining` (Bradley-Terry,
// a short run, fixed seed), and its pairwise accuracy is measured on held-out
// pairs oriented by the HUMAN MAJORITY. The held-out pairs are a separate list from the pool, so
// no mix can ever train on them.
//
// `evaluateRoutingRm` then runs the PandaLM comparison of routed vs random mixes per budget,
// reporting both the labels' agreement with the majority and the trained reward model's accuracy.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fail } from '../../errors.js';
import { OnnxRewardModel } from '../../rewards/index.js';
import { resolveRunConfig, runTraining } from '../../train/run/index.js';
import { routingDataPath } from '../data-path.js';
import { LEXICAL_SCORES } from '../features/catalog.js';
import { buildFeatureTable, type FeatureTable } from '../features/extract.js';
import type { LexicalScores } from '../features/lexical.js';
import { agreement } from '../labels.js';
import { fitPpm, type PpmModel } from '../ppm/model.js';
import { createRng, shuffleInPlace } from '../rng.js';
import { resolveBudget } from '../select/budget.js';
import { selectForHumans } from '../select/strategies.js';
import { agreementEvaluator, mixLabels, simulateMixes, type EvaluateMix, type Mix } from '../simulate.js';
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
// Routed vs random on PandaLM with both measures.

export interface RmRoutingInput {
  pairs: RoutingPair[];
  table: FeatureTable;
  annotators: Preference[][];
  majority: (Preference | null)[];
  ai: (Preference | null)[];
  /** PPM fitted on the 26 released mixes (routes the whole pool with topk). */
  releasedModel?: PpmModel;
}

export interface RmRoutingOptions {
  budgets: number[];
  seeds: number;
  /** Share of the pairs held out for the reward-model accuracy (never in any mix). */
  heldOutFraction: number;
  /** Fixed seed of the held-out split and of the simulated PPM's mixes. */
  splitSeed: number;
  /** Simulated mixes per half for the simulated PPM (agreement evaluator, as `route eval --ppm simulated`). */
  simulatedMixes: number;
  ridge: number;
  rm: Partial<RmMixOptions>;
}

export const DEFAULT_RM_ROUTING: RmRoutingOptions = { budgets: [0, 0.25, 0.5, 0.75, 1], seeds: 2, heldOutFraction: 0.2, splitSeed: 7, simulatedMixes: 200, ridge: 0.01, rm: {} };

export type Stat = { mean: number; sd: number };

export interface RmRoutingRow {
  budget: number;
  humanCount: number;
  /** strategy -> agreement of the pool's mixed labels with the majority, and held-out RM accuracy. */
  results: Record<string, { agreement: Stat; rmAccuracy: Stat }>;
}

const meanSd = (xs: number[]): Stat => {
  const mean = xs.reduce((s, v) => s + v, 0) / xs.length;
  return { mean, sd: Math.sqrt(xs.reduce((s, v) => s + (v - mean) ** 2, 0) / Math.max(xs.length - 1, 1)) };
};

/** Feature table of a subset, percentile bins recomputed within it (as cross-fit.ts does). */
function subTable(table: FeatureTable, rows: number[]): FeatureTable {
  const scores = Object.fromEntries(LEXICAL_SCORES.map((s) => [s, Float64Array.from(rows, (r) => table.scores[s][r])])) as LexicalScores;
  return buildFeatureTable(rows.map((r) => table.ids[r]), scores, rows.map((r) => table.tags[r]));
}

/** How a strategy picks the pool's human-routed positions for a budget count and seed. */
type Router = (count: number, seed: number) => number[];

/**
 * topk with a PPM learned by simulation, without leakage: the pool is cut in two halves; each half
 * is routed by a PPM fitted on agreement-scored knapsack mixes of the OTHER half (as
 * `route eval --ppm simulated` does), the budget shared in proportion.
 */
async function crossFitRouter(table: FeatureTable, annotators: Preference[][], majority: (Preference | null)[], ai: (Preference | null)[], options: RmRoutingOptions): Promise<Router> {
  const order = shuffleInPlace(Array.from(table.ids.keys()), createRng(options.splitSeed));
  const halves = [order.slice(0, Math.floor(order.length / 2)), order.slice(Math.floor(order.length / 2))];
  const models: PpmModel[] = [];
  for (const rows of halves) {
    const rng = createRng(options.splitSeed);
    const human = rows.map((r) => annotators[r]![Math.floor(rng.next() * annotators[r]!.length)]!);
    const evaluate = agreementEvaluator(human, rows.map((r) => ai[r]!), rows.map((r) => majority[r]!));
    const { data } = await simulateMixes(subTable(table, rows), evaluate, { mixes: Math.min(options.simulatedMixes, rows.length), seed: options.splitSeed });
    models.push(fitPpm(data, { kind: 'linear', ridge: options.ridge }));
  }
  const tables = halves.map((rows) => subTable(table, rows));
  return (count) => {
    const first = Math.round((count * halves[0]!.length) / order.length);
    return halves.flatMap((rows, k) => {
      const sel = selectForHumans('topk', { table: tables[k]!, budget: k === 0 ? first : count - first, model: models[1 - k]!, rng: createRng(0), simulations: 1 });
      return sel.human.map((i) => rows[i]!);
    });
  };
}

/**
 * Per budget and seed: the human label of a routed pair is one annotator drawn per pair and seed
 * (the same draw for every strategy, as in evaluateRouting); agreement is measured on the pool and
 * the reward model on the held-out pairs. Identical label vectors (budget 0, budget 100%) are
 * trained once and reused.
 */
export async function evaluateRoutingRm(input: RmRoutingInput, partial: Partial<RmRoutingOptions> = {}, onRun?: (line: string) => void): Promise<RmRoutingRow[]> {
  const options = { ...DEFAULT_RM_ROUTING, ...partial };
  const n = input.pairs.length;
  const order = shuffleInPlace(Array.from({ length: n }, (_, i) => i), createRng(options.splitSeed));
  const heldCount = Math.round(n * options.heldOutFraction);
  const held = order.slice(0, heldCount).sort((a, b) => a - b);
  const poolRows = order.slice(heldCount).sort((a, b) => a - b);
  const pick = <T>(xs: readonly T[], rows: number[]) => rows.map((r) => xs[r]!);
  const table = subTable(input.table, poolRows);
  const annotators = pick(input.annotators, poolRows);
  const majority = pick(input.majority, poolRows);
  const ai = pick(input.ai, poolRows);

  const routers: Record<string, Router> = {};
  if (input.releasedModel) {
    const model = input.releasedModel;
    routers['topk (released PPM)'] = (count) => selectForHumans('topk', { table, budget: count, model, rng: createRng(0), simulations: 1 }).human;
  }
  routers['topk (simulated PPM)'] = await crossFitRouter(table, annotators, majority, ai, options);
  routers.random = (count, seed) => selectForHumans('random', { table, budget: count, rng: createRng(seed), simulations: 1 }).human;

  const trained = new Map<string, number>();
  const rows: RmRoutingRow[] = [];
  for (const budget of options.budgets) {
    const count = resolveBudget(budget, poolRows.length);
    const scores: Record<string, { agreement: number[]; rmAccuracy: number[] }> = Object.fromEntries(Object.keys(routers).map((s) => [s, { agreement: [], rmAccuracy: [] }]));
    for (let seed = 0; seed < options.seeds; seed++) {
      const annotatorRng = createRng(1000 + seed);
      const human = annotators.map((a) => a[Math.floor(annotatorRng.next() * a.length)]!);
      const rmInput: RmMixInput = { pool: pick(input.pairs, poolRows), human, ai, heldOut: pick(input.pairs, held), heldOutMajority: pick(input.majority, held) };
      for (const [name, route] of Object.entries(routers)) {
        const isHuman = new Uint8Array(poolRows.length);
        for (const i of route(count, seed)) isHuman[i] = 1;
        const labels = mixLabels(isHuman, human, ai);
        const key = labels.join(',');
        if (!trained.has(key)) {
          const r = await trainOnMix(rmInput, labels, options.rm);
          trained.set(key, r.accuracy);
          onRun?.(`budget ${budget} seed ${seed} ${name}: ${r.trainPairs} pairs, held-out accuracy ${r.accuracy.toFixed(4)} on ${r.heldOutPairs} pairs (${r.seconds.toFixed(1)} s)`);
        }
        scores[name]!.agreement.push(agreement(labels, majority).agreement);
        scores[name]!.rmAccuracy.push(trained.get(key)!);
      }
    }
    rows.push({ budget, humanCount: count, results: Object.fromEntries(Object.entries(scores).map(([s, v]) => [s, { agreement: meanSd(v.agreement), rmAccuracy: meanSd(v.rmAccuracy) }])) });
  }
  return rows;
}

/** Markdown: one row per budget; per strategy the agreement and the RM accuracy (mean ± sd, %). */
export function rmRoutingTable(rows: RmRoutingRow[]): string {
  const strategies = Object.keys(rows[0]?.results ?? {});
  const pct = (s: Stat) => `${(100 * s.mean).toFixed(2)} ± ${(100 * s.sd).toFixed(2)}`;
  const header = ['human budget', 'pool pairs to humans', ...strategies.flatMap((s) => [`${s} agreement %`, `${s} RM accuracy %`])];
  const lines = rows.map((r) => [`${Math.round(r.budget * 100)}%`, String(r.humanCount), ...strategies.flatMap((s) => [pct(r.results[s]!.agreement), pct(r.results[s]!.rmAccuracy)])]);
  return [header, header.map(() => '---'), ...lines].map((l) => `| ${l.join(' | ')} |`).join('\n');
}
