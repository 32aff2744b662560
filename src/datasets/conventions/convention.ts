// What a column convention is: a detector run on the first row and a normalizer run on every row.
// The loader only ever walks the table of these (./index.ts); adding a convention is one entry.

import type { ExampleOfKind, PreferenceKind, Row } from '../types.js';
import type { RowContext } from './fields.js';

export interface Convention<K extends PreferenceKind = PreferenceKind> {
  /** Stable name users pass to force it (`--convention hh-rlhf`). */
  name: string;
  kind: K;
  /** The columns it expects, as shown in schema errors and `data inspect`. */
  columns: string;
  /** True when the (first) row has this convention's columns with the right shapes. */
  matches(row: Row): boolean;
  /** One row to one normalized record; throws ALIGNKIT_ERR_DATASET_ROW naming the bad field. */
  normalize(row: Row, ctx: RowContext): ExampleOfKind[K];
}
