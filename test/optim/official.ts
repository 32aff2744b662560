// Fixtures from the official optimizer implementations (test/fixtures/optim/*.json, written by
// scripts/optim-fixtures.py; each file's header names the repository, commit and command): the
// recorded gradients (and Hessian diagonals) replayed through our optimizer of the same name.

import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createOptimizer, type OptimizerOptions, type Param } from '../../src/optim/index.js';

export const FIXTURE_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../fixtures/optim');

export interface OfficialFixture {
  header: { repository: string; commit: string; file: string; command: string };
  optimizer: string;
  hyper: Record<string, unknown>;
  steps: number;
  params: { name: string; dims: number[]; p0: string }[];
  grads: string[][];
  hessian?: string[][];
  /** p_t - p_0 per step and parameter (float32 of the float64 difference); absent when `trace` holds p_t itself. */
  delta?: string[][];
  /** Per step and parameter: the exact p_t and optimizer state after the step (8-bit Adam). */
  trace?: Record<string, string>[][];
}

export const f32 = (b64: string) => {
  const buf = Buffer.from(b64, 'base64');
  return new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
};

export function fixtureNames(): string[] {
  return fs.readdirSync(FIXTURE_DIR).filter((f) => f.endsWith('.json')).map((f) => f.slice(0, -5)).sort();
}

export function loadFixture(name: string): OfficialFixture {
  return JSON.parse(fs.readFileSync(path.join(FIXTURE_DIR, `${name}.json`), 'utf8')) as OfficialFixture;
}

/** p_t - p_0 per step and parameter, from `delta` or from the trace's exact p_t. */
export function deltasOf(fx: OfficialFixture): Float32Array[][] {
  if (fx.delta) return fx.delta.map((row) => row.map(f32));
  const p0 = fx.params.map((p) => f32(p.p0));
  return fx.trace!.map((row) => row.map((r, i) => Float32Array.from(f32(r.p!), (x, j) => x - p0[i]![j]!)));
}

export interface Replay {
  /** max over steps and entries of |ours - official| of p_t - p_0, divided by the largest |official update|. */
  worst: number;
  worstStep: number;
  largest: number;
  /** The kernel each parameter group ran ('' for the TypeScript path). */
  kernels: string[];
}

/**
 * Replay a fixture: `makeParam` places each parameter (the JS heap or an arena), and the optimizer
 * gets `opts` (an arena to use the kernels). Gradients are handed over in `gradBuf` views from
 * `makeBuffer` so kernels can read them in place.
 */
export function replay(fx: OfficialFixture, opts: OptimizerOptions = {}, makeBuffer: (n: number) => Float32Array = (n) => new Float32Array(n)): Replay {
  const params: Param[] = fx.params.map((p) => {
    const data = makeBuffer(p.dims.reduce((a, b) => a * b, 1));
    data.set(f32(p.p0));
    return { name: p.name, dims: p.dims, data };
  });
  const p0 = params.map((p) => Float64Array.from(p.data));
  const gradBuf = params.map((p) => makeBuffer(p.data.length));
  const opt = createOptimizer(fx.optimizer, fx.hyper, opts);
  const deltas = deltasOf(fx);
  const largest = Math.max(...deltas.flatMap((row) => row.map((d) => d.reduce((m, x) => Math.max(m, Math.abs(x)), 0))));
  let worst = 0;
  let worstStep = 0;
  for (let t = 0; t < fx.steps; t++) {
    const grads: Record<string, Float32Array> = {};
    params.forEach((p, i) => {
      gradBuf[i]!.set(f32(fx.grads[t]![i]!));
      grads[p.name] = gradBuf[i]!;
    });
    const hessianDiag = fx.hessian ? Object.fromEntries(params.map((p, i) => [p.name, f32(fx.hessian![t]![i]!)])) : undefined;
    opt.step(params, grads, hessianDiag ? { hessianDiag } : {});
    params.forEach((p, i) => {
      const d = deltas[t]![i]!;
      for (let j = 0; j < d.length; j++) {
        const err = Math.abs(p.data[j]! - p0[i]![j]! - d[j]!) / largest;
        if (err > worst) {
          worst = err;
          worstStep = t + 1;
        }
      }
    });
  }
  return { worst, worstStep, largest, kernels: opt.kernelNames() };
}

/** The live state array of one parameter's slot (state() hands out the live arrays). */
function slotArray(opt: ReturnType<typeof createOptimizer>, param: string, slot: string) {
  const st = opt.state();
  const key = [...st.keys()].find((k) => k.endsWith(`/${param}/${slot}`));
  if (!key) throw new Error(`no state slot ${param}/${slot}`);
  return st.get(key)!.data as Float32Array | Uint8Array;
}

/**
 * Replay a traced fixture step by step from the official state: before each step our parameters
 * and state are set to the official ones after the previous step, so each step's update is
 * compared on its own. Returns the worst |ours - official| of p_t - p_{t-1} relative to the
 * largest such update, and the fraction of state codes that differ.
 */
export function replayFromOfficialState(fx: OfficialFixture, opts: OptimizerOptions = {}, makeBuffer: (n: number) => Float32Array = (n) => new Float32Array(n)): { worst: number; codeMismatch: number } {
  const params: Param[] = fx.params.map((p) => {
    const data = makeBuffer(p.dims.reduce((a, b) => a * b, 1));
    data.set(f32(p.p0));
    return { name: p.name, dims: p.dims, data };
  });
  const gradBuf = params.map((p) => makeBuffer(p.data.length));
  const opt = createOptimizer(fx.optimizer, fx.hyper, opts);
  const bytes = (b64: string) => Uint8Array.from(Buffer.from(b64, 'base64'));
  let prev = params.map((p) => p.data.slice());
  let worst = 0;
  let largest = 0;
  let codes = 0;
  let mismatched = 0;
  for (let t = 0; t < fx.steps; t++) {
    if (t > 0) {
      params.forEach((p, i) => {
        const r = fx.trace![t - 1]![i]!;
        p.data.set(f32(r.p!));
        for (const [slot, value] of Object.entries(r)) {
          if (slot === 'p') continue;
          slotArray(opt, p.name, slot).set(slot.endsWith('q') ? bytes(value) : f32(value));
        }
      });
      prev = params.map((p) => p.data.slice());
    }
    params.forEach((p, i) => gradBuf[i]!.set(f32(fx.grads[t]![i]!)));
    opt.step(params, Object.fromEntries(params.map((p, i) => [p.name, gradBuf[i]!])));
    params.forEach((p, i) => {
      const r = fx.trace![t]![i]!;
      const official = f32(r.p!);
      for (let j = 0; j < official.length; j++) {
        largest = Math.max(largest, Math.abs(official[j]! - prev[i]![j]!));
        worst = Math.max(worst, Math.abs(p.data[j]! - official[j]!));
      }
      for (const slot of ['mq', 'vq']) {
        if (!r[slot]) continue;
        const ours = slotArray(opt, p.name, slot);
        const theirs = bytes(r[slot]!);
        codes += theirs.length;
        for (let j = 0; j < theirs.length; j++) if (ours[j] !== theirs[j]) mismatched++;
      }
    });
  }
  return { worst: worst / largest, codeMismatch: codes ? mismatched / codes : 0 };
}
