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
const { Generator, generate, encodePrompt, keepEnd, bestOfNKl, meanStdErr, sampledLogprobRecorder } = await lib('src/generate/index.ts');
const { RewardEnsemble, COMBINERS } = await lib('src/rewards/index.ts');
const { mulberry32, shuffle } = await lib('src/random.ts');
const { readCorpus } = await lib('src/tokenizers/corpus.ts');

const { values: args } = parseArgs({ options: {
  work: { type: 'string', default: path.join(os.tmpdir(), 'coste') },
  only: { type: 'string', default: 'data,gold,proxies,bon,ppo,compare,report' },
  threads: { type: 'string', default: '1' },
  noise: { type: 'string', default: 'clean,noisy' },
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
// 450 steps is about 1.4 passes over the pairs: a first run of 700 (2.2 passes) ended overfit, eval loss 1.11 from 0.69 at step 525.
const GOLD_RM = { steps: 450, lr: 5e-4 };
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

/** The gold model's backbone: a GPT-2-style LM of GOLD_SHAPE pretrained on the shipped corpus. */
async function pretrainGoldBackbone(lmDir) {
  const started = performance.now();
  const tok = await Tokenizer.load(TOKENIZER);
  const ids = [];
  for (const d of readCorpus(CORPUS)) {
    for (const id of tok.encode(d, { addSpecialTokens: false })) ids.push(id);
    ids.push(0);
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
  exportHfDirectory({ model, values: trainer.values(), outDir: lmDir, sourceDir: TOKENIZER });
  await trainer.release();
  writeJson(path.join(lmDir, 'config.json'), { architectures: ['GPT2LMHeadModel'], ...gpt2Config(GOLD_SHAPE) });
  writeJson(w('gold-lm-stats.json'), { last, pretrainSeconds: (performance.now() - started) / 1000, params: [...model.graph.initializers.values()].reduce((a, t) => a + t.data.length, 0) });
}

async function stageGold() {
  if (fs.existsSync(path.join(GOLD, 'README.md'))) return log('gold: present');
  const started = performance.now();
  const lmDir = w('gold-lm');
  // The backbone is kept in the work directory: a new score-head run (gold RM settings) starts from it.
  if (!fs.existsSync(w('gold-lm-stats.json'))) await pretrainGoldBackbone(lmDir);
  const { last, pretrainSeconds, params } = readJson(w('gold-lm-stats.json'));
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

// ---------------------------------------------------------------- shared measurements
const EVAL = { prompts: 64, samples: 2, maxNewTokens: 32, seed: 4242 };
const objectives = ['single', 'mean', 'min', 'uncertainty'];
const UWO_LAMBDA = 0.5;
const proxyDirs = (noise) => PROXY.seeds.map((s) => proxyDir(noise, s));

let goldModel;
const gold = async () => (goldModel ??= await loadRewardModelSpec(GOLD));
const scoreWith = async (model, items) => {
  const out = [];
  for (let at = 0; at < items.length; at += 64) for (const s of await model.score(items.slice(at, at + 64), { truncate: true })) out.push(s[0]);
  return out;
};

async function heldPrompts(n) {
  const tok = (await loadModelDir(BASE)).tokenizer;
  const texts = (await readPrompts(DATA.heldPrompts, n));
  return { texts, ids: texts.map((t) => keepEnd(encodePrompt(tok, t), PAIR_LENGTHS.maxPromptLength)) };
}

/**
 * One policy (a directory, optionally GenARM-guided) on the held-out prompts: EVAL.samples sampled
 * responses per prompt; gold reward, the clean and noisy proxies' rewards, and the Monte-Carlo KL to
 * alignkit-base, sum_t log pi(y_t) - log pi_base(y_t) over the distribution actually sampled.
 */
async function measurePolicy(dir, arms = []) {
  const { texts, ids } = await heldPrompts(EVAL.prompts);
  const gen = await Generator.load(dir, arms, { intraOpThreads: THREADS });
  const base = await ReferenceLogProbs.create(path.join(BASE, 'onnx/model.onnx'), { session: { intraOpThreads: THREADS } });
  const rows = [];
  for (let s = 0; s < EVAL.samples; s++)
    for (let at = 0; at < ids.length; at += 32) {
      const chunk = ids.slice(at, at + 32);
      const rec = sampledLogprobRecorder();
      const out = await generate(gen.base, gen.tokenizer, chunk, { sampler: 'sample', maxNewTokens: EVAL.maxNewTokens, seed: EVAL.seed + 1000 * s + at }, gen.guides(), undefined, [rec.processor]);
      out.forEach((r, i) => rows.push({ prompt: at + i, text: r.text, tokens: r.tokens, ids: chunk[i], logps: rec.logprobs(i, r.tokens) }));
    }
  const kls = [];
  for (let at = 0; at < rows.length; at += 8) {
    const chunk = rows.slice(at, at + 8);
    const T = Math.max(...chunk.map((r) => r.ids.length + r.tokens.length));
    const inputIds = new Int32Array(chunk.length * T).fill(PAD);
    const attentionMask = new Int32Array(chunk.length * T);
    chunk.forEach((r, b) => [...r.ids, ...r.tokens].forEach((id, t) => ((inputIds[b * T + t] = id), (attentionMask[b * T + t] = 1))));
    const lp = await base.tokenLogprobs({ inputIds, attentionMask, dims: [chunk.length, T] });
    chunk.forEach((r, b) => kls.push(r.logps.reduce((a, x, j) => a + x - lp[b * T + r.ids.length + j], 0)));
  }
  await base.release();
  const items = rows.map((r) => ({ prompt: texts[r.prompt], response: r.text }));
  const result = { kl: meanStdErr(kls), gold: meanStdErr(await scoreWith(await gold(), items)), length: meanStdErr(rows.map((r) => r.tokens.length)) };
  for (const noise of [false, true]) {
    const scores = [];
    for (const d of proxyDirs(noise)) scores.push(await scoreWith(await loadRewardModelSpec(d), items));
    result[noise ? 'noisyProxy' : 'cleanProxy'] = meanStdErr(items.map((_, i) => scores.reduce((a, s) => a + s[i], 0) / scores.length));
  }
  return result;
}

// ---------------------------------------------------------------- best-of-n
const BON = { prompts: 48, n: 64, maxNewTokens: 32, seed: 777 };

/** The samples alone (they need no reward model, so this can run while the gold model trains). */
async function stageBonSamples() {
  const file = w('bon-texts.json');
  if (fs.existsSync(file)) return readJson(file);
  const { ids } = await heldPrompts(BON.prompts);
  const lm = await CausalLM.load(BASE, { session: { intraOpThreads: THREADS } });
  const samples = ids.map(() => []);
  for (let j = 0; j < BON.n; j++) {
    const out = await generate(lm, lm.tokenizer, ids, { sampler: 'sample', maxNewTokens: BON.maxNewTokens, seed: BON.seed + j });
    out.forEach((r, i) => samples[i].push(r.text));
    if ((j + 1) % 16 === 0) log(`  bon: ${j + 1}/${BON.n} samples per prompt`);
  }
  writeJson(file, samples);
  return samples;
}

async function stageBon() {
  const file = w('bon-samples.json');
  if (fs.existsSync(file)) return log('bon: present');
  const { texts } = await heldPrompts(BON.prompts);
  const samples = await stageBonSamples();
  const items = samples.flatMap((s, i) => s.map((response) => ({ prompt: texts[i], response })));
  const scores = { gold: await scoreWith(await gold(), items) };
  for (const noise of [false, true]) for (const d of proxyDirs(noise)) scores[path.basename(d)] = await scoreWith(await loadRewardModelSpec(d), items);
  writeJson(file, { prompts: BON.prompts, n: BON.n, texts: samples, scores });
  log(`bon: ${items.length} samples scored by the gold model and ${2 * PROXY.seeds.length} proxies`);
}

/** Unbiased expected value of `gold` at the best of n of N samples by `proxy` (Nakano et al. 2021, WebGPT, App. G): sum_i C(i-1, n-1)/C(N, n) g_(i), ranks by proxy ascending. */
function bestOfNExpectation(proxy, goldScores, n) {
  const N = proxy.length;
  const order = proxy.map((p, i) => [p, i]).sort((a, b) => a[0] - b[0]).map((x) => x[1]);
  // log C(i-1, n-1) - log C(N, n), computed incrementally to stay finite.
  const lgamma = (x) => {
    let s = 0;
    for (let k = 2; k < x; k++) s += Math.log(k);
    return s;
  };
  const logC = (a, b) => (b < 0 || b > a ? -Infinity : lgamma(a + 1) - lgamma(b + 1) - lgamma(a - b + 1));
  let e = 0;
  let p = 0;
  for (let r = 1; r <= N; r++) {
    const wgt = Math.exp(logC(r - 1, n - 1) - logC(N, n));
    e += wgt * goldScores[order[r - 1]];
    p += wgt * proxy[order[r - 1]];
  }
  return { gold: e, proxy: p };
}

/** A proxy objective's per-sample score from its members' scores (Coste et al. Sec. 3). */
function objectiveScores(memberScores, objective) {
  const k = memberScores.length;
  return memberScores[0].map((_, i) => {
    const xs = memberScores.map((m) => m[i]);
    return objective === 'mean' ? xs.reduce((a, x) => a + x, 0) / k : objective === 'min' ? Math.min(...xs) : COMBINERS.uncertainty(xs, UWO_LAMBDA);
  });
}

function bonCurves() {
  const bon = readJson(w('bon-samples.json'));
  const ns = [1, 2, 4, 8, 16, 32, 64];
  const perPrompt = (scores) => Array.from({ length: bon.prompts }, (_, i) => scores.slice(i * bon.n, (i + 1) * bon.n));
  const goldP = perPrompt(bon.scores.gold);
  const curves = {};
  for (const noise of [false, true]) {
    const members = PROXY.seeds.map((s) => bon.scores[`${noise ? 'noisy' : 'clean'}-${s}`]);
    for (const objective of objectives) {
      const runs = objective === 'single' ? members.map((m) => [m]) : [members];
      const points = ns.map((n) => {
        // Per run (a proxy seed, or the ensemble): mean over prompts; the standard error over seeds for a single proxy, over prompts for an ensemble.
        const perRun = runs.map((ms) => {
          const obj = objectiveScores(ms, objective === 'single' ? 'mean' : objective);
          const objP = perPrompt(obj);
          const vals = goldP.map((g, i) => bestOfNExpectation(objP[i], g, n));
          return { gold: vals.map((v) => v.gold), proxy: vals.map((v) => v.proxy) };
        });
        const avg = (xs) => xs.reduce((a, x) => a + x, 0) / xs.length;
        const goldStat = runs.length > 1 ? meanStdErr(perRun.map((r) => avg(r.gold))) : meanStdErr(perRun[0].gold);
        const proxyStat = runs.length > 1 ? meanStdErr(perRun.map((r) => avg(r.proxy))) : meanStdErr(perRun[0].proxy);
        return { n, kl: bestOfNKl(n), gold: goldStat, proxy: proxyStat };
      });
      curves[`${noise ? 'noisy' : 'clean'}/${objective}`] = points;
    }
  }
  return curves;
}

// ---------------------------------------------------------------- PPO against proxies
const RL = { steps: 20, promptsPerStep: 8, maxNewTokens: 32, lr: 1e-4, klCoef: 0.05, evalEvery: 5, evalPrompts: 48 };
const PPO_SEEDS = [1, 2];

function rlConfig(kind, out, reward, combine, seed, over = {}) {
  const { rl, ...rest } = over;
  return resolveRunConfig({
    kind, model: BASE, data: DATA.prompts, output: out, steps: RL.steps, batchSize: 8, microBatchSize: 8, lr: RL.lr, seed, evalEvery: RL.evalEvery, evalFraction: 0,
    progress: false, threads: THREADS, cacheDir: w('cache'), ...PAIR_LENGTHS, ...rest,
    // normalizeScores false: these runs (README's tables) predate PPO's score normalisation.
    rl: { reward, combine, onLongPrompt: 'truncate', lambda: UWO_LAMBDA, gold: [GOLD], promptsPerStep: RL.promptsPerStep, maxNewTokens: RL.maxNewTokens, klCoef: RL.klCoef, evalPrompts: RL.evalPrompts, evalData: DATA.heldPrompts, normalizeScores: false, ...rl },
  });
}

async function runOnce(config) {
  if (fs.existsSync(path.join(config.output, 'README.md'))) return;
  const r = await runTraining({ ...config, checkpointEvery: 4, resume: true });
  fs.rmSync(path.join(config.output, 'checkpoint.safetensors'), { force: true });
  fs.rmSync(path.join(config.output, 'onnx'), { recursive: true, force: true });
  log(`  ${path.relative(WORK, config.output)}: ${r.steps} iterations in ${r.seconds.toFixed(0)} s`);
}

const ppoRuns = () => {
  const runs = [];
  for (const noise of [false, true]) {
    const dirs = proxyDirs(noise);
    const tag = noise ? 'noisy' : 'clean';
    PROXY.seeds.forEach((s, i) => runs.push({ noise: tag, objective: 'single', seed: s, out: w('ppo', tag, `single-${s}`), reward: [dirs[i]], combine: 'mean' }));
    for (const objective of ['mean', 'min', 'uncertainty']) for (const s of PPO_SEEDS) runs.push({ noise: tag, objective, seed: s, out: w('ppo', tag, `${objective}-${s}`), reward: dirs, combine: objective });
  }
  return runs;
};

/** --noise clean or noisy splits the grid between two processes. */
async function stagePpo() {
  const noises = new Set(args.noise.split(','));
  for (const r of ppoRuns()) if (noises.has(r.noise)) await runOnce(rlConfig('ppo', r.out, r.reward, r.combine, r.seed));
}

/** A run that ended (runOnce's marker: the exported model card); a report leaves unfinished runs out. */
const finished = (out) => fs.existsSync(path.join(out, 'README.md'));

/** Held-out eval points of a run: [{kl, gold, proxy}] from its metrics (step 0 is the starting policy). */
function evalCurve(out) {
  return readMetrics(path.join(out, 'metrics.jsonl')).filter((m) => 'eval/gold/reward' in m).map((m) => ({ step: m.step, kl: m['eval/kl'], gold: m['eval/gold/reward'], proxy: m['eval/reward/mean'], length: m['eval/lengths/response'] }));
}

function ppoCurves() {
  const curves = {};
  for (const noise of ['clean', 'noisy'])
    for (const objective of objectives) {
      const runs = ppoRuns().filter((r) => r.noise === noise && r.objective === objective && finished(r.out)).map((r) => evalCurve(r.out));
      if (runs.length === 0) continue;
      curves[`${noise}/${objective}`] = runs[0].map((p, j) => ({
        step: p.step,
        kl: meanStdErr(runs.map((r) => r[j]?.kl).filter(Number.isFinite)),
        gold: meanStdErr(runs.map((r) => r[j]?.gold).filter(Number.isFinite)),
        proxy: meanStdErr(runs.map((r) => r[j]?.proxy).filter(Number.isFinite)),
        length: meanStdErr(runs.map((r) => r[j]?.length).filter(Number.isFinite)),
      }));
    }
  return curves;
}

// ---------------------------------------------------------------- the methods compared
const COMPARE = {
  grpo: { kind: 'grpo', rl: { samplesPerPrompt: 4, promptsPerStep: 2 }, batchSize: 8 },
  rloo: { kind: 'rloo', rl: { samplesPerPrompt: 4, promptsPerStep: 2 }, batchSize: 8 },
  rto: { kind: 'rto', model: path.join(MODELS, 'alignkit-base-dpo'), rl: { dpoModel: path.join(MODELS, 'alignkit-base-dpo'), dpoReference: BASE, reference: BASE } },
};

async function stageCompare() {
  const clean = proxyDirs(false);
  for (const [name, c] of Object.entries(COMPARE)) {
    const { kind, ...over } = c;
    await runOnce(rlConfig(kind, w('compare', name), clean, 'mean', 1, over));
  }
  const file = w('compare-measures.json');
  const measures = fs.existsSync(file) ? readJson(file) : {};
  const todo = {
    base: [BASE, []],
    dpo: [path.join(MODELS, 'alignkit-base-dpo'), []],
    'genarm-0.5': [BASE, [{ dir: path.join(MODELS, 'alignkit-arm'), alpha: 0.5 }]],
    'genarm-1': [BASE, [{ dir: path.join(MODELS, 'alignkit-arm'), alpha: 1 }]],
  };
  for (const [name, [dir, arms]] of Object.entries(todo)) {
    if (measures[name]) continue;
    measures[name] = await measurePolicy(dir, arms);
    writeJson(file, measures);
    log(`  measured ${name}: gold ${measures[name].gold.mean.toFixed(3)} KL ${measures[name].kl.mean.toFixed(2)}`);
  }
}

// ---------------------------------------------------------------- report
/** Sample standard deviation (n - 1), from meanStdErr's standard error. */
const sampleSd = (xs) => meanStdErr(xs).stdErr * Math.sqrt(xs.length);

/** Linear interpolation of y at x on a curve of increasing x (undefined outside it). */
function atKl(points, kl, y = (p) => p.gold) {
  const xs = points.map((p) => (typeof p.kl === 'number' ? p.kl : p.kl.mean));
  for (let i = 1; i < points.length; i++) {
    const [a, b] = [xs[i - 1], xs[i]];
    if ((kl - a) * (kl - b) <= 0 && a !== b) {
      const t = (kl - a) / (b - a);
      const ya = y(points[i - 1]);
      const yb = y(points[i]);
      return ya + t * (yb - ya);
    }
  }
  return undefined;
}

async function stageReport() {
  const { chartsToSvg } = await lib('src/train/report/index.ts');
  const outDir = path.join(root, 'bench/rl/coste');
  fs.mkdirSync(outDir, { recursive: true });
  const bon = bonCurves();
  const ppo = ppoCurves();
  const measures = fs.existsSync(w('compare-measures.json')) ? readJson(w('compare-measures.json')) : {};
  const compareCurves = Object.fromEntries(Object.keys(COMPARE).filter((k) => finished(w('compare', k))).map((k) => [k, evalCurve(w('compare', k))]));
  const goldAcc = readJson(w('gold-accuracy.json'));
  const proxyAcc = readJson(w('proxy-accuracy.json'));
  const m = (v) => (typeof v === 'number' ? v : v.mean);
  const label = { single: 'single proxy', mean: 'mean', min: 'WCO (min)', uncertainty: `UWO (lambda ${UWO_LAMBDA})` };
  const charts = [];
  for (const noise of ['clean', 'noisy']) {
    charts.push({ title: `Best-of-n, ${noise} proxies: gold reward vs KL (analytic)`, xLabel: 'KL (nats)', yLabel: 'gold reward', series: objectives.map((o) => ({ name: label[o], points: bon[`${noise}/${o}`].map((p) => [p.kl, p.gold.mean]) })) });
    charts.push({ title: `Best-of-n, ${noise} proxies: proxy reward vs KL`, xLabel: 'KL (nats)', yLabel: 'proxy objective', series: objectives.map((o) => ({ name: label[o], points: bon[`${noise}/${o}`].map((p) => [p.kl, p.proxy.mean]) })) });
    charts.push({ title: `PPO, ${noise} proxies: gold reward vs KL (held-out prompts)`, xLabel: 'KL (nats)', yLabel: 'gold reward', series: objectives.filter((o) => ppo[`${noise}/${o}`]).map((o) => ({ name: label[o], points: ppo[`${noise}/${o}`].map((p) => [p.kl.mean, p.gold.mean]) })) });
    charts.push({ title: `PPO, ${noise} proxies: proxy reward vs KL`, xLabel: 'KL (nats)', yLabel: 'proxy objective', series: objectives.filter((o) => ppo[`${noise}/${o}`]).map((o) => ({ name: label[o], points: ppo[`${noise}/${o}`].map((p) => [p.kl.mean, p.proxy.mean]) })) });
  }
  fs.writeFileSync(path.join(outDir, 'overoptimization.svg'), chartsToSvg(charts));
  const cmpSeries = [
    { name: 'best-of-n (clean mean)', points: bon['clean/mean'].map((p) => [p.kl, p.gold.mean]) },
    { name: 'PPO (clean mean)', points: (ppo['clean/mean'] ?? []).map((p) => [p.kl.mean, p.gold.mean]) },
    ...Object.entries(compareCurves).map(([k, c]) => ({ name: k.toUpperCase(), points: c.map((p) => [p.kl, p.gold]) })),
    ...Object.entries(measures).filter(([k]) => k !== 'base').map(([k, v]) => ({ name: k, points: [[v.kl.mean, v.gold.mean]] })),
  ];
  fs.writeFileSync(path.join(outDir, 'methods.svg'), chartsToSvg([{ title: 'Gold reward vs KL to alignkit-base on held-out HH prompts', xLabel: 'KL (nats)', yLabel: 'gold reward', series: cmpSeries }]));
  writeJson(path.join(outDir, 'results.json'), { goldAcc, proxyAcc, bon, ppo, compareCurves, measures, settings: { EVAL, BON, RL, PPO_SEEDS, PROXY, UWO_LAMBDA } });

  const f = (x, d = 3) => (x === undefined || !Number.isFinite(x) ? '—' : x.toFixed(d));
  const se = (s) => `${f(s.mean)} ± ${f(s.stdErr)}`;
  const lines = ['# Reward-model ensembles against overoptimization, at this machine\'s scale', '', `Generated by \`scripts/coste-experiment.mjs\` (${new Date().toISOString().slice(0, 10)}). Plots: \`overoptimization.svg\`, \`methods.svg\`; every number: \`results.json\`.`, ''];
  lines.push('## Reward models (held-out pairwise accuracy)', '', '| model | HH-RLHF | UltraFeedback |', '| --- | --- | --- |');
  lines.push(`| gold (alignkit-rm-gold) | ${pct(goldAcc.gold.hh.accuracy)} | ${pct(goldAcc.gold.uf.accuracy)} |`, `| alignkit-rm (serve default) | ${pct(goldAcc.rm.hh.accuracy)} | ${pct(goldAcc.rm.uf.accuracy)} |`);
  for (const [k, v] of Object.entries(proxyAcc)) lines.push(`| proxy ${k} | ${pct(v.hh.accuracy)} | ${pct(v.uf.accuracy)} |`);
  lines.push(`| length rule | ${pct(goldAcc.gold.hh.length)} | ${pct(goldAcc.gold.uf.length)} |`, '');
  for (const noise of ['clean', 'noisy']) {
    lines.push(`## Best-of-n, ${noise} proxies (${BON.prompts} held-out prompts x ${BON.n} samples; KL = log n - (n-1)/n)`, '', '| n | KL | ' + objectives.map((o) => `gold, ${label[o]}`).join(' | ') + ' | proxy, single |', '| --- | --- |' + objectives.map(() => ' --- |').join('') + ' --- |');
    for (const [j, p] of bon[`${noise}/mean`].entries()) lines.push(`| ${p.n} | ${f(p.kl, 2)} | ${objectives.map((o) => se(bon[`${noise}/${o}`][j].gold)).join(' | ')} | ${se(bon[`${noise}/single`][j].proxy)} |`);
    lines.push('');
    if (ppo[`${noise}/mean`]) {
      lines.push(`## PPO, ${noise} proxies (${RL.steps} iterations of ${RL.promptsPerStep} prompts; eval every ${RL.evalEvery} on ${RL.evalPrompts} held-out prompts)`, '', '| objective | runs | KL at end | gold at start | gold at end | max gold (KL there) | proxy at start | proxy at end | response tokens at end |', '| --- | --- | --- | --- | --- | --- | --- | --- | --- |');
      for (const o of objectives) {
        const c = ppo[`${noise}/${o}`];
        if (!c) continue;
        const best = c.reduce((a, p) => (p.gold.mean > a.gold.mean ? p : a), c[0]);
        lines.push(`| ${label[o]} | ${c.at(-1).gold.n} | ${se(c.at(-1).kl)} | ${se(c[0].gold)} | ${se(c.at(-1).gold)} | ${f(best.gold.mean)} (${f(best.kl.mean, 2)}) | ${se(c[0].proxy)} | ${se(c.at(-1).proxy)} | ${f(c.at(-1).length.mean, 1)} |`);
      }
      lines.push('');
    }
  }
  lines.push('## Methods at matched KL (gold reward on held-out HH prompts, KL to alignkit-base)', '', '| method | KL | gold | gold at KL 1 | gold at KL 2 |', '| --- | --- | --- | --- | --- |');
  const base = measures.base;
  if (base) lines.push(`| alignkit-base (start) | ${se(base.kl)} | ${se(base.gold)} | — | — |`);
  for (const [k, v] of Object.entries(measures)) if (k !== 'base') lines.push(`| ${k} | ${se(v.kl)} | ${se(v.gold)} | — | — |`);
  const curveRow = (name, pts, getKl, getGold) => lines.push(`| ${name} | ${f(getKl(pts.at(-1)), 2)} | ${f(getGold(pts.at(-1)))} | ${f(atKl(pts.map((p) => ({ kl: getKl(p), gold: getGold(p) })), 1))} | ${f(atKl(pts.map((p) => ({ kl: getKl(p), gold: getGold(p) })), 2))} |`);
  curveRow('best-of-n (clean mean ensemble), n = 64', bon['clean/mean'], (p) => p.kl, (p) => p.gold.mean);
  if (ppo['clean/mean']) curveRow('PPO (clean mean ensemble)', ppo['clean/mean'], (p) => p.kl.mean, (p) => p.gold.mean);
  for (const [k, c] of Object.entries(compareCurves)) curveRow(`${k.toUpperCase()} (clean mean ensemble)`, c, (p) => p.kl, (p) => p.gold);
  lines.push('');
  // Did each online method raise the gold reward over the policy it started from? Each run's eval
  // is one sampled response per held-out prompt, so a mean over E prompts and R runs has a standard
  // error of about sd/sqrt(E R), sd the per-response gold spread of alignkit-base (its best-of-n
  // samples); the change from step 0 is compared with sqrt(2) of that (two such means).
  const goldSd = sampleSd(readJson(w('bon-samples.json')).scores.gold);
  lines.push(`## Gain over the starting policy (gold reward, ${RL.evalPrompts} held-out prompts per eval; per-response gold sd ${f(goldSd)})`, '',
    '| method | runs | start (step 0) | end | end - start | in standard errors | best (KL there) | KL at end |', '| --- | --- | --- | --- | --- | --- | --- | --- |');
  const gainRow = (name, pts, runs) => {
    const start = m(pts[0].gold);
    const end = m(pts.at(-1).gold);
    const best = pts.reduce((a, p) => (m(p.gold) > m(a.gold) ? p : a), pts[0]);
    const seDiff = Math.SQRT2 * goldSd / Math.sqrt(RL.evalPrompts * runs);
    lines.push(`| ${name} | ${runs} | ${f(start)} | ${f(end)} | ${f(end - start)} | ${f((end - start) / seDiff, 1)} | ${f(m(best.gold))} (${f(m(best.kl), 2)}) | ${f(m(pts.at(-1).kl), 2)} |`);
  };
  for (const o of objectives) if (ppo[`clean/${o}`]) gainRow(`PPO, clean ${label[o]}`, ppo[`clean/${o}`], ppo[`clean/${o}`].at(-1).gold.n);
  for (const [k, c] of Object.entries(compareCurves)) gainRow(`${k.toUpperCase()}, clean mean${k === 'rto' ? ' (from alignkit-base-dpo)' : ''}`, c, 1);
  lines.push('');
  fs.writeFileSync(path.join(outDir, 'results.md'), `${lines.join('\n')}\n`);
  log(`report: ${path.relative(root, outDir)}/results.md`);
}

const STAGES = { data: stageData, gold: stageGold, proxies: stageProxies, 'bon-samples': stageBonSamples, bon: stageBon, ppo: stagePpo, compare: stageCompare, report: stageReport };
for (const [name, run] of Object.entries(STAGES)) if (only.has(name)) await run();
