// The run graph computes a causal LM's logits only from the shortest prompt's last position on
// (LOGITS_FROM): every loss reads the policy's token log-probs through its groups' response masks,
// so skipping the prompts must change nothing. Checked loss by loss on one graph fed two ways: the
// batch's own start, and 0 (every position, what the graph computed before).

import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadModel, Session, type Feed } from '../../../src/graph/index.js';
import { createLoss, LOSSES } from '../../../src/losses/index.js';
import { buildBatch, buildRunGraph, LOGITS_FROM, rowGroupsFor, RUN_DEFAULTS, type RunItem } from '../../../src/train/run/index.js';
import { TINY_LM } from './helpers.js';

const source = loadModel(path.join(TINY_LM, 'onnx/model.onnx'));
const ids = (n: number, seed: number) => Array.from({ length: n }, (_, k) => 5 + ((seed * 31 + k * 17) % 400));
// Prompts of 6, 9 and 4 tokens: logits from position 3 on.
const ITEMS: RunItem[] = [6, 9, 4].map((p, i) => ({
  id: `item-${i}`, prompt: ids(p, i), responses: [ids(5 + i, 10 + i), ids(7 - i, 20 + i)], label: i % 2, margin: 0.5 + i, udmWeight: 1 + 0.25 * i,
}));

// SRPO's rows are built from revision templates the run attaches (srpo.test.ts covers its batches).
const SKIPPED = new Set(['srpo']);

/**
 * Losses a causal LM's run feeds from its row groups alone. The others read policy values a stage's
 * forward extension adds (token-level KL heads, PPO's value head), and with an extension the run
 * graph computes every position's logits.
 */
function causalLmLosses(): string[] {
  return Object.keys(LOSSES).filter((name) => {
    if (SKIPPED.has(name)) return false;
    const loss = createLoss(name);
    try {
      const groups = rowGroupsFor(loss, 'causal-lm');
      return loss.inputs.filter((s) => s.side === 'policy').every((s) => groups.some((g) => g.policy === s.name));
    } catch {
      return false;
    }
  });
}

describe('logits from the shortest prompt on', () => {
  const names = causalLmLosses();

  it('covers the DPO family', () => {
    for (const name of ['dpo', 'ipo', 'simpo', 'orpo', 'kto', 'sft', 'grpo', 'rloo']) expect(names).toContain(name);
  });

  it.each(names)('%s: the same loss and gradients as with every position\'s logits', async (name) => {
    const loss = createLoss(name);
    const groups = rowGroupsFor(loss, 'causal-lm');
    const graph = buildRunGraph(source, { role: 'causal-lm', loss, groups, rows: ITEMS.length, train: 'full', lora: RUN_DEFAULTS.lora, seed: 1 });
    expect(graph.fedInputs.map((s) => s.name)).toContain(LOGITS_FROM);
    const reference = new Map(groups.filter((g) => g.reference).map((g) => [g.reference!, Float64Array.from(ITEMS, (_, i) => -20 - i)]));
    const feeds: Record<string, Feed> = buildBatch({ forward: graph.forward, items: ITEMS, groups, loss, fed: graph.fedInputs, reference, padId: 0 }, [0, 1, 2], {}).feeds;
    expect(Array.from(feeds[LOGITS_FROM]!.data as BigInt64Array)).toEqual([3n]);
    for (const p of graph.trainable) feeds[p] = graph.forward.graph.initializers.get(p)!;
    // What other stages feed (per-token reference log-probs of token-level losses, online rollouts'
    // old log-probs and advantages): values at every position, so a read outside the masks would show.
    const T = feeds.input_ids!.dims[1]!;
    for (const spec of loss.inputs.filter((s) => !feeds[s.name] && s.side !== 'policy')) {
      const dims = spec.dims.map((d) => (d === 'B' ? ITEMS.length : d === 'T' ? T : Number(d)));
      feeds[spec.name] = { dtype: 'float32', dims, data: Float32Array.from({ length: dims.reduce((a, b) => a * b, 1) }, (_, k) => -1 - ((k * 7) % 5) / 4) };
    }
    const session = await Session.create(graph.training.model, { intraOpThreads: 1 });
    try {
      const skipped = await session.run(feeds);
      const full = await session.run({ ...feeds, [LOGITS_FROM]: { dtype: 'int64', dims: [1], data: BigInt64Array.of(0n) } });
      const lossOut = graph.training.lossOutput;
      expect(Number(skipped[lossOut]!.data[0])).toBeCloseTo(Number(full[lossOut]!.data[0]), 5);
      for (const [param, grad] of graph.training.gradients) {
        const [a, b] = [skipped[grad]!.data as Float32Array, full[grad]!.data as Float32Array];
        const scale = Math.max(1e-6, ...b.map(Math.abs));
        expect(Math.max(...a.map((v, i) => Math.abs(v - b[i]!))) / scale, `${name}: ${param}`).toBeLessThan(1e-5);
      }
    } finally {
      await session.release();
    }
  });
});
