import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { runCli } from '../helpers/cli.js';
import type { EvalRmResult } from '../../src/eval/index.js';
import { OnnxRewardModel } from '../../src/rewards/index.js';
import { DATA } from '../helpers/paths.js';

const HH = path.join(DATA, 'samples', 'hh_rlhf_harmless_base_test.200.jsonl');
const UF = path.join(DATA, 'samples', 'ultrafeedback_binarized_sample_train.60.jsonl');
const GPT_RM = path.join(DATA, 'models', 'tiny-gpt2-rm');
const LM = path.join(DATA, 'models', 'tiny-gpt2');
// A policy that is its own reference: its DPO-implied reward is 0 for both sides, so never strictly better.
const ZERO_RM = `dpo-implied:${LM},${LM}`;
const LIMIT = 30;

afterEach(() => vi.restoreAllMocks());

const run = runCli;

const jsonl = (file: string): Record<string, unknown>[] => fs.readFileSync(file, 'utf8').split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as Record<string, unknown>);

/** Length-baseline credit straight from the raw rows, without the datasets module. */
function rawLengthCredit(rows: { chosen: string; rejected: string }[]): number {
  // HH-RLHF rows hold whole dialogues sharing everything but the last reply, so comparing whole
  // strings compares the responses; UltraFeedback rows hold the responses alone.
  return rows.reduce((s, r) => s + (r.chosen.length > r.rejected.length ? 1 : r.chosen.length === r.rejected.length ? 0.5 : 0), 0);
}

describe('alignkit eval rm on shipped samples', () => {
  it('prints a consistent RewardBench-style table for two models and two subsets', async () => {
    const { code, out, err } = await run('eval', 'rm', '--model', GPT_RM, '--model', ZERO_RM, '--data', HH, '--data', UF, '--limit', String(LIMIT), '--json');
    expect(err).toBe('');
    expect(code).toBe(0);
    const { report, data } = JSON.parse(out) as EvalRmResult;

    const hhRows = jsonl(HH).slice(0, LIMIT) as { chosen: string; rejected: string }[];
    const ufRows = (jsonl(UF) as { chosen: string; rejected: string; metadata: { score_chosen: number; score_rejected: number } }[])
      .filter((r) => r.metadata.score_chosen !== r.metadata.score_rejected)
      .slice(0, LIMIT);
    expect(data.map((d) => [path.basename(d.file), d.pairs, d.convention])).toEqual([
      [path.basename(HH), LIMIT, 'hh-rlhf'],
      [path.basename(UF), LIMIT, 'ultrafeedback-binarized'],
    ]);
    expect(report.models).toEqual(['tiny-gpt2-rm', `dpo-implied:${LM}`]);
    expect(report.overall.correct[1]).toBe(0);
    const [hh, uf] = [report.subsets.find((s) => s.source === path.basename(HH))!, report.subsets.find((s) => s.source === path.basename(UF))!];
    expect([hh.count, uf.count, report.overall.count]).toEqual([LIMIT, LIMIT, 2 * LIMIT]);

    // Per-subset results recombine to the overall row.
    for (let m = 0; m < 2; m++) {
      expect(hh.correct[m]! + uf.correct[m]!).toBe(report.overall.correct[m]);
      expect(report.overall.accuracy[m]).toBeCloseTo((hh.count * hh.accuracy[m]! + uf.count * uf.accuracy[m]!) / report.overall.count, 12);
      expect(report.macroAccuracy[m]).toBeCloseTo((hh.accuracy[m]! + uf.accuracy[m]!) / 2, 12);
    }
    // The length baseline, recomputed from the raw files.
    expect(hh.lengthCredit).toBe(rawLengthCredit(hhRows));
    expect(uf.lengthCredit).toBe(rawLengthCredit(ufRows));
    expect(report.overall.lengthCredit).toBe(rawLengthCredit(hhRows) + rawLengthCredit(ufRows));

    // The model column: the UltraFeedback subset scored directly (prompt + each response, truncated).
    const rm = await OnnxRewardModel.load(GPT_RM);
    const items = ufRows.flatMap((r) => [
      { prompt: (r as unknown as { prompt: string }).prompt, response: r.chosen },
      { prompt: (r as unknown as { prompt: string }).prompt, response: r.rejected },
    ]);
    const scores = await rm.score(items, { truncate: true });
    const wins = ufRows.filter((_, i) => scores[2 * i]![0]! > scores[2 * i + 1]![0]!).length;
    expect(uf.correct[0]).toBe(wins);
    await rm.release();
  });

  it('prints the table with file lines, and names missing options', async () => {
    const { code, out } = await run('eval', 'rm', '--model', GPT_RM, '--data', UF, '--limit', '8');
    expect(code).toBe(0);
    const ties = (jsonl(UF) as { metadata: { score_chosen: number; score_rejected: number } }[]).slice(0, 10).filter((r) => r.metadata.score_chosen === r.metadata.score_rejected).length;
    expect(ties).toBe(2); // the first 8 non-tie pairs are the first 10 rows
    expect(out).toContain(`${UF}: 8 pairs (ultrafeedback-binarized), ${ties} ties dropped, 0 bad rows skipped`);
    expect(out).toMatch(/subset\s+pairs\s+tiny-gpt2-rm\s+length\s+majority/);
    expect(out).toMatch(/\noverall\s+8\s/);
    expect((await run('eval', 'rm', '--data', UF)).err).toContain('eval rm needs at least one --model');
    // PandaLM idx 18 has an empty response1: a classifier scores it (regression). A pair a model
    // cannot score (too long without truncation) fails with the pair, file and side named.
    const pandalm = path.join(DATA, 'samples', 'pandalm_testset_v1.120.json');
    const scored = await run('eval', 'rm', '--model', GPT_RM, '--data', pandalm);
    expect(scored.code).toBe(0);
    const failed = await run('eval', 'rm', '--model', GPT_RM, '--data', pandalm, '--no-truncate');
    expect(failed.code).toBe(1);
    expect(failed.err).toMatch(/tiny-gpt2-rm cannot score pair 0 \(pandalm_testset_v1\.120\.json\), chosen side: item \d+ has \d+ tokens, more than the limit/);
    expect((await run('eval', 'bogus')).err).toBe("alignkit eval: unknown subcommand 'bogus' (subcommands: rm, policy)");
  });
});
