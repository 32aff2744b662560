// Gradient rules of ops onnxruntime has no float64 kernel for (Erf, Softplus, Gelu, Mean, Cast's
// float32 side) are finite-difference checked only in float32 at rtol 2e-2 (rules.test.ts), which
// lets a wrong formula of similar shape pass (Gelu with the tanh approximation's derivative). Here
// each rule's gradient, evaluated by onnxruntime in float32, is compared with the closed-form
// derivative computed in float64, at ~1e-5 of the gradient's scale.

import { describe, expect, it } from 'vitest';
import { GraphBuilder, Session, type Tensor } from '../../../src/graph/index.js';
import { gradientOf } from '../../../src/graph/autodiff/index.js';

/** 61 points over [-4, 4] and a few extremes, where the derivatives change shape. */
const X = [...Array.from({ length: 61 }, (_, i) => -4 + (8 * i) / 60), -6.5, 5.5, 1e-3, -2e-3];
/** Per-entry weights of the objective sum(w * y): the gradient is w * dy/dx. */
const W = X.map((_, i) => 0.5 + ((i * 37) % 11) / 10);

const phi = (x: number) => Math.exp(-x * x / 2) / Math.sqrt(2 * Math.PI);
/** erf by its Taylor series (|x| < 3) or continued fraction (beyond), to float64 precision. */
function erf(x: number): number {
  const a = Math.abs(x);
  if (a < 3) {
    let term = a, sum = a;
    for (let n = 1; n < 200 && Math.abs(term) > 1e-17 * Math.abs(sum); n++) {
      term *= (-a * a) / n;
      sum += term / (2 * n + 1);
    }
    return Math.sign(x) * (2 / Math.sqrt(Math.PI)) * sum;
  }
  let f = 0;
  for (let n = 60; n >= 1; n--) f = (n / 2) / (a + f);
  return Math.sign(x) * (1 - Math.exp(-a * a) / (Math.sqrt(Math.PI) * (a + f)));
}

/** Gradient of sum(w * out) with respect to each input, from our autodiff run by onnxruntime in float32. */
async function autodiff(build: (g: GraphBuilder, inputs: string[]) => string, inputs: Record<string, number[]>, opset = 20): Promise<Record<string, Float32Array>> {
  const g = new GraphBuilder({ opset });
  const names = Object.keys(inputs);
  for (const n of names) g.input(n, 'float32', [inputs[n]!.length]);
  const out = build(g, names);
  const objective = g.reduceSum(g.mul(out, g.constant(Float32Array.from(W), [W.length])), undefined, false);
  g.output(objective, 'objective');
  const { model, gradients } = gradientOf(g.toModel(), objective, names);
  model.graph.outputs.push(...names.map((n) => ({ name: gradients.get(n)!, dtype: 'float32' as const })));
  const s = await Session.create(model);
  const feeds: Record<string, Tensor> = Object.fromEntries(names.map((n) => [n, { dtype: 'float32', dims: [inputs[n]!.length], data: Float32Array.from(inputs[n]!) }]));
  const r = await s.run(feeds);
  await s.release();
  return Object.fromEntries(names.map((n) => [n, r[gradients.get(n)!]!.data as Float32Array]));
}

/** |autodiff - closed form| within 1e-5 of the largest |closed form| (float32 evaluation is ~1e-7). */
function expectClose(got: Float32Array, want: number[], what: string): void {
  const scale = Math.max(...want.map(Math.abs));
  want.forEach((w, i) => expect(Math.abs(got[i]! - w), `${what} at x = ${X[i]}`).toBeLessThan(1e-5 * scale));
}

