// SparsePO's learned token mask ("SparsePO: Controlling Preference Alignment of LLMs via Sparse
// Token Masks", Christopoulou et al. 2024): a linear layer over the policy's final hidden states
// giving one mask logit per token and head (the reward mask, and optionally a separate KL mask),
// trained jointly with the policy. It is an auxiliary head: the exported model does not carry it.
//
// Initialisation: zero weights and a constant bias, so every token's mask starts at the same
// value the caller chooses (SparsePO starts as TDPO when that value makes the mask 1: bias 1
// under ReLU). The weights still get gradients at step 1, since d loss / d W = h^T d loss / d z.

import { fail } from '../../errors.js';
import { GraphBuilder } from '../builder.js';
import { onnxOpset, type Model } from '../ir.js';
import { finalHiddenState } from './hidden-states.js';
import { cloneModel } from './lora.js';
import { uniquifyNodeNames } from './names.js';
import { alignToNextToken } from './token-kl-head.js';

export interface TokenMaskHeadOptions {
  /** One [N, T] output per head, by name (e.g. [`mask_logits`] or [`mask_logits`, `kl_mask_logits`]). */
  heads: string[];
  /** Starting value of every mask logit (the bias; the weights start at 0). */
  startLogit: number;
  /** The policy's logits, to find the hidden state the LM head reads (default `logits`). */
  logits?: string;
  /** Initializer name stem (default `mask_head`): `<stem>.weight` [H, K], `<stem>.bias` [K]. */
  name?: string;
}

export interface TokenMaskHeadResult {
  model: Model;
  /** Head output name -> [N, T] value, aligned like token_logprobs (the logit for token t is read from position t - 1). */
  outputs: Record<string, string>;
  /** The head's initializers: add them to the trainable set. */
  trainable: string[];
}

export function addTokenMaskHead(source: Model, opts: TokenMaskHeadOptions): TokenMaskHeadResult {
  if (opts.heads.length === 0) throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', 'a token mask head needs at least one output', { field: 'heads' });
  if (!Number.isFinite(opts.startLogit)) throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `startLogit must be finite, got ${opts.startLogit}`, { field: 'startLogit' });
  const hidden = finalHiddenState(source, opts.logits);
  const model = cloneModel(source);
  const b = new GraphBuilder({ graph: model.graph, opset: onnxOpset(model) });
  const stem = opts.name ?? 'mask_head';
  const K = opts.heads.length;
  const weight = b.initializer(`${stem}.weight`, new Float32Array(hidden.width * K), [hidden.width, K]);
  const bias = b.initializer(`${stem}.bias`, new Float32Array(K).fill(opts.startLogit), [K]);
  const z = alignToNextToken(b, b.add(b.matMul(hidden.value, weight), bias)); // [N, T, K]
  const outputs: Record<string, string> = {};
  opts.heads.forEach((name, k) => {
    outputs[name] = b.op('Squeeze', [b.slice(z, [k], [k + 1], [2]), b.int64s([2])], {}, { names: [name] })[0]!; // [N, T]
  });
  uniquifyNodeNames(model.graph);
  return { model, outputs, trainable: [weight, bias] };
}
