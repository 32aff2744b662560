// The WebAssembly kernels: the committed .wasm is what build.sh makes from the committed C source,
// kernels are chosen only for matching chains over arena memory, and the kernel and TypeScript
// paths agree within float32 rounding on the same arena-resident parameters and state.

import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { mulberry32 } from '../../src/random.js';
import { createOptimizer, kernelWasmPath, OPTIMIZERS, TS_MATRIX_OPS, WasmArena, type Param } from '../../src/optim/index.js';
import { kernelsFor } from '../../src/optim/kernels/module.js';
import { wasmMatrixOps } from '../../src/optim/kernels/soap.js';
import { CASES, gradsAt } from './kernel-cases.js';

const hasClang = spawnSync('clang', ['--version']).status === 0 && spawnSync('wasm-ld', ['--version']).status === 0;

describe('kernel build', () => {
  it.skipIf(!hasClang)('rebuilding optim_kernels.c gives the committed optim_kernels.wasm and optim_kernels.threads.wasm byte for byte (skipped where clang/wasm-ld are absent: apt-get install -y clang lld)', () => {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'wasm-'));
    execFileSync(path.join(path.dirname(kernelWasmPath()), 'build.sh'), [out]);
    for (const file of ['optim_kernels.wasm', 'optim_kernels.threads.wasm'] as const)
      expect(Buffer.compare(fs.readFileSync(path.join(out, file)), fs.readFileSync(kernelWasmPath(file))), file).toBe(0);
  });
});

const hasObjdump = spawnSync('llvm-objdump', ['--version']).status === 0;

describe('kernel code', () => {
  it.skipIf(!hasObjdump)('every kernel\'s loop runs four lanes at a time (f32x4 instructions in each exported function)', () => {
    for (const file of ['optim_kernels.wasm', 'optim_kernels.threads.wasm'] as const) {
      const dis = execFileSync('llvm-objdump', ['-d', kernelWasmPath(file)]).toString();
      const fns = dis.split(/\n(?=[0-9a-f]+ <)/).map((chunk) => [/^[0-9a-f]+ <([^>]+)>:/.exec(chunk)?.[1], chunk] as const);
      const kernels = fns.filter(([name]) => name && /_step$|^onebit_/.test(name));
      expect(kernels.length).toBeGreaterThanOrEqual(12);
      for (const [name, body] of kernels) expect(/f32x4\./.test(body), `${file} ${name}`).toBe(true);
    }
  });
});

function arenaParams(arena: WasmArena, seed: number): Param[] {
  const rnd = mulberry32(seed).next;
  // 5000 elements: quantized by 8-bit Adam, not a multiple of 4 (exercises the scalar tail) nor of 256;
  // a rank-3 tensor whose leading rows AdamP tests one by one; a vector.
  return [
    arena.param('w', [50, 100], Float32Array.from({ length: 5000 }, () => rnd() - 0.5)),
    arena.param('conv', [6, 5, 7], Float32Array.from({ length: 210 }, () => rnd() - 0.5)),
    arena.param('ln.bias', [37], Float32Array.from({ length: 37 }, () => rnd() - 0.5)),
  ];
}

