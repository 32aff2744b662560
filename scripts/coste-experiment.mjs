#!/usr/bin/env node
// Coste et al., "Reward Model Ensembles Help Mitigate Overoptimization" (ICLR 2024), at this
// machine's scale, end to end with alignkit (issue #15). Stages, each skipped when its output exists
// in the work directory (so the script resumes), run in order or one by one with --only:
//   data      the pairs: HH-RLHF harmless rows 1-1900 and UltraFeedback rows 1-800 train, HH rows
//             1901-2312 and UF rows 801-1000 held out (ties dropped), as in scripts/build-models.mjs;
//             the proxies' training half, and the same half with 25% of its labels flipped
//   gold      a gold reward model: a larger GPT-2-style backbone (6 layers, d 160) pretrained on the
//             shipped corpus, then Bradley-Terry on all the training pairs; written to
//             data/models/alignkit-rm-gold with its card (held-out accuracy on both kinds, next to
//             alignkit-rm and the length rule)
//   proxies   3 seeds x {clean, 25% label noise} proxy reward models on alignkit-base's backbone,
//             trained on the half
//   bon       best-of-n on held-out prompts: 64 samples per prompt from alignkit-base, scored by the
//             gold model and every proxy; gold and proxy reward of best-of-n for n = 1..64 under a
//             single proxy, the mean, WCO (min) and UWO (uncertainty) ensembles, at the analytic KL
//   ppo       PPO from alignkit-base against a single proxy and the three ensembles, clean and noisy,
//             over seeds; gold and proxy reward against the measured KL on held-out prompts
//   compare   PPO, RTO, GRPO, RLOO against the clean mean ensemble, DPO (alignkit-base-dpo), GenARM
//             (alignkit-arm) and best-of-n, each measured on the same held-out prompts: gold reward
//             and KL to alignkit-base
//   report    bench/rl/coste/results.md, results.json and the plots
// Run it nice'd in the background:
//   nice -n 10 node scripts/coste-experiment.mjs [--work /tmp/coste] [--only data,gold,...] > coste.log 2>&1 &
import fs from 'node:fs';
import { register } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

register('../src/dev/ts-source-hooks.mjs', import.meta.url);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const lib = (p) => import(path.join(root, p));
const { buildGpt2 } = await lib('src/models/fixtures/gpt2-graph.ts');
const { Tokenizer, loadModelDir } = await lib('src/models/index.ts');
const { saveModel, loadModel } = await lib('src/graph/index.ts');
const { weightInitializers } = await lib('src/graph/rewrites/index.ts');
const { prepareCausalLmTraining, Trainer, TokenWindowSampler, exportHfDirectory, resolveRunConfig, runTraining, readMetrics, ReferenceLogProbs } = await lib('src/train/index.ts');
const { createOptimizer } = await lib('src/optim/index.ts');
const { loadPreferenceData, readPrompts } = await lib('src/datasets/index.ts');
const { evaluateRewardModels, loadRewardModelSpec } = await lib('src/eval/index.ts');
const { CausalLM } = await lib('src/models/index.ts');
const { Generator, generate, encodePrompt, keepEnd, bestOfNKl, meanStdErr } = await lib('src/generate/index.ts');
const { RewardEnsemble, COMBINERS } = await lib('src/rewards/index.ts');
const { mulberry32, shuffle } = await lib('src/random.ts');

const { values: args } = parseArgs({ options: {
  work: { type: 'string', default: path.join(os.tmpdir(), 'coste') },
  only: { type: 'string', default: 'data,gold,proxies,bon,ppo,compare,report' },
  threads: { type: 'string', default: '1' },
} });
const WORK = args.work;
const THREADS = Number(args.threads);
const only = new Set(args.only.split(','));
fs.mkdirSync(WORK, { recursive: true });
const log = (line) => process.stdout.write(`[${new Date().toISOString().slice(11, 19)}] ${line}\n`);
const w = (...p) => path.join(WORK, ...p);
const writeJson = (file, v) => fs.writeFileSync(file, `${JSON.stringify(v, null, 2)}\n`);
const readJson = (file) => JSON.parse(fs.readFileSync(file, 'utf8'));
const pct = (x) => `${(100 * x).toFixed(1)}%`;

