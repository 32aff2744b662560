// A sequence classifier that pools one position per row (GPT-2/Llama ForSequenceClassification:
// `logits = Gather(Reshape(scores [B, T, L], [-1, L]), b * T + last_b)`) computes its head, its
// final norm, and the last block's MLP, output projection and attention for every position, then
// keeps one. This rewrite moves the pooling up through the position-wise tail, so that part runs on
// [B, 1, C] instead of [B, T, C]: each value the pooled output depends on only position by position is
// recomputed from the pooled rows of its inputs (MatMul by a weight, elementwise ops with constant
// operands, LayerNormalization over the last axis, Split along it), and a fused attention
// (fused-attention.ts) whose query is in the tail attends from the pooled query alone, with the
// padding mask narrowed to keys at or before the pooled position (what the causal mask gave that
// row). A value also needed at every position (the last block's input, its keys and values) is
// gathered where the tail meets it: GatherND(x, last, batch_dims = 1). The scores are the same up
// to float rounding; at alignkit-rm's 4 layers about a fifth of a scoring forward's work goes.
// Returns undefined when the graph does not end in that pooling.

import { GraphBuilder } from '../builder.js';
import { consumers, producers, removeUnread, topological, type Graph, type Model, type Node } from '../ir.js';
import { cloneModel } from './lora.js';
import { uniquifyNodeNames } from './names.js';

const UNARY = new Set(['Tanh', 'Erf', 'Sigmoid', 'Relu', 'Neg', 'Sqrt', 'Exp', 'Identity', 'Gelu', 'FastGelu', 'Softplus']);
const BINARY = new Set(['Add', 'Sub', 'Mul', 'Div', 'Pow']);

/** The pooling Gather at the end of a classifier graph: data Reshape([B, T, L] -> [-1, L]), flat row index b * T + position. */
function poolingOf(g: Graph, made: Map<string, Node>, output: string) {
  let n = made.get(output);
  while (n?.opType === 'Identity') n = made.get(n.inputs[0]!);
  if (n?.opType !== 'Gather' || (n.attrs.axis?.type === 'int' && n.attrs.axis.value !== 0)) return undefined;
  const reshape = made.get(n.inputs[0]!);
  if (reshape?.opType !== 'Reshape') return undefined;
  return { gather: n, scores: reshape.inputs[0]!, index: n.inputs[1]! };
}

