// DPO's batch orientation, pinned from the dataset file to the loss: the rows the loss reads as
// chosen hold the dataset's chosen text. Swapping chosen and rejected anywhere on the way (the
// dataset convention, the run items, the row groups, the batch layout, the graph's slicing) trains
// the policy towards the rejected responses while every loss-level test still passes.

import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadPreferenceData, type PairedExample } from '../../../src/datasets/index.js';
import { loadModel } from '../../../src/graph/index.js';
import { createLoss, LossInputs } from '../../../src/losses/index.js';
import { loadModelDir } from '../../../src/models/index.js';
import { createOptimizer } from '../../../src/optim/index.js';
import { Trainer } from '../../../src/train/index.js';
import { buildBatch, buildRunGraph, KINDS, rowGroupsFor, RUN_DEFAULTS, sequenceSums, tokenizeItems, tokenizeSettings, type RowGroup } from '../../../src/train/run/index.js';
import { SAMPLE_OF, SAMPLES, TINY_LM } from './helpers.js';

const ONNX = path.join(TINY_LM, 'onnx/model.onnx');
const mean = (xs: ArrayLike<number>) => Array.from(xs).reduce((a, b) => a + b, 0) / xs.length;

describe('DPO batch orientation', () => {
  it('the chosen rows of a batch hold the dataset\'s chosen text, and the loss reads them as chosen', async () => {
    const data = await loadPreferenceData(path.join(SAMPLES, SAMPLE_OF.dpo), { limit: 3 });
    const examples = data.examples as PairedExample[];
    const { tokenizer: tok } = await loadModelDir(TINY_LM);
    const settings = tokenizeSettings({ maxLength: 48, maxPromptLength: 16, maxCompletionLength: undefined }, tok, KINDS.dpo);
    const { items } = tokenizeItems(examples, tok, settings);
    // Token ids, compared as prefixes: the length budget cuts responses (byte-level BPE may cut inside a character).
    const enc = (t: unknown) => tok.encode(t as string, { addSpecialTokens: false });
    const body = (ids: number[]) => (ids.at(-1) === tok.eosTokenId ? ids.slice(0, -1) : ids);
    const isPrefixOf = (ids: number[], of: number[]) => ids.length > 0 && ids.every((id, k) => of[k] === id);

    // 1. Items: response 0 is the chosen text (truncated to the length budget), response 1 the rejected.
    examples.forEach((ex, i) => {
      expect(isPrefixOf(body(items[i]!.responses[0]!), enc(ex.chosen)), `item ${i} chosen`).toBe(true);
      expect(isPrefixOf(body(items[i]!.responses[1]!), enc(ex.rejected)), `item ${i} rejected`).toBe(true);
      expect(isPrefixOf(body(items[i]!.responses[0]!), enc(ex.rejected)), `item ${i} chosen differs from rejected`).toBe(false);
    });

    // 2. The batch: the rows of the group the loss reads as policy_chosen, cut by their response mask, are those texts.
    const loss = createLoss('dpo');
    const groups = rowGroupsFor(loss, 'causal-lm');
    const source = loadModel(ONNX);
    const graph = buildRunGraph(source, { role: 'causal-lm', loss, groups, rows: items.length, train: 'full', lora: RUN_DEFAULTS.lora, seed: 1 });
    const indices = items.map((_, i) => i);
    // Reference sums of zero: the loss's chosen log-ratios are then the policy's chosen log-probs.
    const reference = new Map(groups.filter((g) => g.reference).map((g) => [g.reference!, new Float64Array(items.length)]));
    const batch = buildBatch({ forward: graph.forward, items, groups, loss, fed: graph.fedInputs, reference, padId: 0 }, indices, {}).feeds;
    const ids = batch['input_ids']!.data as BigInt64Array;
    const T = batch['input_ids']!.dims[1]!;
    const gi = groups.findIndex((g) => g.policy === LossInputs.policyChosen);
    const chosenMask = batch[groups[gi]!.mask!]!.data as Float32Array;
    examples.forEach((ex, b) => {
      const row = Array.from(ids.subarray((gi * items.length + b) * T, (gi * items.length + b + 1) * T), Number).filter((_, t) => chosenMask[b * T + t] === 1);
      expect(row, `batch row ${b}`).toEqual(items[b]!.responses[0]!);
      expect(isPrefixOf(body(row), enc(ex.chosen))).toBe(true);
    });

    // 3. The graph: logps/chosen (the mean of the policy's chosen log-probs, the policy being the starting model) equals
    //    the chosen texts' log-probs from a separate session, and not the rejected ones'.
    const byText = (k: number): RowGroup => ({ policy: `response${k}`, row: (its, i) => ({ prompt: its[i]!.prompt, response: its[i]!.responses[k]! }) });
    const [chosen, rejected] = await sequenceSums(ONNX, items, [byText(0), byText(1)], 0);
    expect(Math.abs(mean(chosen!) - mean(rejected!))).toBeGreaterThan(1);
    const trainer = await Trainer.create({ training: graph.training, source: graph.forward, optimizer: createOptimizer('adamw'), session: { intraOpThreads: 1 } });
    try {
      const r = await trainer.evaluate(batch);
      expect(r.metrics[graph.metricOutputs['logps/chosen']!]!).toBeCloseTo(mean(chosen!), 3);
      expect(r.metrics[graph.metricOutputs['logps/rejected']!]!).toBeCloseTo(mean(rejected!), 3);
    } finally {
      await trainer.release();
    }
  }, 60_000);
});
