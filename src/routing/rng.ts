// Routing's randomness is the library's seeded generator: every random choice (knapsack order,
// the random baseline, simulated budgets, which annotator stands in for "the human") takes an
// explicit Rng so runs reproduce.
export { mulberry32 as createRng, shuffleInPlace, type Rng } from '../random.js';
