// Diagonal Hessian estimators for Sophia and AdaHessian, built from a gradient function the training
// loop provides (no second-order autodiff needed):
// - Hutchinson: D = z * (H z) with a Rademacher z, where H z is the central finite difference of two
//   gradient evaluations, (grad(p + delta z) - grad(p - delta z)) / (2 delta). E[D] = diag(H).
// - Gauss-Newton-Bartlett (Sophia's GNB): B * g_hat * g_hat, g_hat the mini-batch gradient of the
//   loss on labels sampled from the model.

import { fail } from '../errors.js';
import { mulberry32 } from '../random.js';
import type { Param } from './core.js';
import type { Grads } from './optimizer.js';

/** Gradients of the loss at the parameters' current values. */
export type GradFn = (params: Param[]) => Grads;

function get(g: Grads, name: string): Float32Array {
  const x = g instanceof Map ? g.get(name) : g[name];
  if (!x) throw fail('ALIGNKIT_ERR_TENSOR', `gradient function returned no gradient for "${name}"`, { field: name });
  return x;
}

export interface HutchinsonOptions {
  /** Finite-difference step along z. */
  delta?: number;
  seed?: number;
}

/** A Hutchinson diagonal estimator; each call draws a fresh z and restores the parameters. */
export function hutchinsonDiag(gradFn: GradFn, opts: HutchinsonOptions = {}): (params: Param[]) => Map<string, Float32Array> {
  const delta = opts.delta ?? 1e-3;
  const rnd = mulberry32(opts.seed ?? 0).next;
  return (params) => {
    const z = params.map((p) => Float32Array.from(p.data, () => (rnd() < 0.5 ? -1 : 1)));
    const saved = params.map((p) => p.data.slice());
    params.forEach((p, i) => p.data.forEach((x, j) => (p.data[j] = saved[i]![j]! + delta * z[i]![j]!)));
    const plus = params.map((p) => get(gradFn(params), p.name).slice());
    params.forEach((p, i) => p.data.forEach((x, j) => (p.data[j] = saved[i]![j]! - delta * z[i]![j]!)));
    const minus = gradFn(params);
    params.forEach((p, i) => p.data.set(saved[i]!));
    const out = new Map<string, Float32Array>();
    params.forEach((p, i) => {
      const gm = get(minus, p.name);
      out.set(p.name, Float32Array.from(plus[i]!, (gp, j) => (z[i]![j]! * (gp - gm[j]!)) / (2 * delta)));
    });
    return out;
  };
}

/** Sophia's Gauss-Newton-Bartlett estimator from the gradient on model-sampled labels. */
export function gaussNewtonBartlett(sampledLabelGradFn: GradFn, batchSize: number): (params: Param[]) => Map<string, Float32Array> {
  return (params) => {
    const g = sampledLabelGradFn(params);
    const out = new Map<string, Float32Array>();
    for (const p of params) out.set(p.name, Float32Array.from(get(g, p.name), (x) => batchSize * x * x));
    return out;
  };
}
