// Shared set-up of the run tests: sample data copied into a temp dir, the run's cache directory in
// the same temp dir (never the user's), the fixture models, and a small fast run config per kind.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { resolveRunConfig, type RunConfig, type TrainKind } from '../../../src/train/run/index.js';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const TINY_LM = path.join(ROOT, 'data/models/tiny-gpt2');
export const TINY_RM = path.join(ROOT, 'data/models/tiny-gpt2-rm');
export const SAMPLES = path.join(ROOT, 'data/samples');

export const SAMPLE_OF: Record<TrainKind, string> = {
  sft: 'ultrafeedback_binarized_sample_train.60.jsonl',
  dpo: 'ultrafeedback_binarized_sample_train.60.jsonl',
  arm: 'hh_rlhf_harmless_base_test.200.jsonl',
  rm: 'hh_rlhf_harmless_base_test.200.jsonl',
  unpaired: 'llamafactory_kto_en_demo.50.json',
  // Online kinds read the prompts of a preference file.
  ppo: 'hh_rlhf_harmless_base_test.200.jsonl',
  rto: 'hh_rlhf_harmless_base_test.200.jsonl',
  grpo: 'hh_rlhf_harmless_base_test.200.jsonl',
  rloo: 'hh_rlhf_harmless_base_test.200.jsonl',
};

export function tempDir(tag: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `alignkit-run-${tag}-`));
}

/** A copy of a sample file in `dir` (its folder is the test's own, never data/samples). */
export function copySample(dir: string, name: string): string {
  const file = path.join(dir, name);
  fs.copyFileSync(path.join(SAMPLES, name), file);
  return file;
}

/** A seconds-long run: few short examples, full batch of a tiny training split. */
export function smallConfig(kind: TrainKind, dir: string, over: Partial<RunConfig> = {}): RunConfig {
  return resolveRunConfig({
    kind,
    model: kind === 'rm' ? TINY_RM : TINY_LM,
    data: copySample(dir, SAMPLE_OF[kind]),
    output: path.join(dir, `out-${kind}`),
    limit: 16,
    evalFraction: 0.25,
    batchSize: 4,
    microBatchSize: 4,
    maxLength: 48,
    maxPromptLength: 24,
    steps: 10,
    lr: 3e-3,
    progress: false,
    threads: 1,
    cacheDir: path.join(dir, 'cache'),
    ...over,
  });
}

export function readJsonl(file: string): Record<string, unknown>[] {
  return fs.readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** The error a promise rejects with (fails the test when it resolves). */
export async function thrown(p: Promise<unknown>): Promise<Error & { code?: string; details?: Record<string, unknown> }> {
  try {
    await p;
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected a rejection');
}
