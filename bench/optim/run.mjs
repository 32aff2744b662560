// Optimizer throughput bench: parameters updated per second at 10M and 100M parameters for every
// registered optimizer, state bytes per parameter, and the ratio to (a) a fused C AdamW loop built
// here with gcc -O3 -march=native -fno-math-errno and (b) torch.optim.AdamW when python3 can import torch. The
// headline kernels (adamw, lion, adamw8bit) alternate with C and torch in rounds and report medians
// (this machine's bandwidth drifts); the others are measured once after.
//   npm run build && node --expose-gc bench/optim/run.mjs [--sizes 10000000,100000000] [--rounds 3]
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createOptimizer, OPTIMIZERS, WasmArena } from '../../dist/optim/index.js';

const here = path.dirname(fileURLToPath(import.meta.url));
// --headline-only measures just the fused kernels against C and torch (a minute instead of several).
const { values } = parseArgs({ options: { sizes: { type: 'string', default: '10000000,100000000' }, rounds: { type: 'string', default: '3' }, 'headline-only': { type: 'boolean' } } });
const SIZES = values.sizes.split(',').map(Number);
const ROUNDS = Number(values.rounds);
const HEADLINE = ['adamw', 'lion', 'adamw8bit'];
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const gc = () => globalThis.gc?.();

// The C baseline.
const cBin = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'optim-bench-')), 'adamw_ref');
// -fno-math-errno lets gcc vectorize sqrtf (without it the loop stays scalar, ~2.5x slower here).
execFileSync('gcc', ['-O3', '-march=native', '-fno-math-errno', '-o', cBin, path.join(here, 'adamw_ref.c'), '-lm']);
const cSecPerStep = (n, steps) => Number(execFileSync(cBin, [String(n), String(steps)]).toString().split(' ')[0]);

// The torch peer, if any python3 on PATH (or Debian's) imports torch.
const python = ['python3', '/usr/bin/python3'].find((py) => spawnSync(py, ['-c', 'import torch']).status === 0);
const torchSecPerStep = (n, steps) => {
  const out = execFileSync(python, [path.join(here, 'torch_adamw.py'), String(n), String(steps)], { env: { ...process.env, OMP_WAIT_POLICY: 'PASSIVE' } });
  return Number(out.toString().split(' ')[0]);
};

/** Hyperparameters that make each optimizer's steady-state step the one measured. */
// SOAP rotates only a 64-wide side (the long side is over maxPrecondDim); its float64 matmuls in
// TypeScript cost ~4 x 64 flops per parameter, so it is measured at 10M only.
const HYPER = { 'onebit-adam': { freezeStep: 0 }, soap: { maxPrecondDim: 1024 } };
const SKIP = { soap: (n) => n > 20e6 };

function setup(name, n) {
  process.stderr.write(`${name} @ ${n}\n`);
  // A matrix, so AdamP projects and SOAP rotates its short side.
  const dims = name === 'soap' ? [n / 64, 64] : [n / 256, 256];
  const kernelCapable = HEADLINE.includes(name) || name === 'adam' || name === 'adam8bit';
  const arena = kernelCapable ? new WasmArena(n * 4 * 5 + (8 << 20)) : undefined;
  const alloc = (k) => (arena ? arena.f32(k) : new Float32Array(k));
  const data = alloc(n);
  for (let i = 0; i < n; i += 1) data[i] = ((i % 1000) - 500) * 1e-3;
  const grad = alloc(n);
  for (let i = 0; i < n; i += 1) grad[i] = ((i % 777) - 388) * 1e-4;
  const params = [{ name: 'w', dims, data }];
  const grads = { w: grad };
  // Sophia and AdaHessian read a Hessian diagonal the training loop supplies; its cost is not the optimizer's.
  const aux = name === 'sophia' || name === 'adahessian' ? { hessianDiag: { w: new Float32Array(n).fill(1) } } : {};
  const opt = createOptimizer(name, HYPER[name] ?? {}, { arena });
  opt.step(params, grads, aux);
  return { opt, params, grads, aux };
}

