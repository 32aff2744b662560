// The typed run configuration of `alignkit train`: defaults in one place (RUN_DEFAULTS), a JSON
// file merged under CLI flags, and one validator per field so an error names the field it is about.

import fs from 'node:fs';
import { fail } from '../../errors.js';
import { PROVIDERS, type Provider } from '../../graph/index.js';
import { OPTIMIZERS } from '../../optim/index.js';
import { SCHEDULE_TYPES } from '../../optim/schedules.js';
import { isOnline, kindSpec, lossesForKind, TRAIN_KINDS, type TrainKind } from './kinds.js';
import { checkRewardHeadConfig, REWARD_HEAD_NAMES } from './reward-head.js';
import { checkUdmSettings, UDM_DEFAULTS, type UdmSettings } from './udm-weights.js';
import { checkRegenerateSettings, REGENERATE_DEFAULTS, type RegenerateSettings } from './online-pairs.js';
import { checkRevisionTemplate, DEFAULT_REVISION_TEMPLATE } from './revision.js';
import { checkRlSettings, criticLossHp, RL_DEFAULTS, type RlSettings } from '../rl/settings.js';

export interface LoraConfig {
  rank: number;
  alpha: number;
  /** Weight or node name patterns, or 'all-linear'. */
  targets: string[] | 'all-linear';
}

export interface RunConfig {
  kind: TrainKind;
  /** Hugging Face layout model directory (config.json, tokenizer.json, an ONNX graph). */
  model: string;
  /** Dataset file in any format src/datasets reads. */
  data: string;
  /** Force a dataset column convention (default: detected). */
  convention?: string;
  /** Output directory: the trained model, config, metrics, curves, card and checkpoint. */
  output: string;
  /** `full`, `last:N` (last N blocks plus the final norm and head), `head` (the score/LM head), or `lora`. */
  train: string;
  /** train rm: the reward head, `linear` (the model's own) or `moment-probe` (src/train/run/reward-head.ts). */
  head: string;
  /** Options of the head (moment-probe: heads, headDim, firstOrder, numLabels). */
  headHp: Record<string, unknown>;
  lora: LoraConfig;
  loss: string;
  /** Loss hyperparameters (paper names, see `alignkit loss list`). */
  lossHp: Record<string, unknown>;
  optimizer: string;
  /** Optimizer hyperparameters besides lr. */
  optimizerHp: Record<string, unknown>;
  lr: number;
  schedule: 'constant' | 'linear' | 'cosine';
  warmupSteps: number;
  /** Examples per optimizer step; a multiple of microBatchSize (gradients are averaged over micro-batches). */
  batchSize: number;
  microBatchSize: number;
  maxLength: number;
  maxPromptLength: number;
  maxCompletionLength?: number;
  /**
   * End every response with EOS (default: the kind's, src/train/run/kinds.ts). An ARM trained with
   * EOS learns to all but forbid it (every rejected response ends with one, and the reference-free
   * loss keeps pushing rejected tokens down), so GenARM-guided text never stops:
   * bench/genarm/results-variants.md.
   */
  appendEos?: boolean;
  /** Optimizer steps; when absent, `epochs` passes over the training split. */
  steps?: number;
  epochs: number;
  seed: number;
  /** Share of examples (by id hash) held out for evaluation. */
  evalFraction: number;
  /** Evaluate every M steps (0: only at the end). */
  evalEvery: number;
  /** Write a metrics line every N steps. */
  logEvery: number;
  /** Checkpoint every K steps (0: only at the end and on SIGINT). */
  checkpointEvery: number;
  resume: boolean;
  /** 'error': the first bad row stops the run naming file, row and field; 'skip': skipped and counted. */
  onBadRow: 'error' | 'skip';
  /** Read at most this many examples. */
  limit?: number;
  /** Cache reference log-probs (Arrow IPC) in the cache directory. */
  referenceCache: boolean;
  /** The cache directory (default: $ALIGNKIT_CACHE_DIR, else the user cache home's `alignkit`; see cache-dir.ts). */
  cacheDir?: string;
  /** A step whose gradient norm exceeds this multiple of the running mean counts as a spike. */
  spikeFactor: number;
  /** Draw the terminal progress bar. */
  progress: boolean;
  /** onnxruntime intra-op threads. */
  threads: number;
  /** Recompute activations in the backward from residual-stream checkpoints (less memory, about one more forward). */
  recompute: boolean;
  /** Where sessions run (reference pass, training, embeddings): cpu, cuda or webgpu (src/graph/webgpu). */
  device: Provider;
  /** The WebGPU adapter (index or name; default: the high-performance GPU, never a software one). */
  adapter?: string;
  /** APO rounds (train dpo): each round's reference is the previous round's policy (1: plain DPO). */
  rounds: number;
  /** APO's Nesterov extrapolation coefficient between rounds. */
  momentum: number;
  /**
   * Online APO rounds: before each round, sample and rank new pairs from the round's starting
   * policy with this reward model instead of reusing `data` (whose prompts are used); a partial
   * object is merged over REGENERATE_DEFAULTS. Absent: offline rounds on `data`.
   */
  regenerate?: RegenerateSettings;
  /** BCO's UDM (read when lossHp.udm is true): embedder, density-ratio clamp, prompt sample size; a partial object is merged over UDM_DEFAULTS. */
  udm: UdmSettings;
  /** SRPO's revision prompt: text after the prompt, holding `{draft}` once where the rejected draft goes (src/train/run/revision.ts). */
  revisionTemplate: string;
  /**
   * Online kinds (ppo, rto, grpo, rloo): rewards, rollouts and advantages (src/train/rl/settings.ts),
   * merged over RL_DEFAULTS and the kind's defaults. `data` is then the prompts file, and
   * `batchSize` the responses per optimizer step (a divisor of promptsPerStep x samplesPerPrompt).
   */
  rl?: RlSettings;
}

