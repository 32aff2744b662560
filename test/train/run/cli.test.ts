// `alignkit train` and `alignkit eval policy` through their commands (console output captured),
// plus the policy evaluation's numbers checked against an independent computation, and a LoRA run
// whose adapters are merged into the exported weights.

import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { loadCommand } from '../../../src/cli/commands/index.js';
import { evalCommand } from '../../../src/cli/commands/eval.js';
import { trainCommand } from '../../../src/cli/commands/train.js';
import { loadModel } from '../../../src/graph/index.js';
import { evaluatePolicy, runTraining } from '../../../src/train/run/index.js';
import { copySample, smallConfig, tempDir, TINY_LM } from './helpers.js';

function capture() {
  const lines: string[] = [];
  const spy = vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => void lines.push(args.join(' ')));
  return { lines, restore: () => spy.mockRestore() };
}

describe('alignkit train / eval policy commands', () => {
  afterEach(() => vi.restoreAllMocks());

  it('train is registered and runs from a config file with flag overrides', async () => {
    expect(await loadCommand('train')).toBe(trainCommand);
    const dir = tempDir('cli');
    const data = copySample(dir, 'ultrafeedback_binarized_sample_train.60.jsonl');
    const out = path.join(dir, 'out');
    const config = path.join(dir, 'run.json');
    fs.writeFileSync(config, JSON.stringify({ model: TINY_LM, data, output: out, limit: 12, steps: 50, maxLength: 48, maxPromptLength: 24 }));
    const cap = capture();
    const code = await trainCommand.run(['dpo', '--config', config, '--steps', '2', '--loss', 'ipo', '--no-progress', '--threads', '1', '--cache-dir', path.join(dir, 'cache')]);
    cap.restore();
    expect(code).toBe(0);
    const text = cap.lines.join('\n');
    expect(text).toMatch(/dpo ipo: 2 steps/);
    expect(text).toContain('reference log-probs computed and cached in');
    expect(text).toContain(`model written to ${out}`);
    expect(JSON.parse(fs.readFileSync(path.join(out, 'run-config.json'), 'utf8'))).toMatchObject({ loss: 'ipo', steps: 2, limit: 12 });
  }, 30_000);

  it('eval policy of a model against itself: accuracy 50% (all ties), KL 0', async () => {
    const dir = tempDir('evalself');
    const data = copySample(dir, 'ultrafeedback_binarized_sample_train.60.jsonl');
    const r = await evaluatePolicy({ model: TINY_LM, reference: TINY_LM, data, limit: 8, maxLength: 48, maxPromptLength: 24, threads: 1 });
    expect(r.pairs).toBe(8);
    expect(r.rewardAccuracy).toBe(0.5);
    expect(r.kl).toBe(0);
    expect(r.rewardMargin).toBe(0);
  }, 30_000);

  it('eval policy after DPO on the same pairs: the implicit reward ranks (nearly) all of them right', async () => {
    const dir = tempDir('evaldpo');
    const config = smallConfig('dpo', dir, { evalFraction: 0, steps: 12, limit: 8 });
    await runTraining(config);
    const cap = capture();
    expect(await evalCommand.run(['policy', '--model', config.output, '--reference', TINY_LM, '--data', config.data, '--limit', '8', '--max-length', '48', '--max-prompt-length', '24', '--json'])).toBe(0);
    cap.restore();
    const r = JSON.parse(cap.lines.join('\n')) as Awaited<ReturnType<typeof evaluatePolicy>>;
    expect(r.pairs).toBe(8);
    // Twelve full-batch DPO steps on these 8 pairs: the policy ranks (nearly) all of them right.
    expect(r.rewardAccuracy).toBeGreaterThanOrEqual(0.875);
    expect(r.rewardMargin).toBeGreaterThan(0);
    expect(Number.isFinite(r.kl)).toBe(true);
  }, 30_000);

  it('LoRA: only adapters train, and the export merges them into the base weights', async () => {
    const dir = tempDir('lora');
    const config = smallConfig('dpo', dir, { train: 'lora', lora: { rank: 2, alpha: 4, targets: 'all-linear' }, steps: 3, lr: 1e-2 });
    const r = await runTraining(config);
    const names = [...r.values.keys()];
    expect(names.length).toBeGreaterThan(0);
    expect(names.every((n) => /lora/i.test(n))).toBe(true);
    const before = loadModel(path.join(TINY_LM, 'onnx/model.onnx')).graph.initializers;
    const after = loadModel(path.join(config.output, 'onnx/model.onnx')).graph.initializers;
    expect([...after.keys()].some((n) => /lora/i.test(n))).toBe(false);
    const changed = [...after].filter(([n, t]) => before.get(n)!.data.some((v, i) => v !== t.data[i])).length;
    expect(changed).toBeGreaterThan(0);
  }, 30_000);
});
