// Every optimizer against its official implementation: 30-40 steps on tensors of rank 1, 2 and 3
// (4 for AdaHessian) recorded by scripts/optim-fixtures.py from the official code run here in
// float64 (torch 1.13); p_t - p_0 must agree within 1e-4 of the largest update of the run (1e-3 for
// AdaHessian, as the issue asks), through the TypeScript chain and through the wasm kernels.

import { describe, expect, it } from 'vitest';
import { WasmArena } from '../../src/optim/index.js';
import { fixtureNames, loadFixture, replay, replayFromOfficialState } from './official.js';

const TOLERANCE: Record<string, number> = { adahessian: 1e-3 };

describe('trajectories of the official implementations', () => {
  const names = fixtureNames();
  it('cover every departure the issue lists', () => {
    for (const n of ['exadam.v1', 'stable-spam', 'stable-spam.cosine', 'sgd-sai', 'adahessian', 'soap', 'soap.merge', 'adam8bit', 'adamp.nesterov', 'spam.no-bias-correction', 'adabelief.amsgrad-l2', 'adabelief.fixed-decay'])
      expect(names).toContain(n);
  });

  it.each(names)('%s: our chain follows the official code within tolerance', (name) => {
    const fx = loadFixture(name);
    expect(fx.steps).toBeGreaterThanOrEqual(30);
    expect(fx.params.map((p) => p.dims.length)).toEqual(expect.arrayContaining([1, 2, 3]));
    const r = replay(fx);
    expect(r.worst, `worst at step ${r.worstStep}, largest update ${r.largest}`).toBeLessThan(TOLERANCE[fx.optimizer] ?? 1e-4);
  });

  it.each(names)('%s: the same through the arena (fused kernel where the chain has one)', (name) => {
    const fx = loadFixture(name);
    const arena = new WasmArena(8 << 20);
    const r = replay(fx, { arena }, (n) => arena.f32(n));
    expect(r.worst, `worst at step ${r.worstStep}`).toBeLessThan(TOLERANCE[fx.optimizer] ?? 1e-4);
    // Every chain runs a kernel but bitsandbytes' max_unorm (a norm of the update first).
    const tsOnly = Number(fx.hyper.maxUnorm ?? 0) > 0;
    expect(r.kernels.every((k) => (k === '') === tsOnly), r.kernels.join()).toBe(true);
  });
});

describe('8-bit Adam against bitsandbytes, one step at a time', () => {
  // Quantized state amplifies float32 rounding: bitsandbytes' reference runs torch's float32 ops
  // (with fused multiply-adds on its vector path), we round once per expression, and the first time
  // a value lands within an ulp of a quantization midpoint the two runs store neighbouring codes and
  // that entry's trajectory drifts (4e-4 of the largest update after 30 steps here, from one code of
  // one entry). So each step also starts from the official parameters and state.
  for (const name of fixtureNames().filter((n) => loadFixture(n).trace)) {
    it(`${name}: every step's update within 1e-4 of the largest, state codes equal but for rounding ties`, () => {
      const r = replayFromOfficialState(loadFixture(name));
      expect(r.worst).toBeLessThan(1e-4);
      expect(r.codeMismatch).toBeLessThan(1e-3);
    });
  }
});
