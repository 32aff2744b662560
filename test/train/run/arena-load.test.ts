// `alignkit train` with a model whose weights are external data (as optimum and large exports write
// them): full fine-tuning reads the weights straight into the training arena and the trainer adopts
// them; the run is the same, bit for bit, as from the same model stored inline.

import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadModel, saveModel } from '../../../src/graph/index.js';
import { runTraining } from '../../../src/train/run/index.js';
import { smallConfig, tempDir, TINY_LM } from './helpers.js';

/** A copy of a model directory with its ONNX weights moved to model.onnx_data. */
function withExternalData(src: string, dst: string): string {
  fs.cpSync(src, dst, { recursive: true });
  const file = path.join(dst, 'onnx/model.onnx');
  saveModel(loadModel(file), file, { externalData: true, externalThreshold: 1024 });
  expect(fs.statSync(`${file}_data`).size).toBeGreaterThan(fs.statSync(file).size);
  return dst;
}

describe('alignkit train: weights read into the training arena', () => {
  it('sft on an external-data model trains exactly as on the inline one', async () => {
    const dir = tempDir('arena-load');
    const external = withExternalData(TINY_LM, path.join(dir, 'external-model'));
    const run = async (model: string, name: string) => {
      const config = smallConfig('sft', dir, { model, steps: 3, output: path.join(dir, name) });
      const seen: number[] = [];
      await runTraining(config, { onStep: (_s, l) => seen.push(l) });
      return { seen, weights: loadModel(path.join(config.output, 'onnx/model.onnx')).graph.initializers };
    };
    const inline = await run(TINY_LM, 'inline');
    const fromArena = await run(external, 'external');
    expect(fromArena.seen).toEqual(inline.seen);
    expect(fromArena.weights.size).toBe(inline.weights.size);
    for (const [name, t] of inline.weights) expect([...fromArena.weights.get(name)!.data], name).toEqual([...t.data]);
  }, 60_000);
});
