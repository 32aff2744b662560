// A seeded development / test split of a pool: choices are made on the development part and
// results reported on the test part, which the choices never saw.

import { fail } from '../../errors.js';
import { createRng, shuffleInPlace } from '../rng.js';

/** Row indices of each part, each in pool order. */
export function devTestSplit(n: number, devFraction: number, seed: number): { dev: number[]; test: number[] } {
  if (!(devFraction > 0 && devFraction < 1)) throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `the development share must be in (0, 1), got ${devFraction}`, { parameter: 'split' });
  const order = shuffleInPlace(Array.from({ length: n }, (_, i) => i), createRng(seed));
  const cut = Math.round(n * devFraction);
  return { dev: order.slice(0, cut).sort((a, b) => a - b), test: order.slice(cut).sort((a, b) => a - b) };
}
