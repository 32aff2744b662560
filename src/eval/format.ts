// The RewardBench-style table of a pairwise report: one row per subset, the overall row under a
// rule, a column per model and the two baselines.

import { formatTable, type Cell, type TableColumn } from '../train/report/table.js';
import type { PairwiseReport, SubsetAccuracy } from './pairwise.js';

export function formatPairwiseReport(report: PairwiseReport): string {
  const columns: TableColumn[] = [{ header: 'subset' }, { header: 'pairs' }, ...report.models.map((m) => ({ header: m })), { header: 'length' }, { header: 'majority' }];
  const row = (s: SubsetAccuracy): Cell[] => [s.source, s.count, ...s.accuracy, s.lengthAccuracy, s.majorityAccuracy];
  const macro: Cell[] = ['macro (mean of subsets)', undefined, ...report.macroAccuracy, undefined, undefined];
  const rows = [...report.subsets.map(row), row(report.overall), macro];
  return formatTable(columns, rows, { digits: 4, rulesAfter: [report.subsets.length - 1] });
}
