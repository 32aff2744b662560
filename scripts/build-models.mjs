#!/usr/bin/env node
// Build alignkit's shipped default models (`npm run build:models`), reproducible from SEED:
//   alignkit-base      GPT-2-style causal LM pretrained with the next-token (SFT) loss on the shipped
//                      corpus (data/corpus), with the shipped tokenizer data/tokenizers/alignkit-bpe;
//   alignkit-rm        base + a score head, Bradley-Terry on hh-rlhf harmless pairs (`alignkit train rm`);
//   alignkit-arm       base fine-tuned with GenARM's ARM loss on the same pairs (`alignkit train arm`);
//   alignkit-base-dpo  base tuned with DPO on the same pairs (`alignkit train dpo`).
// Pairs: the first TRAIN_PAIRS rows of ../shared/datasets/preference_pairs/hh_rlhf_harmless_base_test.jsonl
// train, the next HELD_PAIRS rows (never seen) measure. Each model card gets the held-out numbers:
// RM and ARM pairwise accuracy next to the majority and length-only baselines, DPO implicit-reward
// accuracy and KL against the base. Runs the TypeScript sources through src/dev's hooks (no build
// needed). Usage: node scripts/build-models.mjs [--only base,rm,arm,dpo]
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
const { Tokenizer } = await lib('src/models/index.ts');
const { saveModel } = await lib('src/graph/index.ts');
const { prepareCausalLmTraining, Trainer, TokenWindowSampler, exportHfDirectory } = await lib('src/train/index.ts');
const { createOptimizer } = await lib('src/optim/index.ts');
const { resolveRunConfig, runTraining, evaluatePolicy, sequenceSums, rowGroupsFor, tokenizeItems, tokenizeSettings, KINDS } = await lib('src/train/run/index.ts');
const { createLoss } = await lib('src/losses/index.ts');
const { loadPreferenceData } = await lib('src/datasets/index.ts');
const { evaluateRewardModels, loadRewardModelSpec, lengthCredit } = await lib('src/eval/index.ts');

const { values: args } = parseArgs({ options: { only: { type: 'string', default: 'base,rm,arm,dpo' }, quick: { type: 'boolean', default: false } } });
// --quick: every run 1/50 as long, to check the script end to end (the cards then say so by their numbers).
const scale = (steps) => (args.quick ? Math.max(2, Math.round(steps / 50)) : steps);
const only = new Set(args.only.split(','));

const SEED = 20261126;
const SHAPE = { vocabSize: 4096, nPositions: 256, nEmbd: 128, nLayer: 4, nHead: 4, layerNormEpsilon: 1e-5 };
const TOKENIZER = path.join(root, 'data/tokenizers/alignkit-bpe');
const CORPUS = ['tinystories_sample.1MiB.txt', 'tinyshakespeare.txt', 'llamafactory_c4_demo.jsonl'].map((f) => path.join(root, 'data/corpus', f));
const PAIRS = path.resolve(root, '../shared/datasets/preference_pairs/hh_rlhf_harmless_base_test.jsonl');
const TRAIN_PAIRS = 1900;
const HELD_PAIRS = 412;
const MODELS = path.join(root, 'data/models');
const BASE = { steps: scale(800), batch: 8, sequence: 128, lr: 2e-3, warmup: scale(80), heldTokens: 40_000 };
const SFT = { steps: 400, lr: 5e-4 };
const PAIR_LENGTHS = { maxLength: 128, maxPromptLength: 64 };
const PAD = 1; // <|pad|> of alignkit-bpe; <|endoftext|> = 0 is bos/eos

const gpt2Config = {
  model_type: 'gpt2', vocab_size: SHAPE.vocabSize, n_positions: SHAPE.nPositions, n_embd: SHAPE.nEmbd, n_layer: SHAPE.nLayer, n_head: SHAPE.nHead,
  n_inner: null, activation_function: 'gelu_new', layer_norm_epsilon: SHAPE.layerNormEpsilon, bos_token_id: 0, eos_token_id: 0, pad_token_id: PAD,
  tie_word_embeddings: true, torch_dtype: 'float32', use_cache: true,
};
const pct = (x) => `${(100 * x).toFixed(1)}%`;
const writeJson = (file, v) => fs.writeFileSync(file, `${JSON.stringify(v, null, 2)}\n`);
const log = (line) => process.stdout.write(`${line}\n`);

