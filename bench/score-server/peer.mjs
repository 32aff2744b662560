#!/usr/bin/env node
// One side of bench/score-server/direct.mjs as a child process (bench/torch-peer.mjs's JSON-lines
// protocol): scores batches of token-id rows with `alignkit` (SequenceClassifier.scoreIds: rows run in
// length buckets) or `transformers` (@huggingface/transformers GPT2Model on the same ONNX file, whose
// graph already holds the reward head and pools at the last non-pad token: each batch right-padded
// to its longest row, as its tokenizer pads). argv[2]: JSON {side, model, threads, rowsFile, batch}.
// Ops: {op: 'run', n} scores all rows n times, answering {ms: [...], result} (the last pass's scores).
// Both sides run onnxruntime with the same session settings (intra-op threads, no spinning), so only
// the pipelines around the session differ.
import fs from 'node:fs';
import { register } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { servePeer, timedRuns } from '../torch-peer.mjs';

register('../../src/dev/ts-source-hooks.mjs', import.meta.url);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const CFG = JSON.parse(process.argv[2]);
const t0 = performance.now();
const rows = JSON.parse(fs.readFileSync(CFG.rowsFile, 'utf8'));
const batches = [];
for (let i = 0; i < rows.length; i += CFG.batch) batches.push(rows.slice(i, i + CFG.batch));

const SIDES = {
  async alignkit() {
    const { SequenceClassifier } = await import(path.join(root, 'src/models/index.ts'));
    const rm = await SequenceClassifier.load(path.resolve(root, CFG.model), { session: { intraOpThreads: CFG.threads, allowSpinning: false } });
    return async (ids) => (await rm.scoreIds(ids)).map((s) => s[0]);
  },
  async transformers() {
    const t = await import('@huggingface/transformers');
    t.env.allowRemoteModels = false;
    t.env.allowLocalModels = true;
    t.env.localModelPath = `${path.resolve(root, path.dirname(CFG.model))}${path.sep}`;
    const model = await t.GPT2Model.from_pretrained(path.basename(CFG.model), { local_files_only: true, dtype: 'fp32', session_options: { intraOpNumThreads: CFG.threads, extra: { session: { intra_op: { allow_spinning: '0' } } } } });
    const pad = JSON.parse(fs.readFileSync(path.resolve(root, CFG.model, 'config.json'), 'utf8')).pad_token_id;
    return async (ids) => {
      const B = ids.length;
      const T = Math.max(...ids.map((r) => r.length));
      const input = new BigInt64Array(B * T).fill(BigInt(pad));
      const mask = new BigInt64Array(B * T);
      ids.forEach((r, b) => r.forEach((id, j) => {
        input[b * T + j] = BigInt(id);
        mask[b * T + j] = 1n;
      }));
      const out = await model({ input_ids: new t.Tensor('int64', input, [B, T]), attention_mask: new t.Tensor('int64', mask, [B, T]) });
      return Array.from(out.logits.data);
    };
  },
};

const score = await SIDES[CFG.side]();
await servePeer({ side: CFG.side, loadMs: performance.now() - t0 }, {
  run: timedRuns(async () => {
    const scores = [];
    for (const b of batches) scores.push(...(await score(b)));
    return scores;
  }),
});
