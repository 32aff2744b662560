// Agreement statistics of the judges and of the declared aggregate: coverage, order consistency,
// agreement with the aggregate and with gold labels, and pairwise inter-judge agreement with
// Cohen's kappa (chance-corrected: kappa = (p_o - p_e) / (1 - p_e), p_e from each judge's label shares).

import { agreement, PREFERENCES } from '../labels.js';
import type { Preference } from '../types.js';
import type { AggregatedLabels } from './aggregate.js';
import { judgeVerdict, type Verdict } from './verdict.js';

export interface JudgeStats {
  judge: string;
  /** Pairs with a usable verdict / all pairs. */
  coverage: number;
  /** Pairs asked in both orders, and the share whose two answers agree. */
  bothOrders: number;
  orderConsistency: number | null;
  agreementWithAggregate: number;
  agreementWithGold: number | null;
}

export interface VerdictStats {
  aggregate: string;
  pairs: number;
  judges: JudgeStats[];
  pairwise: { a: string; b: string; counted: number; agreement: number; kappa: number }[];
  aggregateAgreementWithGold: number | null;
}

export function cohenKappa(a: readonly (Preference | null)[], b: readonly (Preference | null)[]): { counted: number; agreement: number; kappa: number } {
  const both = a.flatMap((x, i) => (x !== null && b[i] !== null ? [[x, b[i]!] as const] : []));
  const n = both.length;
  if (n === 0) return { counted: 0, agreement: 0, kappa: 0 };
  const po = both.filter(([x, y]) => x === y).length / n;
  const pe = PREFERENCES.reduce((s, p) => s + (both.filter(([x]) => x === p).length / n) * (both.filter(([, y]) => y === p).length / n), 0);
  return { counted: n, agreement: po, kappa: pe === 1 ? 1 : (po - pe) / (1 - pe) };
}

export function verdictStats(pool: readonly (readonly Verdict[])[], aggregate: AggregatedLabels, gold?: readonly (Preference | null)[]): VerdictStats {
  const per = aggregate.judges.map((j) => pool.map((vs) => judgeVerdict(vs, j)));
  const labels = per.map((vs) => vs.map((v) => v?.preference ?? null));
  const judges = aggregate.judges.map((judge, k): JudgeStats => {
    const asked = pool.filter((vs) => vs.filter((v) => v.judge === judge && v.preference !== null).length === 2);
    const consistent = asked.filter((vs) => !judgeVerdict(vs, judge)!.inconsistent).length;
    return {
      judge,
      coverage: labels[k]!.filter((l) => l !== null).length / pool.length,
      bothOrders: asked.length,
      orderConsistency: asked.length === 0 ? null : consistent / asked.length,
      agreementWithAggregate: agreement(labels[k]!, aggregate.labels).agreement,
      agreementWithGold: gold ? agreement(labels[k]!, gold).agreement : null,
    };
  });
  const pairwise = aggregate.judges.flatMap((a, i) => aggregate.judges.slice(i + 1).map((b, d) => ({ a, b, ...cohenKappa(labels[i]!, labels[i + 1 + d]!) })));
  return { aggregate: aggregate.name, pairs: pool.length, judges, pairwise, aggregateAgreementWithGold: gold ? agreement(aggregate.labels, gold).agreement : null };
}

const pct = (x: number | null) => (x === null ? '—' : `${(100 * x).toFixed(1)}%`);

/** Two markdown tables: per judge, then per pair of judges. */
export function verdictStatsTable(s: VerdictStats): string {
  const lines = [
    `| judge | coverage | asked in both orders | order consistency | agrees with aggregate (${s.aggregate}) | agrees with gold |`,
    '| --- | --- | --- | --- | --- | --- |',
    ...s.judges.map((j) => `| ${j.judge} | ${pct(j.coverage)} | ${j.bothOrders} | ${pct(j.orderConsistency)} | ${pct(j.agreementWithAggregate)} | ${pct(j.agreementWithGold)} |`),
    `| **aggregate ${s.aggregate}** | | | | | ${pct(s.aggregateAgreementWithGold)} |`,
  ];
  if (s.pairwise.length > 0) {
    lines.push('', '| judges | pairs both answered | agreement | Cohen kappa |', '| --- | --- | --- | --- |');
    for (const p of s.pairwise) lines.push(`| ${p.a} / ${p.b} | ${p.counted} | ${pct(p.agreement)} | ${p.kappa.toFixed(3)} |`);
  }
  return lines.join('\n');
}