// ---------------------------------------------------------------- the pairs, split by position
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'alignkit-build-models-'));
const lines = fs.readFileSync(PAIRS, 'utf8').trim().split('\n');
const trainPairs = path.join(work, 'hh_rlhf_harmless_train.jsonl');
const heldPairs = path.join(work, 'hh_rlhf_harmless_held.jsonl');
fs.writeFileSync(trainPairs, `${lines.slice(0, TRAIN_PAIRS).join('\n')}\n`);
fs.writeFileSync(heldPairs, `${lines.slice(TRAIN_PAIRS, TRAIN_PAIRS + HELD_PAIRS).join('\n')}\n`);
const dataLine = `Preference pairs: rows 1-${TRAIN_PAIRS} of \`hh_rlhf_harmless_base_test.jsonl\` (Anthropic hh-rlhf, harmless-base test split; see ../shared/datasets/SOURCES.md) for training, rows ${TRAIN_PAIRS + 1}-${TRAIN_PAIRS + HELD_PAIRS} held out (never seen in training) for the numbers below.`;

function appendCard(dir, lines) {
  fs.appendFileSync(path.join(dir, 'README.md'), `\n${lines.join('\n')}\n`);
}

/** Drop what only a resumed run needs (the checkpoint holds optimizer state: 3x the weights). */
function tidy(dir, baseName) {
  fs.rmSync(path.join(dir, 'checkpoint.safetensors'), { force: true });
  const cfgFile = path.join(dir, 'run-config.json');
  const cfg = JSON.parse(fs.readFileSync(cfgFile, 'utf8'));
  // The card names the run's inputs by their build-time paths: name them as shipped instead (a
  // model made in the work dir, such as the RM's initial classifier, by baseName).
  const model = cfg.model.startsWith(work) ? baseName : path.relative(root, cfg.model);
  const card = path.join(dir, 'README.md');
  const text = fs.readFileSync(card, 'utf8').replaceAll(cfg.model, model).replaceAll(`${work}/`, '').replaceAll(`${MODELS}/`, 'data/models/').replace(/^base_model: .*$/m, `base_model: ${baseName}`);
  fs.writeFileSync(card, text);
  writeJson(cfgFile, { ...cfg, model, data: path.basename(cfg.data), output: path.relative(root, cfg.output) });
}

