// A frozen copy of one model inside another model's graph: the reference model of TDPO and
// SparsePO runs in the same forward as the policy (DESIGN.md, issue #6: "Losses that need
// per-token reference distributions run the frozen reference inside the same forward graph").
// Every node, value and initializer of the copy is renamed under a prefix; only the graph inputs
// (input_ids, attention_mask, position_ids) keep their names, so one feed drives both branches.
// The copy's weights stay initializers: buildTrainingGraph promotes only the names it is given,
// and the autodiff differentiates only values on a path from a trainable to the loss, so no
// gradient reaches the copy and it keeps the values it was built with, whatever trains the policy
// (LoRA adapters injected into the policy are not in the copy when it is built from the model
// before injection).

import { fail } from '../../errors.js';
import { onnxOpset, type Attribute, type Graph, type Model, type Node } from '../ir.js';
import { cloneModel } from './lora.js';

export interface FrozenBranchOptions {
  /** Prefix of every copied name (default `reference/`). */
  prefix?: string;
}

export interface FrozenBranchResult {
  model: Model;
  prefix: string;
  /** The reference's graph outputs -> their value names in the combined graph (`logits` -> `reference/logits`). */
  outputs: Record<string, string>;
  /** The copy's initializer names: constants of the combined graph, never trainable. */
  initializers: string[];
  /** A value name of the reference -> its name in the combined graph. */
  rename(name: string): string;
}

type Rename = (name: string) => string;

/** A node with every value name renamed, graph attributes (If/Loop bodies) included. */
function renameNode(n: Node, rename: Rename): Node {
  const attrs: Record<string, Attribute> = {};
  for (const [k, a] of Object.entries(n.attrs)) attrs[k] = a.type === 'graph' ? { type: 'graph', value: renameGraph(a.value, rename) } : a;
  return { ...n, name: n.name && rename(n.name), inputs: n.inputs.map((v) => (v === '' ? v : rename(v))), outputs: n.outputs.map((v) => (v === '' ? v : rename(v))), attrs };
}

function renameGraph(g: Graph, rename: Rename): Graph {
  return {
    ...g,
    nodes: g.nodes.map((n) => renameNode(n, rename)),
    inputs: g.inputs.map((v) => ({ ...v, name: rename(v.name) })),
    outputs: g.outputs.map((v) => ({ ...v, name: rename(v.name) })),
    initializers: new Map([...g.initializers].map(([k, t]) => [rename(k), t])),
    valueInfo: g.valueInfo.map((v) => ({ ...v, name: rename(v.name) })),
  };
}

/** Every name a graph already uses (values, initializers, node names), nested graphs included. */
function usedNames(g: Graph, into = new Set<string>()): Set<string> {
  for (const v of g.inputs) into.add(v.name);
  for (const k of g.initializers.keys()) into.add(k);
  for (const n of g.nodes) {
    if (n.name) into.add(n.name);
    for (const o of n.outputs) if (o) into.add(o);
    for (const a of Object.values(n.attrs)) if (a.type === 'graph') usedNames(a.value, into);
  }
  return into;
}

function mergeOpsets(target: Model, reference: Model): void {
  if (onnxOpset(target) !== onnxOpset(reference))
    throw fail('ALIGNKIT_ERR_ONNX_MODEL', `frozen branch: the reference imports opset ${onnxOpset(reference)}, the target ${onnxOpset(target)}; ops would change meaning`, { field: 'opset' });
  for (const imp of reference.opsetImports) {
    const have = target.opsetImports.find((o) => o.domain === imp.domain);
    if (!have) target.opsetImports.push({ ...imp });
    else if (have.version !== imp.version)
      throw fail('ALIGNKIT_ERR_ONNX_MODEL', `frozen branch: domain ${imp.domain || 'ai.onnx'} is version ${have.version} in the target and ${imp.version} in the reference`, { field: imp.domain });
  }
}

/**
 * `target` with a frozen copy of `reference` appended: the copy reads the target's graph inputs
 * of the same names (an input only the reference has is added), and its outputs are plain values
 * of the combined graph, not graph outputs. The copy's initializers share the reference's tensors.
 */
export function addFrozenBranch(target: Model, reference: Model, opts: FrozenBranchOptions = {}): FrozenBranchResult {
  const prefix = opts.prefix ?? 'reference/';
  mergeOpsets(target, reference);
  const model = cloneModel(target);
  const g = model.graph;
  const shared = new Set(reference.graph.inputs.map((v) => v.name));
  const rename: Rename = (name) => (shared.has(name) ? name : `${prefix}${name}`);
  for (const v of reference.graph.inputs) {
    const mine = g.inputs.find((t) => t.name === v.name);
    if (!mine) g.inputs.push({ ...v });
    else if (mine.dtype !== v.dtype)
      throw fail('ALIGNKIT_ERR_ONNX_MODEL', `frozen branch: input ${v.name} is ${mine.dtype} in the target and ${v.dtype} in the reference`, { field: v.name });
  }
  const copy = renameGraph({ ...reference.graph, inputs: [] }, rename);
  const taken = usedNames(target.graph);
  for (const name of usedNames(copy))
    if (taken.has(name)) throw fail('ALIGNKIT_ERR_GRAPH_BUILD', `frozen branch: name ${name} is already used in graph ${g.name}; choose another prefix than ${prefix}`, { field: 'prefix', value: name });
  g.nodes.push(...copy.nodes);
  for (const [k, t] of copy.initializers) g.initializers.set(k, t);
  g.valueInfo.push(...copy.valueInfo);
  return {
    model,
    prefix,
    outputs: Object.fromEntries(reference.graph.outputs.map((o) => [o.name, rename(o.name)])),
    initializers: [...copy.initializers.keys()],
    rename,
  };
}
