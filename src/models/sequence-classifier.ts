// A sequence classifier (reward model) from a Hugging Face directory: raw scores for (prompt,
// response) pairs, one per output head, never passed through a softmax (a softmax over one logit
// is always 1.0, the trap transformers.js's text-classification pipeline falls into).
// Two families, told apart by the graph's inputs:
//  - encoders (BERT, DeBERTa, RoBERTa ...; a token_type_ids input or an encoder model_type): the pair
//    goes through the tokenizer's pair template and the graph pools itself;
//  - decoders (GPT-2/Llama/Qwen ForSequenceClassification): prompt + response as one sequence,
//    scored at the last non-pad token. optimum's export already pools ([B, L] logits); a graph that
//    returns per-token logits [B, T, L] is pooled here at each row's last real token.

import fs from 'node:fs';
import path from 'node:path';
import { fail } from '../errors.js';
import { loadModel, Session, type Model, type SessionOptions, type Tensor } from '../graph/index.js';
import { fuseAttention, fuseElementwise, poolBeforeTail } from '../graph/rewrites/index.js';
import { padRight } from './batch.js';
import type { LoadOptions } from './causal-lm.js';
import { encodeForDecoderClassifier, encodeForEncoderClassifier, type ClassifierInput } from './encode.js';
import { feedsFor, type KvLayout } from './feeds.js';
import { loadModelDir, type ModelDir } from './model-dir.js';
import type { PromptResponse } from './types.js';

export type ClassifierKind = 'encoder' | 'decoder';

/** model_type values of encoder-only architectures whose graphs take no token_type_ids. */
export const ENCODER_TYPES = new Set(['bert', 'roberta', 'xlm-roberta', 'deberta', 'deberta-v2', 'distilbert', 'electra', 'albert', 'mpnet', 'modernbert', 'camembert']);

const ENCODERS: Record<ClassifierKind, (m: ModelDir, item: PromptResponse, i: number, max: number, truncate: boolean) => ClassifierInput> = {
  encoder: (m, item, i, max, truncate) => encodeForEncoderClassifier(m.tokenizer, item, i, max, truncate),
  decoder: (m, item, i, max, truncate) => encodeForDecoderClassifier(m.tokenizer, item, i, max, truncate),
};

/** Per-row scores from the logits output, by its rank. */
const POOLERS: Record<number, (logits: Tensor, lengths: number[]) => Float32Array[]> = {
  // [B, L]: the graph pooled already.
  2: (logits) => {
    const [B, L] = logits.dims as [number, number];
    return Array.from({ length: B }, (_, b) => Float32Array.from((logits.data as Float32Array).subarray(b * L, (b + 1) * L)));
  },
  // [B, T, L]: take each row's last real token (right padding puts it at length - 1).
  3: (logits, lengths) => {
    const [B, T, L] = logits.dims as [number, number, number];
    return Array.from({ length: B }, (_, b) => {
      const at = (b * T + lengths[b]! - 1) * L;
      return Float32Array.from((logits.data as Float32Array).subarray(at, at + L));
    });
  },
};

export interface ScoreOptions {
  /** Cut the prompt's start to fit maxLength instead of throwing ALIGNKIT_ERR_TOO_LONG. */
  truncate?: boolean;
}

export class SequenceClassifier {
  readonly name: string;
  readonly kind: ClassifierKind;
  readonly numLabels: number;
  readonly labels: string[];
  readonly maxLength: number;
  /** Token id rows are padded with (the config's pad_token_id, which in-graph pooling compares against). */
  readonly padTokenId: number;
  private readonly kv: KvLayout | undefined;

  private constructor(readonly dir: ModelDir, readonly session: Session) {
    const a = dir.arch;
    this.name = dir.name;
    this.kind = session.inputNames.includes('token_type_ids') || ENCODER_TYPES.has(a.modelType) ? 'encoder' : 'decoder';
    this.labels = a.labels ?? ['LABEL_0'];
    this.numLabels = this.labels.length;
    this.maxLength = Math.min(a.maxPositions ?? Infinity, dir.tokenizer.modelMaxLength);
    if (!Number.isFinite(this.maxLength)) throw fail('ALIGNKIT_ERR_MODEL_DIR', `${dir.dir} states no maximum length (max_position_embeddings or model_max_length)`, { file: dir.dir });
    this.padTokenId = a.padTokenId ?? dir.tokenizer.padTokenId;
    this.kv = a.numLayers && a.numKvHeads && a.headDim ? { numLayers: a.numLayers, numKvHeads: a.numKvHeads, headDim: a.headDim } : undefined;
    if (!session.outputNames.includes('logits')) throw fail('ALIGNKIT_ERR_ONNX_MODEL', `${dir.onnxFile} has no output named logits`, { file: dir.onnxFile });
  }

  static async load(dir: string, opts: LoadOptions = {}): Promise<SequenceClassifier> {
    const model = await loadModelDir(dir);
    return new SequenceClassifier(model, await Session.create(scoringGraph(model.onnxFile, opts.session) ?? model.onnxFile, opts.session));
  }

  get tokenizer() {
    return this.dir.tokenizer;
  }

  /** Raw scores (one Float32Array of numLabels per item), the items run in length buckets. */
  async score(items: PromptResponse[], opts: ScoreOptions = {}): Promise<Float32Array[]> {
    const encoded = items.map((item, i) => ENCODERS[this.kind](this.dir, item, i, this.maxLength, opts.truncate ?? false));
    return this.run(encoded.map((e) => e.ids), encoded.map((e) => e.tokenTypeIds));
  }

