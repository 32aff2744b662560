// 1-bit Adam with simulated data-parallel workers: hand-worked compressed exchange with error
// feedback, and convergence of a least-squares problem whose data is split across 4 workers.

import { describe, expect, it } from 'vitest';
import { compressSign, createOptimizer, WasmArena, type Param } from '../../src/optim/index.js';
import { closeAll, gaussian } from './helpers.js';

describe('1-bit Adam', () => {
  it('compresses to sign times ||x||_2 / sqrt(n), with sign(0) = +1', () => {
    const x = Float32Array.of(3, -4, 0, 0);
    // ||x|| = 5, n = 4: scale 2.5.
    expect(compressSign(x)).toBeCloseTo(2.5, 6);
    expect(Array.from(x)).toEqual([2.5, -2.5, 2.5, 2.5]);
  });

  it('reproduces a warmup step and two compressed steps of two workers by hand', () => {
    // freezeStep 1, lr 0.1, p0 = [1, -2]. Worker gradients: t1 [0.1,-0.2] & [0.3,-0.1]; t2 [0.2,0.1] & [0.4,0.1]; t3 [-0.1,0.3] & [0.1,0.1].
    // t=1 (warmup, mean g = [0.2, -0.15]): m = [0.02, -0.015], v = 0.001 g^2 = [4e-5, 2.25e-5];
    //   u = m / sqrt(v) = [3.1623, -3.1623]: p = [0.683772, -1.683772] (no bias correction).
    // t=2 (v frozen): worker 0: 0.9 m + 0.1 g = [0.038, -0.0035], scale sqrt((0.038^2 + 0.0035^2)/2) = 0.026983 -> [0.026983, -0.026983],
    //   error [0.011017, 0.023484]; worker 1: [0.058, -0.0035] -> +-0.041088, error [0.016912, 0.037588];
    //   server: mean [0.034035, -0.034035] compresses exactly; m = that: p0 = 0.683772 - 0.1 * 0.034035/0.0063246 = 0.145628.
    const p: Param = { name: 'p', dims: [2], data: Float32Array.of(1, -2) };
    const opt = createOptimizer('onebit-adam', { lr: 0.1, freezeStep: 1, workers: 2 });
    const W = [[[0.1, -0.2], [0.3, -0.1]], [[0.2, 0.1], [0.4, 0.1]], [[-0.1, 0.3], [0.1, 0.1]]];
    const out = W.map((ws) => {
      const workerGrads = ws.map((g) => ({ p: Float32Array.from(g) }));
      opt.step([p], {}, { workerGrads });
      return Array.from(p.data);
    });
    closeAll(out, [[0.683772734, -1.6837729], [0.145628321, -0.966247395], [-0.407947462, -1.70434805]], 5);
    const st = opt.state();
    expect(Array.from(st.get('group0/0.scaleByOneBitAdam/p/workerError0')!.data as Float32Array)[0]).toBeCloseTo(0.004045353, 6);
  });

  it('4 workers on shards of a least-squares problem converge like full-precision Adam', () => {
    // min ||A x - b||^2 / (2 rows) with A 64 x 8, x* known; each worker holds 16 rows.
    const noise = gaussian(3);
    const A = Array.from({ length: 64 }, () => Array.from({ length: 8 }, () => noise()));
    const xStar = Array.from({ length: 8 }, (_, i) => (i - 3.5) / 4);
    const b = A.map((row) => row.reduce((s, a, i) => s + a * xStar[i]!, 0));
    const shardGrad = (x: Float32Array, rows: number[]) => {
      const g = new Float32Array(8);
      for (const r of rows) {
        const res = A[r]!.reduce((s, a, i) => s + a * x[i]!, 0) - b[r]!;
        A[r]!.forEach((a, i) => (g[i]! += (a * res) / rows.length));
      }
      return g;
    };
    const shards = [0, 1, 2, 3].map((k) => Array.from({ length: 16 }, (_, i) => k * 16 + i));
    const all = shards.flat();
    const solve = (name: string, hyper: Record<string, unknown>, workers: boolean) => {
      const p: Param = { name: 'x', dims: [8], data: new Float32Array(8) };
      const opt = createOptimizer(name, hyper);
      for (let t = 0; t < 600; t++) {
        if (workers) opt.step([p], {}, { workerGrads: shards.map((s) => ({ x: shardGrad(p.data, s) })) });
        else opt.step([p], { x: shardGrad(p.data, all) });
      }
      return Math.sqrt(Array.from(p.data).reduce((s, x, i) => s + (x - xStar[i]!) ** 2, 0));
    };
    const full = solve('adam', { lr: 0.01 }, false);
    const onebit = solve('onebit-adam', { lr: 0.01, freezeStep: 100, workers: 4 }, true);
    expect(full).toBeLessThan(0.05);
    expect(onebit).toBeLessThan(0.1);
  });
});

