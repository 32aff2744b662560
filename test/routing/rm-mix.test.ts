// The reward-model mix evaluator end to end on a tiny PandaLM slice with the tiny fixture reward
// model: rows are oriented by the mixed label with ties dropped, held-out pairs may never be in the
// pool, and the returned accuracy is the share of held-out pairs where the HUMAN MAJORITY's choice
// scores higher, checked against the same model scored pair by pair.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { routeCommand } from '../../src/cli/commands/route.js';
import { OnnxRewardModel } from '../../src/rewards/index.js';
import { loadPandaLM, pandalmFiles, type PandaLMData } from '../../src/routing/eval/pandalm.js';
import { orientedRow, pairwiseAccuracy, rmAccuracyTracker, rmMixEvaluator, trainOnMix, type RmMixInput } from '../../src/routing/eval/rm-mix.js';
import type { Preference, RoutingPair } from '../../src/routing/types.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const TINY_RM = path.join(ROOT, 'data/models/tiny-gpt2-rm');
/** A seconds-long run of the fixture: the head only, short sequences. */
const TINY_RUN = { model: TINY_RM, train: 'head', steps: 2, batchSize: 4, maxLength: 48, maxPromptLength: 24, threads: 1 };

/** Independent formula: score every response on its own and count the reference's wins. */
async function handAccuracy(model: OnnxRewardModel, pairs: RoutingPair[], reference: (Preference | null)[]): Promise<{ accuracy: number; counted: number }> {
  let wins = 0;
  let counted = 0;
  for (const [i, p] of pairs.entries()) {
    if (reference[i] !== 'A' && reference[i] !== 'B') continue;
    const [a] = await model.score([{ prompt: p.prompt, response: p.responseA }], { truncate: true });
    const [b] = await model.score([{ prompt: p.prompt, response: p.responseB }], { truncate: true });
    counted++;
    if (reference[i] === 'A' ? a![0]! > b![0]! : b![0]! > a![0]!) wins++;
  }
  return { accuracy: wins / counted, counted };
}