const SHARED = path.resolve(root, '../shared/datasets/preference_pairs');
const HH = path.join(SHARED, 'hh_rlhf_harmless_base_test.jsonl');
const UF = path.join(SHARED, 'ultrafeedback_binarized_sample_train.jsonl');
const MODELS = path.join(root, 'data/models');
const BASE = path.join(MODELS, 'alignkit-base');
const GOLD = path.join(MODELS, 'alignkit-rm-gold');
const SEED = 20261207;
const PAD = 1;
const PAIR_LENGTHS = { maxLength: 128, maxPromptLength: 64 };
const TOKENIZER = path.join(root, 'data/tokenizers/alignkit-bpe');
const CORPUS = ['tinystories_sample.1MiB.txt', 'tinyshakespeare.txt', 'llamafactory_c4_demo.jsonl'].map((f) => path.join(root, 'data/corpus', f));
const GOLD_SHAPE = { vocabSize: 4096, nPositions: 256, nEmbd: 160, nLayer: 6, nHead: 5, layerNormEpsilon: 1e-5 };
const GOLD_PRETRAIN = { steps: 1200, batch: 8, sequence: 128, lr: 2e-3, warmup: 100 };
const GOLD_RM = { steps: 700, lr: 5e-4 };
const PROXY = { seeds: [1, 2, 3], steps: 300, lr: 5e-4, noise: 0.25 };
const gpt2Config = (shape) => ({
  model_type: 'gpt2', vocab_size: shape.vocabSize, n_positions: shape.nPositions, n_embd: shape.nEmbd, n_layer: shape.nLayer, n_head: shape.nHead,
  n_inner: null, activation_function: 'gelu_new', layer_norm_epsilon: shape.layerNormEpsilon, bos_token_id: 0, eos_token_id: 0, pad_token_id: PAD,
  tie_word_embeddings: true, torch_dtype: 'float32', use_cache: true,
});

// ---------------------------------------------------------------- data
const DATA = {
  goldTrain: w('data', 'gold-train.jsonl'), heldHh: w('data', 'held-hh.jsonl'), heldUf: w('data', 'held-uf.jsonl'),
  proxyClean: w('data', 'proxy-clean.jsonl'), proxyNoisy: w('data', 'proxy-noisy.jsonl'), prompts: w('data', 'train-prompts.jsonl'), heldPrompts: w('data', 'held-prompts.jsonl'),
};

/** Rows [from, to) of a file as {prompt, chosen, rejected} (the HH dialogues split at the last Assistant turn), ties dropped. */
async function pairsOf(file, from, to) {
  const lines = fs.readFileSync(file, 'utf8').trim().split('\n').slice(from, to);
  const tmp = w('data', `.slice-${path.basename(file)}-${from}-${to}.jsonl`);
  fs.writeFileSync(tmp, `${lines.join('\n')}\n`);
  const loaded = await loadPreferenceData(tmp, { kind: 'paired', dropTies: true });
  fs.rmSync(tmp);
  return loaded.examples.filter((e) => typeof e.prompt === 'string' && e.chosen !== e.rejected).map((e) => ({ prompt: e.prompt, chosen: e.chosen, rejected: e.rejected }));
}

const jsonl = (file, rows) => fs.writeFileSync(file, rows.map((r) => `${JSON.stringify(r)}\n`).join(''));

