// One table-driven contract over every registered optimizer (the optax test pattern): it steps,
// moves the parameters and keeps them finite; its state round-trips through a safetensors file
// and resumes bit-identically; it reports the state bytes per parameter its algorithm implies.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { mulberry32 } from '../../src/random.js';
import { createOptimizer, hutchinsonDiag, loadOptimizerState, OPTIMIZERS, saveOptimizerState, type Param } from '../../src/optim/index.js';

// State bytes per parameter on one [64, 64] weight (4096 elements, the smallest 8-bit Adam quantizes): per-element buffers x 4 bytes,
// plus per-tensor numbers and blocks as noted.
const N = 4096;
const EXPECTED_BYTES: Record<string, number> = {
  sgd: 4, // momentum
  adam: 8, // m, v
  adamw: 8,
  lion: 4, // m only
  exadam: 8,
  spam: 8,
  'stable-spam': 8 + 24 / N, // + m_max, m_norm, v_norm (float64 each)
  adabelief: 8, // m, s
  adamp: 8 + 4 / N, // + wdRatio
  sgdp: 4 + 4 / N,
  'sgd-sai': 4 + 8 / N, // momentum + gsnr: half of AdamW
  adam8bit: 2 + (16 * 8) / N, // two uint8 codes + two float32 absmax per 256-block (16 blocks)
  adamw8bit: 2 + (16 * 8) / N,
  sophia: 8, // m, h
  adahessian: 8,
  soap: 8 + (4 * 2 * (64 * 64 + 64 * 64)) / N, // m, v + L, QL, R, QR [64, 64]
  'onebit-adam': 16, // m, v, server error, one worker error
};

function quadGrad(params: Param[]): Map<string, Float32Array> {
  // f = sum_i c_i p_i^2 / 2 with c_i = 1 + (i mod 7): its gradient, used for Hessian estimates.
  return new Map(params.map((p) => [p.name, Float32Array.from(p.data, (x, i) => (1 + (i % 7)) * x)]));
}

function makeParams(seed: number): Param[] {
  const rnd = mulberry32(seed).next;
  return [
    { name: 'layer.weight', dims: [64, 64], data: Float32Array.from({ length: N }, () => rnd() - 0.5) },
    { name: 'layer.bias', dims: [80], data: Float32Array.from({ length: 80 }, () => rnd() - 0.5) },
  ];
}

function grads(params: Param[], step: number): Map<string, Float32Array> {
  const rnd = mulberry32(1000 + step).next;
  return new Map(params.map((p) => [p.name, Float32Array.from(p.data, (x) => x + 0.1 * (rnd() - 0.5))]));
}

const names = Object.keys(OPTIMIZERS);

describe('optimizer contract', () => {
  it('the bytes table covers every registered optimizer', () => {
    expect(Object.keys(EXPECTED_BYTES).sort()).toEqual([...names].sort());
  });

  it.each(names)('%s: steps, moves parameters, stays finite', (name) => {
    const params = makeParams(1);
    const before = params.map((p) => p.data.slice());
    const opt = createOptimizer(name, {}, { hessian: hutchinsonDiag(quadGrad, { seed: 3 }) });
    for (let t = 1; t <= 12; t++) opt.step(params, grads(params, t));
    expect(opt.stepCount).toBe(12);
    for (const [i, p] of params.entries()) {
      expect(p.data.every(Number.isFinite)).toBe(true);
      expect(p.data.some((x, j) => x !== before[i]![j])).toBe(true);
    }
  });

  it.each(names)('%s: state round-trips through safetensors and resumes identically', (name) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'optim-'));
    const hessian = () => hutchinsonDiag(quadGrad, { seed: 3 });
    const a = makeParams(2);
    const optA = createOptimizer(name, {}, { hessian: hessian() });
    for (let t = 1; t <= 11; t++) optA.step(a, grads(a, t));
    const file = path.join(dir, 'state.safetensors');
    saveOptimizerState(file, optA);
    const b = a.map((p) => ({ ...p, data: p.data.slice() }));
    const optB = createOptimizer(name, {}, { hessian: hessian() });
    loadOptimizerState(file, optB);
    expect(optB.stepCount).toBe(11);
    for (let t = 12; t <= 14; t++) {
      optA.step(a, grads(a, t));
      optB.step(b, grads(b, t));
    }
    for (const [i, p] of a.entries()) expect(Array.from(b[i]!.data)).toEqual(Array.from(p.data));
    fs.rmSync(dir, { recursive: true });
  });

  // Regression (#12 §3): a state loaded before the first step (sized then) read back as the step
  // count alone, so `train --resume` of a finished run, which saves without stepping, wrote a
  // checkpoint without its optimizer state and the next `--resume` failed on "group0/#count".
  it.each(names)('%s: a state loaded and saved again before any step keeps every tensor', (name) => {
    const hessian = () => hutchinsonDiag(quadGrad, { seed: 3 });
    const a = makeParams(5);
    const optA = createOptimizer(name, {}, { hessian: hessian() });
    for (let t = 1; t <= 3; t++) optA.step(a, grads(a, t));
    const optB = createOptimizer(name, {}, { hessian: hessian() });
    // state() hands out the live arrays: copy them, as a checkpoint file would.
    optB.loadState(new Map([...optA.state()].map(([k, t]) => [k, { ...t, data: t.data.slice() }])));
    const optC = createOptimizer(name, {}, { hessian: hessian() });
    optC.loadState(optB.state());
    expect([...optB.state().keys()].sort()).toEqual([...optA.state().keys()].sort());
    const c = a.map((p) => ({ ...p, data: p.data.slice() }));
    optA.step(a, grads(a, 4));
    optC.step(c, grads(c, 4));
    for (const [i, p] of a.entries()) expect(Array.from(c[i]!.data)).toEqual(Array.from(p.data));
  });

  it.each(names)('%s: reports its state bytes per parameter', (name) => {
    const params = [makeParams(3)[0]!];
    const opt = createOptimizer(name, {}, { hessian: hutchinsonDiag(quadGrad) });
    opt.step(params, grads(params, 1));
    expect(opt.stateBytesPerParam()).toBeCloseTo(EXPECTED_BYTES[name]!, 6);
  });

  it('an unknown optimizer name lists the registry', () => {
    expect(() => createOptimizer('adamm')).toThrow(new RegExp(`known: ${names.join(', ')}`));
  });

  it('an unknown or mistyped hyperparameter names the key', () => {
    expect(() => createOptimizer('adamw', { learningRate: 1 })).toThrow(/adamw has no hyperparameter "learningRate".*lr, betas/);
    expect(() => createOptimizer('adamw', { betas: [0.9] })).toThrow(/hyper\.betas: expected 2 numbers/);
    expect(() => createOptimizer('lion', { kappa: 'l3' })).toThrow(/kappa: expected one of sign, l2/);
    expect(() => createOptimizer('sgd', { lr: -1 })).toThrow(/hyper\.lr: -1 is out of range/);
  });

  it('a state from another optimizer is refused with the missing key', () => {
    const p = makeParams(4);
    const adam = createOptimizer('adamw');
    adam.step(p, grads(p, 1));
    const lion = createOptimizer('lion');
    lion.step(p, grads(p, 1));
    expect(() => lion.loadState(adam.state())).toThrow(/no tensor "group0\/0.scaleByLion\/#count"/);
  });
});
