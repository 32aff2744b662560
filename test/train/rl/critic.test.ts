// `--critic DIR` (issue #15): PPO and RTO with a separate critic model, as OpenRLHF trains one. The
// critic (a reward model's own score head on every token, or a causal LM with a fresh value head)
// trains on PPO's value loss with its own optimizer while the policy trains on the surrogate alone;
// its graph's gradients match central differences; it resumes bit for bit with the policy (LoRA
// included); the flags' mistakes are one-line errors naming the flag.

import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadModel, type Feed } from '../../../src/graph/index.js';
import { configureLoss, createLoss, valueLoss } from '../../../src/losses/index.js';
import { loadModelDir, SequenceClassifier } from '../../../src/models/index.js';
import { createOptimizer } from '../../../src/optim/index.js';
import { buildCriticGraph, loadCritic } from '../../../src/train/rl/critic.js';
import { experienceBatch, rolloutItems, type Rollout, type RlSettings } from '../../../src/train/rl/index.js';
import { rowGroupsFor } from '../../../src/train/run/segments.js';
import { resolveRunConfig, runTraining, RUN_FILES, type RunConfig } from '../../../src/train/run/index.js';
import { Trainer } from '../../../src/train/trainer.js';
import { flagsToConfig } from '../../../src/cli/commands/train.js';
import { runCli } from '../../helpers/cli.js';
import { copySample, readJsonl, ROOT, tempDir, TINY_LM, TINY_RM } from '../run/helpers.js';
import { onlineConfig, PROMPTS, stopAndResume, untimed } from './helpers.js';

const initializers = (dir: string) => loadModel(path.join(dir, 'onnx/model.onnx')).graph.initializers;
const moved = (start: ReturnType<typeof initializers>, values: ReadonlyMap<string, Float32Array>) => [...values].filter(([n, v]) => start.has(n) && v.some((x, i) => x !== start.get(n)!.data[i]));

