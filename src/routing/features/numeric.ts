// Numeric feature columns beside the paper's 90: the judge-reliability signals and the user's
// declared extra columns. Each enters the PPM the way the paper's own features do, as binary
// features whose human-routed share is a PPM input: a 0/1 column is one feature (`name=1`, like the
// open-set tags), any other column is percentile-ranked within the pool and cut into the paper's
// three bins (`name__min_val=0.0|max_val=0.33`, as get_count_feats.py does for the length scores).
// A missing value (NaN) carries no feature.

import { fail } from '../../errors.js';
import { BINS } from './catalog.js';
import { inBin } from './lexical.js';
import { percentileRank } from './text.js';

export type NumericKind = 'binary' | 'binned';

export interface NumericColumn {
  name: string;
  kind: NumericKind;
  /** Where the column lives in a features file: the `reliability` map, or a top-level declared column. */
  source: 'reliability' | 'extra';
  /** One value per pair; NaN = missing. */
  values: Float64Array;
}

/** A 0/1 column (missing values aside) is binary; anything else is binned. */
export function inferKind(values: ArrayLike<number>): NumericKind {
  for (let i = 0; i < values.length; i++) if (Number.isFinite(values[i]) && values[i] !== 0 && values[i] !== 1) return 'binned';
  return 'binary';
}

export function numericFeatureNames(column: Pick<NumericColumn, 'name' | 'kind'>): string[] {
  return column.kind === 'binary' ? [`${column.name}=1`] : BINS.map((b) => `${column.name}__${b.label}`);
}

/** Percentile ranks of the finite values among themselves; NaN stays NaN. */
function finiteRanks(values: Float64Array): Float64Array {
  const idx = Array.from(values.keys()).filter((i) => Number.isFinite(values[i]));
  const ranks = percentileRank(Float64Array.from(idx, (i) => values[i]!));
  const out = new Float64Array(values.length).fill(NaN);
  idx.forEach((i, k) => (out[i] = ranks[k]!));
  return out;
}

/** Writes the column's binary features into `active` [N, F] starting at column `offset`. */
export function fillNumericFeatures(column: NumericColumn, active: Uint8Array, f: number, offset: number): void {
  const n = column.values.length;
  if (column.kind === 'binary') {
    for (let i = 0; i < n; i++) if (column.values[i] === 1) active[i * f + offset] = 1;
    return;
  }
  const ranks = finiteRanks(column.values);
  BINS.forEach((bin, b) => {
    for (let i = 0; i < n; i++) if (Number.isFinite(ranks[i]) && inBin(ranks[i]!, bin)) active[i * f + offset + b] = 1;
  });
}

/** Reads a numeric cell: a finite number (or numeric string), or null/undefined as missing. */
export function numericCell(value: unknown, where: { file?: string; row: number; field: string }): number {
  if (value === null || value === undefined) return NaN;
  const n = typeof value === 'number' ? value : typeof value === 'boolean' ? Number(value) : typeof value === 'string' && value.trim() !== '' ? Number(value) : NaN;
  if (!Number.isFinite(n)) {
    throw fail('ALIGNKIT_ERR_DATASET_ROW', `${where.file ? `${where.file}: ` : ''}row ${where.row}: feature column '${where.field}' is ${JSON.stringify(value)}, want a number`, { file: where.file, row: where.row, field: where.field });
  }
  return n;
}
