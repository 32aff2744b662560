// PPO's score normalisation (rl.normalizeScores, TRL's use_score_scaling + use_score_norm): the
// running moments against hand-worked values, and the regression it fixes: with PPO's value head
// starting at 0, a constant added to the reward (a reward model's arbitrary offset) changed what PPO
// learnt, lengthening responses where the unshifted reward shortened them.

import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runTraining } from '../../../src/train/run/index.js';
import { RunningMoments } from '../../../src/train/rl/running-moments.js';
import { tempDir } from '../run/helpers.js';
import { onlineConfig } from './helpers.js';

describe('RunningMoments', () => {
  it('pools batches (Chan et al.) and standardises with the Bessel-corrected std, as trl.core.RunningMoments', () => {
    const m = new RunningMoments();
    m.update([1, 2, 3]);
    // The first batch replaces the starting moments: mean 2, std sqrt(2/3 * 3/2) = 1.
    expect(m.mean).toBeCloseTo(2, 12);
    expect(m.std).toBeCloseTo(1, 12);
    m.update([4]);
    // Over 1, 2, 3, 4: mean 2.5, population variance 1.25, Bessel std sqrt(1.25 * 4 / 3) = 1.290994.
    expect(m.mean).toBeCloseTo(2.5, 12);
    expect(m.std).toBeCloseTo(Math.sqrt(5 / 3), 12);
    expect(m.normalize(4)).toBeCloseTo(1.5 / Math.sqrt(5 / 3), 6);
    const copy = new RunningMoments();
    copy.restore(m.state());
    expect(copy.normalize(0)).toBe(m.normalize(0));
  });
});

describe('regression: a constant added to the reward changed what PPO learnt', () => {
  it('ppo: the reward and the reward - 5 train the same weights; without normalizeScores they do not', async () => {
    const dir = tempDir('score-shift');
    const reward = (shift: number) => {
      const file = path.join(dir, `reward${shift}.mjs`);
      fs.writeFileSync(file, `export default (items) => items.map((it) => (it.response.length % 5) / 2 - ${shift});\n`);
      return `js:${file}`;
    };
    const run = async (shift: number, normalizeScores?: boolean) => {
      const config = onlineConfig('ppo', dir, { steps: 2, evalEvery: 0, output: path.join(dir, `out-${shift}-${normalizeScores}`), rl: { reward: [reward(shift)], ...(normalizeScores === false && { normalizeScores }) } });
      return (await runTraining(config)).values;
    };
    const maxDiff = (a: Map<string, Float32Array>, b: Map<string, Float32Array>) => {
      let d = 0;
      for (const [name, v] of a) v.forEach((x, i) => (d = Math.max(d, Math.abs(x - b.get(name)![i]!))));
      return d;
    };
    const [plain, shifted] = [await run(0), await run(5)];
    expect(maxDiff(plain, shifted)).toBeLessThan(1e-5);
    const [plainRaw, shiftedRaw] = [await run(0, false), await run(5, false)];
    expect(maxDiff(plainRaw, shiftedRaw)).toBeGreaterThan(1e-3);
  }, 90_000);
});