describe('train ppo --critic: a separate critic', () => {
  it('a reward model as critic: the policy trains on the surrogate alone, the critic on the value loss; both export', async () => {
    const dir = tempDir('critic-rm');
    const config = onlineConfig('ppo', dir, { rl: { critic: TINY_RM } });
    expect(config.lossHp.valueModel).toBe('critic');
    const r = await runTraining(config);
    const metrics = readJsonl(path.join(config.output, RUN_FILES.metrics));
    for (const m of metrics) for (const k of ['loss/value', 'val/clipfrac', 'val/mean', 'val/explained_variance', 'loss/policy']) expect(Number.isFinite(m[k]), `${k} at step ${m.step}`).toBe(true);
    // The run's loss is the policy's surrogate alone; the critic's rate is 9 x the policy's by default.
    for (const m of metrics) expect(m.loss).toBe(m['loss/policy']);
    expect(metrics[0]!['critic/lr']).toBeCloseTo(9 * config.lr, 12);
    // The critic starts as the reward model: its values on the first batch are the rewards' scale.
    expect(Math.abs((metrics[0]!['val/mean'] as number) - (metrics[0]!['reward/mean'] as number))).toBeLessThan(0.5);
    // No value head on the policy: its trained values are the starting model's initializers, and some moved.
    const lm = initializers(TINY_LM);
    expect([...r.values.keys()].filter((n) => !lm.has(n))).toEqual([]);
    expect(moved(lm, r.values).length).toBeGreaterThan(0);
    expect([...initializers(config.output).keys()].sort()).toEqual([...lm.keys()].sort());
    // The critic's weights moved, and OUTPUT/critic is a reward model directory holding them.
    const rm = initializers(TINY_RM);
    expect(r.critic!.dir).toBe(path.resolve(TINY_RM));
    expect(moved(rm, r.critic!.values).map(([n]) => n)).toContain('score.weight');
    const exported = initializers(path.join(config.output, 'critic'));
    for (const [name, v] of r.critic!.values) expect(exported.get(name)!.data, name).toEqual(v);
    expect(fs.existsSync(path.join(config.output, 'critic', 'README.md'))).toBe(false);
    const scorer = await SequenceClassifier.load(path.join(config.output, 'critic'));
    const [score] = await scorer.score([{ prompt: 'Hello', response: ' there' }]);
    expect(Number.isFinite(score![0])).toBe(true);
  }, 60_000);

  it('rto with a causal LM as critic: a fresh value head, zero at the start, trained and saved beside the critic', async () => {
    const dir = tempDir('critic-lm');
    const config = onlineConfig('rto', dir, { steps: 2, rl: { critic: TINY_LM, criticLr: 5e-3 } });
    const r = await runTraining(config);
    const [first] = readJsonl(path.join(config.output, RUN_FILES.metrics));
    // Every rollout-time value is 0 on the first batch: the returns' variance is all unexplained.
    expect(first!['val/explained_variance']).toBeCloseTo(0, 6);
    expect(first!['critic/lr']).toBeCloseTo(5e-3, 12);
    const head = [...r.critic!.values.keys()].filter((n) => n.startsWith('critic_value_head'));
    expect(head.length).toBe(2);
    expect(r.critic!.values.get(head.find((n) => n.endsWith('weight'))!)!.some((x) => x !== 0)).toBe(true);
    expect([...r.values.keys()].some((n) => n.startsWith('critic_value_head') || n.startsWith('value_head'))).toBe(false);
    expect(fs.existsSync(path.join(config.output, 'critic', 'value_head.safetensors'))).toBe(true);
    expect(moved(initializers(TINY_LM), r.critic!.values).length).toBeGreaterThan(0);
  }, 60_000);

  it('stopped and resumed with a LoRA policy: the same policy, critic and metrics as an uninterrupted run', async () => {
    const dir = tempDir('critic-resume');
    const config = onlineConfig('ppo', dir, { steps: 3, train: 'lora', lr: 1e-2, rl: { critic: TINY_RM } });
    const { straight, resumed, a, b } = await stopAndResume(config, 1);
    for (const [name, v] of straight.values) expect(resumed.values.get(name), name).toEqual(v);
    for (const [name, v] of straight.critic!.values) expect(resumed.critic!.values.get(name), name).toEqual(v);
    expect(b.map(untimed)).toEqual(a.map(untimed));
  }, 90_000);
});

/**
 * Four rollouts of fixed token ids (prompt, response), with returns and rollout-time values for the
 * value loss: old values at the returns on rows 0 and 2 (within the clip range of its target, the
 * unclipped term is the larger), 5 above them on rows 1 and 3 (the clipped value stays near 5 away:
 * that term is the larger, and flat).
 */
function fixedRollouts(): Rollout[] {
  const rows = [
    { prompt: [15, 16, 17], tokens: [40, 41, 42, 43], returns: [0.3, -0.2, 0.5, 0.1] },
    { prompt: [18, 19], tokens: [44, 45, 46], returns: [2.0, 1.5, 1.8] },
    { prompt: [20, 21, 22, 23], tokens: [47, 48], returns: [-0.5, 0.4] },
    { prompt: [24], tokens: [49, 50, 51, 52], returns: [0.9, 1.1, -0.3, 0.0] },
  ];
  return rows.map((r, i) => ({
    promptIndex: i, prompt: r.prompt, tokens: r.tokens, text: '', ended: true, oldLogps: new Float32Array(r.tokens.length), entropy: [],
    oldValues: Float32Array.from(r.returns, (x) => x + (i % 2 === 1 ? 5 : 0)), returns: Float32Array.from(r.returns),
  }));
}

