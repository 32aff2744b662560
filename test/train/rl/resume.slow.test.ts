// An online run killed with SIGKILL and resumed from its last checkpoint ends with the weights of
// an uninterrupted run, bit for bit: the rollout sampler's seed, the minibatch order and the
// adaptive KL coefficient are all restored (issue #15), and a separate critic's weights and
// optimizer state with them.

import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadModel } from '../../../src/graph/index.js';
import { trainInChild } from '../run/child-train.js';
import { copySample, readJsonl, tempDir, TINY_LM, TINY_RM } from '../run/helpers.js';
import { PROMPTS } from './helpers.js';

function train(dir: string, out: string, prompts: string, extra: string[], killAtStep?: number) {
  const args = ['ppo', '--model', TINY_LM, '--prompts', prompts, '--reward', TINY_RM, '--steps', '8', '--limit', '40',
    '--max-length', '48', '--max-prompt-length', '24', '--max-new-tokens', '8', '--prompts-per-step', '4', '--batch-size', '2', '--micro-batch-size', '2',
    '--kl-target', '0.5', '--on-long-prompt', 'truncate', '--rl', '{"klHorizon":50,"evalPrompts":4}', '--eval-every', '4', '--checkpoint-every', '1', '--lr', '1e-3', '--no-progress', '--threads', '1',
    '--cache-dir', path.join(dir, 'cache'), ...extra];
  return trainInChild(dir, out, args, killAtStep);
}

describe('alignkit train ppo: resume after SIGKILL', () => {
  it('ends with the same exported weights and metrics as an uninterrupted run', async () => {
    const dir = tempDir('rl-kill');
    const prompts = copySample(dir, PROMPTS);
    expect((await train(dir, path.join(dir, 'a'), prompts, [])).code).toBe(0);
    const killed = await train(dir, path.join(dir, 'b'), prompts, [], 3);
    expect(killed.signal).toBe('SIGKILL');
    expect(fs.existsSync(path.join(dir, 'b', 'README.md'))).toBe(false);
    expect((await train(dir, path.join(dir, 'b'), prompts, ['--resume'])).code).toBe(0);
    const a = loadModel(path.join(dir, 'a', 'onnx/model.onnx')).graph.initializers;
    const b = loadModel(path.join(dir, 'b', 'onnx/model.onnx')).graph.initializers;
    for (const [name, t] of a) expect(b.get(name)!.data, name).toEqual(t.data);
    const ma = readJsonl(path.join(dir, 'a', 'metrics.jsonl'));
    const mb = readJsonl(path.join(dir, 'b', 'metrics.jsonl'));
    // Step 0 is the starting policy's evaluation, logged once: not again on resume.
    expect(mb.map((r) => r.step)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8]);
    for (const key of ['reward/mean', 'kl', 'kl_coef', 'loss', 'eval/reward/mean']) expect(mb.map((r) => r[key]), key).toEqual(ma.map((r) => r[key]));
  }, 300_000);

  it('with a separate critic (--critic DIR): the same policy, critic and metrics as an uninterrupted run', async () => {
    const dir = tempDir('rl-kill-critic');
    const prompts = copySample(dir, PROMPTS);
    const critic = ['--critic', TINY_RM, '--critic-lr', '5e-3'];
    expect((await train(dir, path.join(dir, 'a'), prompts, critic)).code).toBe(0);
    const killed = await train(dir, path.join(dir, 'b'), prompts, critic, 3);
    expect(killed.signal).toBe('SIGKILL');
    expect((await train(dir, path.join(dir, 'b'), prompts, [...critic, '--resume'])).code).toBe(0);
    for (const model of ['onnx/model.onnx', 'critic/onnx/model.onnx']) {
      const a = loadModel(path.join(dir, 'a', model)).graph.initializers;
      const b = loadModel(path.join(dir, 'b', model)).graph.initializers;
      for (const [name, t] of a) expect(b.get(name)!.data, `${model} ${name}`).toEqual(t.data);
    }
    // The critic trained: its score head is not the reward model's any more.
    const rm = loadModel(path.join(TINY_RM, 'onnx/model.onnx')).graph.initializers.get('score.weight')!.data;
    expect(loadModel(path.join(dir, 'a', 'critic/onnx/model.onnx')).graph.initializers.get('score.weight')!.data).not.toEqual(rm);
    const ma = readJsonl(path.join(dir, 'a', 'metrics.jsonl'));
    const mb = readJsonl(path.join(dir, 'b', 'metrics.jsonl'));
    expect(mb.map((r) => r.step)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8]);
    for (const key of ['reward/mean', 'kl', 'kl_coef', 'loss', 'loss/value', 'val/explained_variance', 'critic/lr', 'eval/reward/mean']) expect(mb.map((r) => r[key]), key).toEqual(ma.map((r) => r[key]));
  }, 300_000);
});
