// The run's one-run-per-micro-batch training graph: the forward model (KV cache stripped, LoRA
// injected when asked) on a [G*B, T] batch, its per-token log-probs (causal LM) or scores
// (classifier) sliced into the loss's row groups, the loss spliced after them (src/losses
// spliceLoss), and the autodiff's backward for the selected trainables. A stage may extend the
// forward (stages.ts ForwardExtension): token-level losses (TDPO, SparsePO) get a frozen copy of
// the starting model and its per-token KL head in the same graph (token-level.ts), SparsePO's
// learned mask head and PPO's value head train alongside the policy and stay out of the export.

import { buildTrainingGraph, type TrainingGraph } from '../../graph/autodiff/index.js';
import { GraphBuilder, onnxOpset, type Model, type Value } from '../../graph/index.js';
import {
  addTokenLogProbHead, cloneModel, injectLora, LOGITS_FROM, SCORE_HEAD_PATTERNS, selectTrainable, stripKvCache, type LoraAdapter, type NamePattern, type TrainableSpec,
} from '../../graph/rewrites/index.js';
import { spliceLoss, type ConfiguredLoss, type LossInputSpec } from '../../losses/index.js';
import type { ModelRole } from './kinds.js';
import type { LoraConfig } from './config.js';
import type { RowGroup } from './segments.js';
import type { ExtendedForward, ForwardExtension } from './stages.js';

export interface RunGraph {
  /** The forward model after KV stripping and LoRA: its initializers hold the starting values. */
  forward: Model;
  training: TrainingGraph;
  trainable: string[];
  lora: LoraAdapter[];
  /** Metric name -> graph output. */
  metricOutputs: Record<string, string>;
  /** State input -> output holding its next value. */
  stateOutputs: Record<string, string>;
  /** The loss inputs the batch feeds (masks, labels, reference sums, state). */
  fedInputs: LossInputSpec[];
  /** Trained initializers that are not part of the exported model (SparsePO's mask head, a value head). */
  auxiliary: string[];
  /** Initializers of the frozen reference branch (token-level losses): constants of the training graph. */
  frozen: string[];
}

export interface RunGraphOptions {
  role: ModelRole;
  loss: ConfiguredLoss;
  groups: RowGroup[];
  /** Rows per group (the micro-batch size). */
  rows: number;
  /** `full`, `head`, `last:N` or `lora`. */
  train: string;
  lora: LoraConfig;
  seed: number;
  /** A stage's extension of the forward (at most one). */
  extension?: ForwardExtension;
}

// The final norm and the output head go with `last:N`, as in the usual "unfreeze the top" recipe.
const TOP = [/ln_f|final_layer_norm|norm\.weight$|norm\.bias$/, /lm_head|score|classifier/];

// A causal LM's head is its output projection (GPT-2 ties it to the token embedding, wte).
const HEADS: Record<ModelRole, NamePattern[]> = { classifier: SCORE_HEAD_PATTERNS, 'causal-lm': [/lm_head/, /wte/] };

const SELECTIONS: Record<string, (n: number, role: ModelRole) => TrainableSpec> = {
  full: () => ({}),
  head: (_n, role) => ({ include: HEADS[role] }),
  last: (n) => ({ lastBlocks: n, alsoInclude: TOP }),
};

function selection(train: string, role: ModelRole): TrainableSpec {
  const [name, n] = train.split(':');
  return SELECTIONS[name!]!(Number(n), role);
}

/**
 * LOGITS_FROM, the [1] int64 input holding the first position whose logits the loss reads: every
 * row group's log-probs reach the loss only through its response mask, so positions before the
 * shortest prompt's last token need no logits (DPO on long prompts skips most of the output projection).
 */
export { LOGITS_FROM };
const LOGITS_FROM_SPEC: LossInputSpec = { name: LOGITS_FROM, dims: [1], side: 'data', doc: 'first position whose logits are computed: the shortest prompt\'s length - 1' };

/** The per-row output of the forward: [N, T] token log-probs or [N, K] scores. */
function headOf(forward: Model, role: ModelRole, from?: string): { model: Model; output: string } {
  if (role === 'causal-lm') return { model: addTokenLogProbHead(forward, { from }).model, output: 'token_logprobs' };
  return { model: cloneModel(forward), output: 'logits' };
}

/** The trained values that belong to the exported policy (auxiliary heads left out). */
export function exportedValues(graph: Pick<RunGraph, 'auxiliary'>, values: ReadonlyMap<string, Float32Array>): Map<string, Float32Array> {
  const aux = new Set(graph.auxiliary);
  return new Map([...values].filter(([name]) => !aux.has(name)));
}

export function buildRunGraph(source: Model, opts: RunGraphOptions): RunGraph {
  const stripped = stripKvCache(source).model;
  let forward = stripped;
  let lora: LoraAdapter[] = [];
  let trainable: string[];
  if (opts.train === 'lora') {
    const r = injectLora(forward, { ...opts.lora, seed: opts.seed });
    forward = r.model;
    lora = r.adapters;
    trainable = r.trainable;
  } else trainable = selectTrainable(forward, selection(opts.train, opts.role));
  // The reference is the stripped model before LoRA: the policy's adapters never reach it.
  const ext: ExtendedForward | undefined = opts.extension?.(forward, stripped, opts.loss);
  if (ext) {
    forward = ext.forward;
    trainable = [...trainable, ...ext.auxiliary];
  }
  // Only the plain forward's log-probs are known to be read through the groups' response masks.
  const skipPrompts = !ext && opts.role === 'causal-lm' && opts.groups.every((group) => group.mask !== undefined);
  const head = ext?.policy ? { model: ext.model, output: ext.policy } : headOf(ext?.model ?? forward, opts.role, skipPrompts ? LOGITS_FROM : undefined);
  const model = head.model;
  const hidden = new Set([head.output, ...(ext?.headOutputs ?? [])]);
  model.graph.outputs = model.graph.outputs.filter((o) => !hidden.has(o.name));
  const g = new GraphBuilder({ graph: model.graph, opset: onnxOpset(model) });
  const B = opts.rows;
  const provided: Record<string, Value> = {};
  opts.groups.forEach((group, i) => {
    const rows = g.slice(head.output, [i * B], [(i + 1) * B], [0]); // [B, T] or [B, K]
    // A Bradley-Terry reward is the first score column: [B, 1] -> [B].
    provided[group.policy] = opts.role === 'classifier' && opts.loss.inputs.find((s) => s.name === group.policy)!.dims.length === 1 ? g.squeeze(g.slice(rows, [0], [1], [1]), [1]) : rows;
  });
  const inGraph = ext ? ext.provide(g, { loss: opts.loss, groups: opts.groups, rows: B }) : { provided: {}, fed: [] };
  Object.assign(provided, inGraph.provided);
  const spliced = spliceLoss(g, opts.loss, provided, { B });
  const training = buildTrainingGraph({
    model,
    loss: spliced.lossOutput,
    trainable,
    outputs: [...Object.values(spliced.metricOutputs), ...Object.values(spliced.stateOutputs)],
  });
  return {
    forward, training, trainable, lora, metricOutputs: spliced.metricOutputs, stateOutputs: spliced.stateOutputs,
    fedInputs: [...inGraph.fed, ...spliced.createdInputs, ...(skipPrompts ? [LOGITS_FROM_SPEC] : [])],
    auxiliary: ext?.auxiliary ?? [], frozen: ext?.frozen ?? [],
  };
}
