// The randomized knapsack of scripts/get_count_feats.py `run_knapsack`: visit the features in a
// shuffled order, and each feature's instances in a shuffled order, adding unseen instances until
// the capacity is reached. Instances that carry no feature are never picked, so a mix can fall
// short of its budget, as in the paper's code.

import type { FeatureTable } from '../features/extract.js';
import { shuffleInPlace, type Rng } from '../rng.js';

/** For each feature, the pool indices that carry it. */
export function featureInstances(table: FeatureTable): number[][] {
  const f = table.names.length;
  const lists: number[][] = Array.from({ length: f }, () => []);
  for (let i = 0; i < table.ids.length; i++) for (let j = 0; j < f; j++) if (table.active[i * f + j]) lists[j].push(i);
  return lists;
}

export function runKnapsack(capacity: number, items: number[][], rng: Rng): number[] {
  const chosen: number[] = [];
  const taken = new Set<number>();
  const keys = shuffleInPlace(Array.from(items.keys()), rng);
  for (const k of keys) {
    for (const i of shuffleInPlace([...items[k]], rng)) {
      if (chosen.length + 1 > capacity) return chosen;
      if (!taken.has(i)) {
        taken.add(i);
        chosen.push(i);
      }
    }
  }
  return chosen;
}