async function criticOnFixedBatch(hp: Record<string, unknown>, lr: number, recompute = false) {
  const policy = await loadModelDir(TINY_LM);
  const critic = await loadCritic(TINY_RM, policy);
  const loss = configureLoss(valueLoss, hp);
  const graph = buildCriticGraph(critic.forward, loss, 2, recompute);
  const trainer = await Trainer.create({ training: graph.training, source: critic.forward.model, optimizer: createOptimizer('adamw', { lr, weightDecay: 0 }), metrics: Object.values(graph.metricOutputs), session: { intraOpThreads: 1 } });
  const rows = fixedRollouts();
  const ctx = { forward: critic.forward.model, items: rolloutItems(rows), groups: rowGroupsFor(createLoss('ppo', { valueModel: 'critic' }), 'causal-lm'), loss, fed: graph.fed, reference: new Map(), padId: policy.tokenizer.padTokenId };
  const feeds: Record<string, Feed>[] = [experienceBatch(ctx, rows, [0, 1], {}).feeds, experienceBatch(ctx, rows, [2, 3], {}).feeds];
  return { trainer, feeds, graph };
}

describe("the critic's training graph", () => {
  it('the value loss falls over a few updates on one fixed batch, and the score head and backbone move', async () => {
    // Value clipping far away: the clipped loss is the plain regression of the values on the returns.
    const { trainer, feeds } = await criticOnFixedBatch({ valueClipRange: 100 }, 1e-2);
    const start = new Map([...trainer.values()].map(([n, v]) => [n, Float32Array.from(v)]));
    const losses: number[] = [];
    for (let i = 0; i < 6; i++) losses.push((await trainer.step(feeds)).loss);
    for (let i = 1; i < 4; i++) expect(losses[i]!, `update ${i}`).toBeLessThan(losses[i - 1]!);
    expect(losses.at(-1)!).toBeLessThan(0.5 * losses[0]!);
    const changed = [...trainer.values()].filter(([n, v]) => v.some((x, i) => x !== start.get(n)![i])).map(([n]) => n);
    expect(changed).toContain('score.weight');
    expect(changed).toContain('transformer.ln_f.weight');
    await trainer.release();
  });

  it("gradients of the clipped value loss through the critic's forward match central differences", async () => {
    // A clip range of 0.2: the clipped branch wins on row 1's tokens (no gradient there), not on row 0's.
    const { trainer, feeds, graph } = await criticOnFixedBatch({ valueClipRange: 0.2 }, 1e-3);
    const feed = feeds[0]!;
    const base = new Map([...trainer.values()].map(([n, v]) => [n, Float32Array.from(v)]));
    const at = await trainer.evaluate(feed);
    const clipfrac = at.metrics[graph.metricOutputs['val/clipfrac']!]!;
    expect(clipfrac).toBeCloseTo(3 / 7, 6); // row 1's 3 of the 7 response tokens
    const analytic = new Map([...at.gradients].map(([n, g]) => [n, Float32Array.from(g)]));
    const lossAt = async (name: string, i: number, delta: number) => {
      const values = new Map([...base].map(([n, v]) => [n, Float32Array.from(v)]));
      values.get(name)![i]! += delta;
      trainer.setParams(values);
      return (await trainer.evaluate(feed)).loss;
    };
    const eps = 1e-2;
    let checked = 0;
    for (const name of ['score.weight', 'transformer.ln_f.weight', 'transformer.ln_f.bias', 'transformer.h.1.mlp.c_proj.bias']) {
      for (let i = 0; i < 8; i++) {
        const numeric = ((await lossAt(name, i, eps)) - (await lossAt(name, i, -eps))) / (2 * eps);
        const a = analytic.get(name)![i]!;
        expect(Math.abs(a - numeric), `${name}[${i}]: analytic ${a}, numeric ${numeric}`).toBeLessThan(2e-3 + 3e-2 * Math.abs(numeric));
        checked++;
      }
    }
    expect(checked).toBe(32);
    expect([...analytic.get('score.weight')!].some((g) => Math.abs(g) > 1e-2)).toBe(true);
    await trainer.release();
  });
});

