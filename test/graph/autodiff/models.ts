// Tiny whole models built with the graph builder, in the check dtype, each ending in a scalar loss:
// a GPT-2-style block stack, a LLaMA-style one, and a classifier head.
import type { GraphBuilder } from '../../../src/graph/index.js';
import type { GradientCheckCase } from '../../../src/graph/autodiff/index.js';
import { CaseBuilder, type CheckDType } from './helpers.js';

export interface TinyDims { vocab: number; d: number; heads: number; layers: number; batch: number; seq: number }
export const TINY: TinyDims = { vocab: 11, d: 8, heads: 2, layers: 2, batch: 2, seq: 4 };

function tokens(n: number, vocab: number, offset: number): number[] {
  return Array.from({ length: n }, (_, i) => (i * 7 + offset) % vocab);
}

/** ids and targets inputs with symbolic [batch, seq] dims. */
function tokenInputs(b: CaseBuilder, dims: TinyDims): { ids: string; targets: string } {
  const n = dims.batch * dims.seq;
  return {
    ids: b.intInput('ids', ['batch', 'seq'], [dims.batch, dims.seq], tokens(n, dims.vocab, 3)),
    targets: b.intInput('targets', ['batch', 'seq'], [dims.batch, dims.seq], tokens(n, dims.vocab, 5)),
  };
}

/** Sequence length as a 1-D int64 tensor, from Shape(ids): the integer sub-graph autodiff must skip. */
function seqLen(g: GraphBuilder, ids: string): string {
  return g.slice(g.shape(ids), [1], [2]);
}

/** Next-token cross-entropy: LogSoftmax over [N, V] + GatherElements, mean over tokens, negated. */
function crossEntropy(g: GraphBuilder, logits: string, targets: string, vocab: number): string {
  const logp = g.logSoftmax(g.reshape(logits, [-1, vocab])); // [N, V]
  const picked = g.gatherElements(logp, g.reshape(targets, [-1, 1]), 1); // [N, 1]
  return g.neg(g.reduceMean(picked, undefined, false));
}

/** [B, T, D] -> [B, H, T, hd] */
function heads(g: GraphBuilder, x: string, dims: TinyDims): string {
  return g.transpose(g.reshape(x, [0, 0, dims.heads, dims.d / dims.heads]), [0, 2, 1, 3]);
}

/** [B, H, T, hd] -> [B, T, D] */
function merge(g: GraphBuilder, x: string, dims: TinyDims): string {
  return g.reshape(g.transpose(x, [0, 2, 1, 3]), [0, 0, dims.d]);
}

/** Causal mask [T, T] as bool, built from the run-time sequence length with Trilu. */
function causalMask(b: CaseBuilder, ids: string): string {
  const g = b.g;
  const t = seqLen(g, ids);
  const ones = g.constantOfShape(g.concat([t, t], 0), 1, b.dtype);
  return g.cast(g.trilu(ones, false), 'bool');
}

