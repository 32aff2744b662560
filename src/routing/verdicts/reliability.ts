// Judge-reliability signals: where the AI label is likely wrong. Computed per pair from the
// judges' verdicts and from reward models, and fed to the PPM as numeric feature columns beside the
// paper's 90 (see features/numeric.ts for how a column becomes binary features). Only signals the
// data can support are produced: no order consistency without a judge asked in both orders, no
// inter-judge disagreement with one judge, no ensemble variance with one reward model.

import { combineConfig, combineMemberRewards } from '../../rewards/index.js';
import type { NumericColumn, NumericKind } from '../features/numeric.js';
import type { Preference } from '../types.js';
import { judgeVerdict, type Verdict } from './verdict.js';

export const RELIABILITY_FEATURES: Record<string, { kind: NumericKind; summary: string }> = {
  judges_disagree: { kind: 'binary', summary: 'the judges give different labels (each judge with its orders combined)' },
  order_inconsistent: { kind: 'binary', summary: 'a judge asked in both orders contradicts itself' },
  judge_missing: { kind: 'binary', summary: 'a judge was asked and gave no usable verdict' },
  ai_tie: { kind: 'binary', summary: 'the AI label (the aggregate) is a tie' },
  judge_confidence: { kind: 'binned', summary: "mean of the judges' own confidences" },
  judge_margin: { kind: 'binned', summary: 'mean |score_a - score_b| of judges that score each response' },
  rm_margin: { kind: 'binned', summary: '|reward margin r(A) - r(B)| of the reward-model ensemble (members standardized)' },
  rm_disagrees: { kind: 'binary', summary: 'the reward models prefer the response the AI label does not' },
  rm_variance: { kind: 'binned', summary: 'variance over ensemble members of the standardized reward margin' },
};

function column(name: string, values: Float64Array): NumericColumn {
  return { name, kind: RELIABILITY_FEATURES[name]!.kind, source: 'reliability', values };
}

const bit = (b: boolean) => (b ? 1 : 0);

/** Reliability columns from the verdicts of a pool, given the judges and the aggregate labels. */
export function verdictReliability(pool: readonly (readonly Verdict[])[], judges: string[], ai: readonly (Preference | null)[]): NumericColumn[] {
  const per = pool.map((vs) => judges.map((j) => judgeVerdict(vs, j)));
  const n = pool.length;
  const out: NumericColumn[] = [];
  const add = (name: string, f: (i: number) => number) => out.push(column(name, Float64Array.from({ length: n }, (_, i) => f(i))));
  if (judges.length >= 2) add('judges_disagree', (i) => bit(new Set(per[i]!.flatMap((v) => (v?.preference ? [v.preference] : []))).size > 1));
  if (pool.some((vs) => judges.some((j) => vs.filter((v) => v.judge === j).length === 2))) add('order_inconsistent', (i) => bit(per[i]!.some((v) => v?.inconsistent)));
  add('judge_missing', (i) => bit(per[i]!.some((v) => v?.missing)));
  add('ai_tie', (i) => bit(ai[i] === 'tie'));
  const meanOf = (xs: (number | null | undefined)[]) => {
    const given = xs.filter((x): x is number => x !== null && x !== undefined);
    return given.length === 0 ? NaN : given.reduce((s, v) => s + v, 0) / given.length;
  };
  if (per.some((vs) => vs.some((v) => v?.confidence !== null && v?.confidence !== undefined))) add('judge_confidence', (i) => meanOf(per[i]!.map((v) => v?.confidence)));
  if (per.some((vs) => vs.some((v) => v?.margin !== null && v?.margin !== undefined))) add('judge_margin', (i) => meanOf(per[i]!.map((v) => (v?.margin === null || v?.margin === undefined ? null : Math.abs(v.margin)))));
  return out;
}

/**
 * Reliability columns from reward models: `margins[k][i]` = r_k(A) - r_k(B) of member k on pair i.
 * Members speak in different units (a classifier's logit, a DPO-implied log-ratio), so each
 * member's margins are divided by their root mean square over the pool before they are combined
 * (mean) and their variance taken, with the rewards module's ensemble combiner.
 */
export function rewardReliability(margins: readonly (readonly number[])[], ai: readonly (Preference | null)[]): NumericColumn[] {
  if (margins.length === 0) return [];
  const standardized = margins.map((m) => {
    const rms = Math.sqrt(m.reduce((s, v) => s + v * v, 0) / Math.max(m.length, 1)) || 1;
    return m.map((v) => v / rms);
  });
  const { rewards, variance } = combineMemberRewards(standardized, combineConfig({ method: 'mean' }));
  const out = [
    column('rm_margin', Float64Array.from(rewards, Math.abs)),
    column('rm_disagrees', Float64Array.from(rewards, (m, i) => (ai[i] === 'A' || ai[i] === 'B' ? bit((m > 0 ? 'A' : m < 0 ? 'B' : 'tie') !== ai[i]) : 0))),
  ];
  if (margins.length >= 2) out.push(column('rm_variance', Float64Array.from(variance)));
  return out;
}
