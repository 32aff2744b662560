// Shared test helpers for src/models: fixture paths, a strictly local transformers.js, and
// independent reference computations (textbook BPE, a plain-TypeScript GPT-2 forward) that the
// tests compare alignkit against.

import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Model } from '../../src/graph/index.js';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const MODELS = path.join(ROOT, 'data', 'models');
export const BPE500 = path.join(ROOT, 'data', 'tokenizers', 'bpe500');
export const SAMPLES = path.join(ROOT, 'test', 'models', 'data');
export const LM_DIR = path.join(MODELS, 'tiny-gpt2');
export const RM_DIR = path.join(MODELS, 'tiny-gpt2-rm');
export const BERT_DIR = path.join(MODELS, 'tiny-bert-rm-multi');

/** transformers.js that can only read data/models from disk: remote loading off, local path set. */
export async function localTransformers() {
  const t = await import('@huggingface/transformers');
  t.env.allowRemoteModels = false;
  t.env.allowLocalModels = true;
  t.env.localModelPath = MODELS + path.sep;
  return t;
}

// ---------------------------------------------------------------- textbook byte-level BPE

/** GPT-2's byte-to-unicode table (openai/gpt-2 encoder.py bytes_to_unicode). */
function bytesToUnicode(): string[] {
  const printable: number[] = [];
  for (let b = 33; b <= 126; b++) printable.push(b);
  for (let b = 161; b <= 172; b++) printable.push(b);
  for (let b = 174; b <= 255; b++) printable.push(b);
  const table: string[] = new Array(256);
  let extra = 0;
  for (let b = 0; b < 256; b++) table[b] = String.fromCodePoint(printable.includes(b) ? b : 256 + extra++);
  return table;
}

const GPT2_SPLIT = /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu;

/** Encode by the BPE algorithm itself: split, map bytes, repeatedly merge the lowest-ranked pair. */
export function referenceBpeEncode(text: string, vocab: Record<string, number>, merges: [string, string][], special: string): number[] {
  const rank = new Map(merges.map(([a, b], i) => [`${a} ${b}`, i]));
  const byteChar = bytesToUnicode();
  const out: number[] = [];
  text.split(special).forEach((chunk, i) => {
    if (i > 0) out.push(vocab[special]!);
    for (const word of chunk.match(GPT2_SPLIT) ?? []) {
      let parts = [...Buffer.from(word, 'utf8')].map((b) => byteChar[b]!);
      for (;;) {
        let best = -1;
        let bestRank = Infinity;
        for (let j = 0; j + 1 < parts.length; j++) {
          const r = rank.get(`${parts[j]} ${parts[j + 1]}`);
          if (r !== undefined && r < bestRank) [best, bestRank] = [j, r];
        }
        if (best < 0) break;
        parts = [...parts.slice(0, best), parts[best]! + parts[best + 1]!, ...parts.slice(best + 2)];
      }
      out.push(...parts.map((p) => vocab[p]!));
    }
  });
  return out;
}

// ---------------------------------------------------------------- plain GPT-2 forward

export interface Gpt2Dims {
  nEmbd: number;
  nHead: number;
  nLayer: number;
  eps: number;
}

/**
 * Final hidden states [T][C] of one unpadded sequence, computed in float64 loops straight from the
 * ONNX file's initializers with transformers' GPT-2 equations (pre-LN blocks, causal softmax
 * attention, gelu_new MLP, final ln_f) and nothing from the graph's nodes.
 */
export function referenceGpt2Hidden(model: Model, ids: number[], d: Gpt2Dims): Float64Array[] {
  const w = (name: string) => {
    const t = model.graph.initializers.get(name);
    if (!t) throw new Error(`no initializer ${name}`);
    return t.data as Float32Array;
  };
  const C = d.nEmbd;
  const D = C / d.nHead;
  const layerNorm = (x: Float64Array, g: Float32Array, b: Float32Array) => {
    const mean = x.reduce((s, v) => s + v, 0) / C;
    const variance = x.reduce((s, v) => s + (v - mean) ** 2, 0) / C;
    return x.map((v, i) => ((v - mean) / Math.sqrt(variance + d.eps)) * g[i]! + b[i]!);
  };
  const conv1d = (x: Float64Array, W: Float32Array, b: Float32Array, nOut: number) => {
    const y = Float64Array.from(b);
    for (let i = 0; i < x.length; i++) for (let j = 0; j < nOut; j++) y[j]! += x[i]! * W[i * nOut + j]!;
    return y;
  };
  const gelu = (x: number) => 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3)));

  const wte = w('transformer.wte.weight');
  const wpe = w('transformer.wpe.weight');
  let h = ids.map((id, t) => Float64Array.from({ length: C }, (_, c) => wte[id * C + c]! + wpe[t * C + c]!));
  for (let l = 0; l < d.nLayer; l++) {
    const p = `transformer.h.${l}`;
    const qkv = h.map((x) => conv1d(layerNorm(x, w(`${p}.ln_1.weight`), w(`${p}.ln_1.bias`)), w(`${p}.attn.c_attn.weight`), w(`${p}.attn.c_attn.bias`), 3 * C));
    const ctx = h.map((_, t) => {
      const out = new Float64Array(C);
      for (let hd = 0; hd < d.nHead; hd++) {
        const scores = Array.from({ length: t + 1 }, (_, s) => {
          let dot = 0;
          for (let i = 0; i < D; i++) dot += qkv[t]![hd * D + i]! * qkv[s]![C + hd * D + i]!;
          return dot / Math.sqrt(D);
        });
        const max = Math.max(...scores);
        const e = scores.map((v) => Math.exp(v - max));
        const z = e.reduce((a, b) => a + b, 0);
        for (let s = 0; s <= t; s++) for (let i = 0; i < D; i++) out[hd * D + i]! += (e[s]! / z) * qkv[s]![2 * C + hd * D + i]!;
      }
      return out;
    });
    h = h.map((x, t) => {
      const a = conv1d(ctx[t]!, w(`${p}.attn.c_proj.weight`), w(`${p}.attn.c_proj.bias`), C);
      const h1 = x.map((v, i) => v + a[i]!);
      const up = conv1d(layerNorm(h1, w(`${p}.ln_2.weight`), w(`${p}.ln_2.bias`)), w(`${p}.mlp.c_fc.weight`), w(`${p}.mlp.c_fc.bias`), 4 * C).map(gelu);
      const m = conv1d(up, w(`${p}.mlp.c_proj.weight`), w(`${p}.mlp.c_proj.bias`), C);
      return h1.map((v, i) => v + m[i]!);
    });
  }
  return h.map((x) => layerNorm(x, w('transformer.ln_f.weight'), w('transformer.ln_f.bias')));
}

/** rows x [N, C] weight (nn.Linear layout) times a hidden vector. */
export function project(hidden: Float64Array, weight: Float32Array, rows: number): Float64Array {
  const C = hidden.length;
  return Float64Array.from({ length: rows }, (_, r) => hidden.reduce((s, v, c) => s + v * weight[r * C + c]!, 0));
}

/** log_softmax in float64. */
export function logSoftmax(logits: ArrayLike<number>): Float64Array {
  const a = Array.from(logits);
  const max = Math.max(...a);
  const lse = max + Math.log(a.reduce((s, v) => s + Math.exp(v - max), 0));
  return Float64Array.from(a, (v) => v - lse);
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Infinity;
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}