export function tinyGpt2(dtype: CheckDType, dims: TinyDims = TINY): GradientCheckCase {
  const b = new CaseBuilder(dtype, 17, 11);
  const g = b.g;
  const { d, vocab } = dims;
  const small = (name: string, shape: number[]) => b.param(name, shape, 'small');
  const { ids, targets } = tokenInputs(b, dims);
  const wte = small('wte', [vocab, d]);
  const wpe = small('wpe', [dims.seq, d]);
  const positions = g.range(g.scalar(0, 'int64'), g.squeeze(seqLen(g, ids), [0]), g.scalar(1, 'int64'));
  let x = g.add(g.gather(wte, ids), g.gather(wpe, positions)); // [B, T, D]
  const mask = causalMask(b, ids);
  for (let l = 0; l < dims.layers; l++) {
    const h = g.layerNorm(x, b.param(`h${l}.ln1.w`, [d], 'positive'), small(`h${l}.ln1.b`, [d]));
    const qkv = g.add(g.matMul(h, small(`h${l}.attn.w`, [d, 3 * d])), small(`h${l}.attn.b`, [3 * d])); // [B, T, 3D]
    const [q, k, v] = g.split(qkv, [d, d, d], 2).map((t) => heads(g, t, dims));
    const scores = g.mul(g.matMul(q!, g.transpose(k!, [0, 1, 3, 2])), b.scalar(1 / Math.sqrt(d / dims.heads))); // [B, H, T, T]
    const probs = g.softmax(g.where(mask, scores, b.scalar(-1e9)));
    const attn = merge(g, g.matMul(probs, v!), dims);
    x = g.add(x, g.add(g.matMul(attn, small(`h${l}.proj.w`, [d, d])), small(`h${l}.proj.b`, [d])));
    const h2 = g.layerNorm(x, b.param(`h${l}.ln2.w`, [d], 'positive'), small(`h${l}.ln2.b`, [d]));
    const fc = g.add(g.matMul(h2, small(`h${l}.fc.w`, [d, 4 * d])), small(`h${l}.fc.b`, [4 * d]));
    const gelu = g.mul(fc, g.sigmoid(g.mul(fc, b.scalar(1.702)))); // sigmoid-form GELU (DESIGN.md)
    x = g.add(x, g.add(g.matMul(gelu, small(`h${l}.fc2.w`, [4 * d, d])), small(`h${l}.fc2.b`, [d])));
  }
  const hf = g.layerNorm(x, b.param('lnf.w', [d], 'positive'), small('lnf.b', [d]));
  const logits = g.matMul(hf, g.transpose(wte, [1, 0])); // tied head, [B, T, V]
  g.output(crossEntropy(g, logits, targets, vocab), 'loss', dtype, []);
  return { model: g.toModel(), wrt: b.wrt, feeds: b.feeds, of: ['loss'] };
}

/** RMSNorm decomposed the way LLaMA exports it: x / sqrt(mean(x^2) + eps) * w. */
function rmsNorm(b: CaseBuilder, x: string, w: string): string {
  const g = b.g;
  const ms = g.reduceMean(g.pow(x, b.scalar(2)), [-1], true);
  return g.mul(g.div(x, g.sqrt(g.add(ms, b.scalar(1e-6)))), w);
}

/** rotate_half: concat(-x2, x1) over the last axis. */
function rotateHalf(g: GraphBuilder, x: string, half: number): string {
  const x1 = g.slice(x, [0], [half], [-1]);
  const x2 = g.slice(x, [half], [2 ** 62], [-1]);
  return g.concat([g.neg(x2), x1], -1);
}

