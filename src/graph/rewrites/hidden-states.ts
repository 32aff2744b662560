// Finding a causal LM's internal activations by graph structure, for heads that read them: the
// final hidden state (what the LM head projects to logits) and the last block's MLP activation
// (what its down-projection reads). Exporters differ in names, so both are found from the
// nodes: the first by walking back from `logits`, the second by weight or node names.

import { fail } from '../../errors.js';
import { createShapeEnv, typeOf } from '../autodiff/shapes.js';
import { producers, type Model } from '../ir.js';
import { blockIndexOf, initializerScopes, matchesAny, type NamePattern } from './names.js';

// Ops an exporter puts between the LM head's product and the `logits` output without changing it.
const PASS_THROUGH = new Set(['Identity', 'Cast']);

export interface HiddenState {
  /** The [N, T, H] value. */
  value: string;
  /** H. */
  width: number;
}

/** The [N, T, H] input of the LM head (the MatMul/Gemm whose product becomes `logits`). */
export function finalHiddenState(model: Model, logits = 'logits'): HiddenState {
  const made = producers(model.graph);
  let node = made.get(logits);
  while (node && PASS_THROUGH.has(node.opType)) node = made.get(node.inputs[0]!);
  if (!node || (node.opType !== 'MatMul' && node.opType !== 'Gemm'))
    throw fail('ALIGNKIT_ERR_ONNX_MODEL', `cannot find the LM head of graph ${model.graph.name}: ${logits} is not made by a MatMul/Gemm (found ${node?.opType ?? 'no node'})`, { field: logits });
  const value = node.inputs[0]!;
  const width = typeOf(createShapeEnv(model), value)?.dims?.at(-1);
  if (typeof width !== 'number')
    throw fail('ALIGNKIT_ERR_ONNX_MODEL', `the hidden state ${value} read by LM head node ${node.name} has no fixed last dimension`, { field: value });
  return { value, width };
}

// MLP down-projections: GPT-2 `mlp.c_proj`, LLaMA/Mistral/Qwen `down_proj`, OPT/Phi `fc2`,
// GPT-NeoX `dense_4h_to_h`, GPT-J `fc_out` (as weight names or exported node paths).
const MLP_OUTPUT: NamePattern[] = [/mlp[./]c_proj([./]|$)/, 'down_proj', 'fc2', 'dense_4h_to_h', 'fc_out'];

/**
 * The activation the last block's MLP down-projection reads ([N, T, 4H] for GPT-2: the GELU
 * output), or undefined when no weight is named like an MLP output projection.
 */
export function lastMlpActivation(model: Model): string | undefined {
  const scopes = initializerScopes(model);
  let best: { value: string; block: number } | undefined;
  for (const n of model.graph.nodes) {
    if (n.opType !== 'MatMul' && n.opType !== 'Gemm') continue;
    const names = [...(scopes.get(n.inputs[1]!) ?? []), n.name];
    if (!model.graph.initializers.has(n.inputs[1]!) || !matchesAny(names, MLP_OUTPUT)) continue;
    const block = blockIndexOf(names) ?? -1;
    if (!best || block > best.block) best = { value: n.inputs[0]!, block };
  }
  return best?.value;
}