// ---------------------------------------------------------------- alignkit-base
async function buildBase() {
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
  // The held-out tokens are a contiguous stretch from the middle of the stream, never sampled for training.
  const cut = Math.floor(ids.length / 2);
  const held = ids.slice(cut, cut + BASE.heldTokens);
  const train = [...ids.slice(0, cut), ...ids.slice(cut + BASE.heldTokens)];
  const model = buildGpt2(SHAPE, { kind: 'lm' }, SEED);
  const prep = prepareCausalLmTraining(model, { loss: 'next-token' });
  const optimizer = createOptimizer('adamw', { lr: BASE.lr, weightDecay: 0.01 }, { schedule: { type: 'cosine', warmupSteps: BASE.warmup, totalSteps: BASE.steps, minLrRatio: 0.1 } });
  const trainer = await Trainer.create({ training: prep.training, source: prep.forward, optimizer, session: { intraOpThreads: 2 } });
  const heldLoss = async () => {
    const sampler = new TokenWindowSampler(held, { batch: BASE.batch, sequence: BASE.sequence, seed: 1 });
    let sum = 0;
    for (let i = 0; i < 10; i++) sum += (await trainer.evaluate(sampler.next())).loss;
    return sum / 10;
  };
  const initialHeld = await heldLoss();
  const sampler = new TokenWindowSampler(train, { batch: BASE.batch, sequence: BASE.sequence, seed: SEED });
  let last = 0;
  for (let s = 1; s <= BASE.steps; s++) {
    last = (await trainer.step([sampler.next()])).loss;
    if (s % 100 === 0) log(`  base step ${s}/${BASE.steps}: loss ${last.toFixed(3)}`);
  }
  const finalHeld = await heldLoss();
  const seconds = (performance.now() - started) / 1000;
  // The pretrained LM goes to the work dir; the SFT stage below writes data/models/alignkit-base.
  const dir = path.join(work, 'base-pretrained');
  fs.rmSync(dir, { recursive: true, force: true });
  exportHfDirectory({ model, values: trainer.values(), outDir: dir, sourceDir: TOKENIZER });
  await trainer.release();
  writeJson(path.join(dir, 'config.json'), { architectures: ['GPT2LMHeadModel'], ...gpt2Config });
  writeJson(path.join(dir, 'generation_config.json'), { bos_token_id: 0, eos_token_id: 0, pad_token_id: PAD });
  const params = [...model.graph.initializers.values()].reduce((a, t) => a + t.data.length, 0);
  const card = [
    '---', 'library_name: alignkit', 'tags: [alignkit, gpt2, causal-lm, sft]', '---', '',
    '# alignkit-base', '',
    `A small GPT-2-style causal LM (${SHAPE.nLayer} layers, ${SHAPE.nHead} heads, n_embd ${SHAPE.nEmbd}, ${SHAPE.nPositions} positions, ${params.toLocaleString('en-US')} parameters, tied head) with the alignkit-bpe tokenizer (${SHAPE.vocabSize} tokens), pretrained from random weights (seed ${SEED}) with the next-token loss by \`scripts/build-models.mjs\` (alignkit Trainer on onnxruntime).`, '',
    `- Data: the shipped corpus \`data/corpus/\` (${CORPUS.map((f) => path.basename(f)).join(', ')}; see its SOURCES.md): ${ids.length.toLocaleString('en-US')} tokens, of which ${BASE.heldTokens.toLocaleString('en-US')} from the middle of the stream held out.`,
    `- Training: ${BASE.steps} steps of ${BASE.batch} windows of ${BASE.sequence} tokens (${(BASE.steps * BASE.batch * BASE.sequence).toLocaleString('en-US')} tokens), AdamW lr ${BASE.lr} (weight decay 0.01), ${BASE.warmup} warmup steps then cosine to 10%.`,
    `- Time: ${seconds.toFixed(0)} s on a shared 2-core CPU.`,
    `- Held-out next-token loss: ${initialHeld.toFixed(3)} before training, ${finalHeld.toFixed(3)} after (perplexity ${Math.exp(finalHeld).toFixed(1)}); last training step loss ${last.toFixed(3)}.`,
  ];
  log(`alignkit-base (pretraining): held-out loss ${initialHeld.toFixed(3)} -> ${finalHeld.toFixed(3)} in ${seconds.toFixed(0)} s`);
  await sftStage(dir, card);
}