describe('kernel and TypeScript paths', () => {
  it('every registered optimizer has a kernel case here', () => {
    expect(new Set(CASES.map((c) => c[0]))).toEqual(new Set(Object.keys(OPTIMIZERS)));
  });

  it.each(CASES)('%s %j: the kernel %s follows the TypeScript chain\'s trajectory to float32 rounding', (name, hyper, kernel) => {
    const arena = new WasmArena(4 << 20);
    const pk = arenaParams(arena, 5);
    const pt = arenaParams(arena, 5);
    const hessian = (params: Param[]) => Object.fromEntries(params.map((p) => [p.name, Float32Array.from(p.data, (x, j) => (j % 3) - 1 + x)]));
    const fast = createOptimizer(name, hyper, { arena, hessian });
    const slow = createOptimizer(name, hyper, { arena, kernels: false, hessian });
    const gradBuf = pk.map((p) => arena.f32(p.data.length));
    const names = pk.map((p) => p.name);
    let largest = 0;
    for (let t = 1; t <= 24; t++) {
      const g = gradsAt(pk, t);
      gradBuf.forEach((b, i) => b.set(g[i]!));
      const before = pt.map((p) => p.data.slice());
      fast.step(pk, Object.fromEntries(names.map((n, i) => [n, gradBuf[i]!])));
      // Gradients from the JS heap: the kernel path copies them into the arena, the TS path reads them.
      slow.step(pt, Object.fromEntries(names.map((n, i) => [n, g[i]!.slice()])));
      pt.forEach((p, i) => p.data.forEach((x, j) => (largest = Math.max(largest, Math.abs(x - before[i]![j]!)))));
    }
    expect(fast.kernelNames()).toEqual([kernel]);
    expect(slow.kernelNames()).toEqual(['']);
    let worst = 0;
    for (const [i, p] of pk.entries()) for (let j = 0; j < p.data.length; j++) worst = Math.max(worst, Math.abs(p.data[j]! - pt[i]!.data[j]!));
    // Parameters stay below 4 in magnitude (a float32 ulp 2.4e-7 there): after 24 steps the paths differ by a few
    // ulps, nothing of the size of an update.
    expect(worst).toBeLessThanOrEqual(Math.max(8 * 2.4e-7, 1e-5 * largest));
    // The states agree too; 8-bit codes exactly (the TypeScript path rounds in the kernel's single-precision order).
    const sk = fast.state();
    const st = slow.state();
    expect([...sk.keys()]).toEqual([...st.keys()]);
    const bits = (a: ArrayBufferView) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);
    for (const [key, tk] of sk) {
      const tt = st.get(key)!;
      // SOAP's state (moments in the eigenbasis, factors, bases) depends only on the gradients, through
      // float32 matrix products both paths compute identically.
      if (tk.data instanceof Uint8Array || name === 'soap') expect(Buffer.compare(bits(tk.data), bits(tt.data)), key).toBe(0);
    }
  });

  it('EXAdam with gradients of 1e9: blocks whose one-division product overflows take the two-division form and still follow the TypeScript chain', () => {
    // The kernel's vector loop computes sqrt(v d2) (m^2 + eps) from a product that grows as gradients^6 and
    // overflows above ~1e6-1e7; without the fallback those entries would get u = 0 and not move.
    const arena = new WasmArena(1 << 20);
    const make = () => [arena.param('w', [20, 50], Float32Array.from({ length: 1000 }, (_, j) => ((j % 13) - 6) * 0.1))];
    const pk = make();
    const pt = make();
    const fast = createOptimizer('exadam', { lr: 1e-2 }, { arena });
    const slow = createOptimizer('exadam', { lr: 1e-2 }, { arena, kernels: false });
    const grad = arena.f32(1000);
    const start = pk[0]!.data.slice();
    let moved = Infinity;
    for (let t = 1; t <= 5; t++) {
      const rnd = mulberry32(t).next;
      // Entries 0-299 huge (whole blocks of the kernel), the rest ordinary, one huge entry among them.
      grad.set(Float32Array.from({ length: 1000 }, (_, j) => (rnd() - 0.5) * (j < 300 || j === 777 ? 1e9 : 1)));
      fast.step(pk, { w: grad });
      slow.step(pt, { w: grad.slice() });
      // The first step moves every entry by about 10 lr (u = sign(g) (2 - b1)/(1 - b1) d1 / sqrt(d2) there).
      if (t === 1) pk[0]!.data.forEach((x, j) => (moved = Math.min(moved, Math.abs(x - start[j]!))));
    }
    expect(fast.kernelNames()).toEqual(['exadam']);
    expect(moved).toBeGreaterThan(5e-3);
    let worst = 0;
    pk[0]!.data.forEach((x, j) => (worst = Math.max(worst, Math.abs(x - pt[0]!.data[j]!))));
    expect(worst).toBeLessThanOrEqual(8 * 2.4e-7);
  });

  it('no kernel for chains without one, or for parameters outside the arena', () => {
    const arena = new WasmArena(1 << 20);
    const params = arenaParams(arena, 6);
    const g = Object.fromEntries(params.map((p) => [p.name, new Float32Array(p.data.length).fill(0.1)]));
    for (const [name, hyper] of [['lion', { kappa: 'l2' }], ['spam', { density: 0.5 }], ['adahessian', { hessianPower: 0.7 }], ['adamw8bit', { maxUnorm: 0.1 }]] as const) {
      const opt = createOptimizer(name, hyper, { arena, hessian: () => g });
      opt.step(params, g);
      expect(opt.kernelNames(), name).toEqual(['']);
    }
    const heap = createOptimizer('adamw');
    heap.step(params.map((p) => ({ ...p, data: p.data.slice() })), g);
    expect(heap.kernelNames()).toEqual(['']);
  });

  it('SOAP\'s matrix products: the wasm gemm gives the TypeScript gemm\'s bits (float32 sums in k order) for any layout', () => {
    const arena = new WasmArena(8 << 20);
    const wasm = wasmMatrixOps(kernelsFor(arena));
    const rnd = mulberry32(3).next;
    for (const [m, k, n, sai, sak, accumulate] of [[7, 300, 13, 300, 1, false], [64, 9, 64, 1, 64, true], [5, 3, 9, 3, 1, true], [33, 600, 8, 1, 33, false]] as const) {
      const fill = (x: Float32Array, shift: number) => x.set(Float32Array.from(x, () => rnd() - shift));
      const [a, b, c1] = [arena.f32(m * k), arena.f32(k * n), arena.f32(m * n)];
      fill(a, 0.5);
      fill(b, 0.5);
      fill(c1, 0);
      const c2 = Float32Array.from(c1);
      wasm.gemm(a, sai, sak, b, n, c1, n, m, k, n, accumulate);
      TS_MATRIX_OPS.gemm(a, sai, sak, b, n, c2, n, m, k, n, accumulate);
      expect(Buffer.compare(Buffer.from(c1.buffer, c1.byteOffset, c1.byteLength), Buffer.from(c2.buffer)), `${m}x${k}x${n}`).toBe(0);
    }
  });

  it('the arena hands out 64-byte aligned views and refuses to overflow', () => {
    const arena = new WasmArena(1 << 16);
    const a = arena.f32(3);
    const b = arena.u8(5);
    expect(a.byteOffset % 64).toBe(0);
    expect(b.byteOffset % 64).toBe(0);
    expect(arena.buffer).toBe(a.buffer);
    expect(() => arena.f32(1 << 20)).toThrow(/arena is full/);
    expect(() => new WasmArena(5 * 2 ** 30)).toThrow(/at most/);
  });
});
