// Export a trained model to a Hugging Face layout directory: the ORIGINAL graph (with its KV-cache
// inputs and output names, so @huggingface/transformers and optimum-style loaders run it as
// before) with the trained values written back into its initializers, LoRA adapters merged into
// their base weights (W += alpha/r * A B), and the directory's other files (config.json,
// tokenizer.json, generation_config.json, ...) copied unchanged.

import fs from 'node:fs';
import path from 'node:path';
import { fail } from '../errors.js';
import { loadModel, saveModel, type Model } from '../graph/index.js';
import { addLoraDelta, cloneModel, type LoraAdapter } from '../graph/rewrites/index.js';

export interface ExportOptions {
  /** The original forward model (or its file) the trained values go into. */
  model: string | Model;
  /** Trained values by initializer name (Trainer.values()); LoRA A/B included when adapters are given. */
  values: Map<string, Float32Array>;
  lora?: readonly LoraAdapter[];
  outDir: string;
  /** Hugging Face directory whose files besides the ONNX graphs are copied (config, tokenizer). */
  sourceDir?: string;
  /** Graph path inside outDir (default `onnx/model.onnx`, the transformers.js layout). */
  onnxPath?: string;
  /**
   * Files of sourceDir NOT copied (relative names): a model trained by a previous run carries that
   * run's card, metrics and checkpoint, which must not overwrite the new run's own.
   */
  exclude?: readonly string[];
}

function copyTree(src: string, dst: string, skip: (rel: string) => boolean, rel = ''): void {
  for (const e of fs.readdirSync(path.join(src, rel), { withFileTypes: true })) {
    const r = path.join(rel, e.name);
    if (skip(r)) continue;
    if (e.isDirectory()) copyTree(src, dst, skip, r);
    else {
      fs.mkdirSync(path.dirname(path.join(dst, r)), { recursive: true });
      fs.copyFileSync(path.join(src, r), path.join(dst, r));
    }
  }
}

/**
 * The weights of `original` that training changed, by initializer name: trained values as they are
 * (the arrays themselves, not copies) and each LoRA adapter merged into a copy of its base weight
 * (W + alpha/r A B), written into `into`'s array for that weight when it has one (so a caller can
 * refresh merged weights in place). Adapter tensors themselves are left out.
 */
export function mergedValues(original: Model, values: ReadonlyMap<string, Float32Array>, lora: readonly LoraAdapter[] = [], into?: ReadonlyMap<string, Float32Array>): Map<string, Float32Array> {
  const init = original.graph.initializers;
  const adapterNames = new Set(lora.flatMap((a) => [a.a, a.b]));
  const out = new Map<string, Float32Array>();
  for (const [name, data] of values) {
    if (adapterNames.has(name)) continue;
    const t = init.get(name);
    if (!t) throw fail('ALIGNKIT_ERR_STATE', `trained value ${name} is not an initializer of the exported model`, { field: name });
    if (t.data.length !== data.length) throw fail('ALIGNKIT_ERR_TENSOR', `trained value ${name} has ${data.length} values, the initializer ${t.data.length}`, { field: name });
    out.set(name, data);
  }
  for (const ad of lora) {
    const t = init.get(ad.weight);
    const A = values.get(ad.a);
    const B = values.get(ad.b);
    if (!t || !A || !B) throw fail('ALIGNKIT_ERR_STATE', `cannot merge LoRA adapter of ${ad.weight}: missing ${!t ? 'base weight' : !A ? ad.a : ad.b}`, { field: ad.weight });
    const w = into?.get(ad.weight) ?? new Float32Array(t.data.length);
    w.set(t.data as Float32Array);
    addLoraDelta(w, ad, A, B, ad.transposedWeight ? t.dims[1]! : t.dims[0]!);
    out.set(ad.weight, w);
  }
  return out;
}

/** The original model with trained values and merged adapters (not written). */
export function trainedModel(original: Model, values: Map<string, Float32Array>, lora: readonly LoraAdapter[] = []): Model {
  const model = cloneModel(original);
  const init = model.graph.initializers;
  for (const [name, data] of mergedValues(original, values, lora)) init.set(name, { ...init.get(name)!, data: Float32Array.from(data) });
  return model;
}

export function exportHfDirectory(opts: ExportOptions): string {
  const original = typeof opts.model === 'string' ? loadModel(opts.model) : opts.model;
  const onnxPath = opts.onnxPath ?? path.join('onnx', 'model.onnx');
  fs.mkdirSync(opts.outDir, { recursive: true });
  if (opts.sourceDir) {
    if (!fs.existsSync(opts.sourceDir)) throw fail('ALIGNKIT_ERR_FILE_NOT_FOUND', `source directory ${opts.sourceDir} does not exist`, { file: opts.sourceDir });
    const excluded = new Set(opts.exclude ?? []);
    copyTree(opts.sourceDir, opts.outDir, (rel) => rel === 'onnx' || /\.onnx(_data)?$/.test(rel) || excluded.has(rel));
  }
  const file = path.join(opts.outDir, onnxPath);
  saveModel(trainedModel(original, opts.values, opts.lora), file);
  return file;
}
