// Session feeds by input name: a table from the names optimum gives an exported graph's inputs to
// the tensor alignkit feeds, so one code path serves GPT-2, Llama, BERT and merged decoders alike.

import { fail } from '../errors.js';
import { DTYPES, type DType, type Session, type Tensor } from '../graph/index.js';
import type { PaddedBatch } from './batch.js';

/** Key/value cache layout: past_key_values.{i}.key|value are [B, kvHeads, past, headDim]. */
export interface KvLayout {
  numLayers: number;
  numKvHeads: number;
  headDim: number;
}

const PAST = /^past_key_values\.(\d+)\.(key|value)$/;

const FIXED_FEEDS: Record<string, (b: PaddedBatch) => Tensor> = {
  input_ids: (b) => b.inputIds,
  attention_mask: (b) => b.attentionMask,
  position_ids: (b) => b.positionIds,
  token_type_ids: (b) => b.tokenTypeIds,
  // optimum's merged decoder picks its no-cache branch with this flag (transformers.js sets it the same way).
  use_cache_branch: () => ({ dtype: 'bool', dims: [1], data: new Uint8Array([0]) }),
};

/** Float dtype of a session input from onnxruntime's metadata (float32 when it does not say). */
function inputDtype(session: Session, name: string): DType {
  const meta = session.ort.inputMetadata.find((m) => m.name === name);
  const type = meta && meta.isTensor ? String(meta.type) : 'float32';
  return type in DTYPES ? (type as DType) : 'float32';
}

/** Zero-length past for every past_key_values input: a plain forward through a with-past graph. */
export function emptyPast(session: Session, batchSize: number, kv: KvLayout): Record<string, Tensor> {
  const feeds: Record<string, Tensor> = {};
  for (const name of session.inputNames) {
    if (!PAST.test(name)) continue;
    const dtype = inputDtype(session, name);
    feeds[name] = { dtype, dims: [batchSize, kv.numKvHeads, 0, kv.headDim], data: new (DTYPES[dtype].array!)(0) };
  }
  return feeds;
}

/** Feeds for every input of `session`; an input alignkit does not know is an error naming it. */
export function feedsFor(session: Session, batch: PaddedBatch, kv: KvLayout | undefined, source: string): Record<string, Tensor> {
  const feeds: Record<string, Tensor> = {};
  for (const name of session.inputNames) {
    const fixed = FIXED_FEEDS[name];
    if (fixed) feeds[name] = fixed(batch);
    else if (!PAST.test(name)) throw fail('ALIGNKIT_ERR_ONNX_MODEL', `${source} has an input ${name} that alignkit does not know how to feed`, { file: source, field: name });
  }
  if (session.inputNames.some((n) => PAST.test(n))) {
    if (!kv) throw fail('ALIGNKIT_ERR_ONNX_MODEL', `${source} takes past_key_values inputs but its config gives no layer/head sizes`, { file: source });
    Object.assign(feeds, emptyPast(session, batch.batchSize, kv));
  }
  return feeds;
}
