// The online kinds' update source (stage `rollouts`): the prompts file read and split, and each
// iteration one rollout batch, promptsPerStep prompts x samplesPerPrompt responses sampled from
// the policy as it is now (src/generate/live-policy.ts: the decoding graph with the trainer's
// current weights, LoRA adapters merged into reused buffers, one session per batch), run through every experience stage of
// the run, then rl.epochs passes of optimizer steps over shuffled minibatches of batchSize
// responses, each cut into micro-batches of the training graph's size.
// Determinism: the sampler's seed is a hash of (seed, iteration) and the minibatch order of
// (seed, iteration, epoch), so a run resumed from a checkpoint draws the very tokens and minibatches
// the uninterrupted run drew; the prompt order is the EpochSampler's, whose position is saved.

import { readPrompts, type RowProblem, type Text } from '../../datasets/index.js';
import { fail } from '../../errors.js';
import { loadModel, type Model, type Tensor } from '../../graph/index.js';
import type { ScheduleSpec } from '../../optim/index.js';
import type { CausalLM } from '../../models/index.js';
import { encodePrompt, fitPrompt, LivePolicy, rollout } from '../../generate/index.js';
import { hashString, mulberry32, shuffle } from '../../random.js';
import { mergedValues } from '../export.js';
import { Trainer } from '../trainer.js';
import type { RunTrainer } from '../device/run-trainer.js';
import type { BatchContext } from '../run/batches.js';
import { tokenizeSettings, type RunData } from '../run/data.js';
import { exportedValues, type RunGraph } from '../run/graph.js';
import { EpochSampler, type ExamplePosition } from '../run/sampler.js';
import type { RunItem } from '../run/segments.js';
import { KIND_STAGES, kindStage, type IterationPlan, type RunContext, type RunStage, type UpdateSource } from '../run/stages.js';
import { splitTrainEval } from '../../datasets/index.js';
import { experienceBatch, rolloutItems, type Experience, type ExperienceStep, type Rollout } from './experience.js';
import type { RlSettings } from './settings.js';

const mean = (xs: readonly number[]) => (xs.length ? xs.reduce((a, x) => a + x, 0) / xs.length : NaN);

/**
 * The prompts file as the run's items: each prompt encoded as decoding encodes it; one over
 * maxPromptLength tokens fails, is skipped (listed with the bad rows) or keeps its last tokens, by
 * rl.onLongPrompt, as `generate` treats it. Items keep their file row in their id, so skipping a row
 * moves no other prompt across the id-hash split.
 */
async function loadPrompts(ctx: RunContext): Promise<RunData> {
  const { config } = ctx;
  const evalFile = config.rl!.evalData;
  const texts = await readPrompts(config.data, config.limit);
  const heldTexts = evalFile ? await readPrompts(evalFile, config.rl!.evalPrompts) : [];
  const tok = ctx.dir.tokenizer;
  let truncated = 0;
  const skipped: RowProblem[] = [];
  const items = (file: string, tag: string, list: readonly Text[]): RunItem[] =>
    list.flatMap((text, row) => {
      const fitted = fitPrompt(encodePrompt(tok, text), config.maxPromptLength, config.rl!.onLongPrompt, { source: file, row, limitFrom: '--max-prompt-length' });
      if ('skipped' in fitted) {
        skipped.push({ file, row: fitted.skipped.row, field: 'prompt', message: fitted.skipped.reason });
        return [];
      }
      if (fitted.dropped !== undefined) truncated++;
      return [{ id: `${tag}-${row}`, prompt: fitted.ids, responses: [], promptText: text }];
    });
  const own = items(config.data, 'prompt', texts);
  if (own.length < 2) throw fail('ALIGNKIT_ERR_DATASET_SCHEMA', `${config.data} has ${own.length} prompts${skipped.length ? ` left after skipping ${skipped.length} too long` : ''}; an online run needs at least 2`, { file: config.data });
  const held = evalFile ? items(evalFile, 'eval', heldTexts) : [];
  const all = [...own, ...held];
  const index = new Map(all.map((it, i) => [it, i]));
  // With rl.evalData the held-out prompts are that file's; otherwise an id-hash split of the prompts.
  const split = evalFile ? { train: own, eval: held } : splitTrainEval(own, { evalFraction: config.evalFraction, seed: config.seed });
  const train = split.train.map((it) => index.get(it)!);
  if (train.length === 0) throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `evalFraction ${config.evalFraction} leaves no training prompts in ${config.data}`, { field: 'evalFraction' });
  return {
    file: config.data, convention: 'prompts', items: all, train, eval: split.eval.map((it) => index.get(it)!), skipped,
    truncation: { examples: all.length, promptsTruncated: truncated, responsesTruncated: 0 }, tokenize: tokenizeSettings(config, tok, ctx.spec),
  };
}

