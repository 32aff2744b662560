// Matrix-product throughput of one training step from an onnxruntime profile (session option
// `profile`): the last `model_run` event's MatMul / FusedMatMul / Gemm kernels, their FLOPs from the
// recorded shapes (2 M N K per product, batched over leading axes), their time, and their share of
// the run. Used by bench/alignkit-peer.mjs for the GEMM-efficiency line of the training benches.
import fs from 'node:fs';

const PRODUCTS = new Set(['MatMul', 'FusedMatMul', 'Gemm']);
const numel = (d) => d.reduce((a, b) => a * b, 1);
const shapeOf = (entry) => Object.values(entry)[0];

/** FLOPs of one product: 2 x (output elements) x (contracted length). */
function flops(op, ins, out) {
  const a = ins[0];
  let k;
  if (op === 'Gemm') k = numel(a) / out[0];
  else if (op === 'MatMul') k = a[a.length - 1];
  // FusedMatMul may transpose A or B (the profile does not record which): A's dim that is not M is
  // the contracted one (when A is square both readings give the same length).
  else k = a[a.length - 2] === out[out.length - 2] ? a[a.length - 1] : a[a.length - 2];
  return 2 * numel(out) * k;
}

/** Summary of the last run in a profile file: product GFLOP/s, time share, and the slowest shapes. */
export function matmulProfile(file) {
  const events = JSON.parse(fs.readFileSync(file, 'utf8'));
  const runs = events.filter((e) => e.name === 'model_run');
  const last = runs[runs.length - 1];
  const [t0, t1] = [last.ts, last.ts + last.dur];
  let flop = 0;
  let us = 0;
  let kernelUs = 0;
  const byShape = new Map();
  for (const e of events) {
    if (e.cat !== 'Node' || !e.name.endsWith('_kernel_time') || e.ts < t0 || e.ts > t1) continue;
    kernelUs += e.dur;
    const op = e.args.op_name;
    if (!PRODUCTS.has(op)) continue;
    const ins = e.args.input_type_shape.map(shapeOf);
    const out = shapeOf(e.args.output_type_shape[0]);
    const f = flops(op, ins, out);
    flop += f;
    us += e.dur;
    const key = `${op} [${ins.map((d) => d.join('x')).join(', ')}] -> ${out.join('x')}`;
    const row = byShape.get(key) ?? { key, op, ins, out, flop: 0, us: 0, n: 0 };
    row.flop += f;
    row.us += e.dur;
    row.n++;
    byShape.set(key, row);
  }
  // KEEP_PROFILE=1 keeps the profile file (its path is in the OS temp dir) to look at every op.
  if (!process.env.KEEP_PROFILE) fs.rmSync(file, { force: true });
  return {
    runMs: last.dur / 1000,
    kernelMs: kernelUs / 1000,
    productMs: us / 1000,
    productGflop: flop / 1e9,
    productGflops: flop / us / 1e3,
    wholeRunGflops: flop / last.dur / 1e3,
    slowest: [...byShape.values()].sort((a, b) => b.us - a.us).slice(0, 8).map((r) => ({ shape: r.key, op: r.op, ins: r.ins.slice(0, 2), out: r.out, ms: r.us / 1000, gflops: r.flop / r.us / 1e3, n: r.n })),
  };
}

/**
 * The same product alone in its own session (inputs fed, as the training graph feeds weights), at the
 * recorded shapes: what onnxruntime reaches on that shape outside the step. Gemm transposes are read
 * off the shapes (A stored [K, M] means transA); batched MatMuls run as MatMul.
 */
export async function standaloneGflops(product, { GraphBuilder, Session }, threads, seconds = 0.5) {
  const g = new GraphBuilder({ name: 'product', opset: 17 });
  const [a, b] = product.ins;
  const out = product.out;
  const x = g.input('a', 'float32', a);
  let y;
  if (product.op === 'Gemm') {
    const transA = a[0] !== out[0];
    const transB = b[1] !== out[1];
    y = g.gemm(x, g.input('b', 'float32', b), undefined, { transA, transB });
  } else {
    // FusedMatMul's transposes are not recorded: run the plain product of its output's shape.
    const k = product.op === 'MatMul' ? a[a.length - 1] : (a[a.length - 2] === out[out.length - 2] ? a[a.length - 1] : a[a.length - 2]);
    const aShape = [...out.slice(0, -1), k];
    const bShape = [...(b.length > 2 ? out.slice(0, -2) : []), k, out[out.length - 1]];
    y = g.matMul(g.input('a2', 'float32', aShape), g.input('b', 'float32', bShape));
    product = { ...product, ins: [aShape, bShape] };
  }
  g.output(y, 'y', 'float32', out);
  const model = g.toModel();
  model.graph.inputs = model.graph.inputs.filter((v) => v.name !== (product.op === 'Gemm' ? 'a2' : 'a'));
  const s = await Session.create(model, { intraOpThreads: threads });
  const numel = (d) => d.reduce((p, q) => p * q, 1);
  const feeds = Object.fromEntries(model.graph.inputs.map((v, i) => [v.name, { dtype: 'float32', dims: product.ins[i], data: new Float32Array(numel(product.ins[i])).fill(0.5) }]));
  await s.run(feeds);
  let reps = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < seconds * 1000) {
    await s.run(feeds);
    reps++;
  }
  const ms = (performance.now() - t0) / reps;
  await s.release();
  const k = product.op === 'Gemm' ? numel(product.ins[0]) / out[0] : product.ins[0][product.ins[0].length - 1];
  return (2 * numel(out) * k) / ms / 1e6;
}