describe('gradient rules against closed-form float64 derivatives', () => {
  const x32 = X.map(Math.fround);

  it('Erf: d erf(x)/dx = 2/sqrt(pi) exp(-x^2)', async () => {
    const { x } = await autodiff((g, [a]) => g.erf(a!), { x: x32 });
    expectClose(x!, x32.map((v, i) => (W[i]! * 2 * Math.exp(-v * v)) / Math.sqrt(Math.PI)), 'Erf');
  });

  it('Softplus: d log(1 + e^x)/dx = sigmoid(x)', async () => {
    const { x } = await autodiff((g, [a]) => g.softplus(a!), { x: x32 });
    expectClose(x!, x32.map((v, i) => W[i]! / (1 + Math.exp(-v))), 'Softplus');
  });

  it('exact Gelu: d x Phi(x)/dx = Phi(x) + x phi(x) (not the tanh approximation\'s derivative)', async () => {
    const { x } = await autodiff((g, [a]) => g.op1('Gelu', [a!]), { x: x32 });
    expectClose(x!, x32.map((v, i) => W[i]! * (0.5 * (1 + erf(v / Math.SQRT2)) + v * phi(v))), 'Gelu');
    // The tanh approximation's derivative differs by up to 8.7e-4 here, 87 times the tolerance.
    const c = Math.sqrt(2 / Math.PI);
    const tanhDerivative = (v: number) => {
      const t = Math.tanh(c * (v + 0.044715 * v ** 3));
      return 0.5 * (1 + t) + 0.5 * v * (1 - t * t) * c * (1 + 3 * 0.044715 * v * v);
    };
    const gap = Math.max(...x32.map((v) => Math.abs(tanhDerivative(v) - (0.5 * (1 + erf(v / Math.SQRT2)) + v * phi(v)))));
    expect(gap).toBeGreaterThan(50 * 1e-5);
  });

  /** d/dx of 0.5 x (1 + tanh(c (x + 0.044715 x^3))), written in its tanh form. */
  const geluTanhDerivative = (v: number) => {
    const c = Math.sqrt(2 / Math.PI);
    const t = Math.tanh(c * (v + 0.044715 * v ** 3));
    return 0.5 * (1 + t) + 0.5 * v * (1 - t * t) * c * (1 + 3 * 0.044715 * v * v);
  };

  it('tanh-approximated Gelu: its own closed-form derivative', async () => {
    const { x } = await autodiff((g, [a]) => g.op1('Gelu', [a!], { approximate: 'tanh' }), { x: x32 });
    expectClose(x!, x32.map((v, i) => W[i]! * geluTanhDerivative(v)), 'Gelu tanh');
  });

  it('com.microsoft.FastGelu (the rule works in the sigmoid form): the tanh form\'s derivative, and the bias gets the sum', async () => {
    const bias = x32.map((v) => Math.fround(0.25 - 0.1 * v));
    const grads = await autodiff((g, [a, b]) => {
      g.useDomain('com.microsoft', 1);
      return g.op1('FastGelu', [a!, b!], {}, { domain: 'com.microsoft' });
    }, { x: x32, bias }, 17);
    const want = x32.map((v, i) => W[i]! * geluTanhDerivative(v + bias[i]!));
    expectClose(grads.x!, want, 'FastGelu');
    // One-dimensional inputs: the bias has the input's shape, so its gradient is the input's.
    expectClose(grads.bias!, want, 'FastGelu bias');
  });

  it('Mean of three inputs: each gets 1/3 of the upstream gradient', async () => {
    const b = x32.map((v) => Math.fround(0.3 * v + 1));
    const c = x32.map((v) => Math.fround(v * v));
    const grads = await autodiff((g, [p, q, r]) => g.op1('Mean', [p!, q!, r!]), { p: x32, q: b, r: c });
    for (const n of ['p', 'q', 'r']) expectClose(grads[n]!, W.map((w) => w / 3), `Mean/${n}`);
  });

  it('Cast float32 -> float64 -> float32: the gradient passes through both casts unchanged', async () => {
    const { x } = await autodiff((g, [a]) => g.cast(g.mul(g.cast(a!, 'float64'), g.constant(Float64Array.of(1.5), [], 'float64')), 'float32'), { x: x32 }, 17);
    expectClose(x!, W.map((w) => 1.5 * w), 'Cast');
  });

  it('the float64 erf used above is right (erf(1) = 0.8427007929497149, erf(3.5) = 0.9999992569016276)', () => {
    expect(erf(1)).toBeCloseTo(0.8427007929497149, 14);
    expect(erf(-0.5)).toBeCloseTo(-0.5204998778130465, 14);
    expect(erf(3.5)).toBeCloseTo(0.9999992569016276, 14);
  });
});
