// Ops that onnxruntime-web 1.30's WebGPU provider has no kernel for, rewritten into ops it has, in
// the graphs alignkit builds (training graphs, log-prob heads), so they run wholly on the GPU.
// Without this, onnxruntime places such a node on the CPU and copies its input down and its
// output back up on every run: for LogSoftmax, the token log-prob head's [B, T, V] tensor. (Found
// in onnxruntime's node-placement log, `logSeverityLevel: 0`: LogSoftmax and Sum were the float ops
// of the DPO training graph placed on the CPU; the rest were int64 shape arithmetic.) Each rewrite
// is one table entry.

import { GraphBuilder, type Value } from '../builder.js';
import { attrInt, onnxOpset, type Model, type Node } from '../ir.js';
import { cloneModel } from '../rewrites/index.js';

type Decomposition = (b: GraphBuilder, node: Node, opset: number) => Value | undefined;

const DECOMPOSITIONS: Record<string, Decomposition> = {
  // log_softmax(x) = (x - max) - log(sum(exp(x - max))) along the axis: the usual stable form.
  // Opset 13 made the axis a single dimension; older opsets flatten to 2-D, left as they are.
  LogSoftmax: (b, node, opset) => {
    if (opset < 13) return undefined;
    const axis = attrInt(node, 'axis', -1) ?? -1;
    const x = node.inputs[0]!;
    const shifted = b.sub(x, b.reduceMax(x, [axis], true));
    return b.op('Sub', [shifted, b.log(b.reduceSum(b.exp(shifted), [axis], true))], {}, { names: [node.outputs[0]!] })[0]!;
  },
  // Sum(a, b, c, ...) = ((a + b) + c) + ...: the same additions in the same order (Sum broadcasts
  // as Add does). The autodiff sums fan-out gradients with Sum, so these are activation-sized.
  Sum: (b, node) => {
    const [first, ...rest] = node.inputs;
    if (rest.length === 0) return b.op('Identity', [first!], {}, { names: [node.outputs[0]!] })[0]!;
    const partial = rest.slice(0, -1).reduce((acc, x) => b.add(acc, x), first!);
    return b.op('Add', [partial, rest.at(-1)!], {}, { names: [node.outputs[0]!] })[0]!;
  },
};

/** `model` with every decomposable node replaced in place (the input model is not changed). */
export function decomposeForWebGpu(model: Model): Model {
  if (!model.graph.nodes.some((n) => (n.domain ?? '') === '' && DECOMPOSITIONS[n.opType])) return model;
  const copy = cloneModel(model);
  const opset = onnxOpset(copy);
  const original = copy.graph.nodes;
  // Take the nodes out first so their output names are free for the replacements to produce.
  const targets = new Set(original.filter((n) => (n.domain ?? '') === '' && DECOMPOSITIONS[n.opType]));
  copy.graph.nodes = original.filter((n) => !targets.has(n));
  const b = new GraphBuilder({ graph: copy.graph, opset });
  const nodes: Node[] = [];
  for (const n of original) {
    if (!targets.has(n)) {
      nodes.push(n);
      continue;
    }
    const start = copy.graph.nodes.length;
    const out = DECOMPOSITIONS[n.opType]!(b, n, opset);
    const added = copy.graph.nodes.splice(start);
    // Kept in place of the original, so the node list stays topologically sorted.
    nodes.push(...(out === undefined ? [n] : added));
  }
  copy.graph.nodes = nodes;
  return copy;
}
