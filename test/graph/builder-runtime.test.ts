import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { GraphBuilder, Session, loadModel, saveModel, encodeModel, decodeModel } from '../../src/graph/index.js';

function tinyMlp() {
  const g = new GraphBuilder({ opset: 17 });
  const x = g.input('x', 'float32', ['batch', 3]);
  const w = g.initializer('w', Float32Array.from([1, 2, 3, 4, 5, 6]), [3, 2]);
  const b = g.initializer('b', Float32Array.from([0.5, -0.5]), [2]);
  const h = g.add(g.matMul(x, w), b);
  const ln = g.layerNorm(h, g.initializer('ln_w', Float32Array.from([1, 1]), [2]), g.initializer('ln_b', Float32Array.from([0, 0]), [2]));
  g.output(h, 'h', 'float32', ['batch', 2]);
  g.output(g.reduceSum(ln, [1], false), 's', 'float32', ['batch']);
  return g.toModel();
}

describe('graph builder, ONNX I/O and runtime', () => {
  it('builds a graph that onnxruntime runs with the expected values', async () => {
    const s = await Session.create(tinyMlp());
    const out = await s.run({ x: { dtype: 'float32', dims: [2, 3], data: Float32Array.from([1, 0, 0, 1, 1, 1]) } });
    // row 0: [1,2]+[.5,-.5] = [1.5,1.5]; row 1: [1+3+5, 2+4+6] + b = [9.5, 11.5]
    expect([...out.h!.data]).toEqual([1.5, 1.5, 9.5, 11.5]);
    expect(out.s!.dims).toEqual([2]);
    expect(Math.abs(Number(out.s!.data[0]))).toBeLessThan(1e-5);
  });

  it('round-trips through bytes and files, inline and with external data', async () => {
    const m = tinyMlp();
    const back = decodeModel(encodeModel(m));
    expect(back.graph.nodes.map((n) => n.opType)).toEqual(m.graph.nodes.map((n) => n.opType));
    expect([...back.graph.initializers.get('w')!.data]).toEqual([1, 2, 3, 4, 5, 6]);
    expect(back.graph.nodes.find((n) => n.opType === 'LayerNormalization')!.attrs.epsilon).toEqual({ type: 'float', value: expect.closeTo(1e-5, 8) });

    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ak-onnx-'));
    const file = path.join(dir, 'model.onnx');
    saveModel(m, file, { externalData: true, externalThreshold: 16 });
    expect(fs.existsSync(path.join(dir, 'model.onnx_data'))).toBe(true);
    expect(fs.statSync(path.join(dir, 'model.onnx_data')).size).toBe(4 * 6) // only w is at or above the 16-byte threshold;
    const loaded = loadModel(file);
    expect([...loaded.graph.initializers.get('w')!.data]).toEqual([1, 2, 3, 4, 5, 6]);
    // onnxruntime itself reads the external-data file we wrote
    const s = await Session.create(file);
    const out = await s.run({ x: { dtype: 'float32', dims: [1, 3], data: Float32Array.from([1, 1, 1]) } });
    expect([...out.h!.data]).toEqual([9.5, 11.5]);
  });

  it('names the bad file when a model cannot be read', () => {
    expect(() => loadModel('/nonexistent/model.onnx')).toThrow(/\/nonexistent\/model.onnx/);
  });

  it('asks for the cuda12 install flag when the CUDA provider is missing', async () => {
    await expect(Session.create(tinyMlp(), { provider: 'cuda' })).rejects.toThrow(/onnxruntime-node-install=cuda12/);
  });
});

describe('regression: a builder opened on an existing graph', () => {
  it('never reuses a node name already in the graph', () => {
    const first = new GraphBuilder();
    const x = first.input('x', 'float32', [2]);
    first.output(first.op1('Neg', [x], {}, { name: 'Neg_node_0' }), 'y');
    const second = new GraphBuilder({ graph: first.graph });
    // A fresh builder counts from 0: its first Neg node would be named Neg_node_0 again.
    expect(second.fresh('Neg_node')).not.toBe('Neg_node_0');
    second.neg('y');
    const names = first.graph.nodes.map((n) => n.name);
    expect(new Set(names).size).toBe(names.length);
  });
});
