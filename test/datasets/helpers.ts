// Shared paths and temp-dir helpers for the datasets tests.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const SAMPLES = path.resolve('data/samples');
export const sample = (name: string): string => path.join(SAMPLES, name);

export const HH = sample('hh_rlhf_harmless_base_test.200.jsonl');
export const ULTRAFEEDBACK = sample('ultrafeedback_binarized_sample_train.60.jsonl');
export const SHAREGPT_DPO = sample('llamafactory_dpo_en_demo.30.json');
export const KTO = sample('llamafactory_kto_en_demo.50.json');
export const PANDALM = sample('pandalm_testset_v1.120.json');
export const HELPSTEER_SYNTHETIC = sample('helpsteer_style_synthetic.jsonl');

/** Raw rows of a sample parsed independently of alignkit's readers (Node's JSON.parse on the whole file). */
export function rawRows(file: string): Record<string, unknown>[] {
  const text = fs.readFileSync(file, 'utf8');
  if (file.endsWith('.jsonl')) return text.split('\n').filter((l) => l.trim().length > 0).map((l) => JSON.parse(l) as Record<string, unknown>);
  return JSON.parse(text) as Record<string, unknown>[];
}

export function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'alignkit-datasets-'));
}

export async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}