async function stageData() {
  if (fs.existsSync(DATA.heldPrompts)) return log('data: present');
  fs.mkdirSync(w('data'), { recursive: true });
  const hhTrain = await pairsOf(HH, 0, 1900);
  const hhHeld = await pairsOf(HH, 1900, 2312);
  const ufTrain = await pairsOf(UF, 0, 800);
  const ufHeld = await pairsOf(UF, 800, 1000);
  const train = shuffle([...hhTrain, ...ufTrain], mulberry32(SEED));
  jsonl(DATA.goldTrain, train);
  jsonl(DATA.heldHh, hhHeld);
  jsonl(DATA.heldUf, ufHeld);
  // The proxies see half of the gold model's pairs (Coste et al. train proxies on a subset).
  const half = train.slice(0, Math.floor(train.length / 2));
  jsonl(DATA.proxyClean, half);
  const flip = mulberry32(SEED + 1);
  jsonl(DATA.proxyNoisy, half.map((p) => (flip.next() < PROXY.noise ? { prompt: p.prompt, chosen: p.rejected, rejected: p.chosen } : p)));
  // RL prompts: the training pairs' prompts; evaluation on the held-out HH prompts (the policy's domain).
  jsonl(DATA.prompts, train.map((p) => ({ prompt: p.prompt })));
  jsonl(DATA.heldPrompts, hhHeld.map((p) => ({ prompt: p.prompt })));
  log(`data: ${train.length} training pairs (${hhTrain.length} HH + ${ufTrain.length} UF), held out ${hhHeld.length} HH + ${ufHeld.length} UF; proxies on ${half.length}`);
}

// ---------------------------------------------------------------- reward models
/** A GPT-2 sequence classifier whose backbone weights come from a trained causal LM directory. */
function classifierFrom(lmDir, shape, seed, out) {
  const classifier = buildGpt2(shape, { kind: 'classifier', numLabels: 1, padTokenId: PAD }, seed);
  const lmModel = loadModel(path.join(lmDir, 'onnx/model.onnx'));
  const lm = lmModel.graph.initializers;
  const weights = new Set(weightInitializers(lmModel));
  for (const [name, t] of classifier.graph.initializers) if (weights.has(name) && lm.get(name).dims.join() === t.dims.join()) classifier.graph.initializers.set(name, lm.get(name));
  fs.mkdirSync(path.join(out, 'onnx'), { recursive: true });
  for (const f of ['tokenizer.json', 'tokenizer_config.json']) fs.copyFileSync(path.join(lmDir, f), path.join(out, f));
  writeJson(path.join(out, 'config.json'), { architectures: ['GPT2ForSequenceClassification'], ...gpt2Config(shape), num_labels: 1, id2label: { 0: 'LABEL_0' }, label2id: { LABEL_0: 0 } });
  saveModel(classifier, path.join(out, 'onnx/model.onnx'));
}

async function trainRm(init, data, out, steps, lr, seed) {
  const config = resolveRunConfig({ kind: 'rm', model: init, data, output: out, steps, lr, batchSize: 8, microBatchSize: 8, evalFraction: 0.05, evalEvery: Math.max(1, Math.floor(steps / 4)), logEvery: 10, seed, progress: false, threads: THREADS, cacheDir: w('cache'), ...PAIR_LENGTHS });
  const r = await runTraining(config);
  fs.rmSync(path.join(out, 'checkpoint.safetensors'), { force: true });
  return r;
}

async function heldAccuracy(dir) {
  const out = {};
  for (const [kind, file] of [['hh', DATA.heldHh], ['uf', DATA.heldUf]]) {
    const { report } = await evaluateRewardModels([await loadRewardModelSpec(dir)], [file], { truncate: true });
    out[kind] = { accuracy: report.overall.accuracy[0], length: report.overall.lengthAccuracy, count: report.overall.count };
  }
  return out;
}

