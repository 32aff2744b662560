// The end-of-run summary: per metric its first, last, min and max value over the logged steps, as a
// terminal table (the "how did it go" view; the metrics file keeps every step).

import { formatTable, type Cell } from './table.js';
import type { MetricsRecord } from './metrics-log.js';

export interface MetricSummary {
  metric: string;
  count: number;
  first: number;
  last: number;
  min: number;
  max: number;
  /** Step of the last value. */
  lastStep: number;
}

/** Numeric metrics in order of first appearance (`step` excluded). */
export function summarizeMetrics(records: readonly MetricsRecord[]): MetricSummary[] {
  const byMetric = new Map<string, MetricSummary>();
  for (const r of records) {
    for (const [metric, value] of Object.entries(r)) {
      if (metric === 'step' || typeof value !== 'number') continue;
      let s = byMetric.get(metric);
      if (!s) byMetric.set(metric, (s = { metric, count: 0, first: value, last: value, min: Infinity, max: -Infinity, lastStep: r.step }));
      s.count++;
      s.last = value;
      s.lastStep = r.step;
      // min/max describe the finite values; a NaN still shows as `first` or `last`.
      if (Number.isFinite(value)) {
        s.min = Math.min(s.min, value);
        s.max = Math.max(s.max, value);
      }
    }
  }
  return [...byMetric.values()];
}

export function formatSummaryTable(summaries: readonly MetricSummary[], opts: { digits?: number } = {}): string {
  const rows: Cell[][] = summaries.map((s) => [s.metric, s.count, s.first, s.last, s.min, s.max]);
  return formatTable([{ header: 'metric' }, { header: 'points' }, { header: 'first' }, { header: 'last' }, { header: 'min' }, { header: 'max' }], rows, { digits: opts.digits ?? 4 });
}
