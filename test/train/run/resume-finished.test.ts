// Resuming a run that already finished (issue #12 §3): schedulers retry failed jobs with --resume,
// so on a finished run it must change nothing, and with a larger --steps it must extend the run
// exactly as if it had been started with that length. Before the fix a no-op resume rewrote the
// checkpoint with the optimizer's step count only (92 tensors -> 30 on tiny-gpt2), and the next
// `--steps N --resume` failed with `optimizer state has no tensor "group0/#count"`.

import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { trainCommand } from '../../../src/cli/commands/train.js';
import { loadSafetensors } from '../../../src/graph/index.js';
import { createOptimizer } from '../../../src/optim/index.js';
import { runTraining, RUN_FILES } from '../../../src/train/run/index.js';
import { copySample, readJsonl, smallConfig, tempDir, TINY_LM } from './helpers.js';

const sha = (file: string) => crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');

/** Every file of a run's output directory with its content hash. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of fs.readdirSync(dir, { recursive: true, withFileTypes: true }))
    if (e.isFile()) out[path.relative(dir, path.join(e.parentPath, e.name))] = sha(path.join(e.parentPath, e.name));
  return out;
}

describe('alignkit train --resume on a finished run', () => {
  afterEach(() => vi.restoreAllMocks());

  it('regression: is a no-op through the command: every output file, the checkpoint with its optimizer state included, is left as it was', async () => {
    const dir = tempDir('resume-done');
    const data = copySample(dir, 'ultrafeedback_binarized_sample_train.60.jsonl');
    const out = path.join(dir, 'out');
    const args = ['dpo', '--model', TINY_LM, '--data', data, '--output', out, '--limit', '12', '--steps', '3', '--max-length', '48', '--max-prompt-length', '24', '--no-progress', '--threads', '1', '--cache-dir', path.join(dir, 'cache')];
    const lines: string[] = [];
    vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void lines.push(a.join(' ')));
    expect(await trainCommand.run(args)).toBe(0);
    const ckpt = path.join(out, RUN_FILES.checkpoint);
    const tensors = loadSafetensors(ckpt).tensors.size;
    // Parameters plus AdamW's two moments per parameter and the counters: far more than the parameters alone.
    expect([...loadSafetensors(ckpt).tensors.keys()].filter((k) => k.startsWith('optim/')).length).toBeGreaterThan(tensors / 2);
    const before = snapshot(out);
    lines.length = 0;
    expect(await trainCommand.run([...args, '--resume'])).toBe(0);
    expect(lines.join('\n')).toMatch(/already finished at step 3 .*nothing to do/);
    expect(snapshot(out)).toEqual(before);
    expect(loadSafetensors(ckpt).tensors.size).toBe(tensors);
  }, 60_000);

  it('regression: --steps N --resume after a finished (and a retried) run ends bit for bit where an uninterrupted N-step run does', async () => {
    const dir = tempDir('resume-extend');
    const straight = await runTraining(smallConfig('dpo', dir, { steps: 7, evalEvery: 2, output: path.join(dir, 'a') }));
    const b = path.join(dir, 'b');
    const first = await runTraining(smallConfig('dpo', dir, { steps: 4, evalEvery: 2, output: b }));
    expect(first.steps).toBe(4);
    const retried = await runTraining(smallConfig('dpo', dir, { steps: 4, evalEvery: 2, output: b, resume: true }));
    expect(retried.alreadyFinished).toBe(true);
    expect(retried.steps).toBe(4);
    const extended = await runTraining(smallConfig('dpo', dir, { steps: 7, evalEvery: 2, output: b, resume: true }));
    expect(extended.alreadyFinished).toBe(false);
    expect(extended.steps).toBe(7);
    for (const [name, v] of straight.values) expect(extended.values.get(name), name).toEqual(v);
    const ma = readJsonl(path.join(dir, 'a', RUN_FILES.metrics));
    const mb = readJsonl(path.join(b, RUN_FILES.metrics));
    expect(mb.map((r) => r.step)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(mb.map((r) => r.loss)).toEqual(ma.map((r) => r.loss));
    expect(fs.readFileSync(path.join(b, RUN_FILES.card), 'utf8')).toContain('7 steps');
  }, 60_000);

  it('a --steps below the checkpoint is an error naming the flag, and leaves the run as it was', async () => {
    const dir = tempDir('resume-short');
    const out = path.join(dir, 'out');
    await runTraining(smallConfig('dpo', dir, { steps: 3, output: out }));
    const before = snapshot(out);
    await expect(runTraining(smallConfig('dpo', dir, { steps: 2, output: out, resume: true }))).rejects.toMatchObject({ code: 'ALIGNKIT_ERR_INVALID_ARGUMENT', message: expect.stringContaining('--steps') });
    expect(snapshot(out)).toEqual(before);
  }, 60_000);
});

describe('optimizer state loaded into a fresh optimizer', () => {
  it('regression: is what state() returns before the next step (a checkpoint saved then keeps the moments)', () => {
    const params = [{ name: 'w', data: Float32Array.of(1, 2, 3), dims: [3] }];
    const trained = createOptimizer('adamw', { lr: 0.1 });
    trained.step(params, { w: Float32Array.of(0.5, -1, 2) });
    const saved = trained.state();
    const fresh = createOptimizer('adamw', { lr: 0.1 });
    fresh.loadState(saved);
    const again = fresh.state();
    expect([...again.keys()].sort()).toEqual([...saved.keys()].sort());
    for (const [k, t] of saved) expect(again.get(k)!.data, k).toEqual(t.data);
  });
});
