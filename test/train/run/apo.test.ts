// APO (iterative DPO with Nesterov extrapolation between rounds) on the tiny GPT-2: each round
// starts from and is referenced against the previous round's extrapolated policy, and the
// extrapolation is theta_hat + alpha (theta_hat - previous theta_hat), checked value by value.

import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadModel } from '../../../src/graph/index.js';
import { resolveRunConfig, runApo } from '../../../src/train/run/index.js';
import { smallConfig, tempDir, TINY_LM } from './helpers.js';

const onnx = (dir: string) => loadModel(path.join(dir, 'onnx/model.onnx')).graph.initializers;

describe('APO rounds', () => {
  it('two rounds with momentum 0.5: references move, extrapolation is exact, the output is the last extrapolated model', async () => {
    const dir = tempDir('apo');
    const config = smallConfig('dpo', dir, { steps: 3, rounds: 2, momentum: 0.5 });
    const firstLosses: number[] = [];
    let stepOfRound = 0;
    const r = await runApo(config, { rounds: 2, momentum: 0.5 }, { onStep: (s, l) => { if (s === 1) firstLosses.push(l); stepOfRound = s; } });
    expect(stepOfRound).toBe(3);
    expect(r.rounds).toHaveLength(2);
    // Each round computes the reference of a new model (its own cache key) ...
    expect(r.rounds.map((x) => x.reference.computed)).toEqual([true, true]);
    expect(r.rounds[0]!.reference.file).not.toBe(r.rounds[1]!.reference.file);
    // ... and starts AT its reference: the first DPO loss of each round is -log sigmoid(0) = ln 2.
    for (const l of firstLosses) expect(l).toBeCloseTo(Math.LN2, 3);
    const base = onnx(TINY_LM);
    const hat1 = onnx(path.join(config.output, 'round-1'));
    const x1 = onnx(path.join(config.output, 'round-1-extrapolated'));
    const hat2 = onnx(path.join(config.output, 'round-2'));
    const out = onnx(config.output);
    const name = 'transformer.h.0.attn.c_attn.weight';
    const [b, h1, e1, h2, o] = [base, hat1, x1, hat2, out].map((m) => m.get(name)!.data as Float32Array);
    for (let i = 0; i < b!.length; i += 37) {
      expect(e1![i]).toBe(Math.fround(h1![i]! + 0.5 * (h1![i]! - b![i]!)));
      expect(o![i]).toBe(Math.fround(h2![i]! + 0.5 * (h2![i]! - h1![i]!)));
    }
    expect(h1).not.toEqual(b);
    expect(fs.existsSync(path.join(config.output, 'README.md'))).toBe(true);
  }, 60_000);

  it('is iterative DPO only', () => {
    expect(() => resolveRunConfig({ kind: 'rm', model: 'm', data: 'd', output: 'o', rounds: 2 })).toThrow(/rounds/);
  });
});
