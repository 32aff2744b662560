// alignkit's in-memory ONNX IR: plain records that are easy to build, walk and rewrite (the
// autodiff and the LoRA/log-prob rewrites work on these), converted to and from ModelProto in
// onnx-io.ts. Tensor payloads are typed arrays, never protobuf bytes.

import type { DType, TypedArray } from './dtypes.js';

/** A dimension is a fixed size or a symbolic name (`batch`, `sequence_length`). */
export type Dim = number | string;

export interface ValueInfo {
  name: string;
  dtype: DType;
  /** undefined when the rank is unknown. */
  dims?: Dim[];
}

export interface Tensor {
  dtype: DType;
  dims: number[];
  /** Numeric payload; string tensors keep `strings` instead. */
  data: TypedArray;
  strings?: string[];
}

export interface NamedTensor extends Tensor {
  name: string;
}

export type Attribute =
  | { type: 'float'; value: number }
  | { type: 'int'; value: number }
  | { type: 'string'; value: string }
  | { type: 'tensor'; value: Tensor }
  | { type: 'graph'; value: Graph }
  | { type: 'floats'; value: number[] }
  | { type: 'ints'; value: number[] }
  | { type: 'strings'; value: string[] };

export interface Node {
  opType: string;
  /** '' marks an omitted optional input. */
  inputs: string[];
  outputs: string[];
  name: string;
  /** '' (or undefined) is the default ai.onnx domain. */
  domain?: string;
  attrs: Record<string, Attribute>;
}

export interface Graph {
  name: string;
  nodes: Node[];
  inputs: ValueInfo[];
  outputs: ValueInfo[];
  initializers: Map<string, Tensor>;
  /** Intermediate value types when the file records them. */
  valueInfo: ValueInfo[];
}

export interface OpsetImport {
  domain: string;
  version: number;
}

export interface Model {
  irVersion: number;
  opsetImports: OpsetImport[];
  producerName: string;
  producerVersion: string;
  graph: Graph;
  metadata: Record<string, string>;
}

export function emptyGraph(name = 'main'): Graph {
  return { name, nodes: [], inputs: [], outputs: [], initializers: new Map(), valueInfo: [] };
}

/** An op's name in the registries keyed by op: `Tanh` for the default domain, `com.microsoft.FastGelu` otherwise. */
export function qualifiedOpType(n: Pick<Node, 'opType' | 'domain'>): string {
  return n.domain && n.domain !== 'ai.onnx' ? `${n.domain}.${n.opType}` : n.opType;
}

/** The default-domain opset version a model imports (what decides op semantics). */
export function onnxOpset(model: Model): number {
  const imp = model.opsetImports.find((o) => o.domain === '' || o.domain === 'ai.onnx');
  return imp?.version ?? 0;
}

/** Map from value name to the node that produces it. */
export function producers(graph: Graph): Map<string, Node> {
  const m = new Map<string, Node>();
  for (const n of graph.nodes) for (const o of n.outputs) if (o) m.set(o, n);
  return m;
}

/** Map from value name to the nodes that read it. */
export function consumers(graph: Graph): Map<string, Node[]> {
  const m = new Map<string, Node[]>();
  for (const n of graph.nodes)
    for (const i of n.inputs) {
      if (!i) continue;
      const list = m.get(i);
      if (list) list.push(n);
      else m.set(i, [n]);
    }
  return m;
}

export function attrInt(node: Node, name: string, fallback?: number): number | undefined {
  const a = node.attrs[name];
  if (a === undefined) return fallback;
  if (a.type !== 'int') throw new Error(`attribute ${name} of node ${node.name} is ${a.type}, want int`);
  return a.value;
}

export function attrFloat(node: Node, name: string, fallback?: number): number | undefined {
  const a = node.attrs[name];
  if (a === undefined) return fallback;
  if (a.type !== 'float') throw new Error(`attribute ${name} of node ${node.name} is ${a.type}, want float`);
  return a.value;
}

export function attrInts(node: Node, name: string): number[] | undefined {
  const a = node.attrs[name];
  if (a === undefined) return undefined;
  if (a.type !== 'ints') throw new Error(`attribute ${name} of node ${node.name} is ${a.type}, want ints`);
  return a.value;
}

export function attrString(node: Node, name: string, fallback?: string): string | undefined {
  const a = node.attrs[name];
  if (a === undefined) return fallback;
  if (a.type !== 'string') throw new Error(`attribute ${name} of node ${node.name} is ${a.type}, want string`);
  return a.value;
}

/** Nodes in an order where every input is produced before it is read (stable for already-sorted lists). */
export function topological(nodes: Node[], available: Set<string>): Node[] {
  const have = new Set([...available, '']);
  const out: Node[] = [];
  let pending = nodes;
  while (pending.length > 0) {
    const next: Node[] = [];
    for (const n of pending) {
      if (n.inputs.every((i) => have.has(i))) {
        out.push(n);
        n.outputs.forEach((o) => have.add(o));
      } else next.push(n);
    }
    if (next.length === pending.length) return [...out, ...next]; // inputs from subgraphs or constants: keep the rest as is
    pending = next;
  }
  return out;
}

/** Drop nodes none of whose outputs is read or is a graph output (repeatedly), then initializers nothing reads. */
export function removeUnread(g: Graph): void {
  const outputs = new Set(g.outputs.map((o) => o.name));
  for (;;) {
    const read = new Set<string>(outputs);
    for (const n of g.nodes) for (const i of n.inputs) read.add(i);
    const kept = g.nodes.filter((n) => n.outputs.some((o) => o && read.has(o)));
    if (kept.length === g.nodes.length) {
      for (const name of [...g.initializers.keys()]) if (!read.has(name)) g.initializers.delete(name);
      return;
    }
    g.nodes = kept;
  }
}
