// A rule-based reward (`--reward js:bench/rl/gold/gold-minus-2.mjs`): the gold model's score minus 2.
// A Bradley-Terry reward model's offset is arbitrary (its loss sees only differences), so a PPO that
// learns something else from this than from the gold model itself depends on that offset
// (bench/rl/gold/run.mjs, runs ppo-shifted and ppo-shifted-raw).
import path from 'node:path';
import { loadRewardModelSpec } from '../../../src/eval/index.ts';

const gold = await loadRewardModelSpec(path.resolve(import.meta.dirname, '../../../data/models/alignkit-rm-gold'));

export default async (items) => (await gold.score(items, { truncate: true })).map((s) => s[0] - 2);
