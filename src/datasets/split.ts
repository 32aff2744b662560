// Deterministic train/eval split keyed by example id: each id is hashed with the seed to a number in
// [0, 1) and goes to eval when that number is below the fraction. An example's side therefore depends
// only on its own id and the seed, so appending rows never moves existing examples between splits
// (unlike shuffle-then-cut, where one new row reshuffles everything).

import { fail } from '../errors.js';
import { hashToUnit } from '../random.js';

export interface SplitOptions {
  /** Expected share of examples in eval, in [0, 1]; the realised share varies binomially around it. */
  evalFraction: number;
  /** Changes which ids land in eval (default 0). */
  seed?: number;
}

function checkedFraction(options: SplitOptions): number {
  const f = options.evalFraction;
  if (typeof f !== 'number' || !(f >= 0 && f <= 1)) throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `evalFraction must be a number in [0, 1], got ${f}`, { parameter: 'evalFraction' });
  const seed = options.seed ?? 0;
  if (!Number.isInteger(seed)) throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `seed must be an integer, got ${seed}`, { parameter: 'seed' });
  return f;
}

/** Whether one id belongs to eval; usable on a stream without holding the dataset. */
export function isEvalId(id: string, options: SplitOptions): boolean {
  return hashToUnit(`${options.seed ?? 0}:${id}`) < checkedFraction(options);
}

/** Splits by id hash. Generic over the array type so a union of example arrays (an `auto` load) keeps its element types. */
export function splitTrainEval<E extends readonly { id: string }[]>(examples: E, options: SplitOptions): { train: E[number][]; eval: E[number][] } {
  checkedFraction(options);
  const train: E[number][] = [];
  const evalSet: E[number][] = [];
  for (const example of examples) (isEvalId(example.id, options) ? evalSet : train).push(example);
  return { train, eval: evalSet };
}