export function tinyLlama(dtype: CheckDType, dims: TinyDims = TINY): GradientCheckCase {
  const b = new CaseBuilder(dtype, 17, 23);
  const g = b.g;
  const { d, vocab } = dims;
  const hd = d / dims.heads;
  const small = (name: string, shape: number[]) => b.param(name, shape, 'small');
  const { ids, targets } = tokenInputs(b, dims);
  // Rotary angles from positions: Sin/Cos of a Range, which no parameter reaches.
  const positions = g.cast(g.range(g.scalar(0, 'int64'), g.squeeze(seqLen(g, ids), [0]), g.scalar(1, 'int64')), dtype); // [T]
  const invFreq = b.g.constant(Float64Array.from({ length: hd / 2 }, (_, i) => 1 / 10000 ** ((2 * i) / hd)), [hd / 2], 'float64');
  const freqs = g.mul(g.unsqueeze(positions, [1]), dtype === 'float64' ? invFreq : g.cast(invFreq, 'float32')); // [T, hd/2]
  const emb = g.concat([freqs, freqs], -1); // [T, hd]
  const [cos, sin] = [g.cos(emb), g.sin(emb)];
  const rope = (t: string) => g.add(g.mul(t, cos), g.mul(rotateHalf(g, t, hd / 2), sin));
  // Additive causal mask: 0 on and below the diagonal, -1e9 above.
  const mask = g.where(causalMask(b, ids), b.scalar(0), b.scalar(-1e9));
  let x = g.gather(small('embed', [vocab, d]), ids);
  for (let l = 0; l < dims.layers; l++) {
    const h = rmsNorm(b, x, b.param(`l${l}.in_norm`, [d], 'positive'));
    const q = rope(heads(g, g.matMul(h, small(`l${l}.q`, [d, d])), dims));
    const k = rope(heads(g, g.matMul(h, small(`l${l}.k`, [d, d])), dims));
    const v = heads(g, g.matMul(h, small(`l${l}.v`, [d, d])), dims);
    const scores = g.add(g.mul(g.matMul(q, g.transpose(k, [0, 1, 3, 2])), b.scalar(1 / Math.sqrt(hd))), mask);
    x = g.add(x, g.matMul(merge(g, g.matMul(g.softmax(scores), v), dims), small(`l${l}.o`, [d, d])));
    const h2 = rmsNorm(b, x, b.param(`l${l}.post_norm`, [d], 'positive'));
    const gate = g.matMul(h2, small(`l${l}.gate`, [d, 2 * d]));
    const silu = g.mul(gate, g.sigmoid(gate));
    x = g.add(x, g.matMul(g.mul(silu, g.matMul(h2, small(`l${l}.up`, [d, 2 * d]))), small(`l${l}.down`, [2 * d, d])));
  }
  const logits = g.matMul(rmsNorm(b, x, b.param('norm', [d], 'positive')), small('lm_head', [d, vocab])); // untied
  g.output(crossEntropy(g, logits, targets, vocab), 'loss', dtype, []);
  return { model: g.toModel(), wrt: b.wrt, feeds: b.feeds, of: ['loss'] };
}

/** Decomposed LayerNorm as older exports write it: (x - mean) / sqrt(var + eps) * w + b. */
function decomposedLayerNorm(b: CaseBuilder, x: string, w: string, bias: string): string {
  const g = b.g;
  const centered = g.sub(x, g.reduceMean(x, [-1], true));
  const variance = g.reduceMean(g.mul(centered, centered), [-1], true);
  return g.add(g.mul(g.div(centered, g.sqrt(g.add(variance, b.scalar(1e-5)))), w), bias);
}

/** Sequence classifier: embeddings, one tanh layer, the last token's state, a Gemm score head, MSE. */
export function tinyClassifier(dtype: CheckDType, dims: TinyDims = TINY, classes = 3): GradientCheckCase {
  const b = new CaseBuilder(dtype, 17, 31);
  const g = b.g;
  const { d, vocab } = dims;
  const { ids } = tokenInputs(b, dims);
  const labels = b.input('labels', ['batch', classes], [dims.batch, classes]);
  const x = decomposedLayerNorm(b, g.gather(b.param('embed', [vocab, d]), ids), b.param('ln.w', [d], 'positive'), b.param('ln.b', [d]));
  const h = g.tanh(g.add(g.matMul(x, b.param('dense.w', [d, d])), b.param('dense.b', [d]))); // [B, T, D]
  const last = g.gather(h, g.scalar(-1, 'int64'), 1); // [B, D]
  const scores = g.gemm(last, b.param('score.w', [classes, d]), b.param('score.b', [classes]), { transB: true }); // [B, C]
  const err = g.sub(scores, labels);
  g.output(g.reduceMean(g.mul(err, err), undefined, false), 'loss', dtype, []);
  return { model: g.toModel(), wrt: b.wrt, feeds: b.feeds, of: ['loss'] };
}

