// Plain-TypeScript reference formulas, written independently of the graph code, from the papers'
// equations: the tests compare the graph programs against these on tiny batches.

export type Rows = number[][];

export const softplus = (x: number) => (x > 0 ? x + Math.log1p(Math.exp(-x)) : Math.log1p(Math.exp(x)));
export const negLogSigmoid = (x: number) => softplus(-x);
export const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));
export const avg = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

export function seqSum(lp: Rows, mask: Rows): number[] {
  return lp.map((row, b) => row.reduce((s, v, t) => s + v * mask[b]![t]!, 0));
}
export function seqLen(mask: Rows): number[] {
  return mask.map((row) => row.reduce((a, b) => a + b, 0));
}
export function seqMean(lp: Rows, mask: Rows): number[] {
  const len = seqLen(mask);
  return seqSum(lp, mask).map((s, b) => s / Math.max(len[b]!, 1));
}

/** A tiny paired batch: B = 2, T = 3, with padding in both responses. */
export const PAIRED = {
  policy_chosen_logps: [[-0.5, -1.0, 0], [-0.2, -0.3, -0.4]],
  chosen_mask: [[1, 1, 0], [1, 1, 1]],
  policy_rejected_logps: [[-0.7, -0.8, -0.9], [-1.5, 0, 0]],
  rejected_mask: [[1, 1, 1], [1, 0, 0]],
  ref_chosen_logps: [-1.6, -1.0],
  ref_rejected_logps: [-2.2, -1.2],
};

export function tensorOf(rows: number[][] | number[]): { data: Float32Array; dims: number[] } {
  if (Array.isArray(rows[0])) {
    const r = rows as number[][];
    return { data: Float32Array.from(r.flat()), dims: [r.length, r[0]!.length] };
  }
  return { data: Float32Array.from(rows as number[]), dims: [rows.length] };
}

export function arraysOf(obj: Record<string, number[][] | number[] | number>): Record<string, { data: Float32Array; dims: number[] } | number> {
  return Object.fromEntries(Object.entries(obj).map(([k, v]) => [k, typeof v === 'number' ? v : tensorOf(v)]));
}

/** Log-ratios of the paired batch under a reduction. */
export function ratios(batch: typeof PAIRED, reduction: 'sum' | 'mean') {
  const red = reduction === 'sum' ? seqSum : seqMean;
  const lenW = seqLen(batch.chosen_mask);
  const lenL = seqLen(batch.rejected_mask);
  const lpW = red(batch.policy_chosen_logps, batch.chosen_mask);
  const lpL = red(batch.policy_rejected_logps, batch.rejected_mask);
  const rpW = batch.ref_chosen_logps.map((r, b) => (reduction === 'sum' ? r : r / lenW[b]!));
  const rpL = batch.ref_rejected_logps.map((r, b) => (reduction === 'sum' ? r : r / lenL[b]!));
  return { lpW, lpL, hW: lpW.map((v, b) => v - rpW[b]!), hL: lpL.map((v, b) => v - rpL[b]!), lenW, lenL };
}
