import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { routeCommand } from '../../src/cli/commands/route.js';
import { readRows } from '../../src/datasets/index.js';
import { loadPandaLM } from '../../src/routing/eval/pandalm.js';

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

  it('eval prints the PandaLM table; unknown subcommands and judges are errors', async () => {
    expect(await routeCommand.run(['eval', '--seeds', '2', '--judge', 'pandalm-7b', '--ridge', '1'])).toBe(0);
    const table = out.join('\n');
    expect(table).toContain('| 25% | 249 |');
    expect(table).toContain('topk - random (pts)');
    out = [];
    expect(await routeCommand.run(['eval', '--seeds', '1', '--ppm', 'simulated', '--mixes', '40', '--budgets', '0,0.5,1'])).toBe(0);
    expect(out.join('\n')).toMatch(/fitted on simulated mixes of one half/);
    expect(out.join('\n')).toContain('| 50% | 499 |');
    vi.spyOn(console, 'error').mockImplementation(() => undefined);
    expect(await routeCommand.run(['nope'])).toBe(2);
    await expect(routeCommand.run(['eval', '--judge', 'gpt-9'])).rejects.toThrow(/known: gpt-3.5-turbo, pandalm-7b/);
  });
});