describe("the critic's graph with --recompute", () => {
  it('gives the same loss and gradients as the stored-activation graph, from a graph that recomputes', async () => {
    const plain = await criticOnFixedBatch({ valueClipRange: 0.2 }, 1e-3);
    const recomputed = await criticOnFixedBatch({ valueClipRange: 0.2 }, 1e-3, true);
    expect(recomputed.graph.training.model.graph.nodes.length).toBeGreaterThan(plain.graph.training.model.graph.nodes.length);
    const [a, b] = [await plain.trainer.evaluate(plain.feeds[0]!), await recomputed.trainer.evaluate(recomputed.feeds[0]!)];
    expect(b.loss).toBeCloseTo(a.loss, 6);
    for (const [name, g] of a.gradients) {
      const h = b.gradients.get(name)!;
      let worst = 0;
      g.forEach((x, i) => (worst = Math.max(worst, Math.abs(x - h[i]!))));
      expect(worst, name).toBeLessThan(1e-5 + 1e-4 * Math.max(...g.map(Math.abs)));
    }
    await plain.trainer.release();
    await recomputed.trainer.release();
  });
});

describe('--critic and --critic-lr mistakes', () => {
  it('grpo and rloo refuse --critic in one line naming the flag; so does --critic-lr without --critic', async () => {
    const dir = tempDir('critic-flags');
    const prompts = copySample(dir, PROMPTS);
    for (const kind of ['grpo', 'rloo']) {
      const r = await runCli('train', kind, '--model', TINY_LM, '--prompts', prompts, '--reward', TINY_RM, '--critic', TINY_RM, '--output', path.join(dir, kind));
      expect(r.code).not.toBe(0);
      expect(r.err.trim().split('\n')).toHaveLength(1);
      expect(r.err).toContain(`--critic DIR is a value function, and loss ${kind} has none (--critic is for ppo, rto)`);
    }
    const noCritic = await runCli('train', 'ppo', '--model', TINY_LM, '--prompts', prompts, '--reward', TINY_RM, '--critic-lr', '1e-4', '--output', path.join(dir, 'ppo'));
    expect(noCritic.code).not.toBe(0);
    expect(noCritic.err).toContain('--critic-lr');
    expect(noCritic.err).toContain('--critic DIR');
    expect(() => flagsToConfig('ppo', ['--critic-lr', 'fast'], {})).toThrow(/--critic-lr/);
  });

  it('names the field of each configuration mistake', () => {
    const dir = tempDir('critic-config');
    const config = (over: Partial<Omit<RunConfig, 'rl'>> & { rl?: Partial<RlSettings> }) => onlineConfig('ppo', dir, over);
    expect(() => config({ rl: { critic: TINY_RM, criticLr: -1 } })).toThrow(/rl\.criticLr: must be a positive learning rate/);
    expect(() => config({ rl: { critic: '' } })).toThrow(/rl\.critic: must be a model directory/);
    expect(() => config({ lossHp: { valueModel: 'head' }, rl: { critic: TINY_RM } })).toThrow(/lossHp\.valueModel: head puts the value function on the policy while --critic DIR/);
    expect(() => config({ lossHp: { valueModel: 'critic' } })).toThrow(/lossHp\.valueModel: critic trains a separate critic model: give it with --critic DIR/);
    // A resolved config read back (run-config.json on --resume) resolves to itself.
    const resolved = config({ rl: { critic: TINY_RM } });
    expect(resolveRunConfig(JSON.parse(JSON.stringify(resolved)))).toEqual(resolved);
  });

  it('refuses an encoder critic and one with another tokenizer before training, naming --critic', async () => {
    const dir = tempDir('critic-models');
    const encoder = onlineConfig('ppo', dir, { rl: { critic: path.join(ROOT, 'data/models/tiny-bert-rm-multi') } });
    await expect(runTraining(encoder)).rejects.toThrow(/--critic .*tiny-bert-rm-multi is a bert encoder/);
    const other = onlineConfig('ppo', dir, { rl: { critic: path.join(ROOT, 'data/models/alignkit-rm') } });
    await expect(runTraining(other)).rejects.toThrow(/critic .*alignkit-rm .*does not share.*values are read at the policy's token positions/);
  });
});
