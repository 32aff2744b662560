// From a forward causal-LM graph (ours, torch.onnx.export's or optimum's) to the one-run training
// graph: strip the KV cache, optionally inject LoRA, splice the log-prob head and a loss, then
// let the autodiff promote the trainables to inputs and emit their gradients.

import { fail } from '../errors.js';
import { buildTrainingGraph, type TrainingGraph } from '../graph/autodiff/index.js';
import type { Model } from '../graph/index.js';
import {
  addNextTokenLoss, addTokenLogProbHead, addWeightedLogProbLoss, addWeightedScoreLoss, injectLora, selectTrainable, stripKvCache,
  type LoraAdapter, type LoraOptions, type TrainableSpec,
} from '../graph/rewrites/index.js';

export type TokenLoss = 'next-token' | 'weighted-logprob';

export interface CausalLmTrainingOptions {
  /** 'next-token': mean cross-entropy (training); 'weighted-logprob': sum of weighted token log-probs (default). */
  loss?: TokenLoss;
  /** Trainable initializer names, or a selection spec (default: every float weight; with LoRA: the adapters). */
  trainable?: string[] | TrainableSpec;
  lora?: LoraOptions;
  /** Name of the logits output (default `logits`). */
  logits?: string;
}

export interface PreparedTraining {
  /** The forward model after KV stripping and LoRA (its initializers are the starting values). */
  forward: Model;
  training: TrainingGraph;
  trainable: string[];
  lora: LoraAdapter[];
}

function resolveTrainable(model: Model, t: string[] | TrainableSpec | undefined): string[] {
  if (Array.isArray(t)) {
    for (const n of t) if (!model.graph.initializers.has(n)) throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `trainable ${n} is not an initializer of the model`, { field: 'trainable', value: n });
    return t;
  }
  return selectTrainable(model, t ?? {});
}

export function prepareCausalLmTraining(source: Model, opts: CausalLmTrainingOptions = {}): PreparedTraining {
  let forward = stripKvCache(source).model;
  let lora: LoraAdapter[] = [];
  let trainable: string[];
  if (opts.lora) {
    const r = injectLora(forward, opts.lora);
    forward = r.model;
    lora = r.adapters;
    trainable = opts.trainable ? [...r.trainable, ...resolveTrainable(source, opts.trainable)] : r.trainable;
  } else trainable = resolveTrainable(forward, opts.trainable);
  const head = addTokenLogProbHead(forward, { logits: opts.logits }).model;
  const loss = opts.loss ?? 'weighted-logprob';
  const withLoss = loss === 'next-token' ? addNextTokenLoss(head).model : addWeightedLogProbLoss(head).model;
  const outputs = loss === 'next-token' ? ['token_count'] : ['token_logprobs'];
  const training = buildTrainingGraph({ model: withLoss, loss: 'loss', trainable, outputs });
  return { forward, training, trainable, lora };
}

export interface ClassifierTrainingOptions {
  trainable?: string[] | TrainableSpec;
  /** Name of the scores output (default `logits`). */
  scores?: string;
}

/** Training graph of S = sum(weights * scores) for a sequence classifier / reward model. */
export function prepareClassifierScoreGraph(source: Model, opts: ClassifierTrainingOptions = {}): PreparedTraining {
  const forward = stripKvCache(source).model;
  const trainable = resolveTrainable(forward, opts.trainable);
  const scores = opts.scores ?? 'logits';
  const withLoss = addWeightedScoreLoss(forward, { scores }).model;
  const training = buildTrainingGraph({ model: withLoss, loss: 'loss', trainable, outputs: [scores] });
  return { forward, training, trainable, lora: [] };
}
