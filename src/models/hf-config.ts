// A normalized view of a Hugging Face `config.json`: every architecture names its sizes differently
// (GPT-2 n_layer/n_head/n_embd, Llama num_hidden_layers/num_key_value_heads/head_dim, ...). The
// alias table below plays the role of transformers.js's getNormalizedConfig: the first key present wins.

import { fail } from '../errors.js';

export type HfConfig = Record<string, unknown> & { model_type?: string; architectures?: string[] };

const ALIASES = {
  numLayers: ['num_hidden_layers', 'n_layer', 'num_layers', 'n_layers'],
  numHeads: ['num_attention_heads', 'n_head', 'num_heads', 'n_heads'],
  numKvHeads: ['num_key_value_heads', 'n_kv_heads', 'num_kv_heads'],
  hiddenSize: ['hidden_size', 'n_embd', 'd_model', 'dim'],
  headDim: ['head_dim'],
  vocabSize: ['vocab_size'],
  maxPositions: ['max_position_embeddings', 'n_positions', 'n_ctx', 'max_seq_len'],
} as const;

export interface ArchInfo {
  modelType: string;
  architectures: string[];
  numLayers: number | undefined;
  numHeads: number | undefined;
  /** Key/value heads (grouped-query attention); equals numHeads without GQA. */
  numKvHeads: number | undefined;
  hiddenSize: number | undefined;
  headDim: number | undefined;
  vocabSize: number | undefined;
  maxPositions: number | undefined;
  padTokenId: number | undefined;
  bosTokenId: number | undefined;
  eosTokenId: number | undefined;
  /** Output head names in id order (id2label), or undefined when the config has none. */
  labels: string[] | undefined;
}

function pick(config: HfConfig, keys: readonly string[], file: string): number | undefined {
  for (const k of keys) {
    const v = config[k];
    if (v === undefined || v === null) continue;
    if (typeof v !== 'number' || !Number.isFinite(v)) throw fail('ALIGNKIT_ERR_MODEL_DIR', `${file}: ${k} is ${JSON.stringify(v)}, want a number`, { file, field: k });
    return v;
  }
  return undefined;
}

/** A token id field that transformers allows to be a list (eos_token_id: [1, 2]); the first id is used. */
function tokenId(config: HfConfig, key: string, file: string): number | undefined {
  const v = config[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'number') return v;
  if (Array.isArray(v) && typeof v[0] === 'number') return v[0];
  throw fail('ALIGNKIT_ERR_MODEL_DIR', `${file}: ${key} is ${JSON.stringify(v)}, want a token id`, { file, field: key });
}

function labelsOf(config: HfConfig, file: string): string[] | undefined {
  const id2label = config.id2label;
  if (id2label && typeof id2label === 'object') {
    const entries = Object.entries(id2label as Record<string, unknown>).map(([k, v]) => [Number(k), String(v)] as const);
    if (entries.some(([k]) => !Number.isInteger(k))) throw fail('ALIGNKIT_ERR_MODEL_DIR', `${file}: id2label has a non-integer key`, { file, field: 'id2label' });
    return entries.sort((a, b) => a[0] - b[0]).map(([, v]) => v);
  }
  const n = config.num_labels;
  if (typeof n === 'number') return Array.from({ length: n }, (_, i) => `LABEL_${i}`);
  return undefined;
}

export function archInfo(config: HfConfig, file: string): ArchInfo {
  const numHeads = pick(config, ALIASES.numHeads, file);
  const hiddenSize = pick(config, ALIASES.hiddenSize, file);
  const headDim = pick(config, ALIASES.headDim, file) ?? (numHeads && hiddenSize ? hiddenSize / numHeads : undefined);
  return {
    modelType: typeof config.model_type === 'string' ? config.model_type : '',
    architectures: Array.isArray(config.architectures) ? config.architectures.map(String) : [],
    numLayers: pick(config, ALIASES.numLayers, file),
    numHeads,
    numKvHeads: pick(config, ALIASES.numKvHeads, file) ?? numHeads,
    hiddenSize,
    headDim,
    vocabSize: pick(config, ALIASES.vocabSize, file),
    maxPositions: pick(config, ALIASES.maxPositions, file),
    padTokenId: tokenId(config, 'pad_token_id', file),
    bosTokenId: tokenId(config, 'bos_token_id', file),
    eosTokenId: tokenId(config, 'eos_token_id', file),
    labels: labelsOf(config, file),
  };
}
