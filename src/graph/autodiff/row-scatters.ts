// Embedding gradients assembled outside the run.
//
// The gather rule (rules/gather.ts) ends an embedding's gradient with a ScatterElements that adds
// the rows of dy into a [rows, cols] base: zeros, or a tied LM head's dense gradient. Inside a
// training run that costs a full copy of the base into the bound gradient output before the few
// rows are added (onnxruntime cannot scatter in place into a caller's buffer): 20 ms of a GPT-2-small
// step for a 154 MB head gradient, to add 256 rows. Out here the run writes the dense part straight
// into the gradient (or nothing, for zeros) and returns the rows and their updates, which the
// trainer adds in the same order as the scatter (src/train/row-scatters.ts).
//
// A tied head's dense part, Gemm(dy, h, transA = 1) -> [V, d], is also asked for the other way
// round, Gemm(h, dy, transA = 1) -> [d, V], when the trainer can turn it around (a wasm transpose
// over the arena's threads): onnxruntime's MLAS ran the [d, V] product at 166 against 121 GFLOP/s
// for GPT-2-small's 256 x 50257 x 768 (119 against 164 ms), and the transpose back takes ~15 ms.
// A graph that already computes it as Transpose([d, V]) (the fixtures' MatMul against a transposed
// embedding) gives up its Transpose instead.

import { GraphBuilder } from '../builder.js';
import { attrInt, attrInts, attrString, consumers, onnxOpset, producers, type Graph, type Model, type Node } from '../ir.js';
import { createShapeEnv, typeOf, type ShapeEnv } from './shapes.js';
import { copyModel } from './walker.js';

/** How a parameter's gradient is put together after a run. */
export interface RowScatter {
  /** The dense part the run writes: the gradient itself, or its transpose ([cols, rows]). Absent: zeros. */
  dense?: { output: string; transposed: boolean };
  /** int64 [N]: the row of the gradient each update row adds to (already wrapped, in scatter order). */
  rows: string;
  /** float [N, cols]: the rows to add. */
  updates: string;
  /** The gradient's dims [rows, cols]. */
  dims: [number, number];
}

export interface RowScatterGraph<T extends { model: Model; gradients: Map<string, string> }> {
  training: T;
  /** Parameter name -> how its gradient is assembled; parameters not listed are written whole by the run. */
  scatters: Map<string, RowScatter>;
}

export interface RowScatterOptions {
  /** Ask for a tied head's dense part as [cols, rows] (the caller transposes it). Default true. */
  transposed?: boolean;
}

function isZeroFill(n: Node | undefined): boolean {
  if (n?.opType !== 'ConstantOfShape') return false;
  const v = n.attrs.value;
  if (!v) return true; // ConstantOfShape's default value is a float zero
  return v.type === 'tensor' && Array.from(v.value.data as ArrayLike<number>).every((x) => x === 0);
}

/** The flat row indices behind the gather rule's index column: Expand(Reshape(rows [N], [-1, 1]), ...). */
function rowsOf(index: string, prod: Map<string, Node>, env: ShapeEnv): string | undefined {
  const expand = prod.get(index);
  if (expand?.opType !== 'Expand') return undefined;
  const column = prod.get(expand.inputs[0]!);
  if (column?.opType !== 'Reshape') return undefined;
  const rows = column.inputs[0]!;
  const t = typeOf(env, rows);
  const c = typeOf(env, column.outputs[0]!);
  return t?.dtype === 'int64' && t.dims?.length === 1 && c?.dims?.length === 2 && c.dims[1] === 1 ? rows : undefined;
}

/** A plain 2-D Gemm(a, b, transA = 1): a^T b, nothing else folded in. */
function isTransposedLeftProduct(n: Node | undefined): n is Node {
  return n?.opType === 'Gemm' && n.inputs.length === 2 && attrInt(n, 'transA', 0) === 1 && attrInt(n, 'transB', 0) === 0 && (n.attrs.alpha === undefined || n.attrs.alpha.value === 1);
}

