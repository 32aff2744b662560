// GenARM-guided decoding as one graph: the decoding graphs (decode-graph.ts) of a base model and of
// its ARMs side by side in one ONNX model, sharing input_ids, attention_mask and position_ids, each
// keeping its own KV-cache inputs and new-keys/values output (an ARM's names prefixed `arm{i}.`, so
// its cache keeps its own layers, heads and head size), and the guided next-token scores computed in
// the graph. Why one graph: onnxruntime-node runs session.run synchronously on the main thread, so
// separate sessions for the base and each ARM take turns; measured on alignkit-base (4 x 64 greedy),
// the base guided by itself through two sessions cost 2.8-3.5x plain decoding, where GenARM's promise
// is one extra forward per ARM.
//
// The scores are GenARM's, exactly as src/generate/guidance.ts combines them (official GenARM code):
//   scores = (log_softmax(base) + sum_i alpha_i * log_softmax(ARM_i)) / T
// over the shared vocabulary (the smallest of the models' vocabularies; each log-softmax normalised
// over that cut, as genarmScores does). alpha [A] and T [1] are inputs, so one session serves every
// request's weights. Outputs, besides each model's NEW_KV (the ARMs' prefixed):
//  - `scores` form, for processors and samplers: `guided_scores` [B, V], the scores above, and
//    `member_logprobs` [B, M, V], each model's own log-softmax (over its whole vocabulary, T = 1;
//    base first, then the ARMs), from which the loop reports the chosen token's log-probs;
//  - `argmax` form, for greedy decoding without processors: `guided_argmax` [B], the scores' first
//    maximum (taken over base + sum_i alpha_i * ARM_i logits, which differ from the scores by per-row
//    constants and the factor 1/T: guidedArgmax), and `member_argmax_logprobs` [B, M], each model's
//    log-prob of it.
// onnxruntime runs every node of a graph whatever a run fetches, so each form is its own graph with
// only what it outputs (the [B, M, V] log-probs and each model's own argmax are not computed for greedy
// decoding).
// Returns undefined when the graphs cannot share one model (different default opsets, or a vocabulary
// the graph does not state).

import { GraphBuilder } from '../builder.js';
import { onnxOpset, removeUnread, topological, type Attribute, type Graph, type Model, type OpsetImport } from '../ir.js';
import { LAST_LOGITS, LAST_LOGSUMEXP, NEW_KV, type DecodingGraph } from './decode-graph.js';
import { uniquifyNodeNames } from './names.js';

export const GUIDE_ALPHA = 'guide_alpha';
export const GUIDE_TEMPERATURE = 'guide_temperature';
export const GUIDED_SCORES = 'guided_scores';
export const GUIDED_ARGMAX = 'guided_argmax';
export const MEMBER_LOGPROBS = 'member_logprobs';
export const MEMBER_ARGMAX_LOGPROBS = 'member_argmax_logprobs';

/** The inputs every member reads as they are: the tokens and their mask and positions. */
const SHARED = new Set(['input_ids', 'attention_mask', 'position_ids', 'use_cache_branch']);

export interface MergedMember {
  /** The output holding this model's new keys and values (NEW_KV, prefixed for an ARM). */
  newKvOutput: string;
  /** This model's past input (prefixed for an ARM) -> its block in newKvOutput. */
  newKv: Map<string, number>;
}

export interface MergedDecodingGraph {
  model: Model;
  /** Base first, then the ARMs in order. */
  members: MergedMember[];
  /** The shared vocabulary: the length of a row of guided_scores. */
  vocab: number;
}

export const armPrefix = (i: number) => `arm${i}.`;

/** What a run of the merged graph returns besides the caches: the full scores, or the greedy token (see the file comment). */
export type MergedOutputs = 'scores' | 'argmax';