/** Every default of a run, in one place. Lengths fit the fixture models (128 positions). */
export const RUN_DEFAULTS: Omit<RunConfig, 'kind' | 'model' | 'data' | 'output' | 'loss'> = {
  train: 'full',
  head: 'linear',
  headHp: {},
  lora: { rank: 8, alpha: 16, targets: 'all-linear' },
  lossHp: {},
  optimizer: 'adamw',
  optimizerHp: {},
  lr: 5e-4,
  schedule: 'constant',
  warmupSteps: 0,
  batchSize: 4,
  microBatchSize: 4,
  maxLength: 128,
  maxPromptLength: 64,
  epochs: 1,
  seed: 0,
  evalFraction: 0.1,
  evalEvery: 0,
  logEvery: 1,
  checkpointEvery: 0,
  resume: false,
  onBadRow: 'error',
  referenceCache: true,
  spikeFactor: 5,
  progress: true,
  threads: 2,
  recompute: false,
  device: 'cpu',
  rounds: 1,
  momentum: 0,
  udm: UDM_DEFAULTS,
  revisionTemplate: DEFAULT_REVISION_TEMPLATE,
};

const bad = (field: string, message: string, value: unknown) =>
  fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `run config field ${field}: ${message}, got ${JSON.stringify(value)}`, { field, value });

const positiveInt = (field: string, v: unknown) => {
  if (!Number.isInteger(v) || (v as number) < 1) throw bad(field, 'must be a positive integer', v);
};
const nonNegativeInt = (field: string, v: unknown) => {
  if (!Number.isInteger(v) || (v as number) < 0) throw bad(field, 'must be a non-negative integer', v);
};
const positive = (field: string, v: unknown) => {
  if (typeof v !== 'number' || !(v > 0) || !Number.isFinite(v)) throw bad(field, 'must be a positive number', v);
};
const nonEmptyString = (field: string, v: unknown) => {
  if (typeof v !== 'string' || v.length === 0) throw bad(field, 'must be a non-empty string', v);
};
const bool = (field: string, v: unknown) => {
  if (typeof v !== 'boolean') throw bad(field, 'must be true or false', v);
};
const record = (field: string, v: unknown) => {
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw bad(field, 'must be an object', v);
};
const oneOf = (choices: readonly string[]) => (field: string, v: unknown) => {
  if (typeof v !== 'string' || !choices.includes(v)) throw bad(field, `must be one of ${choices.join(', ')}`, v);
};
const optional = (check: (f: string, v: unknown) => void) => (field: string, v: unknown) => {
  if (v !== undefined) check(field, v);
};

