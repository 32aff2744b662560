// `alignkit train` end to end on tiny slices of the shipped samples and the fixture models: each
// kind's loss falls, the outputs are a loadable Hugging Face directory with card, metrics and
// curves, reference log-probs are cached and reused, resume reproduces an uninterrupted run, and
// bad rows and non-finite losses stop the run with their location named.

import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { isAlignkitError } from '../../../src/errors.js';
import { loadModel } from '../../../src/graph/index.js';
import { loadModelDir } from '../../../src/models/index.js';
import { isOnline, KINDS, runTraining, RUN_FILES, TRAIN_KINDS, type RunConfig } from '../../../src/train/run/index.js';
import { readJsonl, smallConfig, tempDir, thrown } from './helpers.js';

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

async function losses(config: RunConfig) {
  const seen: number[] = [];
  const result = await runTraining(config, { onStep: (_s, l) => seen.push(l) });
  return { result, seen };
}

describe('alignkit train: every offline kind', () => {
  for (const kind of TRAIN_KINDS.filter((k) => !isOnline(KINDS[k])))
    it(`${kind}: the loss falls over 10 steps and the output directory is complete`, async () => {
      const dir = tempDir(kind);
      const config = smallConfig(kind, dir);
      const { result, seen } = await losses(config);
      expect(seen).toHaveLength(10);
      expect(seen.every(Number.isFinite)).toBe(true);
      // Three passes over a dozen examples: the last steps' mean loss is clearly below the first steps'.
      expect(mean(seen.slice(-3))).toBeLessThan(0.9 * mean(seen.slice(0, 3)));
      for (const f of Object.values(RUN_FILES)) expect(fs.existsSync(path.join(config.output, f)), f).toBe(true);
      const out = await loadModelDir(config.output);
      expect(out.onnxFile).toBe(path.join(config.output, 'onnx/model.onnx'));
      // The exported graph is the original layout (KV cache inputs kept) with trained weights.
      expect(loadModel(out.onnxFile).graph.inputs.map((v) => v.name)).toEqual(loadModel(path.join(config.model, 'onnx/model.onnx')).graph.inputs.map((v) => v.name));
      const metrics = readJsonl(path.join(config.output, RUN_FILES.metrics));
      expect(metrics.map((m) => m.step)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
      expect(metrics.at(-1)!['eval/loss']).toEqual(expect.any(Number));
      expect(fs.readFileSync(path.join(config.output, RUN_FILES.curves), 'utf8')).toContain('<svg');
      const card = fs.readFileSync(path.join(config.output, RUN_FILES.card), 'utf8');
      expect(card).toContain(`alignkit train ${kind}`);
      expect(card).toContain('10 steps');
      expect(result.summary).toMatch(/loss\s+10\s/);
    }, 60_000);
});

describe('alignkit train dpo: reference log-probs', () => {
  it('are not computed at all for a reference-free loss', async () => {
    const dir = tempDir('refree');
    for (const [kind, loss] of [['arm', 'genarm'], ['dpo', 'simpo']] as const) {
      const r = await runTraining(smallConfig(kind, dir, { loss, steps: 1, output: path.join(dir, loss) }));
      expect(r.reference).toEqual({ computed: false });
    }
    expect(fs.existsSync(path.join(dir, 'cache'))).toBe(false);
  });

  it('are computed once, cached in the cache directory as Arrow IPC, and read back by the next run', async () => {
    const dir = tempDir('refcache');
    const first = await losses(smallConfig('dpo', dir, { steps: 2 }));
    expect(first.result.reference.computed).toBe(true);
    const file = first.result.reference.file!;
    expect(path.dirname(file)).toBe(path.join(dir, 'cache', 'reference-logprobs'));
    expect(path.basename(file)).toMatch(/^ultrafeedback_binarized_sample_train\.60\.jsonl\.ref-[0-9a-f]{16}\.arrow$/);
    // At step 1 the policy IS the reference: every log-ratio is 0, so the DPO loss is -log sigmoid(0) = ln 2.
    expect(first.seen[0]).toBeCloseTo(Math.LN2, 3);
    const mtime = fs.statSync(file).mtimeMs;
    const second = await losses(smallConfig('dpo', dir, { steps: 2, output: path.join(dir, 'again') }));
    expect(second.result.reference).toEqual({ file, computed: false });
    expect(fs.statSync(file).mtimeMs).toBe(mtime);
    // Read from the cache, the reference gives the same first loss.
    expect(second.seen[0]).toBeCloseTo(first.seen[0]!, 5);
    // A different tokenization is a different key: a new file.
    const third = await runTraining(smallConfig('dpo', dir, { steps: 1, maxLength: 40, output: path.join(dir, 'third') }));
    expect(third.reference.computed).toBe(true);
    expect(third.reference.file).not.toBe(file);
  }, 60_000);
});

describe('alignkit train: a model trained by an earlier run', () => {
  it("trains again with the new run's own card, config, metrics and checkpoint in its output", async () => {
    const dir = tempDir('chained');
    const first = smallConfig('sft', dir, { steps: 3, output: path.join(dir, 'first') });
    await runTraining(first);
    const second = smallConfig('sft', dir, { steps: 2, model: first.output, output: path.join(dir, 'second') });
    await runTraining(second);
    const config = JSON.parse(fs.readFileSync(path.join(second.output, RUN_FILES.config), 'utf8')) as RunConfig;
    expect(config.model).toBe(first.output);
    expect(config.steps).toBe(2);
    expect(readJsonl(path.join(second.output, RUN_FILES.metrics)).map((m) => m.step)).toEqual([1, 2]);
    expect(fs.readFileSync(path.join(second.output, RUN_FILES.card), 'utf8')).toMatch(/2 steps/);
    const checkpoint = (d: string) => fs.readFileSync(path.join(d, RUN_FILES.checkpoint));
    expect(checkpoint(second.output).equals(checkpoint(first.output))).toBe(false);
  });
});

describe('alignkit train: resume', () => {
  it('a run stopped after step 3 and resumed ends bit for bit where an uninterrupted run does', async () => {
    const dir = tempDir('resume');
    const straight = await runTraining(smallConfig('dpo', dir, { steps: 6, output: path.join(dir, 'a'), evalEvery: 2 }));
    let done = 0;
    const stopped = await runTraining(smallConfig('dpo', dir, { steps: 6, output: path.join(dir, 'b'), evalEvery: 2 }), { onStep: (s) => (done = s), shouldStop: () => done >= 3 });
    expect(stopped.interrupted).toBe(true);
    expect(stopped.steps).toBe(3);
    expect(fs.existsSync(path.join(dir, 'b', RUN_FILES.card))).toBe(false);
    const resumed = await runTraining(smallConfig('dpo', dir, { steps: 6, output: path.join(dir, 'b'), evalEvery: 2, resume: true }));
    expect(resumed.interrupted).toBe(false);
    expect(resumed.steps).toBe(6);
    expect([...resumed.values.keys()]).toEqual([...straight.values.keys()]);
    for (const [name, v] of straight.values) expect(resumed.values.get(name), name).toEqual(v);
    const a = readJsonl(path.join(dir, 'a', RUN_FILES.metrics));
    const b = readJsonl(path.join(dir, 'b', RUN_FILES.metrics));
    expect(b.map((r) => r.step)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(b.map((r) => r.loss)).toEqual(a.map((r) => r.loss));
  }, 60_000);
});

describe('alignkit train: failures name where they happened', () => {
  it('a bad row fails with file, row and field; skipped when asked, and counted', async () => {
    const dir = tempDir('badrow');
    const file = path.join(dir, 'pairs.jsonl');
    const good = (i: number) => JSON.stringify({ prompt: `Question ${i}?`, chosen: `A careful answer number ${i}.`, rejected: `No.` });
    fs.writeFileSync(file, [good(0), good(1), JSON.stringify({ prompt: 'Q?', chosen: 'A.' }), good(3), good(4), good(5), good(6), good(7)].join('\n') + '\n');
    const e = await thrown(runTraining(smallConfig('dpo', dir, { data: file, steps: 1 })));
    expect(isAlignkitError(e) && e.code).toBe('ALIGNKIT_ERR_DATASET_ROW');
    expect(e.details).toMatchObject({ file, row: 3, field: 'rejected' });
    const r = await runTraining(smallConfig('dpo', dir, { data: file, steps: 1, onBadRow: 'skip', evalFraction: 0 }));
    expect(r.skipped).toHaveLength(1);
    expect(r.skipped[0]).toMatchObject({ row: 3, field: 'rejected' });
  }, 30_000);

  it('a non-finite loss stops the run naming the step and batch, after saving the last good checkpoint', async () => {
    const dir = tempDir('nan');
    // SGD with lr 1e30: step 1 is finite, its update blows every weight up, so step 2's loss is NaN.
    const config = smallConfig('dpo', dir, { optimizer: 'sgd', lr: 1e30, steps: 5 });
    const e = await thrown(runTraining(config));
    expect(isAlignkitError(e) && e.code).toBe('ALIGNKIT_ERR_NON_FINITE');
    expect(e.message).toMatch(/at step 2 \(batch of examples .+\)/);
    expect((e.details!.batch as string[]).length).toBe(4);
    const ckpt = path.join(config.output, RUN_FILES.checkpoint);
    expect(fs.existsSync(ckpt)).toBe(true);
    const { loadSafetensors } = await import('../../../src/graph/index.js');
    expect(loadSafetensors(ckpt).metadata.step).toBe('1');
  }, 30_000);
});
