// The README's DPO example (issue #12 §3): the command printed in the README runs as printed and
// gives curves a newcomer reads as healthy. The previous example (13 epochs over 182 pairs) took
// the training loss from 0.69 to 0.004 while the eval loss rose from 0.75 to 1.98.

import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { trainCommand } from '../../../src/cli/commands/train.js';
import { RUN_FILES } from '../../../src/train/run/index.js';
import { readJsonl, ROOT, tempDir } from './helpers.js';

/** The README's `alignkit train dpo` example on alignkit-base, as argv (continuation lines joined). */
function readmeDpoExample(): string[] {
  const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const m = /^ {4}alignkit train dpo --model data\/models\/alignkit-base (.+?\\\n.+)$/m.exec(readme);
  if (!m) throw new Error('README has no DPO example on alignkit-base');
  const line = `--model data/models/alignkit-base ${m[1]!.replace(/\\\n\s*/, ' ')}`;
  // Split on spaces outside single quotes (the --loss-hp JSON).
  return [...line.matchAll(/'([^']*)'|(\S+)/g)].map((t) => t[1] ?? t[2]!);
}

describe('the README DPO example', () => {
  it('regression: trains to falling eval loss and rising eval accuracy, ending near its best eval loss', async () => {
    const args = readmeDpoExample();
    const dir = tempDir('readme-dpo');
    const out = path.join(dir, 'dpo');
    const at = (flag: string) => args.indexOf(flag) + 1;
    args[at('--output')] = out;
    args[at('--model')] = path.join(ROOT, args[at('--model')]!);
    args[at('--data')] = path.join(ROOT, args[at('--data')]!);
    vi.spyOn(console, 'log').mockImplementation(() => undefined);
    expect(await trainCommand.run(['dpo', ...args, '--no-progress', '--cache-dir', path.join(dir, 'cache')])).toBe(0);
    vi.restoreAllMocks();
    const records = readJsonl(path.join(out, RUN_FILES.metrics));
    const evals = records.filter((r) => 'eval/loss' in r).map((r) => ({ loss: r['eval/loss'] as number, acc: r['eval/rewards/accuracies'] as number }));
    const train = records.filter((r) => 'loss' in r).map((r) => r.loss as number);
    expect(evals.length).toBeGreaterThanOrEqual(5);
    const best = Math.min(...evals.map((e) => e.loss));
    const last = evals.at(-1)!;
    // Held-out loss falls and ends within a hair of its best (no turn upward), accuracy rises.
    expect(last.loss).toBeLessThan(evals[0]!.loss - 0.05);
    expect(last.loss).toBeLessThan(best + 0.03);
    expect(last.acc).toBeGreaterThan(evals[0]!.acc + 0.1);
    // The training loss falls but has not collapsed to zero on memorised pairs.
    expect(train.at(-1)!).toBeLessThan(train[0]!);
    expect(Math.min(...train.slice(-5))).toBeGreaterThan(0.01);
  });
});
