// Sessions over onnxruntime's C API (src/graph/native-session.ts) against onnxruntime-node's binding
// on the same models: the same outputs, pre-allocated outputs written in place without a JavaScript
// copy (the binding makes one: the reason this path exists), errors that name the model and input.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { GraphBuilder, saveModel, Session, type Tensor } from '../../src/graph/index.js';
import { NativeSession, nativeSessionsAvailable } from '../../src/graph/native-session.js';
import { CausalLM } from '../../src/models/index.js';

function mixedModel() {
  const g = new GraphBuilder({ opset: 17 });
  const x = g.input('x', 'float32', ['batch', 3]);
  const ids = g.input('ids', 'int64', ['batch']);
  const w = g.initializer('w', Float32Array.from([1, 2, 3, 4, 5, 6]), [3, 2]);
  const h = g.add(g.matMul(x, w), g.initializer('b', Float32Array.from([0.5, -0.5]), [2]));
  g.output(h, 'h', 'float32', ['batch', 2]);
  g.output(g.add(ids, ids), 'twice', 'int64', ['batch']);
  g.output(g.greater(g.reduceSum(h, [1], false), g.initializer('zero', Float32Array.from([0]), [])), 'positive', 'bool', ['batch']);
  return g.toModel();
}

/** y = x + 1 over a large vector: an output big enough to see a copy of it in process memory. */
function largeOutputModel(n: number) {
  const g = new GraphBuilder({ opset: 17 });
  const x = g.input('x', 'float32', [n]);
  g.output(g.add(x, g.initializer('one', Float32Array.from([1]), [])), 'y', 'float32', [n]);
  return g.toModel();
}

const feeds = (): Record<string, Tensor> => ({
  x: { dtype: 'float32', dims: [3, 3], data: Float32Array.from([1, 0, 0, 1, 1, 1, -4, -4, -4]) },
  ids: { dtype: 'int64', dims: [3], data: BigInt64Array.from([1n, -2n, 2n ** 40n]) },
});

