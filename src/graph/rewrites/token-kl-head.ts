// A head over two next-token distributions in one graph (the policy's and a frozen reference's,
// see frozen-branch.ts): per-token log-probs of the sequence's own tokens under each, and the
// per-position KL(pi_ref(.|x,y<t) || pi(.|x,y<t)) over the whole vocabulary, as TDPO's official
// tdpo_get_batch_logps computes it (logits[:, :-1] against labels[:, 1:], KL = sum_v p_ref(v)
// (log p_ref(v) - log p(v))) and as src/losses/token-level.ts reads it (`policy_*_kl`). Each
// [N, T, V] log-softmax is taken once.
//
// Alignment is addTokenLogProbHead's: value[b, t] comes from the distribution predicting ids[b, t]
// (the logits at t - 1) and is 0 at t = 0, so every output lines up with input_ids and the
// response masks position by position.

import { GraphBuilder, type Value } from '../builder.js';
import { onnxOpset, type Model } from '../ir.js';
import { cloneModel } from './lora.js';
import type { HeadResult } from './logprob-head.js';
import { uniquifyNodeNames } from './names.js';

const INT64_MAX = Number.MAX_SAFE_INTEGER;

/**
 * x [N, T, ...] computed at position t -> the same values at t + 1, zeros at t = 0: what position
 * t - 1 computed about token t moves onto token t (any rank >= 2; axis 1 is the sequence).
 */
export function alignToNextToken(b: GraphBuilder, x: Value): Value {
  const zeros = b.constantOfShape(b.shape(b.slice(x, [0], [1], [1])), 0); // [N, 1, ...]
  return b.concat([zeros, b.slice(x, [0], [-1], [1])], 1);
}

export interface TokenKlHeadOptions {
  /** The policy's [N, T, V] logits (default `logits`). */
  policyLogits?: string;
  /** The frozen reference's [N, T, V] logits (e.g. `reference/logits` from addFrozenBranch). */
  referenceLogits: string;
  /** Token ids [N, T] (default `input_ids`). */
  labels?: string;
  /** Output names (defaults `token_logprobs`, `ref_token_logprobs`, `token_kl`). */
  outputs?: { policy?: string; reference?: string; kl?: string };
  /** Keep the policy's logits among the graph outputs (default false). */
  keepLogits?: boolean;
}

export function addTokenKlHead(source: Model, opts: TokenKlHeadOptions): HeadResult {
  const policyLogits = opts.policyLogits ?? 'logits';
  const names = { policy: 'token_logprobs', reference: 'ref_token_logprobs', kl: 'token_kl', ...opts.outputs };
  const model = cloneModel(source);
  const b = new GraphBuilder({ graph: model.graph, opset: onnxOpset(model) });
  const ids = opts.labels ?? 'input_ids';
  const lp = b.logSoftmax(policyLogits, -1); // [N, T, V]
  const lr = b.logSoftmax(opts.referenceLogits, -1); // [N, T, V]
  const next = b.unsqueeze(b.concat([b.slice(ids, [1], [INT64_MAX], [1]), b.slice(ids, [0], [1], [1])], 1), [2]); // [N, T, 1]: ids[t+1]
  const picked = (logp: Value) => b.squeeze(b.gatherElements(logp, next, 2), [2]); // [N, T]: log p(ids[t+1] | <= t)
  const kl = b.reduceSum(b.mul(b.exp(lr), b.sub(lr, lp)), [2], false); // [N, T]: KL(ref || policy) at each position
  const emit = (value: Value, name: string) => {
    b.op('Identity', [alignToNextToken(b, value)], {}, { names: [name] });
    b.output(name, name, 'float32', ['batch', 'sequence']);
  };
  emit(picked(lp), names.policy);
  emit(picked(lr), names.reference);
  emit(kl, names.kl);
  if (!opts.keepLogits) model.graph.outputs = model.graph.outputs.filter((o) => o.name !== policyLogits);
  uniquifyNodeNames(model.graph);
  return { model, outputs: { ...names } };
}