export function mergedDecodingGraph(base: DecodingGraph, arms: readonly DecodingGraph[], form: MergedOutputs = 'scores'): MergedDecodingGraph | undefined {
  const sources = [base, ...arms];
  const opset = onnxOpset(base.model);
  if (sources.some((s) => onnxOpset(s.model) !== opset)) return undefined;
  const vocabs = sources.map((s) => s.model.graph.outputs.find((o) => o.name === LAST_LOGITS)?.dims?.[1]);
  if (!vocabs.every((v): v is number => typeof v === 'number')) return undefined;
  const prefixes = sources.map((_, m) => (m === 0 ? '' : armPrefix(m - 1)));
  const graphs = sources.map((s, m) => renameGraph(s.model.graph, (n) => (n === '' || SHARED.has(n) ? n : prefixes[m] + n)));
  const g: Graph = {
    name: base.model.graph.name,
    nodes: graphs.flatMap((x) => x.nodes),
    // Shared inputs once (from the first member that has them), then each member's own.
    inputs: graphs.flatMap((x, m) => x.inputs.filter((v) => !SHARED.has(v.name) || !graphs.slice(0, m).some((y) => y.inputs.some((u) => u.name === v.name)))),
    outputs: [],
    initializers: new Map(graphs.flatMap((x) => [...x.initializers])),
    valueInfo: graphs.flatMap((x) => x.valueInfo),
  };
  const model: Model = { ...base.model, opsetImports: mergeOpsets(sources.map((s) => s.model.opsetImports)), metadata: { ...base.model.metadata }, graph: g };
  const b = new GraphBuilder({ graph: g, opset });
  b.input(GUIDE_ALPHA, 'float32', [arms.length]);
  b.input(GUIDE_TEMPERATURE, 'float32', [1]);
  const V = Math.min(...vocabs);
  // Each member's logits over the shared vocabulary, and its log sum exp over its whole vocabulary: [B, V], [B, 1].
  const logits = prefixes.map((p, m) => (vocabs[m] === V ? p + LAST_LOGITS : b.slice(p + LAST_LOGITS, [0], [V], [1])));
  const lse = prefixes.map((p) => b.unsqueeze(p + LAST_LOGSUMEXP, [1]));
  const alpha = arms.map((_, i) => b.gather(GUIDE_ALPHA, b.int64s([i]))); // [1] each
  if (form === 'scores') guidedScores(b, logits, lse, alpha, vocabs, V);
  else guidedArgmax(b, logits, lse, alpha);
  g.nodes = topological(g.nodes, new Set([...g.inputs.map((v) => v.name), ...g.initializers.keys()]));
  uniquifyNodeNames(g);
  g.outputs = [
    ...(form === 'scores'
      ? [{ name: GUIDED_SCORES, dtype: 'float32' as const, dims: ['batch_size', V] }, { name: MEMBER_LOGPROBS, dtype: 'float32' as const, dims: ['batch_size', sources.length, V] }]
      : [{ name: GUIDED_ARGMAX, dtype: 'int64' as const, dims: ['batch_size'] }, { name: MEMBER_ARGMAX_LOGPROBS, dtype: 'float32' as const, dims: ['batch_size', sources.length] }]),
    ...prefixes.map((p) => ({ name: p + NEW_KV, dtype: 'float32' as const })),
  ];
  removeUnread(g);
  const members = sources.map((s, m) => ({ newKvOutput: prefixes[m] + NEW_KV, newKv: new Map([...s.newKv].map(([past, i]) => [prefixes[m] + past, i])) }));
  return { model, members, vocab: V };
}

/**
 * The scores form: GUIDED_SCORES (the formula in the file comment, in guidance.ts's order: the base
 * term, then alpha_i x term_i added one ARM at a time, then / T) and MEMBER_LOGPROBS.
 */
