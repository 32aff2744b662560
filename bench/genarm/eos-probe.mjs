// bench/genarm/eos-probe: how much probability alignkit-base and alignkit-arm give to end-of-sequence
// right after a held-out chosen response (a GenARM guide that forbids EOS makes every guided response
// run to the token limit).
//
//   node --import ./src/dev/register-ts.mjs bench/genarm/eos-probe.mjs [--pairs 32] [--models data/models/alignkit-base,data/models/alignkit-arm]
import path from 'node:path';
import { parseArgs } from 'node:util';
import { CausalLM } from '../../src/models/index.ts';
import { loadPreferenceData } from '../../src/datasets/index.ts';
import { logSoftmax } from '../../src/generate/index.ts';

const root = path.resolve(import.meta.dirname, '../..');
const { values } = parseArgs({ options: { pairs: { type: 'string', default: '32' }, models: { type: 'string', default: 'data/models/alignkit-base,data/models/alignkit-arm' } } });
// Rows 1901-2312 of the file were never used to train the shipped models (scripts/build-models.mjs).
const FIRST_HELD_ROW = 1900;
const MAX_TOKENS = 200;
const dirs = values.models.split(',');
const models = await Promise.all(dirs.map((m) => CausalLM.load(path.resolve(root, m))));
const tok = models[0].tokenizer;
const data = await loadPreferenceData(path.resolve(root, '../shared/datasets/preference_pairs/hh_rlhf_harmless_base_test.jsonl'), { kind: 'paired', dropTies: true });
const pairs = data.examples.slice(FIRST_HELD_ROW, FIRST_HELD_ROW + Number(values.pairs));
const sums = models.map(() => 0);
for (const e of pairs) {
  const ids = [...tok.encode(e.prompt), ...tok.encode(e.chosen, { addSpecialTokens: false })].slice(-MAX_TOKENS);
  for (const [m, model] of models.entries()) {
    const logits = await model.logits([ids]); // [1, T, V]
    const vocab = logits.dims[2];
    sums[m] += logSoftmax(logits.data.slice((ids.length - 1) * vocab, ids.length * vocab))[tok.eosTokenId];
  }
}
const means = dirs.map((d, m) => `${path.basename(d)} ${(sums[m] / pairs.length).toFixed(3)}`);
console.log(`mean log p(EOS | prompt + chosen response) over ${pairs.length} held-out pairs: ${means.join(', ')}`);
