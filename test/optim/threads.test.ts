// A multi-threaded arena (shared memory, kernels split over a worker pool by parameter ranges)
// computes bit for bit what the one-thread arena computes: every registered optimizer's kernel,
// the state it saves and loads (1-bit Adam's packed layout included), and a real Trainer step
// with onnxruntime reading and writing the shared bytes through the arena's plain views.

import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadModel, type Tensor } from '../../src/graph/index.js';
import { mulberry32 } from '../../src/random.js';
import { createOptimizer, WasmArena, type Optimizer, type Param } from '../../src/optim/index.js';
import { prepareCausalLmTraining, TokenWindowSampler, Trainer } from '../../src/train/index.js';
import { shakespeareTokens, TINY_GPT2_ONNX } from '../train/helpers.js';
import { CASES, gradsAt } from './kernel-cases.js';

/** Splits start at 4096 entries here, so that tensors of a test's size do run on two threads. */
const SPLIT_FROM = 4096;

function params(arena: WasmArena): Param[] {
  const rnd = mulberry32(9).next;
  const init = (n: number) => Float32Array.from({ length: n }, () => rnd() - 0.5);
  // 30 100 entries: not a multiple of 16 (the second thread's range ends in the scalar tail) nor of 256
  // (EXAdam's and 8-bit Adam's blocks straddle the split point unless it respects them); a rank-3
  // tensor (AdaHessian's spatial averaging blocks); one small vector that stays on the calling thread.
  return [
    arena.param('w', [301, 100], init(30100)),
    arena.param('conv', [8, 40, 21], init(6720)),
    arena.param('ln.bias', [37], init(37)),
  ];
}

const bits = (a: ArrayBufferView) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);
/** state() returns views of the live arrays (a checkpoint writes them at once): copy to keep one. */
const snapshot = (s: Map<string, Tensor>) => new Map([...s].map(([k, t]) => [k, { ...t, data: t.data.slice() } as Tensor]));

function run(name: string, hyper: Record<string, unknown>, threads: number) {
  const arena = new WasmArena(16 << 20, { threads, splitFrom: SPLIT_FROM });
  const ps = params(arena);
  const hessian = (p: Param[]) => Object.fromEntries(p.map((q) => [q.name, Float32Array.from(q.data, (x, j) => (j % 3) - 1 + x)]));
  const opt: Optimizer = createOptimizer(name, hyper, { arena, hessian });
  const grads = ps.map((p) => arena.f32(p.data.length));
  const step = (t: number) => {
    gradsAt(ps, t).forEach((g, i) => grads[i]!.set(g));
    opt.step(ps, Object.fromEntries(ps.map((p, i) => [p.name, grads[i]!])));
  };
  return { arena, ps, opt, step };
}