function timeSteps(s, steps) {
  const times = [];
  for (let k = 0; k < steps; k++) {
    const t0 = process.hrtime.bigint();
    s.opt.step(s.params, s.grads, s.aux);
    times.push(Number(process.hrtime.bigint() - t0) / 1e9);
  }
  return median(times);
}

const rows = [];
const baseline = {};
for (const n of SIZES) {
  const big = n >= 50e6;
  const c = [];
  const torch = [];
  const ours = Object.fromEntries(HEADLINE.map((k) => [k, []]));
  const live = Object.fromEntries(HEADLINE.map((k) => [k, setup(k, n)]));
  for (let r = 0; r < ROUNDS; r++) {
    c.push(cSecPerStep(n, big ? 5 : 9));
    if (python) torch.push(torchSecPerStep(n, big ? 3 : 5));
    for (const k of HEADLINE) ours[k].push(timeSteps(live[k], big ? 3 : 7));
  }
  baseline[n] = { c: median(c), torch: python ? median(torch) : undefined };
  for (const k of HEADLINE) rows.push({ name: k, n, sec: median(ours[k]), bytes: live[k].opt.stateBytesPerParam(), kernel: live[k].opt.kernelNames()[0] });
  for (const k of HEADLINE) delete live[k];
  gc();
  for (const name of Object.keys(OPTIMIZERS).filter((k) => !HEADLINE.includes(k) && !values['headline-only'])) {
    if (SKIP[name]?.(n)) {
      rows.push({ name, n, sec: NaN, bytes: NaN, kernel: '' });
      continue;
    }
    const s = setup(name, n);
    rows.push({ name, n, sec: timeSteps(s, big ? 1 : 3), bytes: s.opt.stateBytesPerParam(), kernel: s.opt.kernelNames()[0] });
    gc();
  }
}

const mps = (n, sec) => n / sec / 1e6;
const lines = [];
lines.push(`Optimizer bench: ${os.cpus()[0].model}, ${os.cpus().length} cores, load average ${os.loadavg().map((x) => x.toFixed(1)).join(' ')} at the end; node ${process.version}; torch: ${python ?? 'not available'}`);
for (const n of SIZES) {
  const b = baseline[n];
  lines.push(`baseline at ${n / 1e6}M: fused C AdamW (gcc -O3 -march=native -fno-math-errno, 1 thread) ${mps(n, b.c).toFixed(0)} M params/s; torch.optim.AdamW ${b.torch ? mps(n, b.torch).toFixed(0) + ' M params/s' : 'n/a'}`);
}
lines.push('');
lines.push('| optimizer | path | ' + SIZES.map((n) => `M params/s @${n / 1e6}M`).join(' | ') + ' | state B/param | ' + SIZES.map((n) => `vs C @${n / 1e6}M`).join(' | ') + ' | ' + SIZES.map((n) => `vs torch AdamW @${n / 1e6}M`).join(' | ') + ' |');
lines.push('|' + ' --- |'.repeat(2 + 3 * SIZES.length + 1));
for (const name of Object.keys(OPTIMIZERS).filter((k) => rows.some((r) => r.name === k))) {
  const rs = SIZES.map((n) => rows.find((r) => r.name === name && r.n === n));
  const cells = [name, rs[0].kernel ? `wasm ${rs[0].kernel}` : 'TypeScript'];
  const cell = (r, f) => (Number.isNaN(r.sec) ? 'not run' : f(r));
  cells.push(...rs.map((r) => cell(r, () => mps(r.n, r.sec).toFixed(r.n / r.sec < 10e6 ? 1 : 0))));
  cells.push(rs.find((r) => !Number.isNaN(r.bytes)).bytes.toFixed(2));
  cells.push(...rs.map((r) => cell(r, () => (baseline[r.n].c / r.sec).toFixed(2))));
  cells.push(...rs.map((r) => cell(r, () => (baseline[r.n].torch ? (baseline[r.n].torch / r.sec).toFixed(2) + 'x' : 'n/a'))));
  lines.push('| ' + cells.join(' | ') + ' |');
}
console.log(lines.join('\n'));
