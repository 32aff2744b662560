// `alignkit loss`: the command runs the real registry and sessions over a real JSON file; console
// output is captured to read what it printed.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { loadCommand } from '../../src/cli/commands/index.js';
import { lossCommand } from '../../src/cli/commands/loss.js';
import { PAIRED } from './reference.js';

function capture() {
  const lines: string[] = [];
  const spy = vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => void lines.push(args.join(' ')));
  return { lines, restore: () => spy.mockRestore() };
}

describe('alignkit loss', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'alignkit-loss-'));
  afterEach(() => vi.restoreAllMocks());

  it('is registered in the command table', async () => {
    expect(await loadCommand('loss')).toBe(lossCommand);
  });

  it('list prints every loss with its defaults', async () => {
    const out = capture();
    expect(await lossCommand.run(['list'])).toBe(0);
    out.restore();
    const text = out.lines.join('\n');
    expect(text).toContain('dpo');
    expect(text).toContain('{"beta":2,"gamma":0.5,"reduction":"mean"}');
  });

  it('inputs lists the configured inputs, including dynamic beta\'s margin', async () => {
    const out = capture();
    await lossCommand.run(['inputs', 'dpo', '--hp', '{"dynamicBeta":{"w":0.5,"k":1}}']);
    out.restore();
    expect(out.lines.map((l) => l.split(/\s+/)[0])).toEqual(['policy_chosen_logps', 'policy_rejected_logps', 'chosen_mask', 'rejected_mask', 'ref_chosen_logps', 'ref_rejected_logps', 'reward_margin']);
  });

  it('eval prints loss, metrics and gradients for arrays in a JSON file', async () => {
    const file = path.join(dir, 'batch.json');
    fs.writeFileSync(file, JSON.stringify(PAIRED));
    const out = capture();
    expect(await lossCommand.run(['eval', 'dpo', '--arrays', file])).toBe(0);
    out.restore();
    const result = JSON.parse(out.lines.join('\n'));
    expect(result.loss).toBeCloseTo(0.6758034, 6); // the hand-worked DPO value of values.test.ts
    expect(result.metrics['rewards/accuracies']).toBe(1);
    // d loss / d lp_w,t = -beta * sigma(-z) / B on unmasked tokens, 0 on padding.
    const sigma = (x: number) => 1 / (1 + Math.exp(-x));
    expect(result.gradients.policy_chosen_logps[0]).toBeCloseTo((-0.1 * sigma(-0.03)) / 2, 6);
    expect(result.gradients.policy_chosen_logps[2]).toBe(0);
  });

  it('names a ragged array field and a bad --hp', async () => {
    const file = path.join(dir, 'ragged.json');
    fs.writeFileSync(file, JSON.stringify({ ...PAIRED, chosen_mask: [[1, 1], [1, 1, 1]] }));
    await expect(lossCommand.run(['eval', 'dpo', '--arrays', file])).rejects.toMatchObject({ code: 'ALIGNKIT_ERR_BAD_FORMAT', details: { field: 'chosen_mask' } });
    const good = path.join(dir, 'good.json');
    fs.writeFileSync(good, JSON.stringify(PAIRED));
    await expect(lossCommand.run(['eval', 'dpo', '--arrays', good, '--hp', '[1]'])).rejects.toMatchObject({ details: { parameter: 'hp' } });
  });
});
