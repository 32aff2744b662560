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
    const row = byShape.get(key) ?? { key, flop: 0, us: 0, n: 0 };
    row.flop += f;
    row.us += e.dur;
    row.n++;
    byShape.set(key, row);
  }
  fs.rmSync(file, { force: true });
  return {
    runMs: last.dur / 1000,
    kernelMs: kernelUs / 1000,
    productMs: us / 1000,
    productGflop: flop / 1e9,
    productGflops: flop / us / 1e3,
    wholeRunGflops: flop / last.dur / 1e3,
    slowest: [...byShape.values()].sort((a, b) => b.us - a.us).slice(0, 8).map((r) => ({ shape: r.key, ms: r.us / 1000, gflops: r.flop / r.us / 1e3, n: r.n })),
  };
}