/** `full`, `head`, `lora` or `last:N`. */
export const TRAIN_SELECTION = /^(full|head|lora|last:[1-9][0-9]*)$/;

const FIELD_CHECKS: Record<keyof RunConfig, (field: string, v: unknown) => void> = {
  kind: oneOf(TRAIN_KINDS),
  model: nonEmptyString,
  data: nonEmptyString,
  convention: optional(nonEmptyString),
  output: nonEmptyString,
  train: (f, v) => {
    if (typeof v !== 'string' || !TRAIN_SELECTION.test(v)) throw bad(f, 'must be full, head, lora or last:N', v);
  },
  head: oneOf(REWARD_HEAD_NAMES),
  headHp: record,
  lora: (f, v) => {
    record(f, v);
    const l = v as LoraConfig;
    positiveInt(`${f}.rank`, l.rank);
    positive(`${f}.alpha`, l.alpha);
    if (l.targets !== 'all-linear' && !(Array.isArray(l.targets) && l.targets.length > 0 && l.targets.every((t) => typeof t === 'string')))
      throw bad(`${f}.targets`, "must be 'all-linear' or a non-empty list of name patterns", l.targets);
  },
  loss: nonEmptyString,
  lossHp: record,
  optimizer: oneOf(Object.keys(OPTIMIZERS)),
  optimizerHp: record,
  lr: positive,
  schedule: oneOf(SCHEDULE_TYPES),
  warmupSteps: nonNegativeInt,
  batchSize: positiveInt,
  microBatchSize: positiveInt,
  maxLength: positiveInt,
  maxPromptLength: positiveInt,
  maxCompletionLength: optional(positiveInt),
  steps: optional(positiveInt),
  epochs: positiveInt,
  seed: nonNegativeInt,
  evalFraction: (f, v) => {
    if (typeof v !== 'number' || !(v >= 0 && v < 1)) throw bad(f, 'must be a number in [0, 1)', v);
  },
  evalEvery: nonNegativeInt,
  logEvery: positiveInt,
  checkpointEvery: nonNegativeInt,
  resume: bool,
  onBadRow: oneOf(['error', 'skip']),
  limit: optional(positiveInt),
  referenceCache: bool,
  cacheDir: optional(nonEmptyString),
  spikeFactor: positive,
  progress: bool,
  threads: positiveInt,
  recompute: bool,
  device: oneOf(PROVIDERS),
  adapter: optional(nonEmptyString),
  rounds: positiveInt,
  momentum: (f, v) => {
    if (typeof v !== 'number' || !(v >= 0 && v < 1)) throw bad(f, 'must be a number in [0, 1)', v);
  },
  revisionTemplate: checkRevisionTemplate,
  udm: checkUdmSettings,
  appendEos: optional(bool),
  regenerate: checkRegenerateSettings,
  rl: checkRlSettings,
};

/** Parsed `--config run.json` (a flat object of RunConfig fields). */
export function readRunConfigFile(file: string): Partial<RunConfig> {
  if (!fs.existsSync(file)) throw fail('ALIGNKIT_ERR_FILE_NOT_FOUND', `run config ${file} does not exist`, { file });
  let value: unknown;
  try {
    value = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw fail('ALIGNKIT_ERR_BAD_FORMAT', `run config ${file} is not valid JSON: ${(e as Error).message}`, { file }, e);
  }
  if (!value || typeof value !== 'object' || Array.isArray(value)) throw fail('ALIGNKIT_ERR_BAD_FORMAT', `run config ${file} must hold a JSON object`, { file });
  return value as Partial<RunConfig>;
}

