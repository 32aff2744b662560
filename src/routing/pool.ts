// A pair file made routable: the paper's features, the declared AI-label aggregate of the verdicts,
// the judge-reliability signals (verdicts, and reward models when given) and the declared extra
// columns, as one feature table. What `route features` writes and `route eval` routes.

import type { RewardModel } from '../rewards/index.js';
import { fail } from '../errors.js';
import { extractFeatures, type ExtractOptions, type FeatureTable } from './features/extract.js';
import { inferKind, numericCell, type NumericColumn } from './features/numeric.js';
import type { PairFile } from './pair-file.js';
import type { Preference } from './types.js';
import { aggregateVerdicts, type AggregatedLabels } from './verdicts/aggregate.js';
import { rewardMargins } from './verdicts/reward-margins.js';
import { rewardReliability, verdictReliability } from './verdicts/reliability.js';
import { judgeNames } from './verdicts/verdict.js';

export interface PoolOptions extends ExtractOptions {
  /** `majority`, `confidence` or `judge:NAME`. */
  aggregate: string;
  /** Judges in tie-break order; default: order of first appearance in the file. */
  judges?: string[];
  rewardModels?: RewardModel[];
  /** Numeric pair-file columns to use as features. */
  extraFeatures?: string[];
  file?: string;
}

export interface RoutingPool {
  table: FeatureTable;
  /** The aggregate's labels, or undefined when the pairs have no verdicts. */
  aggregate?: AggregatedLabels;
  ai?: (Preference | null)[];
}

/** Declared numeric columns of the pair rows (kept in `extra` by readPairFile). */
export function extraColumns(file: PairFile, names: readonly string[], source?: string): NumericColumn[] {
  return names.map((name) => {
    if (!file.pairs.some((p) => p.extra && name in p.extra)) throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `--extra-features names '${name}', but ${source ?? 'the pair file'} has no such column`, { parameter: 'extra-features', field: name });
    const values = Float64Array.from(file.pairs, (p, i) => numericCell(p.extra?.[name], { file: source, row: i + 1, field: name }));
    return { name, kind: inferKind(values), source: 'extra', values };
  });
}

export async function buildPool(file: PairFile, options: PoolOptions): Promise<RoutingPool> {
  const hasVerdicts = file.verdicts.some((vs) => vs.length > 0);
  const judges = options.judges ?? judgeNames(file.verdicts);
  const aggregate = hasVerdicts ? aggregateVerdicts(options.aggregate, file.verdicts, judges) : undefined;
  const numeric: NumericColumn[] = [];
  if (aggregate) numeric.push(...verdictReliability(file.verdicts, judges, aggregate.labels));
  if (options.rewardModels?.length) {
    const ai = aggregate?.labels ?? file.pairs.map(() => null);
    numeric.push(...rewardReliability(await rewardMargins(options.rewardModels, file.pairs), ai));
  }
  numeric.push(...extraColumns(file, options.extraFeatures ?? [], options.file));
  const table = await extractFeatures(file.pairs, options, numeric);
  return { table, aggregate, ai: aggregate?.labels };
}
