// One finite-difference checker for every rule and every model: the outputs are projected onto a
// fixed random tensor (L = sum_o <r_o, o>), the analytic gradient of L from the generated graph is
// compared with central differences of L, along random directions and single coordinates of each
// parameter. Float64 graphs give ~1e-9 agreement; ops onnxruntime runs only in float32 (Erf,
// Softplus, Gelu) are checked in float32 with correspondingly looser tolerances.

import { fail, isAlignkitError } from '../../errors.js';
import { GraphBuilder } from '../builder.js';
import type { DType } from '../dtypes.js';
import { onnxOpset, type Model, type Tensor } from '../ir.js';
import { Session } from '../runtime.js';
import { copyModel, gradientOf } from './walker.js';
import { mulberry32, normalSample } from '../../random.js';

export interface GradientCheckOptions {
  /** Float initializers or inputs to differentiate with respect to. */
  wrt: string[];
  /** Values for the graph inputs (and for inputs listed in wrt). */
  feeds?: Record<string, Tensor>;
  /** Values whose projection is differentiated (default: the graph's float outputs). */
  of?: string[];
  /** Step of the central difference (default 1e-6 in float64, 3e-3 in float32). */
  eps?: number;
  rtol?: number;
  atol?: number;
  /** Random directions per parameter (default 2). */
  directions?: number;
  /** Single coordinates per parameter (default 6). */
  coordinates?: number;
  seed?: number;
}

export interface GradientCheckFailure {
  param: string;
  /** 'direction k' or 'coordinate i'. */
  probe: string;
  analytic: number;
  numeric: number;
}

export interface GradientCheckResult {
  ok: boolean;
  dtype: DType;
  checks: number;
  /** Largest |analytic - numeric| / (atol + rtol * max(|analytic|, |numeric|)); <= 1 passes. */
  worstRatio: number;
  failures: GradientCheckFailure[];
}

const TOLERANCES: Record<'float32' | 'float64', { eps: number; rtol: number; atol: number }> = {
  // float64: truncation error eps^2 ~ 1e-12 and rounding 1e-16/eps ~ 1e-10 are far below these.
  float64: { eps: 1e-6, rtol: 1e-5, atol: 1e-7 },
  // float32: rounding of L (~1e-7 |L|) divided by 2 eps dominates.
  float32: { eps: 3e-3, rtol: 2e-2, atol: 2e-3 },
};

/** The library's seeded generator as a plain function, so every check is reproducible. */
export function seededRandom(seed: number): () => number {
  return mulberry32(seed).next;
}

function floatArray(dtype: DType, n: number): Float32Array | Float64Array {
  return dtype === 'float64' ? new Float64Array(n) : new Float32Array(n);
}