  /** Raw scores for token id rows as given (no special tokens added, right-padded here). */
  async scoreIds(ids: number[][], tokenTypeIds?: number[][]): Promise<Float32Array[]> {
    ids.forEach((row, i) => {
      if (row.length > this.maxLength) throw fail('ALIGNKIT_ERR_TOO_LONG', `item ${i} has ${row.length} tokens, more than the limit of ${this.maxLength} of ${this.name}`, { row: i, tokens: row.length, limit: this.maxLength });
    });
    return this.run(ids, tokenTypeIds);
  }

  /**
   * Scores rows in length buckets (lengthBuckets): rows of similar length run together, so a short
   * row is not padded to the longest of the whole list. A row's score does not depend on its
   * batch-mates (right padding, masked), so the split changes no score.
   */
  private async run(ids: number[][], tokenTypeIds?: number[][]): Promise<Float32Array[]> {
    if (ids.length === 0) return [];
    const out = new Array<Float32Array>(ids.length);
    for (const bucket of lengthBuckets(ids.map((r) => r.length))) {
      const scores = await this.runBatch(bucket.map((i) => ids[i]!), tokenTypeIds && bucket.map((i) => tokenTypeIds[i]!));
      bucket.forEach((i, k) => (out[i] = scores[k]!));
    }
    return out;
  }

  private async runBatch(ids: number[][], tokenTypeIds?: number[][]): Promise<Float32Array[]> {
    const batch = padRight(ids, this.padTokenId, tokenTypeIds);
    const out = await this.session.run(feedsFor(this.session, batch, this.kv, this.dir.onnxFile), ['logits']);
    const logits = out.logits!;
    const pool = POOLERS[logits.dims.length];
    const width = logits.dims[logits.dims.length - 1];
    if (!pool || logits.dtype !== 'float32' || width !== this.numLabels)
      throw fail('ALIGNKIT_ERR_ONNX_MODEL', `${this.dir.onnxFile} returns logits ${logits.dtype} [${logits.dims}], want float32 [batch, ${this.numLabels}] or [batch, sequence, ${this.numLabels}] for the ${this.numLabels} labels of config.json`, { file: this.dir.onnxFile, field: 'logits' });
    return pool(logits, batch.lengths);
  }
}

/**
 * Largest graph (file and external data) scoringGraph rewrites. The rewrite holds the weights in
 * JavaScript and hands onnxruntime one inline protobuf (about three copies while the session loads,
 * and protobuf's 2 GB cap); the pooled tail's share of a forward also shrinks as 1 / layers, so
 * past this size the file is loaded as it is.
 */
const REWRITE_MAX_BYTES = 512 * 2 ** 20;

/** Bytes of an ONNX file and the files beside it (its external data). */
function graphBytes(onnxFile: string): number {
  const dir = path.dirname(onnxFile);
  return fs.readdirSync(dir).reduce((sum, f) => sum + fs.statSync(path.join(dir, f)).size, 0);
}

/**
 * The graph a CPU scoring session runs, rewritten in memory (the file is left as exported, so
 * transformers.js and optimum load it unchanged): attention fused into onnxruntime's kernel, the
 * pooled position's tail computed for that position alone, and tanh GELUs and attention biases
 * fused (src/graph/rewrites fused-attention.ts, pooled-tail.ts, fused-elementwise.ts; the same
 * scores to float rounding). Undefined when no rewrite applies, and on other providers, whose
 * kernels for the fused ops were not measured.
 */
function scoringGraph(onnxFile: string, session: SessionOptions = {}): Model | undefined {
  if ((session.provider ?? 'cpu') !== 'cpu' || graphBytes(onnxFile) > REWRITE_MAX_BYTES) return undefined;
  const source = loadModel(onnxFile);
  const fused = fuseAttention(source);
  const pooled = poolBeforeTail(fused ?? source) ?? fused;
  // After the pooling: the pooled tail follows plain elementwise ops, not the fused kernels.
  return fuseElementwise(pooled ?? source) ?? pooled;
}

/** A session run's fixed cost in padded-token equivalents (run overhead against one token's layers, small reward models). */
const RUN_COST_TOKENS = 32;
/** Most rows in one run: bounds a run's activation memory whatever list a caller scores at once. */
const MAX_ROWS = 64;

/**
 * Row indices grouped into runs by length: rows sorted by length, then the split of that order into
 * consecutive runs that minimizes sum over runs of (RUN_COST_TOKENS + rows x longest row), i.e. the
 * padded tokens computed plus a per-run overhead (dynamic programming, at most MAX_ROWS rows a run).
 */
export function lengthBuckets(lengths: readonly number[], runCost = RUN_COST_TOKENS, maxRows = MAX_ROWS): number[][] {
  const order = lengths.map((_, i) => i).sort((a, b) => lengths[a]! - lengths[b]! || a - b);
  const n = order.length;
  const best = new Float64Array(n + 1);
  const start = new Int32Array(n + 1);
  for (let j = 1; j <= n; j++) {
    best[j] = Infinity;
    const longest = lengths[order[j - 1]!]!;
    for (let i = Math.max(1, j - maxRows + 1); i <= j; i++) {
      const cost = best[i - 1]! + runCost + (j - i + 1) * longest;
      if (cost < best[j]!) {
        best[j] = cost;
        start[j] = i;
      }
    }
  }
  const buckets: number[][] = [];
  for (let j = n; j > 0; j = start[j]! - 1) buckets.unshift(order.slice(start[j]! - 1, j));
  return buckets;
}
