// An online run killed with SIGKILL and resumed from its last checkpoint ends with the weights of
// an uninterrupted run, bit for bit: the rollout sampler's seed, the minibatch order and the
// adaptive KL coefficient are all restored (issue #15).

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadModel } from '../../../src/graph/index.js';
import { copySample, readJsonl, ROOT, tempDir, TINY_LM, TINY_RM } from '../run/helpers.js';
import { PROMPTS } from './helpers.js';

const MAIN = path.join(ROOT, 'src/cli/main.ts');
const REGISTER = path.join(ROOT, 'src/dev/register-ts.mjs');

function train(dir: string, out: string, prompts: string, extra: string[], killAtStep?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  const args = ['--import', REGISTER, MAIN, 'train', 'ppo', '--model', TINY_LM, '--prompts', prompts, '--reward', TINY_RM, '--output', out, '--steps', '8', '--limit', '40',
    '--max-length', '48', '--max-prompt-length', '24', '--max-new-tokens', '8', '--prompts-per-step', '4', '--batch-size', '2', '--micro-batch-size', '2',
    '--kl-target', '0.5', '--rl', '{"klHorizon":50,"evalPrompts":4}', '--eval-every', '4', '--checkpoint-every', '1', '--lr', '1e-3', '--no-progress', '--threads', '1',
    '--cache-dir', path.join(dir, 'cache'), ...extra];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd: dir, stdio: ['ignore', 'ignore', 'inherit'] });
    const metrics = path.join(out, 'metrics.jsonl');
    const timer = killAtStep === undefined ? undefined : setInterval(() => {
      if (fs.existsSync(metrics) && fs.readFileSync(metrics, 'utf8').split('\n').length > killAtStep) child.kill('SIGKILL');
    }, 5);
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      clearInterval(timer);
      resolve({ code, signal });
    });
  });
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
    expect(mb.map((r) => r.step)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    for (const key of ['reward/mean', 'kl', 'kl_coef', 'loss', 'eval/reward/mean']) expect(mb.map((r) => r[key]), key).toEqual(ma.map((r) => r[key]));
  }, 300_000);
});
