// A human budget, said explicitly: a fraction of the pool or a count of pairs. On the command line a
// fraction is written with a decimal point or a percent sign (`0.25`, `1.0`, `25%`) and a count as
// an integer (`221`, `1`), so `1` is one pair and `1.0` the whole pool.

import { fail } from '../../errors.js';

export type Budget = { fraction: number } | { count: number };

/** Parse a `--budget` value; `flag` names the flag in errors. */
export function parseBudget(text: string, flag = 'budget'): Budget {
  const t = text.trim();
  const bad = (why: string) => fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `--${flag} ${why}, got '${text}' (a fraction is written 0.25, 1.0 or 25%; a count as an integer: 221)`, { parameter: flag });
  if (t.endsWith('%')) {
    const pct = Number(t.slice(0, -1));
    if (t.length === 1 || !Number.isFinite(pct) || pct < 0 || pct > 100) throw bad('as a percentage must be in 0%..100%');
    return { fraction: pct / 100 };
  }
  const v = Number(t);
  if (t === '' || !Number.isFinite(v) || v < 0) throw bad('must be a fraction in [0, 1] or a count >= 0');
  if (/^\d+$/.test(t)) return { count: v };
  if (v > 1) throw bad('with a decimal point is a fraction and must be in [0, 1]');
  return { fraction: v };
}

/**
 * Pairs to humans for a budget. A Budget is explicit; a bare number keeps the library's old reading
 * (a fraction when <= 1, a count above), as scripts/sample_best_subset.py reads `--budgets`
 * (`int(len(df) * budget)` for fractions): pass `{count: 1}` for one pair.
 */
export function resolveBudget(budget: number | Budget, poolSize: number): number {
  const b: Budget = typeof budget === 'number' ? (budget <= 1 ? { fraction: budget } : { count: budget }) : budget;
  if ('fraction' in b) {
    if (!(b.fraction >= 0 && b.fraction <= 1)) throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `a budget fraction must be in [0, 1], got ${b.fraction}`, { parameter: 'budget' });
    return Math.floor(poolSize * b.fraction);
  }
  if (!Number.isInteger(b.count) || b.count < 0) throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `a budget count must be an integer >= 0, got ${b.count}`, { parameter: 'budget' });
  if (b.count > poolSize) throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `budget ${b.count} exceeds the pool of ${poolSize} pairs`, { parameter: 'budget' });
  return b.count;
}

/** A budget as the user wrote it, for messages. */
export function describeBudget(budget: number | Budget): string {
  if (typeof budget === 'number') return String(budget);
  return 'fraction' in budget ? `${+(budget.fraction * 100).toFixed(4)}%` : `${budget.count} pairs`;
}