function guidedScores(b: GraphBuilder, logits: string[], lse: string[], alpha: string[], vocabs: number[], V: number): void {
  const own = logits.map((x, m) => b.sub(x, lse[m]!)); // each member's log-softmax over its whole vocabulary, cut to V: [B, V]
  // Each member's log-softmax over the first V entries: its own where that is its whole vocabulary,
  // else normalised over the cut (log sum exp as decode-graph.ts computes it: max + log(sum(exp(x - max)))).
  const guide = logits.map((x, m) => {
    if (vocabs[m] === V) return own[m]!;
    const max = b.reduceMax(x, [-1], true);
    return b.sub(x, b.add(b.log(b.reduceSum(b.exp(b.sub(x, max)), [-1], true)), max));
  });
  let sum = guide[0]!;
  for (let i = 0; i < alpha.length; i++) sum = b.add(sum, b.mul(guide[i + 1]!, alpha[i]!));
  b.op1('Div', [sum, GUIDE_TEMPERATURE], {}, { names: [GUIDED_SCORES] }); // [B, V]
  b.op1('Concat', own.map((x) => b.unsqueeze(x, [1])), { axis: 1 }, { names: [MEMBER_LOGPROBS] }); // [B, M, V]
}

/**
 * The argmax form: GUIDED_ARGMAX, the first maximum of base + sum_i alpha_i x ARM_i over the logits,
 * and MEMBER_ARGMAX_LOGPROBS. The guided scores differ from that sum by per-row constants (each
 * log-softmax's log sum exp) and a positive factor (1 / T), which move no maximum, so the
 * log-softmaxes and the division over [B, V] are skipped: alignkit-base guided by alignkit-arm, 4
 * rows, one thread, fixed inputs, paired rounds of CPU time: 27-32 us less of a ~780 us run (3-5%).
 */
function guidedArgmax(b: GraphBuilder, logits: string[], lse: string[], alpha: string[]): void {
  let sum = logits[0]!;
  for (let i = 0; i < alpha.length; i++) sum = b.add(sum, b.mul(logits[i + 1]!, alpha[i]!));
  b.op1('ArgMax', [sum], { axis: -1, keepdims: 0 }, { names: [GUIDED_ARGMAX] }); // [B], the first maximum as JS's argmax
  // Each member's own log-prob (over its whole vocabulary) of it: its logit there minus its log sum
  // exp, the same float operation as reading it from the scores form's MEMBER_LOGPROBS.
  const at = b.unsqueeze(GUIDED_ARGMAX, [1]); // [B, 1]
  b.op1('Concat', logits.map((x, m) => b.sub(b.gatherElements(x, at, 1), lse[m]!)), { axis: 1 }, { names: [MEMBER_ARGMAX_LOGPROBS] }); // [B, M]
}

/** A copy of a graph (and its subgraphs) with every value, initializer and node name passed through `rename`. */
function renameGraph(g: Graph, rename: (name: string) => string): Graph {
  const attr = (a: Attribute): Attribute => (a.type === 'graph' ? { type: 'graph', value: renameGraph(a.value, rename) } : a);
  return {
    name: g.name,
    nodes: g.nodes.map((n) => ({
      ...n,
      name: n.name && rename(n.name),
      inputs: n.inputs.map(rename),
      outputs: n.outputs.map(rename),
      attrs: Object.fromEntries(Object.entries(n.attrs).map(([k, a]) => [k, attr(a)])),
    })),
    inputs: g.inputs.map((v) => ({ ...v, name: rename(v.name) })),
    outputs: g.outputs.map((v) => ({ ...v, name: rename(v.name) })),
    initializers: new Map([...g.initializers].map(([k, t]) => [rename(k), t])),
    valueInfo: g.valueInfo.map((v) => ({ ...v, name: rename(v.name) })),
  };
}

/** One import per domain, at the highest version any member imports (the default domain's are equal, checked above). */
function mergeOpsets(lists: readonly OpsetImport[][]): OpsetImport[] {
  const versions = new Map<string, number>();
  for (const o of lists.flat()) versions.set(o.domain, Math.max(versions.get(o.domain) ?? 0, o.version));
  return [...versions].map(([domain, version]) => ({ domain, version }));
}
