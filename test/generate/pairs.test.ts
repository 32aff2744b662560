import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Generator, sampleRankedPairs, type TextScorer } from '../../src/generate/index.js';
import { loadPreferenceData } from '../../src/datasets/index.js';
import { OnnxRewardModel } from '../../src/rewards/index.js';
import { runCli } from '../helpers/cli.js';

const LM = path.resolve('data/models/tiny-gpt2');
const RM = path.resolve('data/models/tiny-gpt2-rm');
const PROMPTS = ['Once upon a time', 'The cat sat', 'Hello there', 'A small dog'];
const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'ak-pairs-'));

describe('sampleRankedPairs', () => {
  it('keeps the best and the worst of n sampled responses, as the scorer ranks them', async () => {
    const gen = await Generator.load(LM);
    const cfg = { maxNewTokens: 6, temperature: 1.5, seed: 5 };
    // A scorer whose ranking is known: longer text wins.
    const byLength: TextScorer = async (items) => items.map((it) => it.response.length);
    const { pairs, ties } = await sampleRankedPairs(gen, PROMPTS, byLength, { n: 3, config: cfg, batchSize: 2 });
    // Candidate j of batch b is an ordinary sampled run with seed 5 + 3b + j: redo them and rank by hand.
    let ranked = 0;
    let tied = 0;
    for (let b = 0; b < 2; b++) {
      const batch = PROMPTS.slice(2 * b, 2 * b + 2);
      const runs = await Promise.all([0, 1, 2].map((j) => gen.generate(batch, { ...cfg, sampler: 'sample', seed: 5 + 3 * b + j })));
      batch.forEach((prompt, i) => {
        const texts = runs.map((r) => r[i]!.text);
        const lengths = texts.map((t) => t.length);
        const pair = pairs.find((p) => p.prompt === prompt);
        if (Math.max(...lengths) === Math.min(...lengths)) {
          tied++;
          return expect(pair).toBeUndefined();
        }
        ranked++;
        expect(pair!.chosen.length).toBe(Math.max(...lengths));
        expect(pair!.rejected.length).toBe(Math.min(...lengths));
        expect(texts).toContain(pair!.chosen);
        expect(texts).toContain(pair!.rejected);
      });
    }
    expect(pairs.length + ties).toBe(PROMPTS.length);
    // Not vacuous: with every prompt tied the loop above checks nothing. These settings rank most prompts.
    expect(ranked).toBeGreaterThanOrEqual(3);
    expect([pairs.length, ties]).toEqual([ranked, tied]);
  });

  it('drops prompts whose candidates all score the same and counts them', async () => {
    const gen = await Generator.load(LM);
    const flat: TextScorer = async (items) => items.map(() => 1);
    const r = await sampleRankedPairs(gen, PROMPTS.slice(0, 2), flat, { n: 2, config: { maxNewTokens: 3 } });
    expect(r).toEqual({ pairs: [], ties: 2 });
  });

  it('needs at least two candidates', async () => {
    const gen = await Generator.load(LM);
    await expect(sampleRankedPairs(gen, PROMPTS, async (x) => x.map(() => 0), { n: 1 })).rejects.toThrow(/n >= 2/);
  });
});

describe('alignkit pairs', () => {
  it('writes a preference dataset whose scores are the judge model scores, readable by the dataset loader', async () => {
    const dir = tmp();
    const prompts = path.join(dir, 'prompts.jsonl');
    fs.writeFileSync(prompts, PROMPTS.map((prompt) => JSON.stringify({ prompt })).join('\n'));
    const out = path.join(dir, 'pairs.jsonl');
    const { code, out: printed } = await runCli('pairs', '--base', LM, '--judge', RM, '--prompts', prompts, '--n', '3', '--max-tokens', '8', '--temperature', '1.5', '--seed', '2', '--out', out);
    expect(code).toBe(0);
    const rows = fs.readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(rows.length).toBeGreaterThan(0);
    const judge = await OnnxRewardModel.load(RM);
    for (const row of rows) {
      expect(row.chosen_score).toBeGreaterThan(row.rejected_score);
      const [c, r] = await judge.score([{ prompt: row.prompt, response: row.chosen }, { prompt: row.prompt, response: row.rejected }], { truncate: true });
      expect(c![0]).toBeCloseTo(row.chosen_score, 4);
      expect(r![0]).toBeCloseTo(row.rejected_score, 4);
    }
    expect(printed).toBe(`${rows.length} pairs from ${PROMPTS.length} prompts written to ${out} (${PROMPTS.length - rows.length} prompts dropped: every candidate scored the same)`);
    const loaded = await loadPreferenceData(out, { kind: 'paired' });
    expect(loaded.examples.map((e) => e.prompt)).toEqual(rows.map((r) => r.prompt));
  });

  it('names the missing flag', async () => {
    const r = await runCli('pairs', '--base', LM, '--prompts', 'x.jsonl', '--out', 'y.jsonl');
    expect(r.code).not.toBe(0);
    expect(r.err).toMatch(/missing --judge/);
  });
});
