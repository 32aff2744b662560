// `alignkit train --recompute` (issue 13): the run's training graph recomputes activations in the
// backward, and training follows the same trajectory as without it.

import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { flagsToConfig } from '../../src/cli/commands/train.js';
import { runTraining } from '../../src/train/run/index.js';
import { smallConfig, tempDir } from './run/helpers.js';

describe('alignkit train --recompute', () => {
  it('is a flag of the run config', () => {
    expect(flagsToConfig('dpo', ['--recompute'], {}).recompute).toBe(true);
    expect(flagsToConfig('dpo', [], {}).recompute).toBeUndefined();
  });

  it('trains a DPO run to the same losses and weights as without recomputation', async () => {
    const dir = tempDir('recompute');
    const run = (recompute: boolean) => runTraining(smallConfig('dpo', dir, { steps: 3, recompute, output: path.join(dir, String(recompute)) }));
    const plain = await run(false);
    const re = await run(true);
    expect(re.firstLoss).toBeCloseTo(plain.firstLoss, 6);
    expect(re.lastLoss).toBeCloseTo(plain.lastLoss, 5);
    for (const [name, v] of plain.values) {
      const w = re.values.get(name)!;
      expect(v.reduce((m, x, i) => Math.max(m, Math.abs(x - w[i]!)), 0), name).toBeLessThan(1e-5);
    }
  });
});
