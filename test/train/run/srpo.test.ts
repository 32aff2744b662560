// SRPO through `alignkit train dpo --loss srpo`: the revision prompt layout (prompt + template(draft)
// before the response) checked id by id through the tiny GPT-2's real tokenizer, an end-to-end run
// whose loss falls, the step-1 loss of a policy equal to its reference, and the reference cache of
// the four row groups (reused by the next run, re-keyed by the template).

import fs from 'node:fs';
import path from 'node:path';
import { tableFromIPC } from 'apache-arrow';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { trainCommand } from '../../../src/cli/commands/train.js';
import type { PairedExample } from '../../../src/datasets/index.js';
import { createLoss, LossInputs, SrpoInputs } from '../../../src/losses/index.js';
import { loadModelDir } from '../../../src/models/index.js';
import {
  DEFAULT_REVISION_TEMPLATE, KINDS, revisionLayout, RUN_FILES, rowGroupsFor, runTraining, tokenizeItems, tokenizeSettings, withRevisionLayout,
} from '../../../src/train/run/index.js';
import { copySample, readJsonl, SAMPLE_OF, smallConfig, tempDir, TINY_LM } from './helpers.js';

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

async function tinyItems(maxLength: number, template: string) {
  const { tokenizer: tok } = await loadModelDir(TINY_LM);
  const example: PairedExample = { id: 'p0', prompt: 'What is two plus two?', chosen: ' Four.', rejected: ' Five, I think.' };
  const settings = tokenizeSettings({ maxLength, maxPromptLength: Math.min(16, maxLength - 1), maxCompletionLength: undefined }, tok, KINDS.dpo);
  const { items } = tokenizeItems([example], tok, settings);
  return { tok, example, items: withRevisionLayout(items, revisionLayout(template, tok, maxLength, tok.eosTokenId)) };
}

describe('SRPO revision rows', () => {
  const groups = rowGroupsFor(createLoss('srpo'), 'causal-lm');
  const row = (policy: string) => groups.find((g) => g.policy === policy)!;

  it('the batch holds four groups per pair: chosen, rejected, revision, self-revision', () => {
    expect(groups.map((g) => g.policy)).toEqual([LossInputs.policyChosen, LossInputs.policyRejected, SrpoInputs.revision, SrpoInputs.selfRevision]);
    expect(groups.map((g) => g.reference)).toEqual([LossInputs.refChosen, LossInputs.refRejected, SrpoInputs.refRevision, SrpoInputs.refSelfRevision]);
  });

  it('are prompt + template(draft) then the response, id for id through the real tokenizer', async () => {
    const { tok, example, items } = await tinyItems(128, '\nDraft:{draft}\nBetter:');
    const enc = (t: string) => tok.encode(t, { addSpecialTokens: false });
    const eos = tok.eosTokenId!;
    // By hand: each piece tokenized alone; the draft is the rejected response WITHOUT the EOS the run appends to responses.
    const prompt = [...enc(example.prompt as string), ...enc('\nDraft:'), ...enc(' Five, I think.'), ...enc('\nBetter:')];
    const revision = row(SrpoInputs.revision).row(items, 0);
    expect(revision).toEqual({ prompt, response: [...enc(' Four.'), eos] });
    expect(row(SrpoInputs.selfRevision).row(items, 0)).toEqual({ prompt, response: [...enc(' Five, I think.'), eos] });
    // Read back as text: exactly the layout, one EOS at the very end.
    expect(tok.decode([...revision.prompt, ...revision.response])).toBe('What is two plus two?\nDraft: Five, I think.\nBetter: Four.<|endoftext|>');
    // The plain rows are untouched.
    expect(row(LossInputs.policyChosen).row(items, 0).prompt).toEqual(enc(example.prompt as string));
  });

  it('past maxLength keep both responses whole and cut the shared prompt from its start', async () => {
    const long = await tinyItems(128, DEFAULT_REVISION_TEMPLATE);
    const full = row(SrpoInputs.revision).row(long.items, 0).prompt;
    const maxLength = 20;
    const { items } = await tinyItems(maxLength, DEFAULT_REVISION_TEMPLATE);
    const [chosen, rejected] = items[0]!.responses as [number[], number[]];
    const revision = row(SrpoInputs.revision).row(items, 0);
    const self = row(SrpoInputs.selfRevision).row(items, 0);
    expect(revision.response).toEqual(chosen);
    expect(self.response).toEqual(rejected);
    // Both rows see the same context; the longer (self-revision) row fills maxLength exactly.
    expect(self.prompt).toEqual(revision.prompt);
    expect(self.prompt.length + rejected.length).toBe(maxLength);
    expect(revision.prompt).toEqual(full.slice(full.length - (maxLength - rejected.length)));
  });

  it('a template without exactly one {draft} is rejected naming the field', () => {
    expect(() => smallConfig('dpo', tempDir('srpo-bad'), { loss: 'srpo', revisionTemplate: 'Improve it:' })).toThrow(/revisionTemplate.*\{draft\}/);
  });
});

