// Causal self-attention written out in plain ONNX ops (the form alignkit's GPT-2 builder exports and
// transformers.js runs node by node) rewritten, for inference only, into onnxruntime's fused
// `com.microsoft.MultiHeadAttention` kernel:
//
//   q, k, v [B, T, C] -> Reshape/Transpose to [B, H, T, D] (k and v optionally Concat'ed after a past)
//   -> MatMul(q, Transpose(k)) * scale -> Where(causal & padding mask, ., min) -> Softmax
//   -> MatMul(., v) -> Transpose -> Reshape [B, T, C]
//
// becomes MultiHeadAttention(q, k, v, key_padding_mask = attention_mask as int32, past_key,
// past_value; num_heads, unidirectional = 1, scale). The kernel merges the causal and padding masks
// itself and never materialises the [B, H, T, S] mask, scaled scores and masked scores as separate
// tensors, one op per layer instead of about a dozen (the per-op cost dominates a decoding step of a
// small model; at scoring length the [B, H, T, T] intermediates dominate). Semantics: rows and
// positions with at least one unmasked key get the same attention up to float rounding; a query whose
// keys are all masked (a pad position, whose output nothing reads) gets different garbage.
// The mask is checked to be built from the graph's `attention_mask` input with a LessOrEqual (the
// causal part); anything else is left as it is. Returns undefined when no attention block matches.

import { attrInt, consumers, producers, removeUnread, topological, type Graph, type Model, type Node } from '../ir.js';
import { GraphBuilder } from '../builder.js';
import { cloneModel } from './lora.js';
import { uniquifyNodeNames } from './names.js';

const MS_DOMAIN = 'com.microsoft';

interface AttentionBlock {
  /** [B, T, C] query, key and value before the head split. */
  q: string;
  k: string;
  v: string;
  pastKey?: string;
  pastValue?: string;
  /** The Concat outputs (past + new), named by the fused op's present outputs. */
  presentKey?: string;
  presentValue?: string;
  heads: number;
  scale: number;
  maskValue: number;
  /** [B, T, C] attention output (the final Reshape's output). */
  output: string;
}

function constantValue(g: Graph, made: Map<string, Node>, name: string): number[] | undefined {
  const t = g.initializers.get(name);
  if (t) return Array.from(t.data as ArrayLike<number | bigint>, Number);
  const n = made.get(name);
  if (n?.opType === 'Constant' && n.attrs.value?.type === 'tensor') return Array.from(n.attrs.value.value.data as ArrayLike<number | bigint>, Number);
  return undefined;
}

function perm(n: Node | undefined): string {
  const p = n?.attrs.perm;
  return p?.type === 'ints' ? p.value.join(',') : '';
}

/**
 * Ops a plain causal + padding mask is built from (src/models/fixtures/decoder-parts.ts: key
 * positions <= query positions, And the attention mask). A sliding window or any other offset
 * needs more (a second comparison, an Add), and such a mask is left unfused.
 */
const MASK_OPS = new Set(['And', 'LessOrEqual', 'Unsqueeze', 'Cast', 'Range', 'Sub', 'Shape', 'Gather', 'Constant', 'Reshape', 'Expand']);

/** Whether `value` is exactly causal And padding: built from the graph input `input` by MASK_OPS with one LessOrEqual. */
function isCausalPaddingMask(made: Map<string, Node>, value: string, input: string): boolean {
  let readsInput = false;
  let comparisons = 0;
  let plain = true;
  const seen = new Set<string>();
  const walk = (v: string): void => {
    if (seen.has(v)) return;
    seen.add(v);
    if (v === input) readsInput = true;
    const n = made.get(v);
    if (!n) return;
    if (!MASK_OPS.has(n.opType) || (n.domain ?? '') !== '') plain = false;
    if (n.opType === 'LessOrEqual') comparisons++;
    n.inputs.forEach(walk);
  };
  walk(value);
  return readsInput && plain && comparisons === 1;
}

/** [B, H, T, D] -> the [B, T, C] value it was split from (Transpose(Reshape(x)) with perm 0,2,1,3), and H. */
function headSplit(g: Graph, made: Map<string, Node>, value: string): { x: string; heads: number } | undefined {
  const t = made.get(value);
  if (t?.opType !== 'Transpose' || perm(t) !== '0,2,1,3') return undefined;
  const r = made.get(t.inputs[0]!);
  if (r?.opType !== 'Reshape') return undefined;
  const shape = constantValue(g, made, r.inputs[1]!);
  if (!shape || shape.length !== 4 || !(shape[2]! > 0)) return undefined;
  return { x: r.inputs[0]!, heads: shape[2]! };
}

/** k or v [B, H, S, D]: a head split, optionally after a past along axis 2. */
function cacheSide(g: Graph, made: Map<string, Node>, value: string) {
  const c = made.get(value);
  if (c?.opType === 'Concat' && c.inputs.length === 2 && (attrInt(c, 'axis') === 2 || attrInt(c, 'axis') === -2)) {
    const split = headSplit(g, made, c.inputs[1]!);
    return split && { ...split, past: c.inputs[0]!, present: c.outputs[0]! };
  }
  const split = headSplit(g, made, value);
  return split && { ...split, past: undefined, present: undefined };
}

