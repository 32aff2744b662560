// The WebAssembly kernels: the committed .wasm is what build.sh makes from the committed C source,
// kernels are chosen only for matching chains over arena memory, and the kernel and TypeScript
// paths agree within float32 rounding on the same arena-resident parameters and state.

import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { mulberry32 } from '../../src/random.js';
import { createOptimizer, kernelWasmPath, WasmArena, type Param } from '../../src/optim/index.js';

const hasClang = spawnSync('clang', ['--version']).status === 0 && spawnSync('wasm-ld', ['--version']).status === 0;

describe('kernel build', () => {
  it.skipIf(!hasClang)('rebuilding optim_kernels.c gives the committed optim_kernels.wasm byte for byte (skipped where clang/wasm-ld are absent: apt-get install -y clang lld)', () => {
    const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'wasm-')), 'k.wasm');
    execFileSync(path.join(path.dirname(kernelWasmPath()), 'build.sh'), [out]);
    expect(Buffer.compare(fs.readFileSync(out), fs.readFileSync(kernelWasmPath()))).toBe(0);
  });
});

function arenaParams(arena: WasmArena, seed: number): Param[] {
  const rnd = mulberry32(seed).next;
  // 5000 elements: quantized by 8-bit Adam, not a multiple of 4 (exercises the scalar tail) nor of 256.
  return [
    arena.param('w', [50, 100], Float32Array.from({ length: 5000 }, () => rnd() - 0.5)),
    arena.param('ln.bias', [37], Float32Array.from({ length: 37 }, () => rnd() - 0.5)),
  ];
}

const CASES: [string, Record<string, unknown>, string][] = [
  ['adamw', { lr: 1e-2, weightDecay: 0.1 }, 'adamw'],
  ['lion', { lr: 1e-3, weightDecay: 0.5 }, 'lion'],
  ['adamw8bit', { lr: 1e-2, weightDecay: 0.1 }, 'adam8bit'],
  ['adamw8bit', { lr: 1e-2, blockSize: 2048 }, 'adam8bit'],
  // Adam's L2 chain with no decay is the AdamW update: the same kernels take it.
  ['adam', { lr: 1e-2 }, 'adamw'],
  ['adam8bit', { lr: 1e-2 }, 'adam8bit'],
];

describe('kernel and TypeScript paths', () => {
  it.each(CASES)('%s %j: the kernel %s agrees with the TypeScript chain within float32 rounding', (name, hyper, kernel) => {
    const arena = new WasmArena(4 << 20);
    const pk = arenaParams(arena, 5);
    const pt = arenaParams(arena, 5);
    const fast = createOptimizer(name, hyper, { arena });
    const slow = createOptimizer(name, hyper, { arena, kernels: false });
    const gradBuf = [arena.f32(5000), arena.f32(37)];
    for (let t = 1; t <= 20; t++) {
      const rnd = mulberry32(t).next;
      gradBuf.forEach((g, i) => g.set(Float32Array.from(pk[i]!.data, (x) => x + 0.3 * (rnd() - 0.5))));
      fast.step(pk, { w: gradBuf[0]!, 'ln.bias': gradBuf[1]! });
      // Gradients from the JS heap: the kernel path copies them into the arena, the TS path reads them.
      slow.step(pt, { w: gradBuf[0]!.slice(), 'ln.bias': gradBuf[1]!.slice() });
    }
    expect(fast.kernelNames()).toEqual([kernel]);
    expect(slow.kernelNames()).toEqual(['']);
    let worst = 0;
    for (const [i, p] of pk.entries()) for (let j = 0; j < p.data.length; j++) worst = Math.max(worst, Math.abs(p.data[j]! - pt[i]!.data[j]!));
    // Parameters are below 1 in magnitude, where a float32 ulp is at most 2^-24 * 2 = 1.2e-7 (0.6e-7 under 0.5):
    // after 20 steps the two paths differ by a few ulps, never by anything of the size of an update (lr).
    expect(worst).toBeLessThanOrEqual(3 * 1.2e-7);
    // And the states agree too (the 8-bit codes may differ by one code where rounding ties flip).
    const sk = fast.state();
    const st = slow.state();
    expect([...sk.keys()]).toEqual([...st.keys()]);
  });

  it('no kernel for chains without one, or for parameters outside the arena', () => {
    const arena = new WasmArena(1 << 20);
    const params = arenaParams(arena, 6);
    const g = { w: new Float32Array(5000).fill(0.1), 'ln.bias': new Float32Array(37).fill(0.1) };
    const amsgrad = createOptimizer('adamw', { amsgrad: true }, { arena });
    amsgrad.step(params, g);
    expect(amsgrad.kernelNames()).toEqual(['']);
    const heap = createOptimizer('adamw');
    heap.step(params.map((p) => ({ ...p, data: p.data.slice() })), g);
    expect(heap.kernelNames()).toEqual(['']);
  });

  it('the arena hands out 64-byte aligned views and refuses to overflow', () => {
    const arena = new WasmArena(1 << 16);
    const a = arena.f32(3);
    const b = arena.u8(5);
    expect(a.byteOffset % 64).toBe(0);
    expect(b.byteOffset % 64).toBe(0);
    expect(arena.memory.buffer).toBe(a.buffer);
    expect(() => arena.f32(1 << 20)).toThrow(/arena is full/);
    expect(() => new WasmArena(5 * 2 ** 30)).toThrow(/at most/);
  });
});
