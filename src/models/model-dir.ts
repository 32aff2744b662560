// A Hugging Face layout model directory: config.json, the tokenizer files and one ONNX graph.
// The graph is looked up by the names optimum and transformers.js use, first match wins.

import fs from 'node:fs';
import path from 'node:path';
import { fail } from '../errors.js';
import { archInfo, type ArchInfo, type HfConfig } from './hf-config.js';
import { Tokenizer } from './tokenizer.js';

/**
 * Where an exported graph may sit, in order: transformers.js's `onnx/model.onnx`, optimum's merged
 * decoder (with and without the `onnx/` subfolder), and a bare `model.onnx` at the top.
 */
export const ONNX_CANDIDATES = ['onnx/model.onnx', 'onnx/decoder_model_merged.onnx', 'model.onnx', 'decoder_model_merged.onnx'] as const;

export interface ModelDir {
  /** Absolute path of the directory. */
  dir: string;
  /** The directory's base name, used as the model's display name. */
  name: string;
  /** config.json as written. */
  config: HfConfig;
  /** Sizes and token ids normalized across architectures. */
  arch: ArchInfo;
  tokenizer: Tokenizer;
  /** Absolute path of the ONNX graph found. */
  onnxFile: string;
}

export function findOnnxFile(dir: string): string {
  for (const rel of ONNX_CANDIDATES) {
    const file = path.join(dir, rel);
    if (fs.existsSync(file)) return file;
  }
  throw fail('ALIGNKIT_ERR_MODEL_DIR', `${dir} has no ONNX graph; looked for ${ONNX_CANDIDATES.join(', ')}`, { file: dir });
}

function readConfig(dir: string): HfConfig {
  const file = path.join(dir, 'config.json');
  if (!fs.existsSync(file)) throw fail('ALIGNKIT_ERR_MODEL_DIR', `${dir} has no config.json`, { file });
  let value: unknown;
  try {
    value = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw fail('ALIGNKIT_ERR_BAD_FORMAT', `${file} is not valid JSON: ${(e as Error).message}`, { file }, e);
  }
  if (!value || typeof value !== 'object' || Array.isArray(value)) throw fail('ALIGNKIT_ERR_MODEL_DIR', `${file} is not a JSON object`, { file });
  return value as HfConfig;
}

export async function loadModelDir(dir: string): Promise<ModelDir> {
  const abs = path.resolve(dir);
  if (!fs.existsSync(abs) || !fs.statSync(abs).isDirectory()) throw fail('ALIGNKIT_ERR_FILE_NOT_FOUND', `model directory ${abs} does not exist`, { file: abs });
  const config = readConfig(abs);
  return {
    dir: abs,
    name: path.basename(abs),
    config,
    arch: archInfo(config, path.join(abs, 'config.json')),
    tokenizer: await Tokenizer.load(abs),
    onnxFile: findOnnxFile(abs),
  };
}