describe.runIf(nativeSessionsAvailable())('NativeSession (onnxruntime C API through koffi)', () => {
  it('returns what the onnxruntime-node binding returns, for float32, int64 and bool outputs', async () => {
    const m = mixedModel();
    const ours = await NativeSession.open(m, { intraOpThreads: 1, interOpThreads: 2, executionMode: 'parallel', graphOptimization: 'extended' });
    const theirs = await Session.create(m, { intraOpThreads: 1 });
    expect(ours.inputNames).toEqual(theirs.inputNames);
    expect(ours.outputNames).toEqual(theirs.outputNames);
    const described = (s: Session) => s.ort.inputMetadata.map((m) => ({ name: m.name, isTensor: m.isTensor, type: m.isTensor ? m.type : undefined }));
    expect(described(ours)).toEqual(described(theirs));
    const a = await ours.run(feeds());
    const b = await theirs.run(feeds());
    for (const name of ['h', 'twice', 'positive']) {
      expect(a[name]!.dtype, name).toBe(b[name]!.dtype);
      expect(a[name]!.dims, name).toEqual(b[name]!.dims);
      expect([...a[name]!.data], name).toEqual([...b[name]!.data]);
    }
    expect([...a.h!.data]).toEqual([1.5, 1.5, 9.5, 11.5, -35.5, -48.5]);
    expect([...a.twice!.data]).toEqual([2n, -4n, 2n ** 41n]);
    expect([...a.positive!.data]).toEqual([1, 1, 0]);
    // fetches: only what is asked for
    expect(Object.keys(await ours.run(feeds(), ['twice']))).toEqual(['twice']);
    await ours.release();
    await theirs.release();
  });

  it('writes a pre-allocated output in place (also one not named in fetches) and returns that same array', async () => {
    const s = await NativeSession.open(mixedModel());
    const into = new Float32Array(6).fill(Number.NaN);
    const out = await s.run(feeds(), ['twice'], { h: { dtype: 'float32', dims: [3, 2], data: into } });
    expect(out.h!.data).toBe(into);
    expect([...into]).toEqual([1.5, 1.5, 9.5, 11.5, -35.5, -48.5]);
    expect([...out.twice!.data]).toEqual([2n, -4n, 2n ** 41n]);
    // a view into a larger buffer: onnxruntime writes at the view's offset, nothing around it
    const backing = new Float32Array(10).fill(7);
    await s.run(feeds(), [], { h: { dtype: 'float32', dims: [3, 2], data: backing.subarray(2, 8) } });
    expect([...backing]).toEqual([7, 7, 1.5, 1.5, 9.5, 11.5, -35.5, -48.5, 7, 7]);
    await s.release();
  });

  it('regression: a run into a pre-allocated 32 MB output allocates no copy of it (the binding allocates one per run)', async () => {
    const n = 8 * 2 ** 20;
    const m = largeOutputModel(n);
    const x = { dtype: 'float32' as const, dims: [n], data: new Float32Array(n).fill(2) };
    const y = new Float32Array(n);
    // Both runs' results stay referenced until the reading: a collection during the second run
    // cannot free the first run's copy and hide the second one (seen once in CI: -548 bytes).
    const grown = async (s: Session) => {
      const first = await s.run({ x }, [], { y: { dtype: 'float32', dims: [n], data: y } });
      const before = process.memoryUsage().arrayBuffers;
      const second = await s.run({ x }, [], { y: { dtype: 'float32', dims: [n], data: y } });
      return { grew: process.memoryUsage().arrayBuffers - before, results: [first, second] };
    };
    const binding = await Session.create(m);
    // Measured first: what this test guards against is real here, so the assertion below can fail.
    expect((await grown(binding)).grew).toBeGreaterThan(0.9 * 4 * n);
    await binding.release();
    const native = await NativeSession.open(m);
    expect((await grown(native)).grew).toBeLessThan(4 * n / 8);
    expect(y[0]).toBe(3);
    expect(y[n - 1]).toBe(3);
    await native.release();
  });

  it('opens a model file with its external data, and Session.create picks it for binding c-api', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ak-native-'));
    const file = path.join(dir, 'model.onnx');
    saveModel(mixedModel(), file, { externalData: true, externalThreshold: 16 });
    expect(fs.existsSync(`${file}_data`)).toBe(true);
    const s = await Session.create(file, { binding: 'c-api' });
    expect(s).toBeInstanceOf(NativeSession);
    expect(s.copiesOutputs).toBe(false);
    expect([...(await s.run(feeds())).h!.data]).toEqual([1.5, 1.5, 9.5, 11.5, -35.5, -48.5]);
    await s.release();
    expect((await Session.create(file)).copiesOutputs).toBe(true);
    fs.rmSync(dir, { recursive: true });
  });

  it('serves a model directory through CausalLM with the same logits as the binding (a past-key-values graph)', async () => {
    const ids = [[40, 316, 491, 5], [77, 12, 9, 1]];
    const viaBinding = await CausalLM.load('data/models/tiny-gpt2');
    const viaCApi = await CausalLM.load('data/models/tiny-gpt2', { session: { binding: 'c-api' } });
    expect(viaCApi.session).toBeInstanceOf(NativeSession);
    const a = await viaBinding.logits(ids);
    const b = await viaCApi.logits(ids);
    expect(b.dims).toEqual(a.dims);
    expect([...b.data]).toEqual([...a.data]);
  });

  it('names the model and the input in its errors, and refuses runs after release', async () => {
    const s = await NativeSession.open(mixedModel());
    const bad = { ...feeds(), x: { dtype: 'float32' as const, dims: [3, 4], data: new Float32Array(12) } };
    await expect(s.run(bad)).rejects.toThrow(/run of <model main> failed: .*input: x/);
    await expect(s.run({ ...feeds(), x: { dtype: 'float32', dims: [3, 3], data: new Float32Array(8) } })).rejects.toThrow(/tensor x has 8 values for dims \[3,3\]/);
    await expect(NativeSession.open(new Uint8Array([1, 2, 3]))).rejects.toThrow(/onnxruntime could not load <bytes>/);
    await s.release();
    await expect(s.run(feeds())).rejects.toThrow(/after release/);
  });

  it('release() during a run waits for it: the run completes, later runs are refused', async () => {
    const n = 8 * 2 ** 20;
    const s = await NativeSession.open(largeOutputModel(n));
    const x = { dtype: 'float32' as const, dims: [n], data: new Float32Array(n).fill(1) };
    const running = s.run({ x });
    const released = s.release();
    const out = await running;
    await released;
    expect(out.y!.data[n - 1]).toBe(2);
    await expect(s.run({ x })).rejects.toThrow(/after release/);
  });

  it('writes a profile and returns its file', async () => {
    const prefix = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'ak-native-prof-')), 'p');
    const s = await NativeSession.open(mixedModel(), { profile: prefix });
    await s.run(feeds());
    const file = s.endProfiling();
    expect(file.startsWith(prefix)).toBe(true);
    expect(JSON.parse(fs.readFileSync(file, 'utf8')).some((e: { name?: string }) => /MatMul/.test(e.name ?? ''))).toBe(true);
    await s.release();
    fs.rmSync(path.dirname(prefix), { recursive: true });
  });
});
