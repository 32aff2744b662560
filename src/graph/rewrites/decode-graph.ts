// A decoder graph (optimum's with-past layout: input_ids, attention_mask, position_ids,
// past_key_values.{i}.key|value -> logits, present.{i}.key|value) rewritten for a decoding loop that
// keeps its KV cache in pre-allocated buffers:
//  - `new_kv`: only the keys and values of the new tokens (the second input of the Concat that
//    builds each present), stacked along the first axis in past-input order, so a step returns
//    [B, H, T, D] per past instead of the whole grown cache, which onnxruntime-node would copy into
//    fresh JavaScript memory every step;
//  - `last_logits` [B, V]: the head applied to the last position only (the rows are left-padded, so
//    the last column is every row's newest token), so a prompt's prefill skips T - 1 head products;
//  - `last_logsumexp` [B]: log sum exp of those logits, so per-token log-probs need no softmax pass
//    over the vocabulary in JavaScript;
//  - `last_max` [B] and `last_argmax` [B]: the largest logit and its index, all greedy decoding
//    without processors fetches.
// Returns undefined when the graph does not have that layout (the caller keeps the plain step).

import { GraphBuilder } from '../builder.js';
import { attrInt, onnxOpset, producers, topological, type Model } from '../ir.js';
import { cloneModel } from './lora.js';

export interface DecodingGraph {
  model: Model;
  /** past_key_values input -> its block in NEW_KV (block i holds [B, H, T, D] at i x B x H x T x D). */
  newKv: Map<string, number>;
}

export const LAST_LOGITS = 'last_logits';
export const LAST_LOGSUMEXP = 'last_logsumexp';
export const LAST_MAX = 'last_max';
export const LAST_ARGMAX = 'last_argmax';
export const NEW_KV = 'new_kv';
const PAST = /^past_key_values\.(\d+)\.(key|value)$/;

export function decodingGraph(source: Model): DecodingGraph | undefined {
  const g0 = source.graph;
  const pasts = g0.inputs.filter((v) => PAST.test(v.name)).map((v) => v.name);
  if (pasts.length === 0 || !g0.outputs.some((o) => o.name === 'logits') || !g0.inputs.some((v) => v.name === 'position_ids')) return undefined;
  const made = producers(g0);
  // The node computing a value, looking through Identity (builders name outputs with one).
  const producerOf = (value: string) => {
    let n = made.get(value);
    while (n?.opType === 'Identity') n = made.get(n.inputs[0]!);
    return n;
  };
  // present.{i}.x = Concat(past_key_values.{i}.x, new, axis = 2): the new part is the Concat's second input.
  const newKv = new Map<string, string>();
  for (const past of pasts) {
    const present = past.replace(/^past_key_values\./, 'present.');
    const node = producerOf(present);
    const axis = node && attrInt(node, 'axis');
    if (!node || node.opType !== 'Concat' || node.inputs.length !== 2 || node.inputs[0] !== past || (axis !== 2 && axis !== -2)) return undefined;
    newKv.set(past, node.inputs[1]!);
  }
  const model = cloneModel(source);
  const g = model.graph;
  const b = new GraphBuilder({ graph: g, opset: onnxOpset(model) });
  const head = producerOf('logits')!;
  let last: string;
  if (head.opType === 'MatMul') {
    // Slice the hidden states before the head: [B, T, C] -> [B, 1, C]. The head node is replaced by a
    // copy (cloneModel shares nodes' attribute objects, not the node list); the slice is appended and
    // the list re-sorted below.
    const sliced = b.slice(head.inputs[0]!, [-1], [2 ** 31 - 1], [1]);
    const i = g.nodes.findIndex((n) => n.outputs[0] === head.outputs[0]);
    g.nodes[i] = { ...g.nodes[i]!, inputs: [sliced, head.inputs[1]!] };
    last = 'logits';
  } else last = b.slice('logits', [-1], [2 ** 31 - 1], [1]);
  // Squeezed straight into the output name: an Identity before a graph output is a copy onnxruntime keeps.
  b.op1('Squeeze', [last, b.int64s([1])], {}, { names: [LAST_LOGITS] });
  // log sum exp as max + log(sum(exp(x - max))) in elementwise ops and plain reductions: onnxruntime
  // 1.30's ReduceLogSumExp kernel took 88 us of CPU on [4, 4096] where these took 30 (one thread),
  // about a twelfth of a decoding step of alignkit-base.
  const max = b.reduceMax(LAST_LOGITS, [-1], true); // [B, 1]
  const sum = b.reduceSum(b.exp(b.sub(LAST_LOGITS, max)), [-1], false); // [B]
  b.op1('Squeeze', [max, b.int64s([1])], {}, { names: [LAST_MAX] });
  b.op1('Add', [b.log(sum), LAST_MAX], {}, { names: [LAST_LOGSUMEXP] });
  // Greedy decoding without processors needs only these: the JS side then fetches neither the
  // [B, V] logits (a copy onnxruntime-node makes per step) nor scans them for the argmax.
  b.op1('ArgMax', [LAST_LOGITS], { axis: -1, keepdims: 0 }, { names: [LAST_ARGMAX] }); // [B], the first maximum as JS's argmax
  g.nodes = topological(g.nodes, new Set([...g.inputs.map((v) => v.name), ...g.initializers.keys()]));
  const vocab = g0.outputs.find((o) => o.name === 'logits')!.dims?.[2];
  // The new keys and values as one output: onnxruntime-node converts each output of a run on its
  // own (measured ~3 us of CPU per output), and a step fetches all of them.
  b.op1('Concat', [...newKv.values()], { axis: 0 }, { names: [NEW_KV] }); // [2 x layers x B, H, T, D]
  const blocks = new Map([...newKv.keys()].map((past, i) => [past, i]));
  g.outputs = [
    { name: LAST_LOGITS, dtype: 'float32', dims: ['batch_size', vocab ?? 'vocab'] },
    { name: LAST_LOGSUMEXP, dtype: 'float32', dims: ['batch_size'] },
    { name: LAST_MAX, dtype: 'float32', dims: ['batch_size'] },
    { name: LAST_ARGMAX, dtype: 'int64', dims: ['batch_size'] },
    { name: NEW_KV, dtype: 'float32' },
  ];
  return { model, newKv: blocks };
}