describe('1-bit Adam on the arena', () => {
  it('the kernel (worker passes, server norm from pass-1 sums) follows the TypeScript path with 3 workers', () => {
    const rnd = gaussian(9);
    const arena = new WasmArena(1 << 20);
    const init = Float32Array.from({ length: 1003 }, () => 0.5 * rnd());
    const make = () => arena.param('w', [17, 59], init);
    const [pk, pt] = [make(), make()];
    const fast = createOptimizer('onebit-adam', { lr: 0.01, freezeStep: 3, workers: 3, weightDecay: 0.1 }, { arena });
    const slow = createOptimizer('onebit-adam', { lr: 0.01, freezeStep: 3, workers: 3, weightDecay: 0.1 }, { arena, kernels: false });
    for (let t = 1; t <= 12; t++) {
      const workerGrads = [0, 1, 2].map(() => ({ w: Float32Array.from(init, () => rnd()) }));
      fast.step([pk], {}, { workerGrads });
      slow.step([pt], {}, { workerGrads });
    }
    expect(fast.kernelNames()).toEqual(['onebit-adam']);
    let worst = 0;
    pk.data.forEach((x, j) => (worst = Math.max(worst, Math.abs(x - pt.data[j]!))));
    // 9 compressed steps of lr 0.01 move p by ~0.1: the paths agree to a few float32 ulps of p (|p| < 3).
    expect(worst).toBeLessThan(2e-6);
  });

  it('one worker: the server compression is the identity (its error stays exactly 0), so the kernel that skips it and packs its state follows the TypeScript path', () => {
    const rnd = gaussian(4);
    const arena = new WasmArena(1 << 22);
    const init = Float32Array.from({ length: 4099 }, () => 0.5 * rnd());
    const make = () => arena.param('w', [4099], init);
    const [pk, pt, pr] = [make(), make(), make()];
    const hyper = { lr: 0.01, freezeStep: 2, weightDecay: 0.1 };
    const fast = createOptimizer('onebit-adam', hyper, { arena });
    const slow = createOptimizer('onebit-adam', hyper, { arena, kernels: false });
    const resumed = createOptimizer('onebit-adam', hyper, { arena });
    const agree = (a: Float32Array, b: Float32Array, scale: number) => {
      let worst = 0;
      a.forEach((x, j) => (worst = Math.max(worst, Math.abs(x - b[j]!))));
      expect(worst).toBeLessThanOrEqual(2e-6 * scale);
    };
    for (let t = 1; t <= 20; t++) {
      // Every 97th entry never gets a gradient (v = 0 there, as for unused embedding rows: the packed
      // sign then sits on -0).
      const g = Float32Array.from(init, (_, j) => (j % 97 ? rnd() : 0));
      fast.step([pk], { w: g });
      slow.step([pt], { w: g });
      if (t > 10) resumed.step([pr], { w: g });
      if (t === 10) {
        // Mid-run the kernel's packed slot reads back in the TypeScript layout: m = ±scale, v >= 0, e.
        const [ks, ts] = [fast.state(), slow.state()];
        for (const key of ['m', 'v', 'workerError0']) {
          const k = [...ks].find(([name]) => name.endsWith(`/${key}`))![1].data as Float32Array;
          const s = [...ts].find(([name]) => name.endsWith(`/${key}`))![1].data as Float32Array;
          agree(k, s, Math.max(...s.map(Math.abs)));
          if (key === 'm') expect(k.every((x, j) => Math.sign(x) === Math.sign(s[j]!))).toBe(true);
        }
        expect([...ks].find(([name]) => name.endsWith('/v'))![1].data.every((x) => x >= 0 && !Object.is(x, -0))).toBe(true);
        const serverErrors = [...ts].filter(([key]) => key.includes('serverError'));
        expect(serverErrors).toHaveLength(1);
        expect(serverErrors[0]![1].data.every((x) => x === 0)).toBe(true);
        // A kernel optimizer resumed from the TypeScript path's checkpoint packs it again.
        resumed.loadState(new Map([...ts].map(([key, x]) => [key, { ...x, data: x.data.slice() }])));
        pr.data.set(pt.data);
      }
    }
    expect(fast.kernelNames()).toEqual(['onebit-adam']);
    let movement = 0;
    pt.data.forEach((x, j) => (movement = Math.max(movement, Math.abs(x - init[j]!))));
    // Float32 rounding of the packed sums only: about 1e-7 of how far p moved.
    agree(pk.data, pt.data, movement);
    agree(pr.data, pt.data, movement);
  });
});