describe('multi-threaded arena', () => {
  it.each(CASES)('%s %j: two threads give the one-thread kernel %s\'s parameters and state bit for bit', (name, hyper, kernel) => {
    const one = run(name, hyper, 1);
    const two = run(name, hyper, 2);
    for (let t = 1; t <= 12; t++) {
      one.step(t);
      two.step(t);
    }
    expect(two.opt.kernelNames()).toEqual([kernel]);
    expect(two.arena.memory.buffer).toBeInstanceOf(SharedArrayBuffer);
    for (const [i, p] of one.ps.entries()) expect(Buffer.compare(bits(p.data), bits(two.ps[i]!.data)), p.name).toBe(0);
    const s1 = one.opt.state();
    const s2 = two.opt.state();
    expect([...s2.keys()]).toEqual([...s1.keys()]);
    for (const [key, t] of s1) expect(Buffer.compare(bits(t.data), bits(s2.get(key)!.data)), key).toBe(0);
    two.arena.close();
  });

  it.each([['adamw', { lr: 1e-2, weightDecay: 0.1 }], ['onebit-adam', { lr: 1e-2, freezeStep: 3, weightDecay: 0.1 }], ['adamw8bit', { lr: 1e-2, weightDecay: 0.1 }]] as const)(
    '%s: state saved by a two-thread run and loaded into a one-thread run continues bit for bit (and back)',
    (name, hyper) => {
      const two = run(name, hyper, 2);
      for (let t = 1; t <= 6; t++) two.step(t);
      // A one-thread optimizer at the same parameters, from the two-thread state (1-bit Adam unpacks it first).
      const one = run(name, hyper, 1);
      one.ps.forEach((p, i) => p.data.set(two.ps[i]!.data));
      const saved = snapshot(two.opt.state());
      one.opt.loadState(saved);
      const back = run(name, hyper, 2);
      back.ps.forEach((p, i) => p.data.set(two.ps[i]!.data));
      back.opt.loadState(snapshot(saved));
      for (let t = 7; t <= 12; t++) {
        two.step(t);
        one.step(t);
        back.step(t);
      }
      for (const [i, p] of two.ps.entries()) {
        expect(Buffer.compare(bits(p.data), bits(one.ps[i]!.data)), p.name).toBe(0);
        expect(Buffer.compare(bits(p.data), bits(back.ps[i]!.data)), p.name).toBe(0);
      }
      two.arena.close();
      back.arena.close();
    },
  );

  it('a Trainer step over a two-thread arena: onnxruntime reads parameters and writes gradients through its plain views, results equal the one-thread arena', async () => {
    const source = loadModel(TINY_GPT2_ONNX);
    const prepared = prepareCausalLmTraining(source, { loss: 'next-token' });
    const tokens = await shakespeareTokens(4000);
    const train = async (threads: number) => {
      const arena = new WasmArena(8 << 20, { threads, splitFrom: SPLIT_FROM });
      const trainer = await Trainer.create({
        training: prepared.training, source: prepared.forward, allocator: arena,
        optimizer: createOptimizer('adamw', { lr: 3e-3, weightDecay: 0.01 }, { arena }),
      });
      const sampler = new TokenWindowSampler(tokens, { batch: 2, sequence: 16, seed: 21 });
      const losses = [];
      for (let i = 0; i < 3; i++) losses.push((await trainer.step([sampler.next()])).loss);
      await trainer.release();
      arena.close();
      return { losses, params: trainer.params, arena };
    };
    const one = await train(1);
    const two = await train(2);
    expect(two.arena.contains(two.params[0]!.data)).toBe(true);
    expect(two.params[0]!.data.buffer).not.toBeInstanceOf(SharedArrayBuffer);
    expect(two.losses).toEqual(one.losses);
    for (const [i, p] of one.params.entries()) expect(Buffer.compare(bits(p.data), bits(two.params[i]!.data)), p.name).toBe(0);
  });

  it('worker threads do not keep the process alive: a script that steps a two-thread arena and never closes it exits', () => {
    const root = path.resolve(import.meta.dirname, '../..');
    const script = `
      import { register } from 'node:module';
      register(${JSON.stringify(path.join(root, 'src/dev/ts-source-hooks.mjs'))}, import.meta.url);
      const { createOptimizer, WasmArena } = await import(${JSON.stringify(path.join(root, 'src/optim/index.ts'))});
      const arena = new WasmArena(16 << 20, { threads: 2, splitFrom: 4096 });
      const p = { name: 'w', dims: [100000], data: arena.f32(100000).fill(1) };
      createOptimizer('adamw', { lr: 0.1, weightDecay: 0 }, { arena }).step([p], { w: arena.f32(100000).fill(0.5) });
      console.log(p.data[99999]);`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { timeout: 20_000, encoding: 'utf8' });
    expect(r.error).toBeUndefined();
    expect(r.status, r.stderr).toBe(0);
    // Adam's first step moves every entry by lr: 1 - 0.1.
    expect(Number(r.stdout.trim())).toBeCloseTo(0.9, 6);
  });

  it('refuses a thread count outside 1..8', () => {
    expect(() => new WasmArena(1 << 16, { threads: 0 })).toThrow(/threads must be an integer from 1 to 8/);
    expect(() => new WasmArena(1 << 16, { threads: 9 })).toThrow(/threads/);
  });
});