export async function checkGradients(model: Model, opts: GradientCheckOptions): Promise<GradientCheckResult> {
  const rand = seededRandom(opts.seed ?? 1234);
  const m = copyModel(model);
  const graph = m.graph;
  const base = new Map<string, Tensor>();
  for (const p of opts.wrt) {
    const init = graph.initializers.get(p);
    if (init) {
      graph.initializers.delete(p);
      graph.inputs.push({ name: p, dtype: init.dtype, dims: [...init.dims] });
      base.set(p, { ...init, data: init.data.slice() });
    } else if (opts.feeds?.[p]) base.set(p, opts.feeds[p]!);
    else throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `gradient check: '${p}' is neither an initializer nor a fed input`, { parameter: p });
  }
  const dtype = base.get(opts.wrt[0]!)!.dtype;
  const tol = { ...TOLERANCES[dtype === 'float64' ? 'float64' : 'float32'], ...definedOnly(opts) };
  const of = opts.of ?? graph.outputs.filter((o) => o.dtype === dtype).map((o) => o.name);
  graph.outputs = of.map((name) => ({ name, dtype }));

  const feedsWith = (override?: [string, Tensor]) => {
    const f: Record<string, Tensor> = { ...opts.feeds };
    for (const [k, v] of base) f[k] = v;
    if (override) f[override[0]] = override[1];
    return f;
  };
  // Forward-only sessions skip onnxruntime's fusions: they would turn x*sigmoid(1.702x) into a
  // float32-only QuickGelu kernel; the backward graph is run as training runs it, fully optimized.
  const plain = { graphOptimization: 'basic' } as const;
  const probe = await Session.create(m, plain);
  const shapes = await probe.run(feedsWith());
  await probe.release();

  // L = sum_o sum(o * r_o) with fixed random r_o.
  const g = new GraphBuilder({ graph, opset: onnxOpset(m) });
  const terms = of.map((o) => {
    const r = floatArray(dtype, shapes[o]!.data.length).map(() => normalSample(rand));
    return g.reduceSum(g.mul(o, g.constant(r, shapes[o]!.dims, dtype)), undefined, false);
  });
  const objective = terms.length === 1 ? terms[0]! : g.op1('Sum', terms);
  graph.outputs = [{ name: objective, dtype, dims: [] }];

  const forward = await Session.create(m, plain);
  const { model: gm, gradients } = gradientOf(m, objective, opts.wrt);
  gm.graph.outputs.push(...opts.wrt.map((p) => ({ name: gradients.get(p)!, dtype })));
  const backward = await Session.create(gm);
  const analytic = await backward.run(feedsWith());
  await backward.release();

  const lossAt = async (p: string, data: Float32Array | Float64Array) =>
    Number((await forward.run(feedsWith([p, { ...base.get(p)!, data }])))[objective]!.data[0]);

  const failures: GradientCheckFailure[] = [];
  let checks = 0;
  let worstRatio = 0;
  const compare = (param: string, probeName: string, a: number, n: number) => {
    checks++;
    const ratio = Math.abs(a - n) / (tol.atol + tol.rtol * Math.max(Math.abs(a), Math.abs(n)));
    worstRatio = Math.max(worstRatio, Number.isNaN(ratio) ? Infinity : ratio);
    if (!(ratio <= 1)) failures.push({ param, probe: probeName, analytic: a, numeric: n });
  };
  for (const p of opts.wrt) {
    const x = base.get(p)!.data as Float32Array | Float64Array;
    const grad = analytic[gradients.get(p)!]!.data as Float32Array | Float64Array;
    const directional = async (v: Float32Array | Float64Array, name: string) => {
      const plus = x.map((xi, i) => xi + tol.eps * v[i]!);
      const minus = x.map((xi, i) => xi - tol.eps * v[i]!);
      const numeric = ((await lossAt(p, plus)) - (await lossAt(p, minus))) / (2 * tol.eps);
      let dot = 0;
      for (let i = 0; i < grad.length; i++) dot += grad[i]! * v[i]!;
      compare(p, name, dot, numeric);
    };
    for (let k = 0; k < (opts.directions ?? 2); k++) await directional(floatArray(dtype, x.length).map(() => normalSample(rand)), `direction ${k}`);
    const coords = Math.min(opts.coordinates ?? 6, x.length);
    const picked = new Set<number>();
    while (picked.size < coords) picked.add(Math.floor(rand() * x.length));
    for (const i of picked) {
      const e = floatArray(dtype, x.length);
      e[i] = 1;
      await directional(e, `coordinate ${i}`);
    }
  }
  await forward.release();
  return { ok: failures.length === 0 && checks > 0, dtype, checks, worstRatio, failures };
}

function definedOnly(opts: GradientCheckOptions): Partial<{ eps: number; rtol: number; atol: number }> {
  const out: Partial<{ eps: number; rtol: number; atol: number }> = {};
  if (opts.eps !== undefined) out.eps = opts.eps;
  if (opts.rtol !== undefined) out.rtol = opts.rtol;
  if (opts.atol !== undefined) out.atol = opts.atol;
  return out;
}

/** A check case built for a dtype: the model, what to differentiate, and the feeds. */
export interface GradientCheckCase {
  model: Model;
  wrt: string[];
  feeds?: Record<string, Tensor>;
  of?: string[];
}

/**
 * Check a case in float64 when onnxruntime has float64 kernels for all its ops (forward and
 * backward), else in float32. Only a missing kernel falls back; any other failure is reported.
 */
export async function checkGradientCase(
  build: (dtype: 'float32' | 'float64') => GradientCheckCase,
  opts: Omit<GradientCheckOptions, 'wrt' | 'feeds' | 'of'> = {},
): Promise<GradientCheckResult> {
  const run = (dtype: 'float32' | 'float64') => {
    const c = build(dtype);
    return checkGradients(c.model, { ...opts, wrt: c.wrt, ...(c.feeds && { feeds: c.feeds }), ...(c.of && { of: c.of }) });
  };
  try {
    return await run('float64');
  } catch (e) {
    if (isAlignkitError(e) && e.code === 'ALIGNKIT_ERR_SESSION' && /Could not find an implementation|NOT_IMPLEMENTED|not supported/i.test(e.message)) return run('float32');
    throw e;
  }
}
