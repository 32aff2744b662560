// Optimizer throughput bench: parameters updated per second for every registered optimizer at 10M
// and 100M parameters (parameters, gradients and state in one WasmArena, so each runs its fused
// kernel), against (a) a fused C AdamW loop (bench/optim/adamw_ref.c, gcc -O3 -march=native
// -fno-math-errno, one thread) and (b) torch 1.13: torch.optim's SGD/Adam/AdamW in their default
// (single-tensor) and foreach forms, and with --official DIR the official implementation of each
// optimizer that has one runnable on CPU (bench/optim/torch_peer.py imports it from DIR). Each
// optimizer alternates with the C loop and its torch peers in rounds; medians are reported (SOAP:
// the mean over its 10-step refresh period). The torch peers run with 2 threads,
// OMP_WAIT_POLICY=PASSIVE and OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE unset in their own environment.
// --threads N runs the kernels on the arena's N threads (default 1, as the C loop: bench/optim/threads.mjs compares thread counts).
//   npm run build && node --expose-gc bench/optim/run.mjs [--sizes 10000000,100000000] [--rounds 3] [--official DIR] [--only adamw,soap] [--threads 1]
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createOptimizer, OPTIMIZERS, WasmArena } from '../../dist/optim/index.js';
import { findTorchPython, torchEnv } from '../torch-peer.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const { values } = parseArgs({ options: { sizes: { type: 'string', default: '10000000,100000000' }, rounds: { type: 'string', default: '3' }, official: { type: 'string' }, only: { type: 'string' }, threads: { type: 'string', default: '1' } } });
const SIZES = values.sizes.split(',').map(Number);
if (SIZES.some((n) => n % 200 || n % 64)) throw new Error(`--sizes must be multiples of 200 and 64 (matrix shapes [n/200, 200] and SOAP's [n/64, 64]), got ${values.sizes}`);
const ROUNDS = Number(values.rounds);
const NAMES = values.only ? values.only.split(',') : Object.keys(OPTIMIZERS);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
const gc = () => globalThis.gc?.();
const loads = [os.loadavg()];

// ---------------------------------------------------------------- the C baseline
const cBin = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'optim-bench-')), 'adamw_ref');
// -fno-math-errno lets gcc vectorize sqrtf (without it the loop stays scalar, ~2.5x slower here).
execFileSync('gcc', ['-O3', '-march=native', '-fno-math-errno', '-o', cBin, path.join(here, 'adamw_ref.c'), '-lm']);
/** Median wall-clock and CPU seconds per step of the C loop. */
const cSecPerStep = (n) => {
  const [wall, , cpu] = execFileSync(cBin, [String(n), String(n >= 50e6 ? 5 : 9)]).toString().trim().split(' ').map(Number);
  return { wall, cpu };
};

// ---------------------------------------------------------------- torch peers
const python = findTorchPython();
const peerEnv = torchEnv({ threads: 2 });
const OFFICIAL_PEERS = { exadam: 'AhmedMostafa16/EXAdam', spam: 'TianjinYellow/SPAM-Optimizer', 'stable-spam': 'TianjinYellow/StableSPAM', adabelief: 'adabelief-pytorch 0.2.1', adamp: 'clovaai/AdamP', sgdp: 'clovaai/AdamP', 'sgd-sai': 'SGD_SaI 1.0.3', soap: 'nikhilvyas/SOAP' };
const TORCH_OPTIM = { sgd: 'SGD', adam: 'Adam', adamw: 'AdamW' };

function peersOf(name) {
  if (!python) return [];
  if (TORCH_OPTIM[name]) return [{ label: `torch.optim.${TORCH_OPTIM[name]}`, impl: name, foreach: false }, { label: `torch.optim.${TORCH_OPTIM[name]} foreach`, impl: name, foreach: true }];
  if (OFFICIAL_PEERS[name] && values.official) return [{ label: `official ${OFFICIAL_PEERS[name]}`, impl: name, foreach: false }];
  return [];
}