/** Remove `node` and then every producer it leaves with no reader and no graph output. */
function removeWithDeadInputs(graph: Graph, node: Node): void {
  const dead = new Set<Node>([node]);
  const outputs = new Set(graph.outputs.map((o) => o.name));
  const prod = producers(graph);
  const readers = consumers(graph);
  const pending = [...node.inputs];
  while (pending.length > 0) {
    const v = pending.pop()!;
    const p = prod.get(v);
    if (!p || dead.has(p)) continue;
    const read = p.outputs.some((o) => outputs.has(o) || (readers.get(o) ?? []).some((r) => !dead.has(r)));
    if (read) continue;
    dead.add(p);
    pending.push(...p.inputs);
  }
  graph.nodes = graph.nodes.filter((n) => !dead.has(n));
  const read = new Set(graph.nodes.flatMap((n) => n.inputs));
  for (const name of [...graph.initializers.keys()]) if (!read.has(name) && !outputs.has(name) && !graph.inputs.some((i) => i.name === name)) graph.initializers.delete(name);
}

/**
 * A copy of `training` whose embedding gradients (a row scatter-add ending the gradient, as the
 * gather rule emits it, into a static [rows, cols] parameter) leave the graph as their dense part
 * and their rows, with how to put each together. Other gradients are unchanged.
 */
export function rowScattersOutside<T extends { model: Model; gradients: Map<string, string> }>(training: T, opts: RowScatterOptions = {}): RowScatterGraph<T> {
  const model = copyModel(training.model);
  const graph = model.graph;
  const env = createShapeEnv(model);
  const scatters = new Map<string, RowScatter>();
  // Outputs are added before the scatter is removed, so that what they name is not pruned with it.
  const addOutput = (name: string) => {
    if (graph.outputs.some((o) => o.name === name)) return;
    const t = typeOf(env, name);
    graph.outputs.push({ name, dtype: t?.dtype ?? 'float32', dims: t?.dims?.every((d) => typeof d === 'number') ? t.dims : undefined });
  };
  let prod = producers(graph);
  let builder: GraphBuilder | undefined;
  for (const [param, grad] of training.gradients) {
    const scatter = prod.get(grad);
    if (scatter?.opType !== 'ScatterElements' || attrString(scatter, 'reduction') !== 'add' || attrInt(scatter, 'axis', 0) !== 0) continue;
    // The parameter's own dims (a graph input): inference may lose one through the head's products.
    const dims = typeOf(env, param)?.dims;
    if (dims?.length !== 2 || !dims.every((d) => typeof d === 'number')) continue;
    const rows = rowsOf(scatter.inputs[1]!, prod, env);
    const updates = scatter.inputs[2]!;
    if (!rows || typeOf(env, updates)?.dims?.length !== 2) continue;
    const base = scatter.inputs[0]!;
    const baseNode = prod.get(base);
    if (!baseNode) continue; // an initializer or input as the base: left in the graph
    const turn = opts.transposed !== false && (consumers(graph).get(base) ?? []).length === 1 && !graph.outputs.some((o) => o.name === base);
    let dense: RowScatter['dense'];
    if (isZeroFill(baseNode)) dense = undefined;
    else if (turn && baseNode.opType === 'Transpose' && (attrInts(baseNode, 'perm') ?? [1, 0]).join() === '1,0') dense = { output: baseNode.inputs[0]!, transposed: true };
    else if (turn && isTransposedLeftProduct(baseNode)) {
      // (a^T b)^T = b^T a: the same product with its operands swapped, appended (only an output reads it).
      builder ??= new GraphBuilder({ graph, opset: onnxOpset(model) });
      const output = builder.op1('Gemm', [baseNode.inputs[1]!, baseNode.inputs[0]!], { transA: 1 });
      env.types.set(output, { dtype: typeOf(env, base)?.dtype ?? 'float32', dims: [dims[1]!, dims[0]!] });
      dense = { output, transposed: true };
    } else dense = { output: base, transposed: false };
    if (dense) addOutput(dense.output);
    addOutput(rows);
    addOutput(updates);
    graph.outputs = graph.outputs.filter((o) => o.name !== grad);
    removeWithDeadInputs(graph, scatter);
    prod = producers(graph);
    scatters.set(param, { dense, rows, updates, dims: [dims[0] as number, dims[1] as number] });
  }
  return { training: { ...training, model }, scatters };
}
