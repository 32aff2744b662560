// Optimizer.prepare: state allocated ahead of the first step and, in an arena, faulted in on another
// thread (src/graph/prefault.ts), so the first update finds its pages present. Same trajectory as an
// optimizer that allocates at its first step.

import { describe, expect, it } from 'vitest';
import { canPrefault } from '../../src/graph/prefault.js';
import { createOptimizer, WasmArena } from '../../src/optim/index.js';

const N = 4 * 2 ** 20; // 16 MiB per array: 4096 pages of 4 KiB

function setup(threads = 1) {
  const arena = new WasmArena(4 * N * 5, { threads });
  const params = [{ name: 'w', dims: [N], data: arena.f32(N) }];
  const grads = new Map([['w', arena.f32(N)]]);
  for (let i = 0; i < N; i += 1024) {
    params[0]!.data[i] = Math.sin(i);
    grads.get('w')![i] = Math.cos(i);
  }
  // The arrays above are written only every 1024 values: fault in all their pages now, so the faults
  // counted below are the optimizer state's.
  params[0]!.data.fill(0.5, 0, N);
  grads.get('w')!.fill(0.25, 0, N);
  const optimizer = createOptimizer('adamw', { lr: 1e-3, weightDecay: 0.01 }, { arena });
  return { params, grads, optimizer };
}

const faults = () => process.resourceUsage().minorPageFault;
/** Bit-for-bit equality of two typed arrays (vitest's toEqual walks 4 M entries one by one). */
const sameBytes = (a: ArrayBufferView, b: ArrayBufferView) => Buffer.compare(Buffer.from(a.buffer, a.byteOffset, a.byteLength), Buffer.from(b.buffer, b.byteOffset, b.byteLength)) === 0;

describe.runIf(canPrefault())('Optimizer.prepare', () => {
  it('faults AdamW\'s state in ahead of the first step (which then faults almost nothing), with the same result', async () => {
    const cold = setup();
    let before = faults();
    cold.optimizer.step(cold.params, cold.grads);
    const coldFaults = faults() - before;
    // m and v: 2 x 4096 pages, each faulted by the first update when nothing was prepared.
    expect(coldFaults).toBeGreaterThan(2 * 4096 * 0.9);

    const warm = setup();
    await warm.optimizer.prepare(warm.params);
    expect(warm.optimizer.stepCount).toBe(0);
    before = faults();
    warm.optimizer.step(warm.params, warm.grads);
    expect(faults() - before).toBeLessThan(coldFaults / 10);

    cold.optimizer.step(cold.params, cold.grads);
    warm.optimizer.step(warm.params, warm.grads);
    expect(sameBytes(warm.params[0]!.data, cold.params[0]!.data)).toBe(true);
    expect([...warm.optimizer.state().keys()]).toEqual([...cold.optimizer.state().keys()]);
  });

  it('with two threads (workers started and kernels warmed up in prepare) the trajectory is the same, bit for bit', async () => {
    const cold = setup(2);
    const warm = setup(2);
    await warm.optimizer.prepare(warm.params);
    for (let i = 0; i < 2; i++) {
      cold.optimizer.step(cold.params, cold.grads);
      warm.optimizer.step(warm.params, warm.grads);
    }
    expect(sameBytes(warm.params[0]!.data, cold.params[0]!.data)).toBe(true);
    const [a, b] = [warm, cold].map((o) => o.optimizer.state());
    for (const [k, t] of a) expect(sameBytes(t.data, b.get(k)!.data), k).toBe(true);
  });

  it('WasmArena.prefaultSince faults the pages allocated since a mark in, so that writing them faults nothing', async () => {
    const arena = new WasmArena(4 * N + (1 << 20), { threads: 1 });
    const mark = arena.end;
    const a = arena.f32(N);
    let before = faults();
    expect(await arena.prefaultSince(mark)).toBe(true);
    expect(faults() - before).toBeGreaterThan(4096 * 0.9);
    before = faults();
    a.fill(1);
    expect(faults() - before).toBeLessThan(100);
  });

  it('is a no-op after the first step and on the JS heap (no arena)', async () => {
    const { params, grads, optimizer } = setup();
    optimizer.step(params, grads);
    const after = Float32Array.from(params[0]!.data.subarray(0, 8));
    await optimizer.prepare(params);
    expect(params[0]!.data.subarray(0, 8)).toEqual(after);
    const heap = createOptimizer('adamw', { lr: 1e-3 });
    const p = [{ name: 'x', dims: [4], data: Float32Array.of(1, 2, 3, 4) }];
    await heap.prepare(p);
    heap.step(p, new Map([['x', Float32Array.of(1, 1, 1, 1)]]));
    expect(heap.stepCount).toBe(1);
    expect(p[0]!.data[0]).toBeLessThan(1);
  });
});
