// `alignkit score` (issue #12 §5): batch scoring of a dataset file without a server, rewards per row
// and per model, ensembles combined as the rewards module combines them.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadPreferenceData, readRows, writeRows, type Row } from '../../src/datasets/index.js';
import { OnnxRewardModel, combineScores } from '../../src/rewards/index.js';
import { runCli } from '../helpers/cli.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ak-score-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
const GPT2_RM = path.resolve('data/models/tiny-gpt2-rm');
const BERT_RM = path.resolve('data/models/tiny-bert-rm-multi');
const HH = path.resolve('data/samples/hh_rlhf_harmless_base_test.200.jsonl');

async function rows(file: string): Promise<Row[]> {
  const out: Row[] = [];
  for await (const { row } of readRows(file)) out.push(row);
  return out;
}

const ITEMS = Array.from({ length: 11 }, (_, i) => ({ id: `r${i}`, prompt: `Question ${i}: what is ${i} + ${i}?`, response: i % 3 === 0 ? '' : `It is ${2 * i}.${' Indeed.'.repeat(i)}` }));

describe('alignkit score', () => {
  it('scores response rows with each model and combines them, keeping the input columns and order', async () => {
    const input = path.join(dir, 'items.parquet');
    await writeRows(input, ITEMS);
    const output = path.join(dir, 'scored.jsonl');
    const r = await runCli('score', '--model', `a=${GPT2_RM}`, '--model', `b=${BERT_RM}`, '--combine', 'uncertainty', '--lambda', '2', '--data', input, '--output', output, '--batch-size', '4');
    expect(r.code, r.err).toBe(0);
    expect(r.out).toBe(`11 rows scored by a, b (uncertainty) -> ${output}`);
    const got = await rows(output);
    const a = await OnnxRewardModel.load(GPT2_RM);
    const b = await OnnxRewardModel.load(BERT_RM);
    const ra = await a.score(ITEMS, { truncate: true });
    const rb = await b.score(ITEMS, { truncate: true });
    got.forEach((row, i) => {
      expect(row).toMatchObject(ITEMS[i]!);
      expect(row.reward_a).toBeCloseTo(ra[i]![0]!, 5);
      expect(row.reward_b).toBeCloseTo(rb[i]![0]!, 5); // the first head alone, as the server weights by default
      expect(row.reward).toBeCloseTo(combineScores([ra[i]![0]!, rb[i]![0]!], { method: 'uncertainty', lambda: 2 }), 5);
      expect(row.reward_variance).toBeCloseTo(((ra[i]![0]! - rb[i]![0]!) / 2) ** 2, 5);
    });
  });

  it('scores both sides of preference pairs of any convention', async () => {
    const output = path.join(dir, 'hh.arrow');
    const r = await runCli('score', '--model', GPT2_RM, '--data', HH, '--output', output);
    expect(r.code, r.err).toBe(0);
    const got = await rows(output);
    const pairs = (await loadPreferenceData(HH, { kind: 'paired' })).examples;
    expect(got).toHaveLength(200);
    const rm = await OnnxRewardModel.load(GPT2_RM);
    const [chosen, rejected] = await rm.score([{ prompt: pairs[7]!.prompt, response: pairs[7]!.chosen }, { prompt: pairs[7]!.prompt, response: pairs[7]!.rejected }], { truncate: true });
    expect(got[7]!.chosen_reward).toBeCloseTo(chosen![0]!, 5);
    expect(got[7]!['rejected_reward_tiny-gpt2-rm']).toBeCloseTo(rejected![0]!, 5);
    expect(got[7]!.chosen).toBe((await rows(HH))[7]!.chosen);
  });

  it('names the file row of a bad row, and skips it with --skip-bad-rows', async () => {
    const input = path.join(dir, 'bad.jsonl');
    fs.writeFileSync(input, ITEMS.map((it, i) => JSON.stringify(i === 5 ? { ...it, response: 7 } : it)).join('\n'));
    const output = path.join(dir, 'bad-out.jsonl');
    const failed = await runCli('score', '--model', GPT2_RM, '--data', input, '--output', output);
    expect(failed.code).toBe(1);
    expect(failed.err).toContain(`${input} row 6: field "response" must be a string or a list of messages, got number`);
    expect(fs.existsSync(output)).toBe(false);
    const skipped = await runCli('score', '--model', GPT2_RM, '--data', input, '--output', output, '--skip-bad-rows');
    expect(skipped.out).toContain('10 rows scored by tiny-gpt2-rm -> ');
    expect(skipped.out).toContain('; 1 bad rows skipped');
    expect((await rows(output)).map((x) => x.id)).toEqual(ITEMS.filter((_, i) => i !== 5).map((x) => x.id));
  });

  it('--no-truncate names the row that is too long', async () => {
    const input = path.join(dir, 'long.jsonl');
    fs.writeFileSync(input, [ITEMS[1], { ...ITEMS[2], response: 'long '.repeat(400) }].map((x) => JSON.stringify(x)).join('\n'));
    const r = await runCli('score', '--model', GPT2_RM, '--data', input, '--output', path.join(dir, 'long-out.jsonl'), '--no-truncate');
    expect(r.code).toBe(1);
    expect(r.err).toMatch(new RegExp(`${input} row 2: .*tokens, more than the limit`));
  });
});
