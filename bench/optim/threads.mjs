#!/usr/bin/env node
// The fused AdamW step over an arena on 1 thread and on N threads (the arena's worker pool splits
// the kernel by parameter ranges, src/optim/kernels/split.ts), at GPT-2-small's 124 M parameters
// by default: both arenas built once, then timed in alternating rounds so that drift cancels,
// medians reported with the machine, its load average and the memory traffic each reaches
// (AdamW reads p, g, m, v and writes p, m, v: 28 bytes per parameter). Also the plain streaming
// bandwidth on the same arenas: scale_to (out = x s, 8 bytes per entry), split like the optimizers.
//   node bench/optim/threads.mjs [--params 124439808] [--threads 2] [--rounds 7] [--steps 3]
import path from 'node:path';
import { register } from 'node:module';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { describeMachine, loadAverage, median } from '../machine.mjs';

register('../../src/dev/ts-source-hooks.mjs', import.meta.url);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const { createOptimizer, WasmArena } = await import(path.join(root, 'src/optim/index.ts'));
const { kernelsFor } = await import(path.join(root, 'src/optim/kernels/module.ts'));

const { values } = parseArgs({ options: { params: { type: 'string', default: '124439808' }, threads: { type: 'string', default: '2' }, rounds: { type: 'string', default: '7' }, steps: { type: 'string', default: '3' } } });
const N = Number(values.params);
const THREADS = Number(values.threads);
const BYTES_PER_PARAM = 28;

/** An arena holding p, g and AdamW's m, v for N parameters in GPT-2-like tensors (one 38.6 M embedding, then 2.4 M matrices). */
function setup(threads) {
  const arena = new WasmArena(N * 16 + (64 << 20), { threads });
  const sizes = [];
  for (let left = N; left > 0; ) {
    const n = Math.min(left, sizes.length === 0 ? 38_597_376 : 2_359_296);
    sizes.push(n);
    left -= n;
  }
  const params = sizes.map((n, i) => ({ name: `w${i}`, dims: [n], data: arena.f32(n).fill(0.01) }));
  const grads = Object.fromEntries(params.map((p, i) => [p.name, arena.f32(p.data.length).fill(1e-3 * ((i % 7) - 3))]));
  const opt = createOptimizer('adamw', { lr: 1e-4, weightDecay: 0.01 }, { arena });
  opt.step(params, grads);
  const { x } = kernelsFor(arena);
  const [from, to] = [params[0].data, grads[params[0].name]];
  return { arena, step: () => opt.step(params, grads), stream: () => x.scale_to(from.byteOffset, to.byteOffset, from.length, 1), streamed: from.length, kernel: opt.kernelNames()[0] };
}

const loadStart = loadAverage();
const runs = { 1: setup(1), [THREADS]: setup(THREADS) };
const ms = { 1: [], [THREADS]: [] };
const streamMs = { 1: [], [THREADS]: [] };
const loads = [];
const time = (fn) => {
  const each = [];
  for (let k = 0; k < Number(values.steps); k++) {
    const t0 = performance.now();
    fn();
    each.push(performance.now() - t0);
  }
  return median(each);
};
for (let r = 0; r < Number(values.rounds); r++) {
  for (const t of [1, THREADS]) {
    ms[t].push(time(runs[t].step));
    streamMs[t].push(time(runs[t].stream));
  }
  loads.push(loadAverage()[0]);
}
for (const t of [1, THREADS]) runs[t].arena.close();

console.log(describeMachine());
console.log(`AdamW (kernel ${runs[1].kernel}) over ${(N / 1e6).toFixed(1)} M parameters, ${values.rounds} alternating rounds x ${values.steps} steps; load ${loadStart.join(' ')} at the start, 1-minute load ${Math.min(...loads).toFixed(2)}-${Math.max(...loads).toFixed(2)} during the rounds`);
for (const t of [1, THREADS]) {
  const m = median(ms[t]);
  console.log(`  ${t} thread${t > 1 ? 's' : ' '}: ${m.toFixed(1).padStart(7)} ms  ${(N / m / 1e6).toFixed(2)} G params/s  ${((N * BYTES_PER_PARAM) / m / 1e6).toFixed(1)} GB/s; best ${Math.min(...ms[t]).toFixed(1)} ms  (rounds: ${ms[t].map((x) => x.toFixed(0)).join(' ')})`);
}
console.log(`  speed-up ${(median(ms[1]) / median(ms[THREADS])).toFixed(2)}x (medians), ${(Math.min(...ms[1]) / Math.min(...ms[THREADS])).toFixed(2)}x (best rounds: the least disturbed by other work)`);
console.log(`streaming (scale_to over ${(runs[1].streamed / 1e6).toFixed(1)} M entries, 8 bytes each):`);
for (const t of [1, THREADS]) {
  const m = median(streamMs[t]);
  console.log(`  ${t} thread${t > 1 ? 's' : ' '}: ${m.toFixed(1).padStart(7)} ms  ${((runs[1].streamed * 8) / m / 1e6).toFixed(1)} GB/s; best ${((runs[1].streamed * 8) / Math.min(...streamMs[t]) / 1e6).toFixed(1)} GB/s  (rounds: ${streamMs[t].map((x) => x.toFixed(1)).join(' ')})`);
}