async function stageGold() {
  if (fs.existsSync(path.join(GOLD, 'README.md'))) return log('gold: present');
  const started = performance.now();
  const tok = await Tokenizer.load(TOKENIZER);
  const ids = [];
  for (const file of CORPUS) {
    const docs = file.endsWith('.jsonl') ? fs.readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l).text) : [fs.readFileSync(file, 'utf8')];
    for (const d of docs) {
      for (const id of tok.encode(d, { addSpecialTokens: false })) ids.push(id);
      ids.push(0);
    }
  }
  const model = buildGpt2(GOLD_SHAPE, { kind: 'lm' }, SEED);
  const prep = prepareCausalLmTraining(model, { loss: 'next-token' });
  const optimizer = createOptimizer('adamw', { lr: GOLD_PRETRAIN.lr, weightDecay: 0.01 }, { schedule: { type: 'cosine', warmupSteps: GOLD_PRETRAIN.warmup, totalSteps: GOLD_PRETRAIN.steps, minLrRatio: 0.1 } });
  const trainer = await Trainer.create({ training: prep.training, source: prep.forward, optimizer, session: { intraOpThreads: THREADS } });
  const sampler = new TokenWindowSampler(ids, { batch: GOLD_PRETRAIN.batch, sequence: GOLD_PRETRAIN.sequence, seed: SEED });
  let last = 0;
  for (let s = 1; s <= GOLD_PRETRAIN.steps; s++) {
    last = (await trainer.step([sampler.next()])).loss;
    if (s % 100 === 0) log(`  gold backbone step ${s}/${GOLD_PRETRAIN.steps}: loss ${last.toFixed(3)}`);
  }
  const lmDir = w('gold-lm');
  exportHfDirectory({ model, values: trainer.values(), outDir: lmDir, sourceDir: TOKENIZER });
  await trainer.release();
  writeJson(path.join(lmDir, 'config.json'), { architectures: ['GPT2LMHeadModel'], ...gpt2Config(GOLD_SHAPE) });
  const pretrainSeconds = (performance.now() - started) / 1000;
  const init = w('gold-init');
  classifierFrom(lmDir, GOLD_SHAPE, SEED + 1, init);
  const pairs = fs.readFileSync(DATA.goldTrain, 'utf8').trim().split('\n').length;
  const r = await trainRm(init, DATA.goldTrain, GOLD, GOLD_RM.steps, GOLD_RM.lr, SEED % 1000);
  const gold = await heldAccuracy(GOLD);
  const rm = await heldAccuracy(path.join(MODELS, 'alignkit-rm'));
  // The card names its inputs as shipped, not by the work directory's paths.
  const cfgFile = path.join(GOLD, 'run-config.json');
  const cfg = readJson(cfgFile);
  writeJson(cfgFile, { ...cfg, model: 'alignkit-rm-gold backbone (6 layers, d 160, pretrained on data/corpus)', data: 'gold-train.jsonl (HH-RLHF harmless rows 1-1900 + UltraFeedback rows 1-800, ties dropped)', output: 'data/models/alignkit-rm-gold', cacheDir: undefined });
  const params = [...model.graph.initializers.values()].reduce((a, t) => a + t.data.length, 0);
  const card = fs.readFileSync(path.join(GOLD, 'README.md'), 'utf8').replaceAll(init, 'alignkit-rm-gold backbone').replaceAll(DATA.goldTrain, 'gold-train.jsonl').replaceAll(`${WORK}/`, '').replace(/^base_model: .*$/m, 'base_model: alignkit-rm-gold backbone');
  fs.writeFileSync(path.join(GOLD, 'README.md'), [
    card.trimEnd(), '',
    '## What this model is', '',
    `The gold reward model of alignkit's reproduction of Coste et al. ("Reward Model Ensembles Help Mitigate Overoptimization", \`scripts/coste-experiment.mjs\`, README "Overoptimization at this scale"). A GPT-2-style backbone of ${GOLD_SHAPE.nLayer} layers, d ${GOLD_SHAPE.nEmbd}, ${GOLD_SHAPE.nHead} heads (${params.toLocaleString('en-US')} parameters with the tied LM head, about 2x alignkit-base) with the alignkit-bpe tokenizer, pretrained from random weights (seed ${SEED}) with the next-token loss on \`data/corpus\` (${GOLD_PRETRAIN.steps} steps of ${GOLD_PRETRAIN.batch} x ${GOLD_PRETRAIN.sequence} tokens, last loss ${last.toFixed(3)}, ${pretrainSeconds.toFixed(0)} s), then a score head trained with the Bradley-Terry loss on every training pair available here: ${pairs} pairs, HH-RLHF harmless rows 1-1900 and UltraFeedback rows 1-800 (\`../shared/datasets/preference_pairs\`, ties dropped).`, '',
    '## Held-out pairwise accuracy', '',
    'Pairs never trained on by either model: HH-RLHF harmless rows 1901-2312 and UltraFeedback rows 801-1000 (ties dropped). Inputs longer than 128 tokens are cut at the prompt\'s start.', '',
    '| scorer | HH-RLHF held out | UltraFeedback held out |', '| --- | --- | --- |',
    `| alignkit-rm-gold | ${pct(gold.hh.accuracy)} | ${pct(gold.uf.accuracy)} |`,
    `| alignkit-rm (the serve default, HH-RLHF only) | ${pct(rm.hh.accuracy)} | ${pct(rm.uf.accuracy)} |`,
    `| length only (longer wins) | ${pct(gold.hh.length)} | ${pct(gold.uf.length)} |`, '',
    `${gold.hh.count} HH-RLHF and ${gold.uf.count} UltraFeedback pairs; one-pair standard error about ${(100 * Math.sqrt(0.25 / gold.hh.count)).toFixed(1)} and ${(100 * Math.sqrt(0.25 / gold.uf.count)).toFixed(1)} points. A toy trained in minutes on a shared CPU: it is "gold" only relative to the smaller proxies of the experiment.`, '',
  ].join('\n'));
  writeJson(w('gold-accuracy.json'), { gold, rm, pairs, params, pretrainSeconds, rmSeconds: r.seconds });
  log(`gold: HH ${pct(gold.hh.accuracy)} UF ${pct(gold.uf.accuracy)} (alignkit-rm HH ${pct(rm.hh.accuracy)} UF ${pct(rm.uf.accuracy)}) in ${((performance.now() - started) / 1000).toFixed(0)} s`);
}

