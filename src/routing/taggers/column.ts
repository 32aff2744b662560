// Tags already present in the data (e.g. MultiPref's own LM tags): each dimension is read from a
// column of the input row.

import { TAG_DIMENSIONS, SCALAR, type TagRecord } from '../features/catalog.js';
import { fail } from '../../errors.js';
import type { RoutingPair } from '../types.js';
import { emptyTags, type Tagger } from './types.js';

export interface ColumnTaggerConfig {
  /** Column holding each dimension; defaults to the dimension's own name (or `tags.<dim>`). */
  columns: Partial<Record<(typeof TAG_DIMENSIONS)[number], string>>;
  /** Fail on a row that lacks a column (true) or leave that dimension empty (false). */
  strict: boolean;
}

export const DEFAULT_COLUMN_TAGGER_CONFIG: ColumnTaggerConfig = { columns: {}, strict: false };

function lookup(extra: Record<string, unknown>, column: string): unknown {
  if (column in extra) return extra[column];
  const nested = extra.tags;
  return nested && typeof nested === 'object' ? (nested as Record<string, unknown>)[column] : undefined;
}

export function createColumnTagger(partial: Partial<ColumnTaggerConfig> = {}): Tagger {
  const config = { ...DEFAULT_COLUMN_TAGGER_CONFIG, ...partial };
  return {
    name: 'column',
    async tag(pairs: RoutingPair[]): Promise<TagRecord[]> {
      return pairs.map((pair, row) => {
        const tags = emptyTags() as unknown as Record<string, unknown>;
        for (const dim of TAG_DIMENSIONS) {
          const column = config.columns[dim] ?? dim;
          const value = lookup(pair.extra ?? {}, column);
          if (value === undefined || value === null) {
            if (config.strict) throw fail('ALIGNKIT_ERR_DATASET_ROW', `row ${row} (id ${pair.id}) has no tag column '${column}' for dimension ${dim}`, { row, field: column });
            continue;
          }
          if (dim in SCALAR) tags[dim] = Array.isArray(value) ? String(value[0] ?? '') : String(value);
          else tags[dim] = Array.isArray(value) ? value.map(String) : [String(value)];
        }
        return tags as unknown as TagRecord;
      });
    },
  };
}