/**
 * The GPT-2 block as torch.onnx.export writes it at opset 14: LayerNorm decomposed (attribute-axis
 * ReduceMean, Pow 2, Sqrt, Div), tanh-GELU from Pow 3 and Tanh, q/k/v cut with Slice, reshape
 * targets assembled from Shape -> Gather -> Unsqueeze -> Concat, and a causal mask from Range and
 * LessOrEqual. Autodiff raises the opset to 16 for its scatter-adds.
 */
export function tinyTorchStyleGpt(dtype: CheckDType, dims: TinyDims = TINY): GradientCheckCase {
  const b = new CaseBuilder(dtype, 14, 41);
  const g = b.g;
  const { d, vocab } = dims;
  const hd = d / dims.heads;
  const small = (name: string, shape: number[]) => b.param(name, shape, 'small');
  const { ids, targets } = tokenInputs(b, dims);
  const shape = g.shape(ids);
  const dim = (i: number) => g.unsqueeze(g.gather(shape, g.scalar(i, 'int64')), [0]); // [1]
  const toHeads = (t: string) => g.transpose(g.reshape(t, g.concat([dim(0), dim(1), g.int64s([dims.heads, hd])], 0)), [0, 2, 1, 3]);
  const pos = g.range(g.scalar(0, 'int64'), g.squeeze(dim(1), [0]), g.scalar(1, 'int64'));
  const mask = g.op1('LessOrEqual', [g.unsqueeze(pos, [0]), g.unsqueeze(pos, [1])]); // [T, T]: key <= query
  const ln = (x: string, name: string) => {
    const mean = g.op1('ReduceMean', [x], { axes: [-1], keepdims: 1 });
    const centered = g.sub(x, mean);
    const variance = g.op1('ReduceMean', [g.pow(centered, b.scalar(2))], { axes: [-1], keepdims: 1 });
    const normed = g.div(centered, g.sqrt(g.add(variance, b.scalar(1e-5))));
    return g.add(g.mul(normed, b.param(`${name}.w`, [d], 'positive')), small(`${name}.b`, [d]));
  };
  let x = g.gather(small('wte', [vocab, d]), ids);
  for (let l = 0; l < dims.layers; l++) {
    const h = ln(x, `h${l}.ln1`);
    const qkv = g.add(g.matMul(h, small(`h${l}.attn.w`, [d, 3 * d])), small(`h${l}.attn.b`, [3 * d]));
    const [q, k, v] = [0, 1, 2].map((i) => toHeads(g.slice(qkv, [i * d], [(i + 1) * d], [2])));
    const scores = g.div(g.matMul(q!, g.transpose(k!, [0, 1, 3, 2])), b.scalar(Math.sqrt(hd)));
    const probs = g.softmax(g.where(mask, scores, b.scalar(-1e9)), -1);
    const attn = g.reshape(g.transpose(g.matMul(probs, v!), [0, 2, 1, 3]), g.concat([dim(0), dim(1), g.int64s([d])], 0));
    x = g.add(x, g.add(g.matMul(attn, small(`h${l}.proj.w`, [d, d])), small(`h${l}.proj.b`, [d])));
    const fc = g.add(g.matMul(ln(x, `h${l}.ln2`), small(`h${l}.fc.w`, [d, 4 * d])), small(`h${l}.fc.b`, [4 * d]));
    const inner = g.mul(g.add(fc, g.mul(g.pow(fc, b.scalar(3)), b.scalar(0.044715))), b.scalar(Math.sqrt(2 / Math.PI)));
    const gelu = g.mul(g.mul(fc, b.scalar(0.5)), g.add(g.tanh(inner), b.scalar(1)));
    x = g.add(x, g.add(g.matMul(gelu, small(`h${l}.fc2.w`, [4 * d, d])), small(`h${l}.fc2.b`, [d])));
  }
  const logits = g.matMul(ln(x, 'lnf'), small('head', [d, vocab]));
  g.output(crossEntropy(g, logits, targets, vocab), 'loss', dtype, []);
  return { model: g.toModel(), wrt: b.wrt, feeds: b.feeds, of: ['loss'] };
}
