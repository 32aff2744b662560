// The table of known column conventions. Order matters: detection takes the first entry whose
// `matches` accepts the first row, so more specific conventions come before the general ones they
// overlap with (UltraFeedback and HH-RLHF before plain TRL pairs).

import { fail } from '../../errors.js';
import type { PreferenceKind, Row } from '../types.js';
import type { Convention } from './convention.js';
import { HH_RLHF, PANDALM, SHAREGPT_DPO, TRL_CONVERSATIONAL, TRL_PAIRED, ULTRAFEEDBACK_BINARIZED } from './paired.js';
import { HELPSTEER } from './rated.js';
import { KTO_MESSAGES, TRL_UNPAIRED } from './unpaired.js';

export const CONVENTIONS: readonly Convention[] = [
  PANDALM,
  SHAREGPT_DPO,
  ULTRAFEEDBACK_BINARIZED,
  HH_RLHF,
  TRL_CONVERSATIONAL,
  TRL_PAIRED,
  KTO_MESSAGES,
  TRL_UNPAIRED,
  HELPSTEER,
];

/** A convention by name; an unknown name lists the table's names. */
export function conventionByName(name: string): Convention {
  const found = CONVENTIONS.find((c) => c.name === name);
  if (!found) throw fail('ALIGNKIT_ERR_UNKNOWN_NAME', `unknown dataset convention "${name}"; known: ${CONVENTIONS.map((c) => c.name).join(', ')}`, { parameter: 'convention' });
  return found;
}

/** The first convention (of the wanted kind, if any) whose detector accepts the row; a schema error otherwise. */
export function detectConvention(file: string, row: Row, kind?: PreferenceKind): Convention {
  const candidates = CONVENTIONS.filter((c) => kind === undefined || c.kind === kind);
  const found = candidates.find((c) => c.matches(row));
  if (found) return found;
  const known = candidates.map((c) => `  ${c.name} (${c.kind}): ${c.columns}`).join('\n');
  throw fail(
    'ALIGNKIT_ERR_DATASET_SCHEMA',
    `${file}: the first row's columns [${Object.keys(row).join(', ')}] match no known ${kind ? `${kind} ` : ''}convention. Known conventions:\n${known}`,
    { file, columns: Object.keys(row), conventions: candidates.map((c) => c.name) },
  );
}

export type { Convention } from './convention.js';
export { HELPSTEER_ATTRIBUTES } from './rated.js';
export { resolvePairedPrompt } from './paired.js';
export type { RowContext } from './fields.js';
