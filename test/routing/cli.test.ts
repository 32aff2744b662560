import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { routeCommand } from '../../src/cli/commands/route.js';
import { readRows } from '../../src/datasets/index.js';
import { loadPandaLM, pandalmFiles } from '../../src/routing/eval/pandalm.js';
import { openLabelStore } from '../../src/routing/store/index.js';
import { listVerdicts } from '../../src/routing/store/verdicts.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'alignkit-route-cli-'));
const f = (name: string) => path.join(dir, name);
let out: string[];

beforeEach(() => {
  out = [];
  vi.spyOn(console, 'log').mockImplementation((...a) => void out.push(a.join(' ')));
});
afterEach(() => vi.restoreAllMocks());
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

async function rows(file: string): Promise<Record<string, unknown>[]> {
  const all = [];
  for await (const { row } of readRows(file)) all.push(row);
  return all;
}

describe('alignkit route', () => {
  const data = loadPandaLM();
  const n = 120;

  it('features -> fit -> select on real files', async () => {
    fs.writeFileSync(f('pairs.jsonl'), data.pairs.slice(0, n).map((p) => JSON.stringify({ id: p.id, prompt: p.prompt, response_a: p.responseA, response_b: p.responseB })).join('\n'));
    expect(await routeCommand.run(['features', '--input', f('pairs.jsonl'), '--output', f('features.jsonl')])).toBe(0);
    const feats = await rows(f('features.jsonl'));
    expect(feats).toHaveLength(n);
    expect((feats[0].features as string[]).every((name) => typeof name === 'string')).toBe(true);

    expect(await routeCommand.run(['fit', '--ridge', '1', '--folds', '26', '--output', f('model.json')])).toBe(0);
    expect(out.join('\n')).toMatch(/\| 26-fold CV \| 0\.\d{4} \|/);
    expect(JSON.parse(fs.readFileSync(f('model.json'), 'utf8')).coef).toHaveLength(90);

    expect(await routeCommand.run(['select', '--features', f('features.jsonl'), '--model', f('model.json'), '--strategy', 'topk', '--budget', '0.25', '--output', f('routed.jsonl')])).toBe(0);
    const routed = await rows(f('routed.jsonl'));
    expect(routed.filter((r) => r.route === 'human')).toHaveLength(30);
    const gains = routed.filter((r) => r.route === 'human').map((r) => r.gain as number);
    const aiMax = Math.max(...routed.filter((r) => r.route === 'ai').map((r) => r.gain as number));
    expect(Math.min(...gains)).toBeGreaterThanOrEqual(aiMax);
  });

  it('simulate writes a mix table that fit reads back', async () => {
    const labels = data.pairs.slice(0, n).map((p, i) => ({ id: p.id, human: data.annotators[i][0], ai: data.judges['gpt-3.5-turbo'][i], reference: data.majority[i] }));
    fs.writeFileSync(f('labels.jsonl'), labels.map((l) => JSON.stringify(l)).join('\n'));
    expect(await routeCommand.run(['simulate', '--features', f('features.jsonl'), '--labels', f('labels.jsonl'), '--mixes', '30', '--output', f('mixes.jsonl')])).toBe(0);
    const mixes = await rows(f('mixes.jsonl'));
    expect(mixes).toHaveLength(30);
    expect(mixes.every((m) => (m.score as number) >= 0 && (m.score as number) <= 1)).toBe(true);
    expect(await routeCommand.run(['fit', '--mixes', f('mixes.jsonl'), '--target', 'score', '--ridge', '0.1'])).toBe(0);
    expect(out.join('\n')).toMatch(/on 30 mixes/);
  });

  it('regression: labels written as 1 / 2 (as public sets store them) are read, not turned into null', async () => {
    const code = (p: string | null) => (p === 'A' ? 1 : p === 'B' ? 2 : p === 'tie' ? 0 : null);
    const labels = data.pairs.slice(0, n).map((p, i) => ({ id: p.id, human: code(data.annotators[i][0]), ai: code(data.judges['gpt-3.5-turbo'][i]), reference: code(data.majority[i]) }));
    fs.writeFileSync(f('labels12.jsonl'), labels.map((l) => JSON.stringify(l)).join('\n'));
    expect(await routeCommand.run(['simulate', '--features', f('features.jsonl'), '--labels', f('labels12.jsonl'), '--mixes', '10', '--output', f('mixes12.jsonl')])).toBe(0);
    const mixes = await rows(f('mixes12.jsonl'));
    expect(Math.min(...mixes.map((m) => m.score as number))).toBeGreaterThan(0.5);
    fs.writeFileSync(f('bad.jsonl'), labels.map((l, i) => JSON.stringify({ ...l, human: i === 4 ? 'maybe' : l.human })).join('\n'));
    await expect(routeCommand.run(['simulate', '--features', f('features.jsonl'), '--labels', f('bad.jsonl'), '--output', f('x.jsonl')])).rejects.toThrow(/bad\.jsonl: row 5: field 'human' is "maybe"/);
  });

  it('regression: route simulate --output m.parquet, then route fit --mixes m.parquet', async () => {
    expect(await routeCommand.run(['simulate', '--features', f('features.jsonl'), '--labels', f('labels.jsonl'), '--mixes', '12', '--output', f('mixes.parquet')])).toBe(0);
    out = [];
    expect(await routeCommand.run(['fit', '--mixes', f('mixes.parquet'), '--target', 'score', '--ridge', '0.1', '--folds', '3'])).toBe(0);
    expect(out.join('\n')).toMatch(/on 12 mixes from .*mixes\.parquet/);
  });

  it("regression: the released-mix PPM's extrapolation (2.96 for a score in [0, 1]) is not printed as a predicted score", async () => {
    expect(await routeCommand.run(['fit', '--ridge', '0', '--output', f('released.json')])).toBe(0);
    out = [];
    expect(await routeCommand.run(['select', '--features', f('features.jsonl'), '--model', f('released.json'), '--strategy', 'topk', '--budget', '0.25', '--output', f('r.jsonl')])).toBe(0);
    const line = out.join('\n');
    expect(line).not.toMatch(/predicted score [1-9]/);
    expect(line).toMatch(/no predicted score: the PPM's output -?\d+\.\d+ lies outside the 0\.\d+\.\.0\.\d+ its mixes scored/);
  });

  it('--help on route and on every subcommand prints usage and exits 0; an unknown flag is named', async () => {
    expect(await routeCommand.run(['--help'])).toBe(0);
    expect(out.join('\n')).toMatch(/usage: alignkit route <subcommand>/);
    for (const sub of ['features', 'verdicts', 'fit', 'select', 'simulate', 'eval', 'pandalm']) {
      out = [];
      expect(await routeCommand.run([sub, '--help'])).toBe(0);
      expect(out.join('\n')).toContain(`usage: alignkit route ${sub}`);
    }
    await expect(routeCommand.run(['select', '--stratgy', 'topk'])).rejects.toThrow(/route select: Unknown option '--stratgy'/);
    vi.spyOn(console, 'error').mockImplementation(() => undefined);
    expect(await routeCommand.run(['nope'])).toBe(2);
  });

  it('undeclared extra feature columns are refused; declared ones change the active decision', async () => {
    // Pairs where gpt-3.5 is wrong carry an informative extra column `hard`; the other pairs are
    // labelled only after routing. The judge verdicts give the AI label.
    const files = pandalmFiles(data);
    const pairRows = files.pairs.slice(0, n).map((r, i) => ({ ...r, hard: data.judges['gpt-3.5-turbo'][i] === data.majority[i] ? 0 : 1 }));
    fs.writeFileSync(f('vpairs.jsonl'), pairRows.map((r) => JSON.stringify(r)).join('\n'));
    expect(await routeCommand.run(['features', '--input', f('vpairs.jsonl'), '--output', f('vfeat.jsonl'), '--aggregate', 'judge:gpt-3.5-turbo', '--extra-features', 'hard'])).toBe(0);
    const feats = await rows(f('vfeat.jsonl'));
    expect(feats[0]).toHaveProperty('hard');
    expect(feats[0]).toHaveProperty('ai_label');
    expect(Object.keys(feats[0].reliability as object)).toEqual(['judges_disagree', 'judge_missing', 'ai_tie']);
    const human = data.pairs.slice(0, n).map((p, i) => ({ id: p.id, label: data.majority[i] }));
    fs.writeFileSync(f('human.jsonl'), human.map((r) => JSON.stringify(r)).join('\n'));
    const select = (extra: string[]) => ['select', '--features', f('vfeat.jsonl'), '--strategy', 'active', '--budget', '20', '--pilot-sampling', 'random', '--human-labels', f('human.jsonl'), ...extra];
    await expect(routeCommand.run([...select([]), '--output', f('a.jsonl')])).rejects.toThrow(/vfeat\.jsonl: row 1: numeric column 'hard' is not declared; to route with it pass --extra-features hard/);
    expect(await routeCommand.run([...select(['--extra-features', 'hard']), '--output', f('with.jsonl')])).toBe(0);
    fs.writeFileSync(f('vfeat-nohard.jsonl'), feats.map(({ hard: _hard, ...r }) => JSON.stringify(r)).join('\n'));
    expect(await routeCommand.run(['select', '--features', f('vfeat-nohard.jsonl'), '--strategy', 'active', '--budget', '20', '--pilot-sampling', 'random', '--human-labels', f('human.jsonl'), '--output', f('without.jsonl')])).toBe(0);
    const hardRouted = async (file: string) => (await rows(file)).filter((r, i) => r.route === 'human' && r.step !== 'pilot' && pairRows[i].hard === 1).length;
    const routedAfterPilot = (await rows(f('with.jsonl'))).filter((r) => r.route === 'human' && r.step !== 'pilot').length;
    expect(routedAfterPilot).toBe(10);
    expect(await hardRouted(f('with.jsonl'))).toBe(10);
    expect(await hardRouted(f('without.jsonl'))).toBeLessThan(10);
  });

  it('simulated mixes carry the reliability and declared columns; fit learns them and select routes with them', async () => {
    const labels = data.pairs.slice(0, n).map((p, i) => ({ id: p.id, human: data.annotators[i][0], ai: data.judges['gpt-3.5-turbo'][i], reference: data.majority[i] }));
    fs.writeFileSync(f('vlabels.jsonl'), labels.map((l) => JSON.stringify(l)).join('\n'));
    expect(await routeCommand.run(['simulate', '--features', f('vfeat.jsonl'), '--extra-features', 'hard', '--labels', f('vlabels.jsonl'), '--mixes', '40', '--output', f('vmixes.parquet')])).toBe(0);
    out = [];
    expect(await routeCommand.run(['fit', '--mixes', f('vmixes.parquet'), '--target', 'score', '--ridge', '0.01', '--folds', '4', '--output', f('vmodel.json')])).toBe(0);
    expect(out.join('\n')).toMatch(/4 more: judges_disagree=1, judge_missing=1, ai_tie=1, hard=1/);
    const model = JSON.parse(fs.readFileSync(f('vmodel.json'), 'utf8'));
    expect(model.features.slice(-1)).toEqual(['hard=1']);
    // `hard` marks exactly the pairs gpt-3.5 got wrong: routing them to humans raises agreement the most.
    expect(model.coef[model.features.indexOf('hard=1')]).toBeGreaterThan(0);
    expect(await routeCommand.run(['select', '--features', f('vfeat.jsonl'), '--extra-features', 'hard', '--model', f('vmodel.json'), '--strategy', 'topk', '--budget', '10', '--output', f('vrouted.jsonl')])).toBe(0);
    await expect(routeCommand.run(['select', '--features', f('vfeat-nohard.jsonl'), '--model', f('vmodel.json'), '--strategy', 'topk', '--budget', '10', '--output', f('x.jsonl')])).rejects.toThrow(/the PPM reads 1 feature\(s\) the feature table lacks \(hard=1\)/);
  });

  it('select --strategy active without labels lists the pilot waiting for them', async () => {
    out = [];
    expect(await routeCommand.run(['select', '--features', f('vfeat.jsonl'), '--extra-features', 'hard', '--strategy', 'active', '--budget', '0.25', '--output', f('pilot.jsonl')])).toBe(0);
    const routed = await rows(f('pilot.jsonl'));
    expect(routed.filter((r) => r.pending)).toHaveLength(15);
    expect(out.join('\n')).toMatch(/active: 15 pairs wait for human labels \(pilot 15 \(stratified\)\)/);
  });

  it('verdicts prints agreement statistics and stores the verdicts; pandalm + eval run on pair and gold files', async () => {
    out = [];
    expect(await routeCommand.run(['verdicts', '--pairs', f('vpairs.jsonl'), '--store', f('labels.sqlite'), '--output', f('ai.jsonl')])).toBe(0);
    expect(out.join('\n')).toMatch(/\| gpt-3\.5-turbo \/ pandalm-7b \| \d+ \| \d+\.\d% \| 0\.\d{3} \|/);
    const store = await openLabelStore({ path: f('labels.sqlite') });
    expect(await listVerdicts(store)).toHaveLength(2 * n);
    expect((await listVerdicts(store, data.pairs[0].id)).map((v) => v.judge)).toEqual(['gpt-3.5-turbo', 'pandalm-7b']);
    await store.close();

    expect(await routeCommand.run(['pandalm', '--output', f('pandalm'), '--split', '0.5'])).toBe(0);
    out = [];
    const argv = ['eval', '--pairs', f('pandalm/test-pairs.jsonl'), '--gold', f('pandalm/test-gold.jsonl'), '--budgets', '0,0.25,1.0', '--selections', '3', '--strategies', 'active:topk,random,oracle', '--plot', f('plot.svg')];
    expect(await routeCommand.run(argv)).toBe(0);
    const text = out.join('\n');
    expect(text).toContain('| strategy (agreement with gold, %) | 0 pairs (0 of 499) | 25% (124 of 499) | 100% (499 of 499) |');
    expect(text).toMatch(/\| active:topk \[reliability only\] \| [\d.]+ ± 0\.00 \(\+0\.00\) \| [\d.]+ ± [\d.]+ \(\+[\d.]+\) \|/);
    expect(text).toMatch(/\| random \| [\d.]+ ± 0\.00 \[[\d.]+\.\.[\d.]+, n=3\]/);
    expect(fs.readFileSync(f('plot.svg'), 'utf8')).toMatch(/^<\?xml[\s\S]*active:topk \[reliability only\][\s\S]*random min[\s\S]*<\/svg>/);
    await expect(routeCommand.run(['eval', '--pairs', f('pairs.jsonl'), '--gold', f('pandalm/gold.jsonl')])).rejects.toThrow(/has no verdicts/);
  });
});