/**
 * The optimizer steps of one rollout batch of n responses: `epochs` passes over them in shuffled
 * minibatches of batchSize, each cut into micro-batches of microBatchSize (response indices). The
 * order of epoch e of iteration i is a hash of (seed, i, e), so a resumed run draws the same ones.
 */
export function minibatches(n: number, c: { seed: number; batchSize: number; microBatchSize: number }, iteration: number, epochs: number): number[][][] {
  const steps: number[][][] = [];
  for (let epoch = 0; epoch < epochs; epoch++) {
    const order = shuffle(Array.from({ length: n }, (_, i) => i), mulberry32(hashString(`minibatch:${c.seed}:${iteration}:${epoch}`)));
    for (let at = 0; at < n; at += c.batchSize) {
      const minibatch = order.slice(at, at + c.batchSize);
      const micro: number[][] = [];
      for (let m = 0; m < minibatch.length; m += c.microBatchSize) micro.push(minibatch.slice(m, m + c.microBatchSize));
      steps.push(micro);
    }
  }
  return steps;
}

interface OnlinePosition {
  sampler: ExamplePosition;
  steps: unknown[];
}

class OnlineSource implements UpdateSource {
  private readonly sampler: EpochSampler;
  private readonly rl: RlSettings;
  private steps: ExperienceStep[] = [];
  private stepNames: string[] = [];
  private policy: LivePolicy | undefined;
  private decoding: Model | undefined;
  private weights: Map<string, Float32Array> | undefined;
  private trainer: Trainer | undefined;
  private graph: RunGraph | undefined;
  private batch: BatchContext | undefined;
  private last: Experience | undefined;

  constructor(private readonly ctx: RunContext) {
    this.rl = ctx.config.rl!;
    this.sampler = new EpochSampler(ctx.data.train, ctx.config.seed);
  }

  get iterationsPerEpoch(): number {
    return Math.ceil(this.ctx.data.train.length / this.rl.promptsPerStep);
  }

  get stepsPerIteration(): number {
    return this.rl.epochs * ((this.rl.promptsPerStep * this.rl.samplesPerPrompt) / this.ctx.config.batchSize);
  }

  get counts() {
    return { train: this.ctx.data.train.length, eval: this.ctx.data.eval.length };
  }

  /** The starting policy's held-out reward, gold reward and KL (0) are the first point of every curve. */
  readonly evaluatesAtStart = true;

