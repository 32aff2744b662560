// Which feature columns a PPM reads: the paper's 90 (and declared extra columns), those and the
// judge-reliability signals, or the reliability signals (and declared extras) alone. A registry,
// so `route select`, `route eval` and the library name the same sets.

import { FEATURE_NAMES } from './catalog.js';
import { projectFeatures, withNumeric, type FeatureTable } from './extract.js';
import { fail } from '../../errors.js';

const PAPER_FEATURES = new Set(FEATURE_NAMES);

export const FEATURE_SETS: Record<string, { label: string; table(t: FeatureTable): FeatureTable }> = {
  paper: { label: '90', table: (t) => withNumeric(t, (t.numeric ?? []).filter((c) => c.source !== 'reliability')) },
  reliability: { label: '90 + reliability', table: (t) => t },
  'reliability-only': { label: 'reliability only', table: (t) => projectFeatures(t, (name) => !PAPER_FEATURES.has(name)) },
};

/** What the active protocol reads by default: chosen on PandaLM's development half with the rest of DEFAULT_ACTIVE. */
export const DEFAULT_FEATURE_SET = 'reliability-only';

export function featureSet(name: string, table: FeatureTable): FeatureTable {
  const set = FEATURE_SETS[name];
  if (!set) throw fail('ALIGNKIT_ERR_UNKNOWN_NAME', `unknown feature set '${name}'; known: ${Object.keys(FEATURE_SETS).join(', ')}`, { parameter: 'feature-set' });
  return set.table(table);
}