export function poolBeforeTail(source: Model, output = 'logits'): Model | undefined {
  const model = cloneModel(source);
  const g = model.graph;
  const made = producers(g);
  const readers = consumers(g);
  const pool = poolingOf(g, made, output);
  // [B, L] scores from a flat [B] index (b * T + position), as GPT-2/Llama classifiers pool.
  const declared = g.outputs.find((o) => o.name === output)?.dims;
  if (!pool || !g.inputs.some((v) => v.name === 'input_ids') || (declared && declared.length !== 2)) return undefined;
  const graphOutputs = new Set(g.outputs.map((o) => o.name));

  // Values built from initializers alone (weights, a transposed head): position-independent.
  const staticMemo = new Map<string, boolean>();
  const isStatic = (v: string): boolean => {
    if (g.initializers.has(v)) return true;
    const hit = staticMemo.get(v);
    if (hit !== undefined) return hit;
    const n = made.get(v);
    const s = !!n && n.inputs.length > 0 && n.inputs.every((i) => i === '' || isStatic(i));
    staticMemo.set(v, s);
    return s;
  };
  const isSmallConstant = (v: string) => (g.initializers.get(v)?.dims.length ?? 99) <= 1;

  const axisIsLast = (n: Node) => (n.attrs.axis?.type === 'int' ? [-1, 2].includes(n.attrs.axis.value) : n.opType === 'LayerNormalization');
  const isMha = (n: Node) => n.opType === 'MultiHeadAttention' && n.domain === 'com.microsoft' && n.inputs.length === 5 && !!n.inputs[4];
  /** Activation inputs a node computes position by position (undefined: the node mixes positions). */
  const positionWise = (n: Node): string[] | undefined => {
    const op = n.opType;
    const plain = (n.domain ?? '') === '';
    if (plain && UNARY.has(op)) return [n.inputs[0]!];
    if (plain && BINARY.has(op)) return n.inputs.every((i) => isSmallConstant(i) || !isStatic(i)) ? n.inputs.filter((i) => !isSmallConstant(i)) : undefined;
    if (plain && op === 'MatMul') return isStatic(n.inputs[1]!) ? [n.inputs[0]!] : undefined;
    if (plain && (op === 'LayerNormalization' || op === 'Split') && axisIsLast(n) && (op === 'Split' || n.inputs.slice(1).every((i) => i === '' || isStatic(i)))) return [n.inputs[0]!];
    if (isMha(n)) return [n.inputs[0]!]; // the query; keys, values and mask are read at every position
    return undefined;
  };

  // Which values the pooled scores need only at the pooled positions (the tail), walking back from
  // them: a value is needed everywhere once any reader needs it everywhere or mixes positions.
  const everywhere = new Set<string>(g.outputs.map((o) => o.name).filter((o) => o !== output));
  const tail = new Set<string>([pool.scores]);
  const skip = new Set<Node>([pool.gather, made.get(pool.gather.inputs[0]!)!]);
  everywhere.add(pool.index);
  for (const n of [...g.nodes].reverse()) {
    if (skip.has(n)) continue;
    const outs = n.outputs.filter(Boolean);
    const wise = positionWise(n);
    const pooledOnly = wise && outs.every((o) => !everywhere.has(o));
    for (const i of n.inputs) {
      if (!i || isStatic(i)) continue;
      if (pooledOnly && wise.includes(i) && !everywhere.has(i)) tail.add(i);
      else {
        everywhere.add(i);
        tail.delete(i);
      }
    }
  }

  const b = new GraphBuilder({ graph: g });
  // T from input_ids [B, T] (the scores' own shape would keep the whole unpooled tail alive).
  const T = b.gather(b.shape('input_ids'), b.int64s([1]), 0); // [1]
  const last = b.op1('Mod', [pool.index, T]); // [B]: the pooled position of each row
  const lastIdx = b.unsqueeze(last, [1]); // [B, 1]
  const pooled = new Map<string, string>();
  /** Padding mask input -> that mask narrowed to keys at or before each row's pooled position. */
  const narrowed = new Map<string, string>();

  /** `v` [B, T, ...] at each row's pooled position, as [B, 1, ...]. */
  const at = (v: string): string => {
    const hit = pooled.get(v);
    if (hit) return hit;
    const n = made.get(v);
    let out: string | undefined;
    if (n && tail.has(v)) out = pushThrough(n, v);
    out ??= b.unsqueeze(b.op1('GatherND', [v, lastIdx], { batch_dims: 1 }), [1]);
    pooled.set(v, out);
    return out;
  };
  /** A copy of `n` on `inputs`, its outputs recorded as the pooled versions of n's. */
  const copyOf = (n: Node, inputs: string[]): void => {
    const outputs = n.outputs.map((o) => (o ? b.fresh(`${o}_pooled`) : ''));
    g.nodes.push({ ...n, name: b.fresh(`${n.name}_pooled`), inputs, outputs, attrs: { ...n.attrs } });
    n.outputs.forEach((o, i) => o && pooled.set(o, outputs[i]!));
  };

  /** The node recomputed on pooled inputs, or undefined when it is not position-wise (the caller gathers instead). */
  function pushThrough(n: Node, v: string): string | undefined {
    const wise = positionWise(n);
    if (!wise) return undefined;
    if (isMha(n)) {
      // The pooled query alone: no causal mask applies to one query, so the padding mask is narrowed
      // to keys at or before the pooled position instead.
      const mask = n.inputs[4]!;
      if (!narrowed.has(mask)) {
        const positions = b.unsqueeze(b.range(b.scalar(0, 'int64'), b.squeeze(T, [0]), b.scalar(1, 'int64')), [0]); // [1, T]
        narrowed.set(mask, b.cast(b.op1('And', [b.cast(mask, 'bool'), b.op1('LessOrEqual', [positions, lastIdx])]), 'int32'));
      }
      copyOf(n, [at(n.inputs[0]!), n.inputs[1]!, n.inputs[2]!, n.inputs[3]!, narrowed.get(mask)!]);
    } else copyOf(n, n.inputs.map((i) => (wise.includes(i) ? at(i) : i)));
    return pooled.get(v);
  }

  const scores = at(pool.scores); // [B, 1, L]
  const node = pool.gather;
  g.nodes = g.nodes.filter((x) => x !== node);
  g.nodes.push({ opType: 'Squeeze', domain: '', name: b.fresh('Squeeze_pooled'), inputs: [scores, b.int64s([1])], outputs: [node.outputs[0]!], attrs: {} });
  removeUnread(g);
  g.nodes = topological(g.nodes, new Set([...g.inputs.map((v) => v.name), ...g.initializers.keys()]));
  uniquifyNodeNames(g);
  return model;
}
