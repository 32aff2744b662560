// BCO's underlying-distribution matching inside a run ("Binary Classifier Optimization for LLM
// Alignment", Jung et al. 2024, Sec. 4), as TRL's BCOTrainer sets it up before training: embed the
// prompts of (a sample of) the thumbs-up and thumbs-down training rows, fit the balanced
// logistic-regression classifier (src/losses/udm.ts), log its accuracy on each class, and weight
// every thumbs-down row by its prompt's clamped density ratio p/(1-p) (the `udm_weights` input).
// Differences from TRL: the prompt sample is drawn without replacement with the run's seed (TRL
// draws np.random.choice with replacement), so a dataset smaller than the sample uses every row once.

import { fail } from '../../errors.js';
import { BcoInputs, fitUdmClassifier, udmWeights, type ConfiguredLoss } from '../../losses/index.js';
import { loadModelDir, type ModelDir } from '../../models/index.js';
import type { SessionOptions } from '../../graph/index.js';
import { mulberry32, shuffle } from '../../random.js';
import { PromptEmbedder } from './prompt-embeddings.js';
import type { RunItem } from './segments.js';
import { readsAny, type RunStage } from './stages.js';

export interface UdmSettings {
  /**
   * Hugging Face layout directory of an ONNX embedding model (its own tokenizer; TRL's
   * embedding_func + embedding_tokenizer). Absent: the training model's own final hidden states.
   */
  embedder?: string;
  /** Clamp of the density ratio (TRL BCOConfig min_density_ratio / max_density_ratio). */
  minDensityRatio: number;
  maxDensityRatio: number;
  /** Prompts per class the classifier is fitted on (TRL BCOConfig prompt_sample_size). */
  promptSampleSize: number;
}

export const UDM_DEFAULTS: UdmSettings = { minDensityRatio: 0.5, maxDensityRatio: 10, promptSampleSize: 1024 };

const badSetting = (field: string, message: string, value: unknown) =>
  fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `run config field ${field}: ${message}, got ${JSON.stringify(value)}`, { field, value });

/** Validates the run config's `udm` object (defaults already merged in). */
export function checkUdmSettings(field: string, v: unknown): void {
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw badSetting(field, 'must be an object', v);
  const s = v as Record<string, unknown>;
  const known = ['embedder', ...Object.keys(UDM_DEFAULTS)];
  for (const k of Object.keys(s)) if (!known.includes(k)) throw badSetting(`${field}.${k}`, `is not a UDM setting (settings: ${known.join(', ')})`, s[k]);
  if (s.embedder !== undefined && (typeof s.embedder !== 'string' || s.embedder.length === 0)) throw badSetting(`${field}.embedder`, 'must be a model directory path', s.embedder);
  for (const k of ['minDensityRatio', 'maxDensityRatio'])
    if (typeof s[k] !== 'number' || !(s[k] > 0) || !Number.isFinite(s[k])) throw badSetting(`${field}.${k}`, 'must be a positive number', s[k]);
  if ((s.minDensityRatio as number) > (s.maxDensityRatio as number)) throw badSetting(`${field}.minDensityRatio`, `must not exceed maxDensityRatio (${s.maxDensityRatio})`, s.minDensityRatio);
  if (!Number.isInteger(s.promptSampleSize) || (s.promptSampleSize as number) < 1) throw badSetting(`${field}.promptSampleSize`, 'must be a positive integer', s.promptSampleSize);
}

/** Whether the loss reads per-row UDM weights (BCO with `udm: true`). */
export function readsUdmWeights(loss: ConfiguredLoss): boolean {
  return loss.inputs.some((s) => s.name === BcoInputs.udmWeights);
}

export interface UdmOptions {
  items: readonly RunItem[];
  /** Indices into `items` of the training split (the classifier is fitted on these only). */
  train: readonly number[];
  /** The training model directory (its graph embeds prompts unless `settings.embedder` is set). */
  model: ModelDir;
  settings: UdmSettings;
  seed: number;
  /** The dataset, named in errors. */
  dataFile: string;
  session?: SessionOptions;
}

export interface UdmResult {
  /** Weight per item (index into `items`): the clamped density ratio on thumbs-down rows, 1 on thumbs-up rows. */
  weights: Float32Array;
  /** Logged once before step 1: classifier accuracy (overall and per class, as TRL logs clf.score) and the thumbs-down training weights' range. */
  metrics: Record<string, number>;
  /** The embedding model directory and value the prompts were embedded with. */
  embedder: { dir: string; output: string; dims: number };
}

