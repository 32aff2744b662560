// Preference labels, how files spell them, and how several are combined.

import { fail } from '../errors.js';
import type { Preference } from './types.js';

export const PREFERENCES: readonly Preference[] = ['A', 'B', 'tie'];

/**
 * How label values are spelled in the wild, each mapped to a preference: alignkit's own A / B / tie,
 * and the 1 / 2 codes (response 1 / response 2 better) many public sets store, as numbers or
 * strings, with 0 as a tie (PandaLM's `annotatorN` and `pandalm_result`, gpt-3.5's "Tie").
 */
const SPELLINGS: Record<string, Preference> = { a: 'A', b: 'B', tie: 'tie', '1': 'A', '2': 'B', '0': 'tie' };

/** Where a label was read, for the error that names it. */
export interface LabelSite {
  file?: string;
  row?: number;
  field: string;
}

/**
 * A label value as a preference: A / B / tie (any case), 1 / 2 (response 1 / 2 better) or 0 (a tie);
 * null, undefined and the empty string are "no label". Anything else is refused with the file, row
 * and field, instead of becoming a silent null (which once made every simulated mix score 0).
 */
export function parsePreference(value: unknown, site: LabelSite): Preference | null {
  if (value === null || value === undefined || value === '') return null;
  const key = typeof value === 'number' || typeof value === 'bigint' ? String(value) : typeof value === 'string' ? value.trim().toLowerCase() : undefined;
  const p = key === undefined ? undefined : SPELLINGS[key];
  if (p) return p;
  const where = [site.file, site.row === undefined ? undefined : `row ${site.row}`].filter(Boolean).join(': ');
  throw fail('ALIGNKIT_ERR_DATASET_ROW', `${where ? `${where}: ` : ''}field '${site.field}' is ${JSON.stringify(value)}; a label is A, B or tie (or 1, 2, 0), or null for none`, {
    file: site.file,
    row: site.row,
    field: site.field,
  });
}

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
