// The reward head a `train rm` run puts on its backbone (`head` and `headHp` of the run config): a
// table of heads, each a model rewrite applied before the run graph is built, so the training
// graph, the `head` trainable selection and the export all see the head as part of the model.
//   linear        the model's own score head, unchanged (today's behaviour, the default);
//   moment-probe  a moment-probing head (src/graph/rewrites/moment-probe-head.ts) over the final
//                 hidden states of a causal LM or a sequence classifier; with `train: head` only
//                 its parameters train on the frozen backbone.
// The exported directory's config.json then says what the graph is: a *ForSequenceClassification
// with num_labels/id2label, and `alignkit_reward_head` recording the head and its options.

import fs from 'node:fs';
import path from 'node:path';
import { fail } from '../../errors.js';
import type { Model } from '../../graph/index.js';
import { addMomentProbeHead, momentProbeConfig } from '../../graph/rewrites/index.js';
import type { ModelDir } from '../../models/index.js';
import type { RunConfig } from './config.js';
import type { RunStage } from './stages.js';

export interface RewardHeadContext {
  /** The validated head options. */
  hp: Record<string, unknown>;
  numLabels: number;
  seed: number;
}

export interface RewardHeadSpec {
  summary: string;
  /** Validates `headHp` (errors name the option); returns the options the head runs with. */
  configure(hp: Record<string, unknown>): Record<string, unknown>;
  /** The forward model with this head (the input model when the head is the model's own). */
  apply(model: Model, ctx: RewardHeadContext): Model;
  /** Whether the exported config.json must describe a new head. */
  rewritesHead: boolean;
}

const noOptions = (name: string) => (hp: Record<string, unknown>) => {
  const keys = Object.keys(hp);
  if (keys.length > 0) throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `run config field headHp: head ${name} takes no options, got ${keys.join(', ')}`, { field: `headHp.${keys[0]}` });
  return {};
};

/** Moment-probe options: the head's own (heads, headDim, firstOrder) plus numLabels. */
function momentProbeOptions(hp: Record<string, unknown>): Record<string, unknown> {
  const { numLabels, ...head } = hp;
  if (numLabels !== undefined && (!Number.isInteger(numLabels) || (numLabels as number) < 1))
    throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `run config field headHp.numLabels: must be a positive integer, got ${JSON.stringify(numLabels)}`, { field: 'headHp.numLabels', value: numLabels });
  return { ...momentProbeConfig(head), ...(numLabels !== undefined && { numLabels }) };
}

export const REWARD_HEADS: Readonly<Record<string, RewardHeadSpec>> = Object.freeze({
  linear: {
    summary: "the model's own score head",
    configure: noOptions('linear'),
    apply: (model) => model,
    rewritesHead: false,
  },
  'moment-probe': {
    summary: 'moment probing (Gao et al., ICCV 2023): a linear classifier over first- and second-order moments of the final hidden states',
    configure: momentProbeOptions,
    apply: (model, ctx) => addMomentProbeHead(model, { ...ctx.hp, numLabels: ctx.numLabels, seed: ctx.seed }).model,
    rewritesHead: true,
  },
});

export const REWARD_HEAD_NAMES = Object.keys(REWARD_HEADS);

export function rewardHead(name: string): RewardHeadSpec {
  const spec = REWARD_HEADS[name];
  if (!spec) throw fail('ALIGNKIT_ERR_UNKNOWN_NAME', `run config field head: unknown head ${JSON.stringify(name)}; heads: ${REWARD_HEAD_NAMES.join(', ')}`, { field: 'head', known: REWARD_HEAD_NAMES });
  return spec;
}

/** Run-config check: a head other than the model's own only on reward models, with valid options. */
export function checkRewardHeadConfig(c: Pick<RunConfig, 'kind' | 'head' | 'headHp'>): void {
  const spec = rewardHead(c.head);
  if (spec.rewritesHead && c.kind !== 'rm')
    throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `run config field head: ${c.head} is a reward-model head (train rm), not train ${c.kind}`, { field: 'head', value: c.head });
  spec.configure(c.headHp);
}

const isClassifier = (dir: ModelDir) => dir.arch.architectures.some((a) => a.endsWith('ForSequenceClassification'));

/**
 * Scores per sequence: `headHp.numLabels`, else the labels of a sequence-classifier config, else 1
 * (a causal LM's config may carry transformers' default two labels, which mean nothing there).
 */
function numLabelsFor(dir: ModelDir, hp: Record<string, unknown>): number {
  if (typeof hp.numLabels === 'number') return hp.numLabels;
  return isClassifier(dir) ? (dir.arch.labels?.length ?? 1) : 1;
}

/** The run's forward model: the loaded graph with the configured reward head. */
export function withRewardHead(model: Model, config: Pick<RunConfig, 'head' | 'headHp' | 'seed'>, dir: ModelDir): Model {
  const spec = rewardHead(config.head);
  if (!spec.rewritesHead) return model;
  const { numLabels: _n, ...hp } = spec.configure(config.headHp);
  return spec.apply(model, { hp, numLabels: numLabelsFor(dir, config.headHp), seed: config.seed });
}

/** GPT2LMHeadModel -> GPT2ForSequenceClassification, LlamaForCausalLM -> LlamaForSequenceClassification. */
function classifierArchitecture(arch: string): string {
  return arch.replace(/(LMHeadModel|ForCausalLM|ForConditionalGeneration)$/, 'ForSequenceClassification');
}

/** Rewrites `<outDir>/config.json` (copied from the source) to describe the exported reward head. */
export function writeRewardHeadConfig(outDir: string, config: Pick<RunConfig, 'head' | 'headHp'>, dir: ModelDir): void {
  const spec = rewardHead(config.head);
  if (!spec.rewritesHead) return;
  const { numLabels: _n, ...options } = spec.configure(config.headHp);
  const n = numLabelsFor(dir, config.headHp);
  const labels = isClassifier(dir) && dir.arch.labels?.length === n ? dir.arch.labels : Array.from({ length: n }, (_, i) => `LABEL_${i}`);
  const file = path.join(outDir, 'config.json');
  fs.writeFileSync(
    file,
    `${JSON.stringify({
      ...dir.config,
      architectures: dir.arch.architectures.map(classifierArchitecture),
      num_labels: n,
      id2label: Object.fromEntries(labels.map((l, i) => [String(i), l])),
      label2id: Object.fromEntries(labels.map((l, i) => [l, i])),
      alignkit_reward_head: { type: config.head, ...options },
    }, null, 2)}\n`,
  );
}

/** `train rm --head ...`: the head is part of the model from here on (training graph, trainable selection, export), and config.json says so. */
export const rewardHeadStage: RunStage = {
  name: 'reward-head',
  appliesTo: (d) => rewardHead(d.config.head).rewritesHead,
  model: (ctx, model) => withRewardHead(model, ctx.config, ctx.dir),
  export: (ctx, outDir) => writeRewardHeadConfig(outDir, ctx.config, ctx.dir),
};