/**
 * Defaults, then the file's fields, then the flags (later wins); every field validated, unknown
 * fields rejected, and the loss checked against the kind's losses in the registry.
 */
export function resolveRunConfig(...layers: Partial<RunConfig>[]): RunConfig {
  const merged: Record<string, unknown> = { ...RUN_DEFAULTS };
  for (const layer of layers) for (const [k, v] of Object.entries(layer)) if (v !== undefined) merged[k] = v;
  if (merged.udm && typeof merged.udm === 'object' && !Array.isArray(merged.udm)) merged.udm = { ...UDM_DEFAULTS, ...merged.udm };
  if (merged.regenerate && typeof merged.regenerate === 'object' && !Array.isArray(merged.regenerate)) merged.regenerate = { ...REGENERATE_DEFAULTS, ...merged.regenerate };
  for (const k of Object.keys(merged))
    if (!(k in FIELD_CHECKS)) throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `run config has an unknown field ${k}; fields: ${Object.keys(FIELD_CHECKS).join(', ')}`, { field: k });
  FIELD_CHECKS.kind('kind', merged.kind);
  const kind = merged.kind as TrainKind;
  const spec = kindSpec(kind);
  if (merged.loss === undefined) merged.loss = spec.defaultLoss;
  if (isOnline(spec)) merged.rl = { ...RL_DEFAULTS, ...spec.rl, ...(merged.rl as Partial<RlSettings> | undefined) };
  else if (merged.rl !== undefined) throw bad('rl', `RL settings are for the online kinds (ppo, rto, grpo, rloo), not train ${kind}`, merged.rl);
  for (const [field, check] of Object.entries(FIELD_CHECKS)) check(field, merged[field]);
  const allowed = lossesForKind(kind);
  if (!allowed.includes(merged.loss as string))
    throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `run config field loss: ${JSON.stringify(merged.loss)} is not a loss for train ${kind}; losses for ${kind}: ${allowed.join(', ')}`, { field: 'loss', value: merged.loss, known: allowed });
  const c = merged as unknown as RunConfig;
  if (c.batchSize % c.microBatchSize !== 0) throw bad('batchSize', `must be a multiple of microBatchSize (${c.microBatchSize})`, c.batchSize);
  if (c.rounds > 1 && c.kind !== 'dpo') throw bad('rounds', `APO rounds are iterative DPO (train dpo), not train ${c.kind}`, c.rounds);
  if (c.regenerate && c.kind !== 'dpo') throw bad('regenerate', `online rounds regenerate DPO pairs (train dpo), not train ${c.kind}`, c.regenerate);
  if (c.maxPromptLength >= c.maxLength) throw bad('maxPromptLength', `must be smaller than maxLength (${c.maxLength})`, c.maxPromptLength);
  checkRewardHeadConfig(c);
  if (c.rl) {
    checkOnlineSizes(c, c.rl);
    c.lossHp = criticLossHp(c.loss, c.lossHp, c.rl);
  }
  return c;
}

/** An online run's batch arithmetic: whole optimizer steps per rollout batch, and a reward to optimise. */
function checkOnlineSizes(c: RunConfig, rl: RlSettings): void {
  if (rl.reward.length === 0) throw bad('rl.reward', 'an online run needs a reward to optimise (--reward DIR | http(s)://HOST/get_reward | js:FILE)', rl.reward);
  const rows = rl.promptsPerStep * rl.samplesPerPrompt;
  if (rows % c.batchSize !== 0) throw bad('batchSize', `must divide the ${rows} responses of a rollout batch (rl.promptsPerStep ${rl.promptsPerStep} x rl.samplesPerPrompt ${rl.samplesPerPrompt})`, c.batchSize);
  if (c.maxPromptLength + rl.maxNewTokens > c.maxLength) throw bad('rl.maxNewTokens', `with maxPromptLength ${c.maxPromptLength} must fit maxLength ${c.maxLength}`, rl.maxNewTokens);
}