function startPeer(peer, n, rows) {
  const args = [path.join(here, 'torch_peer.py'), peer.impl, String(n), String(rows), ...(peer.foreach ? ['--foreach'] : []), ...(values.official ? ['--official', values.official] : [])];
  const child = spawn(python, args, { env: peerEnv, stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = readline.createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  return {
    async steps(k) {
      child.stdin.write(`${k}\n`);
      const { value } = await lines.next();
      return JSON.parse(value).sec;
    },
    close: () => new Promise((resolve) => {
      child.on('exit', resolve);
      child.stdin.end('\n');
    }),
  };
}

// ---------------------------------------------------------------- ours
// SOAP rotates the 64-wide side (the long one is over maxPrecondDim) with its bases refreshed every 10 steps;
// 1-bit Adam compresses from the first step; the others run their defaults on a [n/200, 200] matrix.
const HYPER = { 'onebit-adam': { freezeStep: 0 }, soap: { maxPrecondDim: 1024, precondFrequency: 10 } };
const rowsOf = (name, n) => (name === 'soap' ? n / 64 : n / 200);

function setup(name, n) {
  process.stderr.write(`${name} @ ${n}\n`);
  const arena = new WasmArena(n * 4 * 8 + (64 << 20), { threads: Number(values.threads) });
  const data = arena.f32(n);
  const grad = arena.f32(n);
  for (let i = 0; i < n; i++) {
    data[i] = ((i % 1000) - 500) * 1e-3;
    grad[i] = ((i % 777) - 388) * 1e-4;
  }
  const params = [{ name: 'w', dims: [rowsOf(name, n), n / rowsOf(name, n)], data }];
  // Sophia and AdaHessian read a Hessian diagonal the training loop supplies; its cost is not the optimizer's.
  const aux = name === 'sophia' || name === 'adahessian' ? { hessianDiag: { w: arena.f32(n).fill(1) } } : {};
  const opt = createOptimizer(name, HYPER[name] ?? {}, { arena });
  opt.step(params, { w: grad }, aux);
  return { opt, params, grads: { w: grad }, aux };
}

/** Wall-clock and CPU seconds of k steps (CPU of every thread; one thread by default, like the C loop). */
function ourSteps(s, k) {
  const wall = [];
  const cpu = [];
  for (let j = 0; j < k; j++) {
    const t0 = process.hrtime.bigint();
    const c0 = process.cpuUsage();
    s.opt.step(s.params, s.grads, s.aux);
    const c = process.cpuUsage(c0);
    wall.push(Number(process.hrtime.bigint() - t0) / 1e9);
    cpu.push((c.user + c.system) / 1e6);
  }
  return { wall, cpu };
}

// ---------------------------------------------------------------- rounds
const rows = [];
for (const n of SIZES) {
  for (const name of NAMES) {
    const big = n >= 50e6;
    const k = name === 'soap' ? 10 : big ? 3 : 7;
    const summary = name === 'soap' ? mean : median;
    const ours = setup(name, n);
    const peers = peersOf(name).map((p) => ({ ...p, run: startPeer(p, n, rowsOf(name, n)), secs: [] }));
    const c = [];
    const cCpu = [];
    const mine = [];
    const mineCpu = [];
    for (let r = 0; r < ROUNDS; r++) {
      const cr = cSecPerStep(n);
      c.push(cr.wall);
      cCpu.push(cr.cpu);
      const o = ourSteps(ours, k);
      mine.push(summary(o.wall));
      mineCpu.push(summary(o.cpu));
      for (const p of peers) p.secs.push(summary(await p.run.steps(k)));
    }
    for (const p of peers) await p.run.close();
    rows.push({ name, n, sec: median(mine), c: median(c), cpu: median(mineCpu), cCpu: median(cCpu), bytes: ours.opt.stateBytesPerParam(), kernel: ours.opt.kernelNames()[0], peers: peers.map((p) => ({ label: p.label, sec: median(p.secs) })) });
    gc();
  }
}
loads.push(os.loadavg());

// ---------------------------------------------------------------- report
const cpu = os.cpus()[0].model;
const flags = (fs.readFileSync('/proc/cpuinfo', 'utf8').match(/^flags\s*:(.*)$/m)?.[1] ?? '').split(' ');
const isa = ['avx2', 'avx512f'].filter((f) => flags.includes(f)).join(', ') || 'no avx2';
const mps = (n, sec) => n / sec / 1e6;
const fmt = (x) => (x >= 100 ? x.toFixed(0) : x.toFixed(1));
const out = [];
out.push(`Optimizer bench: ${cpu} (${isa}), ${os.cpus().length} cores; load average ${loads[0].map((x) => x.toFixed(1)).join(' ')} at the start, ${loads[1].map((x) => x.toFixed(1)).join(' ')} at the end; node ${process.version}; alignkit kernels on ${values.threads} thread(s); torch: ${python ?? 'not available'} (2 threads, OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE unset)`);
out.push('');
out.push('| optimizer | path | ' + SIZES.map((n) => `M params/s @${n / 1e6}M`).join(' | ') + ' | state B/param | ' + SIZES.map((n) => `vs C AdamW @${n / 1e6}M (wall / CPU)`).join(' | ') + ' | torch peer | ' + SIZES.map((n) => `peer M params/s @${n / 1e6}M`).join(' | ') + ' | ' + SIZES.map((n) => `vs peer @${n / 1e6}M`).join(' | ') + ' |');
out.push('|' + ' --- |'.repeat(4 + 4 * SIZES.length));
for (const name of NAMES) {
  const rs = SIZES.map((n) => rows.find((r) => r.name === name && r.n === n));
  const labels = rs[0].peers.length ? rs[0].peers.map((p) => p.label) : ['—'];
  labels.forEach((label, li) => {
    const cells = li === 0 ? [name, rs[0].kernel ? `wasm ${rs[0].kernel}` : 'TypeScript', ...rs.map((r) => fmt(mps(r.n, r.sec))), rs[0].bytes.toFixed(2), ...rs.map((r) => `${(r.c / r.sec).toFixed(2)} / ${(r.cCpu / r.cpu).toFixed(2)}`)] : ['', '', ...rs.map(() => ''), '', ...rs.map(() => '')];
    const peer = (r) => r.peers[li];
    cells.push(label, ...rs.map((r) => (peer(r) ? fmt(mps(r.n, peer(r).sec)) : '—')), ...rs.map((r) => (peer(r) ? `${(peer(r).sec / r.sec).toFixed(1)}×` : '—')));
    out.push('| ' + cells.join(' | ') + ' |');
  });
}
out.push('');
for (const n of SIZES) out.push(`C AdamW at ${n / 1e6}M: median over the rounds of every row ${fmt(mps(n, median(rows.filter((r) => r.n === n).map((r) => r.c))))} M params/s (${fmt(mps(n, median(rows.filter((r) => r.n === n).map((r) => r.cCpu))))} per CPU second)`);
console.log(out.join('\n'));
