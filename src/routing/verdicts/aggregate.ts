// The AI label of a pair that is not routed to humans: a declared aggregate of its judges'
// verdicts. A registry keyed by name; `judge:NAME` is the one-judge aggregate.

import { fail } from '../../errors.js';
import { PREFERENCES } from '../labels.js';
import type { Preference } from '../types.js';
import { judgeVerdict, type JudgeVerdict, type Verdict } from './verdict.js';

/** Combines the per-judge verdicts of one pair (judges in tie-break order) into one label. */
export type AggregateFn = (perJudge: (JudgeVerdict | undefined)[]) => Preference | null;

/**
 * A weighted vote: the label with the most weight wins; equal weights go to the label of the
 * earliest judge in the list that voted for one of the tied labels, so a two-judge split follows
 * the first judge (the one declared first, or the first in the file).
 */
function weightedVote(perJudge: (JudgeVerdict | undefined)[], weight: (v: JudgeVerdict) => number): Preference | null {
  const total = new Map<Preference, number>();
  for (const v of perJudge) if (v?.preference) total.set(v.preference, (total.get(v.preference) ?? 0) + weight(v));
  if (total.size === 0) return null;
  const best = Math.max(...total.values());
  const tied = PREFERENCES.filter((p) => total.get(p) === best);
  if (tied.length === 1) return tied[0]!;
  return perJudge.find((v) => v?.preference && tied.includes(v.preference))!.preference;
}

export const AGGREGATES: Record<string, { summary: string; make(argument: string | undefined, judges: string[]): AggregateFn }> = {
  majority: { summary: 'most judges (both orders of one judge count once); a split follows the first judge', make: () => (per) => weightedVote(per, () => 1) },
  confidence: {
    summary: "votes weighted by each judge's confidence (1 where a judge gives none); a split follows the first judge",
    make: () => (per) => weightedVote(per, (v) => v.confidence ?? 1),
  },
  judge: {
    summary: 'one named judge (judge:NAME); its two orders combined, a contradiction is a tie',
    make: (argument, judges) => {
      const k = judges.indexOf(argument ?? '');
      if (k < 0) throw fail('ALIGNKIT_ERR_UNKNOWN_NAME', `aggregate 'judge:${argument ?? ''}' names no judge of the pairs; judges: ${judges.join(', ') || '(none)'}`, { parameter: 'aggregate' });
      return (per) => per[k]?.preference ?? null;
    },
  },
};

export interface AggregatedLabels {
  name: string;
  judges: string[];
  labels: (Preference | null)[];
}

/** `majority`, `confidence` or `judge:NAME` over a pool; judges in tie-break order. */
export function aggregateVerdicts(name: string, pool: readonly (readonly Verdict[])[], judges: string[]): AggregatedLabels {
  const [kind, ...rest] = name.split(':');
  const entry = AGGREGATES[kind!];
  if (!entry || (kind === 'judge') !== rest.length > 0) {
    throw fail('ALIGNKIT_ERR_UNKNOWN_NAME', `unknown aggregate '${name}'; known: majority, confidence, judge:NAME`, { parameter: 'aggregate' });
  }
  const fn = entry.make(rest.join(':'), judges);
  return { name, judges, labels: pool.map((vs) => fn(judges.map((j) => judgeVerdict(vs, j)))) };
}
