// The offline kinds' stage (sft, rm, dpo, unpaired, arm): the dataset file loaded and tokenized
// (data.ts), and an update source whose every iteration is one optimizer step over the next
// `batchSize` training examples (sampler.ts order), cut into micro-batches (batches.ts).
// Evaluation runs the held-out split through the training graph without updating.

import type { RunTrainer } from '../device/run-trainer.js';
import { buildBatch, type BatchContext } from './batches.js';
import { loadRunData } from './data.js';
import type { RunGraph } from './graph.js';
import { EpochSampler, type ExamplePosition } from './sampler.js';
import { KIND_STAGES, kindStage, type RunContext, type RunStage, type UpdateSource } from './stages.js';

/**
 * The eval split through the training graph without updating: metrics averaged over micro-batches.
 * The graph's batch size is fixed, so the last micro-batch wraps around to the split's start.
 */
async function evaluateSplit(trainer: RunTrainer, ctx: BatchContext, metricOutputs: Record<string, string>, indices: readonly number[], rows: number, state: Readonly<Record<string, number>>): Promise<Record<string, number>> {
  const sums: Record<string, number> = { 'eval/loss': 0 };
  let n = 0;
  for (let start = 0; start < indices.length; start += rows) {
    const chunk = Array.from({ length: rows }, (_, i) => indices[(start + i) % indices.length]!);
    const r = await trainer.evaluate(buildBatch(ctx, chunk, state).feeds);
    sums['eval/loss']! += r.loss;
    for (const [name, output] of Object.entries(metricOutputs)) sums[`eval/${name}`] = (sums[`eval/${name}`] ?? 0) + r.metrics[output]!;
    n++;
  }
  return Object.fromEntries(Object.entries(sums).map(([k, v]) => [k, v / n]));
}

class DatasetSource implements UpdateSource {
  private readonly sampler: EpochSampler;
  private batch: BatchContext | undefined;
  private metricOutputs: Record<string, string> = {};

  constructor(private readonly ctx: RunContext) {
    this.sampler = new EpochSampler(ctx.data.train, ctx.config.seed);
  }

  get iterationsPerEpoch(): number {
    return Math.ceil(this.ctx.data.train.length / this.ctx.config.batchSize);
  }

  readonly stepsPerIteration = 1;

  get counts() {
    return { train: this.ctx.data.train.length, eval: this.ctx.data.eval.length };
  }

  async bind(_trainer: RunTrainer, graph: RunGraph): Promise<void> {
    const { ctx } = this;
    this.batch = { forward: graph.forward, items: ctx.data.items, groups: ctx.groups, loss: ctx.loss, fed: graph.fedInputs, reference: ctx.reference.values, padId: ctx.dir.tokenizer.padTokenId };
    this.metricOutputs = graph.metricOutputs;
  }

  async next() {
    const { batchSize, microBatchSize } = this.ctx.config;
    const examples = this.sampler.next(batchSize);
    const k = batchSize / microBatchSize;
    return {
      metrics: {},
      examples: batchSize,
      steps: [{
        ids: examples.map((i) => this.ctx.data.items[i]!.id),
        build: (state: Readonly<Record<string, number>>) => Array.from({ length: k }, (_, i) => buildBatch(this.batch!, examples.slice(i * microBatchSize, (i + 1) * microBatchSize), state)),
      }],
    };
  }

  evaluate(trainer: RunTrainer, state: Readonly<Record<string, number>>) {
    const split = this.ctx.data.eval;
    return Promise.resolve(split.length > 0 ? evaluateSplit(trainer, this.batch!, this.metricOutputs, split, this.ctx.config.microBatchSize, state) : undefined);
  }

  epochs(): number {
    return this.sampler.epochs;
  }

  position(): ExamplePosition {
    return this.sampler.position;
  }

  restore(p: unknown): void {
    this.sampler.restore(p as ExamplePosition);
  }
}

/** Offline kinds: the dataset's examples, and one optimizer step per batch of them. */
export const datasetStage: RunStage = {
  name: KIND_STAGES.dataset,
  appliesTo: kindStage(KIND_STAGES.dataset),
  async prepare(ctx) {
    ctx.data = await loadRunData(ctx.config, ctx.spec, ctx.dir.tokenizer);
  },
  source: (ctx) => new DatasetSource(ctx),
};