/** Prompt ids for the embedder: the run's own ids, or the prompt text re-tokenized by the embedder's tokenizer (TRL's embedding_tokenizer). */
function embedderRows(items: readonly RunItem[], model: ModelDir, embedder: ModelDir): number[][] {
  if (embedder === model) return items.map((it) => it.prompt);
  const limit = embedder.arch.maxPositions ?? Infinity;
  return items.map((it) => embedder.tokenizer.encode(model.tokenizer.decode(it.prompt, { skipSpecialTokens: true })).slice(0, limit));
}

function sampleOf(indices: readonly number[], size: number, seed: number): number[] {
  return indices.length <= size ? [...indices] : shuffle(indices, mulberry32(seed)).slice(0, size);
}

function summary(xs: readonly number[]): { min: number; mean: number; max: number } {
  return { min: Math.min(...xs), mean: xs.reduce((a, b) => a + b, 0) / xs.length, max: Math.max(...xs) };
}

export async function computeUdmWeights(opts: UdmOptions): Promise<UdmResult> {
  const { items, settings } = opts;
  const desirable = opts.train.filter((i) => items[i]!.label === 1);
  const undesirable = opts.train.filter((i) => items[i]!.label === 0);
  if (desirable.length === 0 || undesirable.length === 0)
    throw fail(
      'ALIGNKIT_ERR_DATASET_SCHEMA',
      `lossHp.udm needs thumbs-up and thumbs-down rows to fit its prompt classifier, but the training split of ${opts.dataFile} has ${desirable.length} rows with label true and ${undesirable.length} with label false; set lossHp.udm to false or add rows of the missing label`,
      { file: opts.dataFile, field: 'label', parameter: 'lossHp.udm' },
    );
  const embedderDir = settings.embedder ? await loadModelDir(settings.embedder) : opts.model;
  const embedder = await PromptEmbedder.create(embedderDir.onnxFile, { session: opts.session });
  let embeddings: Float32Array[];
  try {
    embeddings = await embedder.embed(embedderRows(items, opts.model, embedderDir), embedderDir.tokenizer.padTokenId);
  } finally {
    await embedder.release();
  }
  const fitUp = sampleOf(desirable, settings.promptSampleSize, opts.seed);
  const fitDown = sampleOf(undesirable, settings.promptSampleSize, opts.seed + 1);
  const clf = fitUdmClassifier(fitUp.map((i) => embeddings[i]!), fitDown.map((i) => embeddings[i]!));
  const labels = items.map((it) => it.label ?? 0);
  const weights = udmWeights(clf, embeddings, labels, { minRatio: settings.minDensityRatio, maxRatio: settings.maxDensityRatio });
  // sklearn's predict: class 1 when the decision function is positive, i.e. p > 0.5.
  const correct = (rows: number[], label: number) => rows.filter((i) => (clf.probDesirable(embeddings[i]!) > 0.5 ? 1 : 0) === label).length;
  const upRight = correct(fitUp, 1);
  const downRight = correct(fitDown, 0);
  const w = summary(undesirable.map((i) => weights[i]!));
  return {
    weights,
    metrics: {
      'udm/accuracy': (upRight + downRight) / (fitUp.length + fitDown.length),
      'udm/accuracy_desirable': upRight / fitUp.length,
      'udm/accuracy_undesirable': downRight / fitDown.length,
      'udm/weight_min': w.min,
      'udm/weight_mean': w.mean,
      'udm/weight_max': w.max,
    },
    embedder: { dir: embedderDir.dir, output: embedder.output, dims: embeddings[0]!.length },
  };
}

/** The one progress line a run prints about its UDM classifier. */
export function formatUdmLine(r: UdmResult): string {
  const m = r.metrics;
  const f = (x: number | undefined) => (x ?? NaN).toFixed(3);
  return `UDM classifier on ${r.embedder.dims}-d prompt embeddings (${r.embedder.output} of ${r.embedder.dir}): accuracy ${f(m['udm/accuracy'])} (thumbs-up ${f(m['udm/accuracy_desirable'])}, thumbs-down ${f(m['udm/accuracy_undesirable'])}); thumbs-down weights min ${f(m['udm/weight_min'])} mean ${f(m['udm/weight_mean'])} max ${f(m['udm/weight_max'])}\n`;
}

/** BCO's stage: the classifier fitted on the training split before any step (as TRL's BCOTrainer.__init__), its weights on the items. */
export const udmStage: RunStage = {
  name: 'udm-weights',
  appliesTo: readsAny([BcoInputs.udmWeights]),
  async prepare(ctx) {
    const { config, data } = ctx;
    const udm = await computeUdmWeights({ items: data.items, train: data.train, model: ctx.dir, settings: config.udm, seed: config.seed, dataFile: config.data, session: ctx.session });
    data.items = data.items.map((it, i) => ({ ...it, udmWeight: udm.weights[i] }));
    Object.assign(ctx.startMetrics, udm.metrics);
    ctx.notes.push(formatUdmLine(udm));
    ctx.extras.udm = udm;
  },
};
