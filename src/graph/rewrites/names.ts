// Name patterns for choosing initializers, and the "scopes" an initializer is known by. Exporters
// disagree on names: optimum keeps module paths (`transformer.h.3.attn.c_attn.weight`), while
// torch.onnx.export with constant folding renames a folded Linear weight to `onnx::MatMul_123` and
// only the consuming node keeps the module path (`/model/layers.3/self_attn/q_proj/MatMul`). A
// pattern therefore matches either the initializer's own name or the name of a node that reads it.

import { consumers, type Graph, type Model } from '../ir.js';

/**
 * A regular expression, a glob (`*` = any run without a dot, `**` = anything), or a plain string
 * without wildcards, which matches as whole path components the way PEFT's `target_modules`
 * matches module names: `q_proj` matches `model.layers.3.self_attn.q_proj.weight` and
 * `/layers.3/q_proj/MatMul`, `wte.weight` matches `transformer.wte.weight`.
 */
export type NamePattern = string | RegExp;

const escape = (s: string) => s.replace(/[\\^$+.()|{}[\]*?]/g, '\\$&');

function globToRegExp(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*' && glob[i + 1] === '*') {
      re += '.*';
      i++;
    } else if (c === '*') re += '[^.]*';
    else if (c === '?') re += '[^.]';
    else re += c.replace(/[\\^$+.()|{}[\]]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

export function toRegExp(p: NamePattern): RegExp {
  if (typeof p !== 'string') return p;
  if (/[*?]/.test(p)) return globToRegExp(p);
  return new RegExp(`(^|[./])${escape(p)}([./]|$)`);
}

export function matchesAny(names: readonly string[], patterns: readonly NamePattern[]): boolean {
  const res = patterns.map(toRegExp);
  return names.some((n) => res.some((r) => r.test(n)));
}

/** Initializer name -> [its own name, then the names of the nodes that read it]. */
export function initializerScopes(model: Model): Map<string, string[]> {
  const readers = consumers(model.graph);
  const out = new Map<string, string[]>();
  for (const name of model.graph.initializers.keys()) out.set(name, [name, ...(readers.get(name) ?? []).map((n) => n.name).filter(Boolean)]);
  return out;
}

// Block indices in the usual Hugging Face / optimum / torch.onnx.export spellings:
// `transformer.h.3.`, `model.layers.3.`, `encoder.layer.3.`, `blocks.3.`, `/model/layers.3/`.
const BLOCK_INDEX = /(?:^|[./])(?:h|layers|layer|blocks|block)[._](\d+)(?:[./]|$)/;

export function blockIndexOf(scopes: readonly string[]): number | undefined {
  for (const s of scopes) {
    const m = BLOCK_INDEX.exec(s);
    if (m) return Number(m[1]);
  }
  return undefined;
}

/**
 * Give every node a unique name (onnxruntime rejects duplicates). A GraphBuilder opened on an
 * existing graph knows its value names but not its node names, so two rewrites in a row can both
 * emit `ConstantOfShape_node_27`; each rewrite calls this on its result.
 */
export function uniquifyNodeNames(graph: Graph): void {
  const seen = new Set<string>();
  for (const n of graph.nodes) {
    if (!n.name) continue;
    let name = n.name;
    for (let k = 1; seen.has(name); k++) name = `${n.name}_${k}`;
    n.name = name;
    seen.add(name);
  }
}