const proxyDir = (noise, seed) => w('proxies', `${noise ? 'noisy' : 'clean'}-${seed}`);

async function stageProxies() {
  const init = w('proxy-init');
  if (!fs.existsSync(path.join(init, 'onnx/model.onnx'))) classifierFrom(BASE, { vocabSize: 4096, nPositions: 256, nEmbd: 128, nLayer: 4, nHead: 4, layerNormEpsilon: 1e-5 }, SEED + 2, init);
  const acc = fs.existsSync(w('proxy-accuracy.json')) ? readJson(w('proxy-accuracy.json')) : {};
  for (const noise of [false, true])
    for (const seed of PROXY.seeds) {
      const out = proxyDir(noise, seed);
      if (fs.existsSync(path.join(out, 'README.md'))) continue;
      const r = await trainRm(init, noise ? DATA.proxyNoisy : DATA.proxyClean, out, PROXY.steps, PROXY.lr, seed);
      acc[path.basename(out)] = await heldAccuracy(out);
      writeJson(w('proxy-accuracy.json'), acc);
      log(`proxy ${path.basename(out)}: HH ${pct(acc[path.basename(out)].hh.accuracy)} UF ${pct(acc[path.basename(out)].uf.accuracy)} in ${r.seconds.toFixed(0)} s`);
    }
}

const STAGES = { data: stageData, gold: stageGold, proxies: stageProxies };
for (const [name, run] of Object.entries(STAGES)) if (only.has(name)) await run();
