// bench/moment-probe: linear probing against moment probing as a reward head on a frozen backbone.
// Both heads train alone (`train: head`) on the shipped alignkit-base with the same data, steps and
// seed: `linear` is GPT2ForSequenceClassification's score head (last non-pad token), `moment-probe`
// the head of src/graph/rewrites/moment-probe-head.ts. Prints one Markdown row per (head, seed):
// held-out pairwise accuracy on HH-RLHF harmless rows 1901-2312 (never trained on, as in
// scripts/build-models.mjs), the length-only baseline, trainable values and wall time.
//
//   node --import ./src/dev/register-ts.mjs bench/moment-probe/run.mjs [--heads linear,moment-probe]
//     [--seeds 126] [--steps 150] [--lr 3e-3] [--head-hp '{"heads":4,"headDim":16}']
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { buildGpt2 } from '../../src/models/fixtures/gpt2-graph.ts';
import { loadModel, saveModel } from '../../src/graph/index.ts';
import { weightInitializers } from '../../src/graph/rewrites/index.ts';
import { resolveRunConfig, runTraining } from '../../src/train/run/index.ts';
import { evaluateRewardModels } from '../../src/eval/index.ts';
import { OnnxRewardModel } from '../../src/rewards/index.ts';

const root = path.resolve(import.meta.dirname, '../..');
const { values } = parseArgs({ options: {
  heads: { type: 'string', default: 'linear,moment-probe' }, seeds: { type: 'string', default: '126' },
  steps: { type: 'string', default: '150' }, lr: { type: 'string', default: '3e-3' }, 'head-hp': { type: 'string', default: '{}' },
} });
const PAIRS = path.resolve(root, '../shared/datasets/preference_pairs/hh_rlhf_harmless_base_test.jsonl');
const BASE = path.join(root, 'data/models/alignkit-base');
// alignkit-base's shape (scripts/build-models.mjs SHAPE) and its pad id.
const SHAPE = { vocabSize: 4096, nPositions: 256, nEmbd: 128, nLayer: 4, nHead: 4, layerNormEpsilon: 1e-5 };
const PAD = 1;

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'alignkit-bench-mp-'));
const lines = fs.readFileSync(PAIRS, 'utf8').trim().split('\n');
const train = path.join(work, 'train.jsonl');
const held = path.join(work, 'held.jsonl');
fs.writeFileSync(train, `${lines.slice(0, 1900).join('\n')}\n`);
fs.writeFileSync(held, `${lines.slice(1900, 2312).join('\n')}\n`);

// The base's weights in a GPT2ForSequenceClassification graph, as build-models makes alignkit-rm's
// starting point; the moment-probe run replaces its score head, the linear run trains it.
const init = path.join(work, 'rm-init');
const classifier = buildGpt2(SHAPE, { kind: 'classifier', numLabels: 1, padTokenId: PAD }, 20261127);
const lm = loadModel(path.join(BASE, 'onnx/model.onnx'));
const weights = new Set(weightInitializers(lm));
for (const [name, t] of classifier.graph.initializers)
  if (weights.has(name) && lm.graph.initializers.get(name).dims.join() === t.dims.join()) classifier.graph.initializers.set(name, lm.graph.initializers.get(name));
fs.mkdirSync(path.join(init, 'onnx'), { recursive: true });
for (const f of ['tokenizer.json', 'tokenizer_config.json']) fs.copyFileSync(path.join(BASE, f), path.join(init, f));
const baseConfig = JSON.parse(fs.readFileSync(path.join(BASE, 'config.json'), 'utf8'));
fs.writeFileSync(path.join(init, 'config.json'), JSON.stringify({ ...baseConfig, architectures: ['GPT2ForSequenceClassification'], num_labels: 1, id2label: { 0: 'LABEL_0' }, label2id: { LABEL_0: 0 } }));
saveModel(classifier, path.join(init, 'onnx/model.onnx'));

const steps = Number(values.steps);
const headHp = JSON.parse(values['head-hp']);
process.stdout.write(`| head | seed | steps | trainable values | held-out accuracy | length-only | train loss first -> last | seconds |\n| --- | --- | --- | --- | --- | --- | --- | --- |\n`);
for (const seed of values.seeds.split(',').map(Number))
  for (const head of values.heads.split(',')) {
    const started = performance.now();
    const out = path.join(work, `${head}-${seed}`);
    const r = await runTraining(resolveRunConfig({
      kind: 'rm', model: init, data: train, output: out, head, headHp: head === 'linear' ? {} : headHp, train: 'head', steps, lr: Number(values.lr),
      batchSize: 8, microBatchSize: 8, evalFraction: 0.05, maxLength: 128, maxPromptLength: 64, seed, progress: false, threads: 2,
    }));
    const rm = await OnnxRewardModel.load(out);
    const { report } = await evaluateRewardModels([rm], [held], { truncate: true });
    await rm.release();
    const o = report.overall;
    const trainable = [...r.values.values()].reduce((a, v) => a + v.length, 0);
    const pct = (x) => `${(100 * x).toFixed(1)}%`;
    process.stdout.write(`| ${head} | ${seed} | ${steps} | ${trainable} | ${pct(o.accuracy[0])} (n ${o.count}) | ${pct(o.lengthAccuracy)} | ${r.firstLoss.toFixed(3)} -> ${r.lastLoss.toFixed(3)} | ${((performance.now() - started) / 1000).toFixed(0)} |\n`);
  }
fs.rmSync(work, { recursive: true, force: true });
