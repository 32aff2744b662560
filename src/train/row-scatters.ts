// Putting together, after a run, the embedding gradients the training graph returns as a dense
// part and rows (src/graph/autodiff/row-scatters.ts): the dense part turned around when it came
// as [cols, rows], zeros when there is none, then each update row added to its row in scatter
// order, which gives the same float sums as onnxruntime's ScatterElements(reduction = 'add') did.

import { fail } from '../errors.js';
import type { RowScatter } from '../graph/autodiff/row-scatters.js';
import { WasmArena } from '../optim/arena.js';
import { kernelsFor } from '../optim/kernels/module.js';

/** dst[c rows + r] = src[r cols + c]. */
export type Transposer = (src: Float32Array, rows: number, cols: number, dst: Float32Array) => void;

/** Tile edge of the JavaScript transpose: rows of a large source lie far apart, so both sides are walked in tiles. */
const TILE = 64;

function transposeOnHeap(src: Float32Array, rows: number, cols: number, dst: Float32Array): void {
  for (let r0 = 0; r0 < rows; r0 += TILE)
    for (let c0 = 0; c0 < cols; c0 += TILE) {
      const r1 = Math.min(rows, r0 + TILE);
      const c1 = Math.min(cols, c0 + TILE);
      for (let r = r0; r < r1; r++) for (let c = c0; c < c1; c++) dst[c * rows + r] = src[r * cols + c]!;
    }
}

/**
 * The fastest transpose for arrays of `allocator`: the arena's wasm kernel over its threads
 * (optim_kernels.c transpose_columns), else tiles in JavaScript.
 */
export function transposerFor(allocator: unknown): { transpose: Transposer; fast: boolean } {
  if (!(allocator instanceof WasmArena)) return { transpose: transposeOnHeap, fast: false };
  // The kernels are instantiated at the first transpose, off the trainer's start-up path.
  return {
    fast: true,
    transpose: (src, rows, cols, dst) =>
      allocator.contains(src) && allocator.contains(dst)
        ? kernelsFor(allocator).x.transpose_columns(src.byteOffset, rows, cols, dst.byteOffset, 0, cols)
        : transposeOnHeap(src, rows, cols, dst),
  };
}

/** The run's outputs for one gradient: the transposed dense part (when it came as [cols, rows]), the rows and their updates. */
export interface RowScatterOutputs {
  transposed?: Float32Array;
  rows: BigInt64Array;
  updates: Float32Array;
}

/**
 * Finish `target` (the gradient, [rows, cols]; already holding the dense part when the run wrote it
 * in place) from a run's outputs. `param` names it in errors.
 */
export function assembleRowScatter(param: string, plan: RowScatter, target: Float32Array, out: RowScatterOutputs, transpose: Transposer): void {
  const [rowCount, cols] = plan.dims;
  if (!plan.dense) target.fill(0);
  else if (plan.dense.transposed) transpose(out.transposed!, cols, rowCount, target);
  const { rows, updates } = out;
  if (updates.length !== rows.length * cols)
    throw fail('ALIGNKIT_ERR_TENSOR', `gradient of ${param}: ${rows.length} rows but ${updates.length} update values (rows of ${cols})`, { field: param });
  for (let i = 0; i < rows.length; i++) {
    const r = Number(rows[i]);
    if (!(r >= 0 && r < rowCount)) throw fail('ALIGNKIT_ERR_TENSOR', `gradient of ${param}: row index ${r} at ${i} is outside [0, ${rowCount})`, { field: param, index: i });
    const at = r * cols;
    const from = i * cols;
    for (let j = 0; j < cols; j++) target[at + j]! += updates[from + j]!;
  }
}