function matchBlock(g: Graph, made: Map<string, Node>, readers: Map<string, Node[]>, softmax: Node, maskInput: string): AttentionBlock | undefined {
  const axis = attrInt(softmax, 'axis', -1);
  if (axis !== -1 && axis !== 3) return undefined;
  const where = made.get(softmax.inputs[0]!);
  if (where?.opType !== 'Where' || !isCausalPaddingMask(made, where.inputs[0]!, maskInput)) return undefined;
  const maskValue = constantValue(g, made, where.inputs[2]!);
  const mul = made.get(where.inputs[1]!);
  if (mul?.opType !== 'Mul' || !maskValue || maskValue.length !== 1) return undefined;
  const scaleAt = mul.inputs.findIndex((i) => constantValue(g, made, i)?.length === 1);
  if (scaleAt < 0) return undefined;
  const scale = constantValue(g, made, mul.inputs[scaleAt]!)![0]!;
  const qk = made.get(mul.inputs[1 - scaleAt]!);
  if (qk?.opType !== 'MatMul') return undefined;
  const kT = made.get(qk.inputs[1]!);
  if (kT?.opType !== 'Transpose' || perm(kT) !== '0,1,3,2') return undefined;
  const q = headSplit(g, made, qk.inputs[0]!);
  const k = cacheSide(g, made, kT.inputs[0]!);
  const pv = readers.get(softmax.outputs[0]!);
  if (!q || !k || pv?.length !== 1 || pv[0]!.opType !== 'MatMul' || pv[0]!.inputs[0] !== softmax.outputs[0]) return undefined;
  const v = cacheSide(g, made, pv[0]!.inputs[1]!);
  const merge = readers.get(pv[0]!.outputs[0]!);
  if (!v || merge?.length !== 1 || merge[0]!.opType !== 'Transpose' || perm(merge[0]) !== '0,2,1,3') return undefined;
  const out = readers.get(merge[0]!.outputs[0]!);
  if (out?.length !== 1 || out[0]!.opType !== 'Reshape') return undefined;
  if (q.heads !== k.heads || k.heads !== v.heads || (k.past === undefined) !== (v.past === undefined)) return undefined;
  return {
    q: q.x, k: k.x, v: v.x, pastKey: k.past, pastValue: v.past, presentKey: k.present, presentValue: v.present,
    heads: q.heads, scale, maskValue: maskValue[0]!, output: out[0]!.outputs[0]!,
  };
}

/** The model with every matched attention block fused, or undefined when none matches. */
export function fuseAttention(source: Model, maskInput = 'attention_mask'): Model | undefined {
  if (!source.graph.inputs.some((v) => v.name === maskInput)) return undefined;
  const model = cloneModel(source);
  const g = model.graph;
  const made = producers(g);
  const readers = consumers(g);
  const blocks = g.nodes.filter((n) => n.opType === 'Softmax').map((s) => matchBlock(g, made, readers, s, maskInput)).filter((b): b is AttentionBlock => b !== undefined);
  if (blocks.length === 0) return undefined;
  const b = new GraphBuilder({ graph: g });
  const mask = b.cast(maskInput, 'int32');
  for (const blk of blocks) {
    const inputs = [blk.q, blk.k, blk.v, '', mask, '', blk.pastKey ?? '', blk.pastValue ?? ''];
    while (inputs.at(-1) === '') inputs.pop();
    // With a past the kernel needs its present outputs (it attends over them); they take the names
    // of the Concats they replace, so whatever read those (present.* outputs) still finds them.
    const names = blk.pastKey ? [blk.output, blk.presentKey!, blk.presentValue!] : [blk.output];
    g.nodes.push({
      opType: 'MultiHeadAttention', domain: MS_DOMAIN, name: b.fresh('MultiHeadAttention_node'), inputs, outputs: names,
      attrs: {
        num_heads: { type: 'int', value: blk.heads },
        unidirectional: { type: 'int', value: 1 },
        scale: { type: 'float', value: blk.scale },
        // The graph's own fill for masked scores (float32's lowest, as transformers masks).
        mask_filter_value: { type: 'float', value: Math.max(blk.maskValue, -3.4028234663852886e38) },
      },
    });
  }
  // Nodes of a block whose outputs are still read elsewhere (a new key kept as a decoding output)
  // stay, unless a fused op now produces their output (the final Reshape, the Concats); the rest go.
  // The nodes that produced the names the fused ops now produce go (the final Reshape, the
  // Concats); the rest of each block is then unread and removed, except what is still read
  // elsewhere (a new key or value kept as a decoding output).
  const renamed = new Set(blocks.flatMap((blk) => [blk.output, blk.presentKey, blk.presentValue]).filter(Boolean));
  g.nodes = g.nodes.filter((n) => n.opType === 'MultiHeadAttention' || !n.outputs.some((o) => renamed.has(o)));
  removeUnread(g);
  g.nodes = topological(g.nodes, new Set([...g.inputs.map((v) => v.name), ...g.initializers.keys()]));
  uniquifyNodeNames(g);
  model.opsetImports = [...model.opsetImports.filter((o) => o.domain !== MS_DOMAIN), { domain: MS_DOMAIN, version: 1 }];
  return model;
}
