// APO (iterative DPO with Nesterov extrapolation between rounds) on the tiny GPT-2: each round
// starts from and is referenced against the previous round's extrapolated policy, and the
// extrapolation is theta_hat + alpha (theta_hat - previous theta_hat), checked value by value.

import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadModel } from '../../../src/graph/index.js';
import { Generator, sampleRankedPairs } from '../../../src/generate/index.js';
import { OnnxRewardModel } from '../../../src/rewards/index.js';
import { readPrompts } from '../../../src/datasets/index.js';
import { resolveRunConfig, runApo, type RunConfig } from '../../../src/train/run/index.js';
import { readJsonl, smallConfig, tempDir, TINY_LM, TINY_RM } from './helpers.js';

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

  it('online rounds train each round on pairs sampled from its starting policy and ranked by the judge', async () => {
    const dir = tempDir('apo-online');
    const regenerate = { judge: TINY_RM, n: 2, maxNewTokens: 6, temperature: 1.5 };
    const config = smallConfig('dpo', dir, { steps: 2, limit: 6, rounds: 2, momentum: 0.5, regenerate: regenerate as RunConfig['regenerate'] });
    expect(config.regenerate).toEqual({ judge: TINY_RM, n: 2, maxNewTokens: 6, temperature: 1.5 });
    const r = await runApo(config, { rounds: 2, momentum: 0.5 });
    expect(r.regenerated.map((g) => path.basename(g.file))).toEqual(['round-1-pairs.jsonl', 'round-2-pairs.jsonl']);
    const judge = await OnnxRewardModel.load(TINY_RM);
    const prompts = await readPrompts(config.data, config.limit);
    for (const [i, start] of [TINY_LM, path.join(config.output, 'round-1-extrapolated')].entries()) {
      const round = i + 1;
      const file = path.join(config.output, `round-${round}-pairs.jsonl`);
      // The round trained on its own pairs ...
      expect(JSON.parse(fs.readFileSync(path.join(config.output, `round-${round}`, 'run-config.json'), 'utf8')).data).toBe(file);
      // ... which are exactly what the round's starting policy samples and the judge ranks.
      const expected = await sampleRankedPairs(await Generator.load(start), prompts, async (items) => (await judge.score(items, { truncate: true })).map((x) => x[0]!), {
        n: 2, maxPromptTokens: config.maxPromptLength, config: { maxNewTokens: 6, temperature: 1.5, seed: config.seed + 1000 * round },
      });
      const written = readJsonl(file);
      expect(written.map((p) => [p.chosen, p.rejected])).toEqual(expected.pairs.map((p) => [p.chosen, p.rejected]));
      expect(written.length + r.regenerated[i]!.ties).toBe(prompts.length);
    }
  }, 60_000);

  it('checks the regenerate settings by name', () => {
    const base = { kind: 'dpo' as const, model: 'm', data: 'd', output: 'o' };
    expect(() => resolveRunConfig({ ...base, regenerate: { judge: '' } as RunConfig['regenerate'] })).toThrow(/regenerate\.judge/);
    expect(() => resolveRunConfig({ ...base, regenerate: { judge: 'rm', n: 1 } as RunConfig['regenerate'] })).toThrow(/regenerate\.n/);
    expect(() => resolveRunConfig({ ...base, kind: 'rm', regenerate: { judge: 'rm' } as RunConfig['regenerate'] })).toThrow(/regenerate/);
  });

  it('is iterative DPO only', () => {
    expect(() => resolveRunConfig({ kind: 'rm', model: 'm', data: 'd', output: 'o', rounds: 2 })).toThrow(/rounds/);
  });
});
