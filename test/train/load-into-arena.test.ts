// Issue #13 (start-up at GPT-2-small): the weights were read from the model file into fresh arrays
// and then copied into the training arena, two model-sized sets of fresh pages before the first step
// (and the first set stayed resident until a full garbage collection). loadModel with the arena as
// its allocator reads them into the arena, and a trainer that shares its source adopts them.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadModel, saveModel } from '../../src/graph/index.js';
import { createOptimizer, trainingArena, type WasmArena } from '../../src/optim/index.js';
import { prepareCausalLmTraining, Trainer, trainableValues } from '../../src/train/index.js';
import { TINY_GPT2_ONNX } from './helpers.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ak-load-arena-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
// The fixture with its weights as external data, as exported models of real size store them.
const file = path.join(dir, 'model.onnx');
saveModel(loadModel(TINY_GPT2_ONNX), file, { externalData: true });
// Both files' bytes bound the float values they hold: the arena is sized before anything is read.
const floats = (fs.statSync(file).size + fs.statSync(`${file}_data`).size) / 4;

const ids = BigInt64Array.from({ length: 2 * 16 }, (_, i) => BigInt((i * 37) % 500));
const batch = {
  input_ids: { dtype: 'int64' as const, dims: [2, 16], data: ids },
  attention_mask: { dtype: 'int64' as const, dims: [2, 16], data: new BigInt64Array(32).fill(1n) },
};

/** A trainer on the file with AdamW over the arena; the model loaded into the arena when `intoArena`. */
async function trainerFor(intoArena: boolean, shareSource: boolean): Promise<{ trainer: Trainer; arena: WasmArena; start: Map<string, Float32Array> }> {
  const arena = trainingArena(floats)!;
  const model = loadModel(file, intoArena ? { allocator: arena } : {});
  const prep = prepareCausalLmTraining(model, { loss: 'next-token' });
  expect(trainableValues(prep.training, prep.forward)).toBeLessThanOrEqual(floats);
  const start = new Map(prep.trainable.map((n) => [n, prep.forward.graph.initializers.get(n)!.data as Float32Array]));
  const optimizer = createOptimizer('adamw', { lr: 1e-3 }, { arena });
  const trainer = await Trainer.create({ training: prep.training, source: prep.forward, optimizer, allocator: arena, shareSource });
  return { trainer, arena, start };
}

describe('loading a model into the training arena', () => {
  it('puts the external float weights in the arena and the sharing trainer adopts them without a copy', async () => {
    const { trainer, arena, start } = await trainerFor(true, true);
    // saveModel writes tensors of 1 KiB and more to the external file; smaller ones stay inline.
    const external = [...start].filter(([, d]) => d.byteLength >= 1024);
    expect(external.map(([n]) => n)).toContain('transformer.wte.weight');
    for (const [name, data] of external) expect(arena.contains(data), name).toBe(true);
    for (const p of trainer.params) {
      const s = start.get(p.name)!;
      if (arena.contains(s)) expect(p.data, p.name).toBe(s);
      else expect(p.data, p.name).toEqual(s);
    }
    await trainer.release();
  });

  it('trains exactly as the copying trainer does', async () => {
    const adopted = await trainerFor(true, true);
    const copied = await trainerFor(false, true);
    for (const p of copied.trainer.params) expect(p.data).not.toBe(copied.start.get(p.name));
    for (let i = 0; i < 3; i++) expect((await adopted.trainer.step([batch])).loss).toBe((await copied.trainer.step([batch])).loss);
    const values = copied.trainer.values();
    for (const [name, v] of adopted.trainer.values()) expect(v, name).toEqual(values.get(name));
    await adopted.trainer.release();
    await copied.trainer.release();
  });

  it('without shareSource the trainer still copies, leaving the loaded values untouched', async () => {
    const { trainer, start } = await trainerFor(true, false);
    const before = new Map([...start].map(([n, d]) => [n, Float32Array.from(d)]));
    await trainer.step([batch]);
    for (const p of trainer.params) expect(p.data).not.toBe(start.get(p.name));
    for (const [name, d] of start) expect(d, name).toEqual(before.get(name));
    await trainer.release();
  });
});
