import { fail } from '../../errors.js';

/**
 * A budget is a fraction of the pool when 0 <= b <= 1 and a count otherwise, as
 * scripts/sample_best_subset.py reads `--budgets` (`int(len(df) * budget)` for fractions).
 */
export function resolveBudget(budget: number, poolSize: number): number {
  if (!Number.isFinite(budget) || budget < 0) throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `budget must be a fraction in [0, 1] or a count >= 0, got ${budget}`, { parameter: 'budget' });
  if (budget <= 1) return Math.floor(poolSize * budget);
  if (!Number.isInteger(budget)) throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `a budget above 1 is a count and must be an integer, got ${budget}`, { parameter: 'budget' });
  if (budget > poolSize) throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `budget ${budget} exceeds the pool of ${poolSize} pairs`, { parameter: 'budget' });
  return budget;
}