describe('alignkit train dpo --loss srpo', () => {
  afterEach(() => vi.restoreAllMocks());

  it('runs end to end through the command; step 1 is the policy at its reference and the loss falls', async () => {
    const dir = tempDir('srpo-cli');
    const data = copySample(dir, SAMPLE_OF.dpo);
    const out = path.join(dir, 'out');
    const config = path.join(dir, 'run.json');
    fs.writeFileSync(config, JSON.stringify({ model: TINY_LM, data, output: out, limit: 16, evalFraction: 0.25, maxLength: 64, maxPromptLength: 24, lr: 1e-4 }));
    const lines: string[] = [];
    vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => void lines.push(args.join(' ')));
    const code = await trainCommand.run(['dpo', '--config', config, '--loss', 'srpo', '--steps', '10', '--no-progress', '--threads', '1', '--cache-dir', path.join(dir, 'cache')]);
    expect(code).toBe(0);
    expect(lines.join('\n')).toMatch(/dpo srpo: 10 steps/);
    for (const f of Object.values(RUN_FILES)) expect(fs.existsSync(path.join(out, f)), f).toBe(true);
    const metrics = readJsonl(path.join(out, RUN_FILES.metrics)) as Record<string, number>[];
    // Step 1: policy == reference, so every log-ratio h, h+ is 0 and the SRPO residual of each pair is
    // p - 1/2 - beta*0 + beta*0 = 1/2 (hard labels): the loss is (1/2)^2 = 0.25.
    const first = metrics[0]!;
    expect(first.loss).toBeCloseTo(0.25, 4);
    for (const k of ['revision/reward', 'revision/self_reward', 'rewards/chosen', 'rewards/rejected']) expect(Math.abs(first[k]!), k).toBeLessThan(1e-4);
    const losses = metrics.map((m) => m.loss!);
    // A squared loss on summed log-ratios is stiff: at lr 1e-4 it falls without a single step above the start
    // (at 1e-3 Adam overshoots to losses of several units), and the last steps are well below 0.25.
    expect(losses.every((l) => Number.isFinite(l) && l <= 0.25 + 1e-4)).toBe(true);
    expect(mean(losses.slice(-3))).toBeLessThan(0.5 * losses[0]!);
    // The revision rows are the longer layout: the mean revision length is the chosen response's.
    expect(first['lengths/revision']).toBeCloseTo(first['lengths/chosen']!, 6);
  }, 60_000);

  it('a soft preference p gives the step-1 loss (p - 1/2)^2', async () => {
    const dir = tempDir('srpo-soft');
    const r = await runTraining(smallConfig('dpo', dir, { loss: 'srpo', lossHp: { preference: 0.8 }, steps: 1 }));
    const first = readJsonl(path.join(r.outDir, RUN_FILES.metrics))[0] as Record<string, number>;
    expect(first.loss).toBeCloseTo((0.8 - 0.5) ** 2, 4);
  }, 30_000);
});

describe('SRPO reference log-probs', () => {
  it('are cached for all four groups, reused by the next run, and re-keyed by the template', async () => {
    const dir = tempDir('srpo-cache');
    const first = await runTraining(smallConfig('dpo', dir, { loss: 'srpo', steps: 1 }));
    expect(first.reference.computed).toBe(true);
    const file = first.reference.file!;
    const table = tableFromIPC(fs.readFileSync(file));
    const column = (n: string) => Array.from(table.getChild(n)!.toArray() as Float64Array);
    expect(table.schema.fields.map((f) => f.name)).toEqual(['id', LossInputs.refChosen, LossInputs.refRejected, SrpoInputs.refRevision, SrpoInputs.refSelfRevision]);
    // The revision sums score the same responses in another context: different numbers, all finite log-probs.
    expect(column(SrpoInputs.refRevision)).not.toEqual(column(LossInputs.refChosen));
    expect(column(SrpoInputs.refSelfRevision).every((v) => Number.isFinite(v) && v < 0)).toBe(true);
    const mtime = fs.statSync(file).mtimeMs;
    const second = await runTraining(smallConfig('dpo', dir, { loss: 'srpo', steps: 1, output: path.join(dir, 'again') }));
    expect(second.reference).toEqual({ file, computed: false });
    expect(fs.statSync(file).mtimeMs).toBe(mtime);
    expect(second.firstLoss).toBeCloseTo(first.firstLoss, 6);
    // Another template is another revision context: a new key and a new file.
    const third = await runTraining(smallConfig('dpo', dir, { loss: 'srpo', steps: 1, output: path.join(dir, 'third'), revisionTemplate: '\nRevise: {draft}\n' }));
    expect(third.reference.computed).toBe(true);
    expect(third.reference.file).not.toBe(file);
    // Plain DPO on the same data keeps its own key: the revision template is not part of it.
    const dpo = await runTraining(smallConfig('dpo', dir, { steps: 1, output: path.join(dir, 'dpo') }));
    const dpoAgain = await runTraining(smallConfig('dpo', dir, { steps: 1, output: path.join(dir, 'dpo2'), revisionTemplate: '\nRevise: {draft}\n' }));
    expect(dpoAgain.reference).toEqual({ file: dpo.reference.file, computed: false });
  }, 60_000);
});
