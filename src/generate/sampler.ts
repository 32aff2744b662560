// Choosing the next token from processed scores: a table of samplers, so that greedy and sampling
// are selected by name and a seeded random source makes every run reproducible.

import { softmax } from './processors.js';

/** Uniform [0, 1) source; pass a seeded one (see src/datasets/random.ts) for reproducible runs. */
export type Random = () => number;

export type Sampler = (scores: Float32Array, random: Random) => number;

function argmax(scores: Float32Array): number {
  let best = 0;
  let max = scores[0]!;
  for (let i = 1; i < scores.length; i++) {
    const x = scores[i]!;
    if (x > max) {
      max = x;
      best = i;
    }
  }
  return best;
}

/** Inverse-CDF draw from softmax(scores); -Infinity scores have zero probability. */
function sample(scores: Float32Array, random: Random): number {
  const probs = softmax(scores);
  let u = random();
  for (let i = 0; i < probs.length; i++) {
    u -= probs[i]!;
    if (u < 0) return i;
  }
  // Rounding left a sliver of mass: take the last token with non-zero probability.
  for (let i = probs.length - 1; i >= 0; i--) if (probs[i]! > 0) return i;
  return argmax(scores);
}

export const SAMPLERS = { greedy: (scores: Float32Array) => argmax(scores), sample } satisfies Record<string, Sampler>;
export type SamplerName = keyof typeof SAMPLERS;
