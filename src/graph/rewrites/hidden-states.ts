// Finding a causal LM's internal activations by graph structure, for heads that read them: the
// final hidden state (what the LM head projects to logits) and the last block's MLP activation
// (what its down-projection reads). Exporters differ in names, so both are found from the
// nodes: the first by walking back from `logits`, the second by weight or node names.

import { fail } from '../../errors.js';
import { createShapeEnv, typeOf } from '../autodiff/shapes.js';
import { producers, type Model, type Node } from '../ir.js';
import { blockIndexOf, initializerScopes, matchesAny, type NamePattern } from './names.js';

// Ops between the final hidden states and a head's output that carry the data through: casts and
// reshapes, a classifier's pooling (Gather of the last real token), a bias Add (one computed input).
const PASS_THROUGH = new Set(['Identity', 'Cast', 'Reshape', 'Squeeze', 'Unsqueeze', 'Gather', 'GatherElements', 'GatherND', 'Slice', 'Flatten', 'Add']);

export interface HiddenState {
  /** The [N, T, H] value. */
  value: string;
  /** H. */
  width: number;
  /** The head node's output: its per-position projection ([N, T, V] logits, or a classifier's [N, T, K] scores before pooling). */
  head: string;
}

/** Whether a value is computed from initializers alone (a weight, or a view of one such as GPT-2's transposed wte). */
function isConstant(name: string, model: Model, made: ReadonlyMap<string, Node>, seen = new Set<string>()): boolean {
  if (model.graph.initializers.has(name)) return true;
  const node = made.get(name);
  if (!node || seen.has(name)) return false;
  seen.add(name);
  return node.inputs.filter(Boolean).every((i) => isConstant(i, model, made, seen));
}

/**
 * The final hidden states a model's head reads: from `output` (default `logits`) back through
 * pass-through ops to the first MatMul/Gemm with a weight operand (GPT-2's tied lm head, a
 * *ForSequenceClassification score head, Llama's lm_head); its computed operand. H comes from
 * static shape inference.
 */
export function finalHiddenState(model: Model, output = 'logits'): HiddenState {
  const made = producers(model.graph);
  let value: string | undefined = output;
  let node = made.get(value);
  for (let hops = 0; node && PASS_THROUGH.has(node.opType) && hops < 64; hops++) {
    const computed: string[] = node.inputs.filter((i) => i !== '' && !isConstant(i, model, made));
    // A bias Add carries its one computed input; every other pass-through op its data input 0.
    value = node.opType === 'Add' ? (computed.length === 1 ? computed[0] : undefined) : node.inputs[0];
    node = value === undefined ? undefined : made.get(value);
  }
  const computed = node && (node.opType === 'MatMul' || node.opType === 'Gemm') ? node.inputs.slice(0, 2).filter((i) => !isConstant(i, model, made)) : [];
  if (!node || computed.length !== 1)
    throw fail('ALIGNKIT_ERR_ONNX_MODEL',
      `cannot find the final hidden states behind ${output} of graph ${model.graph.name}: walking back reached ${node ? `node ${node.name} (${node.opType})` : `value ${value ?? '(none)'}, which no node produces`}, not a head MatMul/Gemm with one weight operand`,
      { field: output, node: node?.name });
  const hidden = computed[0]!;
  const width = typeOf(createShapeEnv(model), hidden)?.dims?.at(-1);
  if (typeof width !== 'number')
    throw fail('ALIGNKIT_ERR_ONNX_MODEL', `the hidden state ${hidden} read by head node ${node.name} has no fixed last dimension`, { field: hidden });
  return { value: hidden, width, head: node.outputs[0]! };
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