// The GenARM paper's base is an SFT model on the preference data's chosen responses; without this
// stage the base writes TinyStories-like text, far from what the reward models learn to judge, and
// no guidance moves their score (bench/genarm/results-variants.md).
async function sftStage(pretrained, pretrainCard) {
  const out = path.join(MODELS, 'alignkit-base');
  fs.rmSync(out, { recursive: true, force: true });
  const config = resolveRunConfig({ kind: 'sft', model: pretrained, data: trainPairs, output: out, steps: scale(SFT.steps), lr: SFT.lr, batchSize: 8, microBatchSize: 8, evalFraction: 0.05, evalEvery: scale(100), logEvery: 10, seed: SEED % 1000, progress: false, ...PAIR_LENGTHS });
  const r = await runTraining(config);
  const sftCard = fs.readFileSync(path.join(out, 'README.md'), 'utf8');
  const body = sftCard.slice(sftCard.indexOf('\nTrained by') + 1).replace(/^## /gm, '### ');
  fs.writeFileSync(path.join(out, 'README.md'), [
    ...pretrainCard,
    '', '## Stage 2: supervised fine-tuning on the chosen responses', '',
    `Then fine-tuned with the SFT loss on the chosen responses of the training pairs (prompt tokens masked), as the GenARM paper's base is an SFT model of the preference data. ${dataLine}`, '',
    body,
    '', 'A toy: it writes short HH-RLHF-like answers at best. It exists as the base of alignkit-rm, alignkit-arm and alignkit-base-dpo and as a fast default for demos and tests.', '',
  ].join('\n'));
  tidy(out, 'alignkit-base (pretrained)');
  log(`alignkit-base (SFT): ${r.steps} steps in ${r.seconds.toFixed(0)} s`);
}

// ---------------------------------------------------------------- held-out measures
async function heldItems(tokDir, appendEos) {
  const loaded = await loadPreferenceData(heldPairs, { kind: 'paired', dropTies: true });
  const tok = await Tokenizer.load(tokDir);
  return tokenizeItems(loaded.examples, tok, tokenizeSettings({ ...PAIR_LENGTHS, maxCompletionLength: undefined, appendEos }, tok, KINDS.arm)).items;
}

function lengthBaseline(items) {
  return items.reduce((a, it) => a + lengthCredit(it.responses[0].length, it.responses[1].length), 0) / items.length;
}

// ---------------------------------------------------------------- alignkit-rm
// The card shows two held-out accuracies; this says which is which (issue #12: a reader met both unexplained).
const WHICH_HELD_OUT = (count) =>
  `**Which held-out figure to read.** The "Held-out evaluation (end of run)" table above is the training run's own check: ` +
  `the pairs of the training file (rows 1-${TRAIN_PAIRS}) that the run's split set aside (eval fraction 0.05, by id hash), ` +
  `scored by the training graph after the last step; its \`eval/rewards/accuracies\` comes from those few (the Data line gives their number), ` +
  `so its standard error is near 5 points. The accuracy in this section comes from the ${count} pairs after row ${TRAIN_PAIRS}, ` +
  'which the run never read, with the same strict rule (a tie counts as wrong): it is the figure to quote, and the one the README quotes.';

async function buildRm() {
  const base = path.join(MODELS, 'alignkit-base');
  const init = path.join(work, 'rm-init');
  // The base's trained weights in a sequence-classification graph; the score head starts from the seed.
  const classifier = buildGpt2(SHAPE, { kind: 'classifier', numLabels: 1, padTokenId: PAD }, SEED + 1);
  // Only weights are copied: graph constants (const_N) share names across the two graphs, not meanings.
  const { loadModel } = await lib('src/graph/index.ts');
  const { weightInitializers } = await lib('src/graph/rewrites/index.ts');
  const lmModel = loadModel(path.join(base, 'onnx/model.onnx'));
  const lm = lmModel.graph.initializers;
  const weights = new Set(weightInitializers(lmModel));
  for (const [name, t] of classifier.graph.initializers)
    if (weights.has(name) && lm.get(name).dims.join() === t.dims.join()) classifier.graph.initializers.set(name, lm.get(name));
  fs.mkdirSync(path.join(init, 'onnx'), { recursive: true });
  for (const f of ['tokenizer.json', 'tokenizer_config.json']) fs.copyFileSync(path.join(base, f), path.join(init, f));
  writeJson(path.join(init, 'config.json'), { architectures: ['GPT2ForSequenceClassification'], ...gpt2Config, num_labels: 1, id2label: { 0: 'LABEL_0' }, label2id: { LABEL_0: 0 } });
  saveModel(classifier, path.join(init, 'onnx/model.onnx'));
  const out = path.join(MODELS, 'alignkit-rm');
  fs.rmSync(out, { recursive: true, force: true });
  const config = resolveRunConfig({ kind: 'rm', model: init, data: trainPairs, output: out, steps: scale(400), lr: 5e-4, batchSize: 8, microBatchSize: 8, evalFraction: 0.05, evalEvery: scale(100), logEvery: 10, seed: SEED % 1000, progress: false, ...PAIR_LENGTHS });
  const r = await runTraining(config);
  const { report } = await evaluateRewardModels([await loadRewardModelSpec(out)], [heldPairs], { truncate: true });
  const o = report.overall;
  tidy(out, 'alignkit-base + score head');
  appendCard(out, ['## Held-out pairwise accuracy', '', dataLine, '',
    '| scorer | accuracy |', '| --- | --- |',
    `| alignkit-rm | ${pct(o.accuracy[0])} |`, `| length only (longer wins) | ${pct(o.lengthAccuracy)} |`, `| majority (always the first shown) | ${pct(o.majorityAccuracy)} |`,
    '', `${o.count} held-out pairs, measured by \`alignkit eval rm --model data/models/alignkit-rm --data <held pairs>\` (inputs longer than the model's limit cut at the prompt's start).`, '',
    WHICH_HELD_OUT(o.count), '']);
  log(`alignkit-rm: held-out accuracy ${pct(o.accuracy[0])} (length ${pct(o.lengthAccuracy)}, majority ${pct(o.majorityAccuracy)}) in ${r.seconds.toFixed(0)} s`);
}

// ---------------------------------------------------------------- alignkit-arm
async function buildArm() {
  const base = path.join(MODELS, 'alignkit-base');
  const out = path.join(MODELS, 'alignkit-arm');
  fs.rmSync(out, { recursive: true, force: true });
  // The official GenARM recipe trains the ARM with LoRA (r 8, alpha 16), which keeps it near the base;
  // without EOS, because the reference-free ARM loss otherwise all but forbids it and guided text
  // never stops (bench/genarm/results-variants.md).
  const config = resolveRunConfig({ kind: 'arm', model: base, data: trainPairs, output: out, steps: scale(300), lr: 2e-4, train: 'lora', appendEos: false, batchSize: 8, microBatchSize: 8, evalFraction: 0.05, evalEvery: scale(100), logEvery: 10, seed: SEED % 1000, progress: false, ...PAIR_LENGTHS });
  const r = await runTraining(config);
  // GenARM's reward r(x, y) = beta_r sum_t log pi_r(y_t | x, y_<t): the pair is right when the chosen sum is larger.
  const items = await heldItems(out, config.appendEos);
  const score = async (dir) => {
    const [chosen, rejected] = await sequenceSums(path.join(dir, 'onnx/model.onnx'), items, rowGroupsFor(createLoss('genarm'), 'causal-lm'), PAD);
    return items.reduce((a, _it, i) => a + (chosen[i] > rejected[i] ? 1 : chosen[i] === rejected[i] ? 0.5 : 0), 0) / items.length;
  };
  const acc = await score(out);
  const before = await score(base);
  const length = lengthBaseline(items);
  tidy(out, 'alignkit-base');
  appendCard(out, ['## Held-out pairwise accuracy of the ARM reward', '', dataLine, '',
    '| scorer | accuracy |', '| --- | --- |',
    `| alignkit-arm (sum of response log-probs) | ${pct(acc)} |`, `| alignkit-base, same reward, before ARM training | ${pct(before)} |`, `| length only (longer wins) | ${pct(length)} |`,
    '', `${items.length} held-out pairs (responses ${config.appendEos === false ? 'without' : 'with'} EOS, as trained).`, '']);
  log(`alignkit-arm: held-out accuracy ${pct(acc)} (base ${pct(before)}, length ${pct(length)}) in ${r.seconds.toFixed(0)} s`);
}

// ---------------------------------------------------------------- alignkit-base-dpo
async function buildDpo() {
  const base = path.join(MODELS, 'alignkit-base');
  const out = path.join(MODELS, 'alignkit-base-dpo');
  fs.rmSync(out, { recursive: true, force: true });
  const config = resolveRunConfig({ kind: 'dpo', model: base, data: trainPairs, output: out, steps: scale(300), lr: 5e-4, batchSize: 8, microBatchSize: 8, evalFraction: 0.05, evalEvery: scale(100), logEvery: 10, seed: SEED % 1000, progress: false, ...PAIR_LENGTHS });
  const r = await runTraining(config);
  const e = await evaluatePolicy({ model: out, reference: base, data: heldPairs, ...PAIR_LENGTHS });
  tidy(out, 'alignkit-base');
  appendCard(out, ['## Held-out implicit reward and KL', '', dataLine, '',
    '| measure | value |', '| --- | --- |',
    `| implicit-reward accuracy (beta (log pi - log pi_base), chosen > rejected) | ${pct(e.rewardAccuracy)} |`,
    `| mean implicit-reward margin (beta ${e.beta}) | ${e.rewardMargin.toFixed(4)} |`,
    `| KL estimate vs alignkit-base (mean sequence log-ratio on the held-out responses) | ${e.kl.toFixed(3)} nats (${e.klPerToken.toFixed(4)} per token) |`,
    '', `${e.pairs} held-out pairs, measured by \`alignkit eval policy --model data/models/alignkit-base-dpo --reference data/models/alignkit-base --data <held pairs>\`. Before training the accuracy is 50% by construction (policy = reference).`, '']);
  log(`alignkit-base-dpo: held-out implicit-reward accuracy ${pct(e.rewardAccuracy)}, KL ${e.kl.toFixed(3)} in ${r.seconds.toFixed(0)} s`);
}

const STEPS = { base: buildBase, rm: buildRm, arm: buildArm, dpo: buildDpo };
for (const [name, build] of Object.entries(STEPS)) if (only.has(name)) await build();
fs.rmSync(work, { recursive: true, force: true });
