// Preference labels and how several are combined.

import type { Preference } from './types.js';

export const PREFERENCES: readonly Preference[] = ['A', 'B', 'tie'];

/**
 * The label held by more than half of the annotators, or null when none is (e.g. three annotators
 * answering A, B and tie). Ties are a label like A and B: a tie majority is a tie.
 */
export function majority(labels: readonly (Preference | null)[]): Preference | null {
  const given = labels.filter((l): l is Preference => l !== null);
  for (const p of PREFERENCES) if (given.filter((l) => l === p).length * 2 > given.length) return p;
  return null;
}

/**
 * The annotator page's five-point scale (A clearly/slightly better, tie, B slightly/clearly better)
 * as -2..2, negative favouring A.
 */
export function preferenceFromScale(score: number): Preference {
  return score < 0 ? 'A' : score > 0 ? 'B' : 'tie';
}

/**
 * Share of instances whose label equals the reference. Instances without a reference (no human
 * majority) are left out; a missing label (an AI judge that answered 'garbage') counts as a
 * disagreement, so unusable judge outputs lower agreement instead of being hidden.
 */
export function agreement(labels: readonly (Preference | null)[], reference: readonly (Preference | null)[]): { agreement: number; counted: number } {
  let agree = 0;
  let counted = 0;
  for (let i = 0; i < labels.length; i++) {
    if (reference[i] === null) continue;
    counted++;
    if (labels[i] === reference[i]) agree++;
  }
  return { agreement: counted === 0 ? 0 : agree / counted, counted };
}