  async bind(trainer: RunTrainer, graph: RunGraph, schedule: ScheduleSpec): Promise<void> {
    const { ctx } = this;
    // The policy decodes from the trainer's host weights every rollout batch: the CPU Trainer's.
    if (!(trainer instanceof Trainer))
      throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `train ${ctx.config.kind} runs on the CPU: its rollouts decode from the weights on the host every batch; drop --device ${ctx.config.device}`, { field: 'device', value: ctx.config.device });
    this.trainer = trainer;
    this.graph = graph;
    this.decoding = loadModel(ctx.dir.onnxFile);
    this.policy = new LivePolicy(ctx.dir, this.decoding, ctx.session);
    this.batch = { forward: graph.forward, items: [], groups: ctx.groups, loss: ctx.loss, fed: graph.fedInputs, reference: new Map(), padId: ctx.dir.tokenizer.padTokenId };
    for (const s of ctx.stages)
      if (s.experience) {
        this.steps.push(await s.experience(ctx, { trainer, graph, schedule }));
        this.stepNames.push(s.name);
      }
  }

  /** A decoder with the policy's current weights (LoRA adapters merged into reused buffers). */
  private async decoder(): Promise<CausalLM> {
    this.weights = mergedValues(this.decoding!, exportedValues(this.graph!, this.trainer!.values()), this.graph!.lora, this.weights);
    return this.policy!.load(this.weights);
  }

  /** Sample `samples` responses per prompt and run every experience step on them. */
  private async collect(prompts: readonly number[], samples: number, iteration: number, evaluation: boolean, seed: number): Promise<Experience> {
    const lm = await this.decoder();
    const order = prompts.flatMap((p) => Array.from({ length: samples }, () => p));
    const items = this.ctx.data.items;
    const started = performance.now();
    const sampled = await rollout(lm, this.ctx.dir.tokenizer, order.map((p) => items[p]!.prompt), { maxNewTokens: this.rl.maxNewTokens, seed });
    const rolloutSeconds = (performance.now() - started) / 1000;
    const rows: Rollout[] = sampled.map((s, i) => ({
      promptIndex: order[i]!, prompt: items[order[i]!]!.prompt, tokens: s.tokens, text: s.text, ended: s.finishReason !== 'length',
      oldLogps: Float32Array.from(s.logprobs), entropy: s.entropy,
    }));
    const exp: Experience = {
      iteration, evaluation, rows, samplesPerPrompt: samples,
      metrics: {
        'lengths/response': mean(rows.map((r) => r.tokens.length)),
        entropy: mean(rows.flatMap((r) => r.entropy)),
        eos_fraction: mean(rows.map((r) => (r.ended ? 1 : 0))),
        // The phase breakdown bench/rl reports: seconds of sampling and of each experience stage.
        'time/rollout': rolloutSeconds,
      },
    };
    for (const [i, step] of this.steps.entries()) {
      const t0 = performance.now();
      await step.run(exp);
      exp.metrics[`time/${this.stepNames[i]}`] = (performance.now() - t0) / 1000;
    }
    return exp;
  }

  async next(iteration: number): Promise<IterationPlan> {
    const { config } = this.ctx;
    const prompts = this.sampler.next(this.rl.promptsPerStep);
    const exp = await this.collect(prompts, this.rl.samplesPerPrompt, iteration, false, hashString(`rollout:${config.seed}:${iteration}`));
    this.last = exp;
    const batch: BatchContext = { ...this.batch!, items: rolloutItems(exp.rows) };
    const n = exp.rows.length;
    const steps: IterationPlan['steps'] = minibatches(n, config, iteration, this.rl.epochs).map((micro) => ({
      ids: micro.flat().map((i) => this.ctx.data.items[exp.rows[i]!.promptIndex]!.id),
      build: (state) => micro.map((rows) => experienceBatch(batch, exp.rows, rows, state)),
    }));
    return { steps, metrics: exp.metrics, examples: n };
  }

  async after(_iteration: number, metrics: Record<string, number>): Promise<void> {
    for (const step of this.steps) await step.after?.(this.last!, metrics);
  }

  /** Held-out prompts, one response each with a fixed seed: the reward, gold reward and KL the policy gets now. */
  async evaluate(): Promise<Record<string, number> | undefined> {
    const prompts = this.ctx.data.eval.slice(0, this.rl.evalPrompts);
    if (prompts.length === 0) return undefined;
    const exp = await this.collect(prompts, 1, 0, true, hashString(`eval:${this.ctx.config.seed}`));
    return Object.fromEntries(Object.entries(exp.metrics).filter(([k]) => !k.startsWith('time/')).map(([k, v]) => [`eval/${k}`, v]));
  }

  epochs(): number {
    return this.sampler.epochs;
  }

  position(): OnlinePosition {
    return { sampler: this.sampler.position, steps: this.steps.map((s) => s.state?.()) };
  }

  restore(p: unknown): void {
    const pos = p as OnlinePosition;
    this.sampler.restore(pos.sampler);
    this.steps.forEach((s, i) => s.restore?.(pos.steps[i]));
  }

  /** Each stage's checkpoint tensors under its name. */
  tensors(): Map<string, Tensor> {
    const out = new Map<string, Tensor>();
    this.steps.forEach((s, i) => {
      for (const [k, t] of s.tensors?.() ?? []) out.set(`${this.stepNames[i]}/${k}`, t);
    });
    return out;
  }

  restoreTensors(t: Map<string, Tensor>): void {
    this.steps.forEach((s, i) => {
      const prefix = `${this.stepNames[i]}/`;
      if (s.loadTensors) s.loadTensors(new Map([...t].filter(([k]) => k.startsWith(prefix)).map(([k, v]) => [k.slice(prefix.length), v])));
    });
  }

  async release(): Promise<void> {
    for (const s of this.steps) await s.release?.();
    await this.policy?.release();
  }
}

/** Online kinds: prompts, and one rollout batch per iteration. */
export const rolloutsStage: RunStage = {
  name: KIND_STAGES.rollouts,
  appliesTo: kindStage(KIND_STAGES.rollouts),
  async prepare(ctx) {
    ctx.data = await loadPrompts(ctx);
  },
  source: (ctx) => new OnlineSource(ctx),
};