describe('reward-model mix evaluator', () => {
  let data: PandaLMData;
  let input: RmMixInput;
  beforeAll(() => {
    data = loadPandaLM();
    // Pool: pairs 0..11; held out: pairs 20..31 (disjoint ids).
    input = {
      pool: data.pairs.slice(0, 12),
      human: data.annotators.slice(0, 12).map((a) => a[0]!),
      ai: data.judges['gpt-3.5-turbo']!.slice(0, 12),
      heldOut: data.pairs.slice(20, 32),
      heldOutMajority: data.majority.slice(20, 32),
    };
  });

  it('orients a pair by its label and drops ties and missing labels', () => {
    const p: RoutingPair = { id: 'x', prompt: 'q', responseA: 'a', responseB: 'b' };
    expect(orientedRow(p, 'A')).toEqual({ id: 'x', prompt: 'q', chosen: 'a', rejected: 'b' });
    expect(orientedRow(p, 'B')).toEqual({ id: 'x', prompt: 'q', chosen: 'b', rejected: 'a' });
    expect(orientedRow(p, 'tie')).toBeNull();
    expect(orientedRow(p, null)).toBeNull();
  });

  it('pairwise accuracy counts only A/B references and matches scoring pair by pair', async () => {
    const model = await OnnxRewardModel.load(TINY_RM);
    const reference: (Preference | null)[] = ['A', 'B', 'tie', null, 'B', 'A', 'A', 'B'];
    const pairs = data.pairs.slice(40, 48);
    const got = await pairwiseAccuracy(model, pairs, reference, 3);
    const want = await handAccuracy(model, pairs, reference);
    expect(got.counted).toBe(6);
    expect(got.accuracy).toBeCloseTo(want.accuracy, 10);
    // Flipping every reference flips every win (no exact score ties on distinct responses).
    const flipped = reference.map((r) => (r === 'A' ? 'B' : r === 'B' ? 'A' : r));
    expect((await pairwiseAccuracy(model, pairs, flipped, 4)).accuracy).toBeCloseTo(1 - got.accuracy, 10);
    await model.release();
  }, 30_000);

  it('trains on the mix without ties and scores the held-out pairs against the human majority', async () => {
    // Mix labels with two ties and one missing label: 9 of the 12 pool pairs are trained on.
    const labels: (Preference | null)[] = ['A', 'B', 'tie', 'A', null, 'B', 'B', 'tie', 'A', 'A', 'B', 'A'];
    // A learning rate of 1e-12 leaves the weights as they were (to float precision), so the trained
    // model's held-out accuracy must equal the fixture's own accuracy against the majority.
    const result = await trainOnMix(input, labels, { ...TINY_RUN, lr: 1e-12 });
    expect(result.trainPairs).toBe(9);
    const base = await OnnxRewardModel.load(TINY_RM);
    const want = await handAccuracy(base, input.heldOut, [...input.heldOutMajority]);
    await base.release();
    expect(result.heldOutPairs).toBe(want.counted);
    expect(result.heldOutPairs).toBe(input.heldOutMajority.filter((m) => m === 'A' || m === 'B').length);
    expect(result.accuracy).toBeCloseTo(want.accuracy, 10);
  }, 60_000);

  it('as an EvaluateMix it trains on human labels where routed and AI labels elsewhere', async () => {
    // AI labels that contradict every human label, so which label a pair gets changes the run.
    const flip = (p: Preference | null) => (p === 'A' ? 'B' : p === 'B' ? 'A' : p);
    const contrary = { ...input, ai: input.human.map(flip) };
    const options = { ...TINY_RUN, lr: 1e-2, steps: 3 };
    const isHuman = new Uint8Array(12).fill(1, 0, 6);
    const accuracy = await rmMixEvaluator(contrary, options)({ budget: 6, human: [0, 1, 2, 3, 4, 5], isHuman });
    // The same labels built by hand (human for pairs 0..5, AI for 6..11) and the same fixed seed
    // give the same run; the mix the other way round (AI for 0..5) gives a different one.
    const handLabels = [...contrary.human.slice(0, 6), ...contrary.ai.slice(6)];
    const swappedLabels = [...contrary.ai.slice(0, 6), ...contrary.human.slice(6)];
    expect(accuracy).toBeCloseTo((await trainOnMix(contrary, handLabels, options)).accuracy, 10);
    expect(accuracy).not.toBeCloseTo((await trainOnMix(contrary, swappedLabels, options)).accuracy, 6);
  }, 60_000);

  it('refuses a held-out pair that is also in the pool, naming it', async () => {
    const leaky = { ...input, heldOut: [...input.heldOut, input.pool[3]!], heldOutMajority: [...input.heldOutMajority, 'A' as const] };
    await expect(trainOnMix(leaky, input.ai, TINY_RUN)).rejects.toThrow(`held-out pair '${input.pool[3]!.id}'`);
  });

  it('refuses a mix with nothing to train on', async () => {
    await expect(trainOnMix(input, new Array(12).fill('tie'), TINY_RUN)).rejects.toThrow(/no pair labelled A or B/);
  });

  it('rmAccuracyTracker trains once per distinct label set and reports per run and budget', async () => {
    const lines: string[] = [];
    const tracker = rmAccuracyTracker({ pool: input.pool, heldOut: input.heldOut, heldOutMajority: input.heldOutMajority }, 2, TINY_RUN, (l) => lines.push(l));
    const same = [...input.ai];
    await tracker.onSelection({ run: 'random', budget: 0, seed: 0, labels: same });
    await tracker.onSelection({ run: 'oracle', budget: 0, seed: 0, labels: same });
    await tracker.onSelection({ run: 'random', budget: 0, seed: 5, labels: input.human as Preference[] }); // beyond 2 selections: skipped
    expect(lines).toHaveLength(1);
    expect(tracker.accuracies('random', 0)).toEqual(tracker.accuracies('oracle', 0));
    expect(tracker.accuracies('random', 0)).toHaveLength(1);
  }, 60_000);

  it('alignkit route eval --rm-eval prints agreement and reward-model accuracy for every strategy on pair and gold files', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'alignkit-rm-eval-'));
    const files = pandalmFiles(data);
    fs.writeFileSync(path.join(dir, 'pairs.jsonl'), files.pairs.slice(0, 60).map((r) => JSON.stringify(r)).join('\n'));
    fs.writeFileSync(path.join(dir, 'gold.jsonl'), files.gold.slice(0, 60).map((r) => JSON.stringify(r)).join('\n'));
    const out: string[] = [];
    const progress: string[] = [];
    vi.spyOn(console, 'log').mockImplementation((line: string) => void out.push(line));
    vi.spyOn(console, 'error').mockImplementation((line: string) => void progress.push(line));
    try {
      const argv = ['eval', '--pairs', path.join(dir, 'pairs.jsonl'), '--gold', path.join(dir, 'gold.jsonl'), '--rm-eval', '--rm-model', TINY_RM, '--rm-train', 'head', '--rm-steps', '1', '--rm-selections', '1',
        '--budgets', '0,1.0', '--selections', '2', '--strategies', 'active:topk@reliability-only,random,oracle'];
      expect(await routeCommand.run(argv)).toBe(0);
    } finally {
      vi.restoreAllMocks();
      fs.rmSync(dir, { recursive: true, force: true });
    }
    const text = out.join('\n');
    // 60 pairs, 12 held out: a pool of 48, all of it to humans at 100%.
    expect(text).toContain('on 48 pairs (12 held out for the reward models)');
    expect(text).toContain('| strategy (reward-model accuracy, %) | 0 pairs (0 of 48) | 100% (48 of 48) |');
    expect(text).toMatch(/\| active:topk \[reliability only\] \| \d+\.\d\d \(\+0\.00\) \|/);
    // Budgets 0 and 100% are one run each (the same labels whatever the strategy).
    expect(progress).toHaveLength(2);
  }, 60_000);
});
