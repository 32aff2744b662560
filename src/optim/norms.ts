// The sum of squares of many arrays (a global gradient norm), on the wasm kernel where the arrays
// live in an arena: at GPT-2-small the JavaScript loop over 124 M gradients took ~100 ms a step.

import type { WasmArena } from './arena.js';
import { kernelsFor } from './kernels/module.js';

/**
 * Sum of x^2 over every array. Arrays in `arena` go through its kernel on the calling thread (float32
 * block sums carried in float64); others, or all without an arena, a float64 loop.
 */
export function sumOfSquares(arrays: Iterable<Float32Array>, arena?: WasmArena): number {
  let sq = 0;
  for (const a of arrays) {
    if (arena?.contains(a)) sq += kernelsFor(arena).x.sumsq(a.byteOffset, a.length);
    else for (let i = 0; i < a.length; i++) sq += a[i]! * a[i]!;
  }
  return sq;
}
