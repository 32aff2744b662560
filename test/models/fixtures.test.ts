import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Session } from '../../src/graph/index.js';
import { writeFixtures } from '../../src/models/index.js';
import { BPE500, ROOT } from './helpers.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ak-fixtures-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('committed fixtures', () => {
  it('are exactly what writeFixtures builds from the CS336 vocab and merges', () => {
    fs.mkdirSync(path.join(tmp, 'data', 'tokenizers', 'bpe500'), { recursive: true });
    for (const f of ['vocab.json', 'merges.txt']) fs.copyFileSync(path.join(BPE500, f), path.join(tmp, 'data', 'tokenizers', 'bpe500', f));
    const written = writeFixtures(tmp);
    expect(written.length).toBeGreaterThanOrEqual(17);
    for (const file of written) {
      const committed = path.join(ROOT, path.relative(tmp, file));
      expect(fs.existsSync(committed), committed).toBe(true);
      expect(Buffer.compare(fs.readFileSync(file), fs.readFileSync(committed)), committed).toBe(0);
    }
  });

  it('stay under 2 MB in total', () => {
    const dirs = ['data/tokenizers/bpe500', 'data/models/tiny-gpt2', 'data/models/tiny-gpt2-rm', 'data/models/tiny-bert-rm-multi'].map((d) => path.join(ROOT, d));
    const bytes = dirs.flatMap((d) => fs.readdirSync(d, { recursive: true }).map((f) => path.join(d, String(f)))).filter((f) => fs.statSync(f).isFile()).reduce((s, f) => s + fs.statSync(f).size, 0);
    expect(bytes).toBeLessThan(2 * 1024 * 1024);
  });

  it("use optimum's input and output names", async () => {
    const lm = await Session.create(path.join(ROOT, 'data/models/tiny-gpt2/onnx/model.onnx'));
    expect([...lm.inputNames]).toEqual(['input_ids', 'attention_mask', 'position_ids', 'past_key_values.0.key', 'past_key_values.0.value', 'past_key_values.1.key', 'past_key_values.1.value']);
    expect([...lm.outputNames]).toEqual(['logits', 'present.0.key', 'present.0.value', 'present.1.key', 'present.1.value']);
    const rm = await Session.create(path.join(ROOT, 'data/models/tiny-gpt2-rm/onnx/model.onnx'));
    expect([[...rm.inputNames], [...rm.outputNames]]).toEqual([['input_ids', 'attention_mask'], ['logits']]);
    const bert = await Session.create(path.join(ROOT, 'data/models/tiny-bert-rm-multi/onnx/model.onnx'));
    expect([[...bert.inputNames], [...bert.outputNames]]).toEqual([['input_ids', 'attention_mask', 'token_type_ids'], ['logits']]);
  });
});
