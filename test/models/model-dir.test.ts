import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CausalLM, loadModelDir } from '../../src/models/index.js';
import { BERT_DIR, LM_DIR, RM_DIR } from './helpers.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ak-modeldir-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** Copy a fixture's top-level files, placing its graph under `onnxName`. */
function copyWithGraph(src: string, name: string, onnxName: string | null): string {
  const dst = path.join(tmp, name);
  fs.mkdirSync(dst, { recursive: true });
  for (const f of fs.readdirSync(src)) if (fs.statSync(path.join(src, f)).isFile()) fs.copyFileSync(path.join(src, f), path.join(dst, f));
  if (onnxName) {
    fs.mkdirSync(path.dirname(path.join(dst, onnxName)), { recursive: true });
    fs.copyFileSync(path.join(src, 'onnx', 'model.onnx'), path.join(dst, onnxName));
  }
  return dst;
}

describe('loadModelDir', () => {
  it('reads config, tokenizer and graph of each fixture', async () => {
    const lm = await loadModelDir(LM_DIR);
    expect(lm.name).toBe('tiny-gpt2');
    expect(lm.onnxFile).toBe(path.join(LM_DIR, 'onnx', 'model.onnx'));
    expect(lm.arch).toMatchObject({ modelType: 'gpt2', numLayers: 2, numHeads: 4, numKvHeads: 4, headDim: 8, vocabSize: 500, maxPositions: 128, eosTokenId: 0 });
    const rm = await loadModelDir(RM_DIR);
    expect(rm.arch.labels).toEqual(['LABEL_0']);
    const bert = await loadModelDir(BERT_DIR);
    expect(bert.arch).toMatchObject({ modelType: 'bert', numLayers: 2, hiddenSize: 32, maxPositions: 128, labels: ['helpfulness', 'correctness', 'coherence'] });
  });

  it("finds optimum's decoder_model_merged.onnx when model.onnx is absent", async () => {
    const dir = copyWithGraph(LM_DIR, 'merged', 'onnx/decoder_model_merged.onnx');
    const m = await loadModelDir(dir);
    expect(m.onnxFile).toBe(path.join(dir, 'onnx', 'decoder_model_merged.onnx'));
    const lm = await CausalLM.load(dir);
    const ref = await CausalLM.load(LM_DIR);
    const ids = [[5, 9, 42, 7]];
    expect([...(await lm.logits(ids)).data]).toEqual([...(await ref.logits(ids)).data]);
  });

  it('names what is missing', async () => {
    await expect(loadModelDir(copyWithGraph(LM_DIR, 'no-graph', null))).rejects.toMatchObject({ code: 'ALIGNKIT_ERR_MODEL_DIR', message: expect.stringContaining('onnx/model.onnx') });
    const noConfig = copyWithGraph(LM_DIR, 'no-config', 'onnx/model.onnx');
    fs.rmSync(path.join(noConfig, 'config.json'));
    await expect(loadModelDir(noConfig)).rejects.toMatchObject({ code: 'ALIGNKIT_ERR_MODEL_DIR', message: expect.stringContaining('config.json') });
    await expect(loadModelDir(path.join(tmp, 'nowhere'))).rejects.toMatchObject({ code: 'ALIGNKIT_ERR_FILE_NOT_FOUND' });
    const badConfig = copyWithGraph(LM_DIR, 'bad-config', 'onnx/model.onnx');
    fs.writeFileSync(path.join(badConfig, 'config.json'), JSON.stringify({ model_type: 'gpt2', n_layer: 'two' }));
    await expect(loadModelDir(badConfig)).rejects.toMatchObject({ code: 'ALIGNKIT_ERR_MODEL_DIR', details: { field: 'n_layer' } });
  });
});
