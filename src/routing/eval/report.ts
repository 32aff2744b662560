// What `route eval` prints and draws: a markdown table with one row per strategy and one column per
// budget (agreement mean ± sd over the selections and the difference to the random mean), and an
// SVG plot of agreement against budget with the random spread and the oracle bound.

import { chartsToSvg, type Series } from '../../train/report/index.js';
import { describeBudget } from '../select/budget.js';
import type { BudgetedEvalRow, Stat } from './budgeted.js';

const pts = (x: number) => (100 * x).toFixed(2);
const signed = (x: number) => `${x >= 0 ? '+' : '−'}${Math.abs(100 * x).toFixed(2)}`;

/** `mean ± sd (±Δ vs random)` cells; random shows its range over the selections instead. */
export function budgetedEvalTable(rows: BudgetedEvalRow[], pool: number, measure = 'agreement with gold, %', baseline = 'random', values?: (run: string, b: number) => Stat | undefined): string {
  const runs = Object.keys(rows[0]?.results ?? {});
  const get = values ?? ((run: string, b: number) => rows[b]!.results[run]);
  const header = [`strategy (${measure})`, ...rows.map((r) => `${describeBudget(r.budget)} (${r.count} of ${pool})`)];
  const lines = runs.map((run) => [
    run,
    ...rows.map((_, b) => {
      const s = get(run, b);
      if (!s) return '—';
      const base = get(baseline, b);
      if (run === baseline) return `${pts(s.mean)} ± ${pts(s.sd)} [${pts(s.min)}..${pts(s.max)}, n=${s.n}]`;
      return `${pts(s.mean)}${s.n > 1 ? ` ± ${pts(s.sd)}` : ''}${base ? ` (${signed(s.mean - base.mean)})` : ''}`;
    }),
  ]);
  return [header, header.map(() => '---'), ...lines].map((l) => `| ${l.join(' | ')} |`).join('\n');
}

/** Agreement against the share of the pool routed to humans, one line per strategy, random's range as two thin lines. */
export function budgetedEvalSvg(rows: BudgetedEvalRow[], pool: number, title: string): string {
  const runs = Object.keys(rows[0]?.results ?? {});
  const x = (r: BudgetedEvalRow) => (100 * r.count) / pool;
  const series: Series[] = runs.map((run) => ({ name: run === 'random' ? `random (mean of ${rows[0]!.results[run]!.n})` : run, points: rows.map((r) => [x(r), 100 * r.results[run]!.mean] as [number, number]) }));
  if (runs.includes('random')) {
    series.push({ name: 'random min', points: rows.map((r) => [x(r), 100 * r.results.random!.min]) });
    series.push({ name: 'random max', points: rows.map((r) => [x(r), 100 * r.results.random!.max]) });
  }
  return chartsToSvg([{ title, xLabel: 'pairs routed to humans (% of the pool)', yLabel: 'agreement with gold (%)', series }], { width: 860, panelHeight: 520 });
}
