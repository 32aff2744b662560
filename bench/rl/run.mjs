// bench/rl: what an online RL iteration costs on the shipped models, and the two ratios issue #15
// asks of it:
//   1. a rollout batch (the live policy, fed the trainer's arrays, recording log-probs and
//      entropies) against plain `generate` of the same prompts, seed and tokens: <= 1.2x;
//   2. a PPO update step per token (value head, clipped surrogate and value loss) against a DPO
//      step per token on the same rows and length: <= 1.2x.
// Baseline and subject alternate in one process; medians are reported. Then a real `train ppo`
// run's phase breakdown (rollout, reference, value head, reward, advantages, update) from its
// metrics.jsonl. Prints the load average and CPU: compare only ratios taken in one run.
//
//   node --import ./src/dev/register-ts.mjs bench/rl/run.mjs [--policy DIR] [--reward DIR] [--prompts 16] [--tokens 48] [--rounds 5] [--iterations 6] [--threads 1] [--sections rollout,update,phases]
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import { loadModel } from '../../src/graph/index.ts';
import { CausalLM, loadModelDir } from '../../src/models/index.ts';
import { encodePrompt, generate, keepEnd, LivePolicy, rollout } from '../../src/generate/index.ts';
import { createLoss } from '../../src/losses/index.ts';
import { createOptimizer } from '../../src/optim/index.ts';
import { readPrompts } from '../../src/datasets/index.ts';
import { Trainer } from '../../src/train/trainer.ts';
import { buildBatch, buildRunGraph, readMetrics, resolveRunConfig, rowGroupsFor, runTraining, RUN_DEFAULTS } from '../../src/train/index.ts';
import { experienceBatch, valueHeadForward } from '../../src/train/rl/index.ts';

const root = path.resolve(import.meta.dirname, '../..');
const { values } = parseArgs({ options: {
  policy: { type: 'string', default: path.join(root, 'data/models/alignkit-base') },
  reward: { type: 'string', default: path.join(root, 'data/models/alignkit-rm') },
  data: { type: 'string', default: path.join(root, 'data/samples/hh_rlhf_harmless_base_test.200.jsonl') },
  prompts: { type: 'string', default: '16' },
  tokens: { type: 'string', default: '48' },
  rounds: { type: 'string', default: '5' },
  iterations: { type: 'string', default: '6' },
  threads: { type: 'string', default: '1' },
  sections: { type: 'string', default: 'rollout,update,phases' },
} });
const sections = new Set(values.sections.split(','));
const P = Number(values.prompts);
const N = Number(values.tokens);
const rounds = Number(values.rounds);
const session = { intraOpThreads: Number(values.threads), allowSpinning: false };
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const cpu = fs.readFileSync('/proc/cpuinfo', 'utf8');
const model = /model name\s*:\s*(.*)/.exec(cpu)?.[1] ?? os.cpus()[0]?.model;
const flags = ['avx2', 'avx512f'].filter((f) => new RegExp(`\\b${f}\\b`).test(cpu));
console.log(`bench/rl  ${new Date().toISOString()}  CPU ${model} [${flags.join(' ')}]  load average ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}  threads ${values.threads}`);
console.log(`policy ${path.relative(root, values.policy)}, reward ${path.relative(root, values.reward)}, ${P} prompts x ${N} new tokens, ${rounds} alternating rounds\n`);

/** Wall and CPU (user + system) milliseconds of f: on a shared machine CPU time is the steadier of the two. */
async function timed(f) {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const value = await f();
  const c = process.cpuUsage(c0);
  return { value, wall: performance.now() - t0, cpu: (c.user + c.system) / 1000 };
}

// ---------------------------------------------------------------- 1. rollout vs generate
const dir = await loadModelDir(values.policy);
const tok = dir.tokenizer;
if (sections.has('rollout')) {
const texts = (await readPrompts(values.data, P));
const ids = texts.map((t) => keepEnd(encodePrompt(tok, t), 64));
const plain = await CausalLM.load(values.policy, { session });
const decoding = loadModel(dir.onnxFile);
// A full-training run feeds every weight: all float initializers of two or more dimensions, and the biases and norms.
const weights = new Map([...decoding.graph.initializers].filter(([, t]) => t.dtype === 'float32' && t.dims.length >= 1 && t.data.length > 1).map(([n, t]) => [n, Float32Array.from(t.data)]));
const livePolicy = new LivePolicy(dir, decoding, session);
const gen = { wall: [], cpu: [] };
const rol = { wall: [], cpu: [] };
let generated = 0;
let differing = 0;
for (let r = -1; r < rounds; r++) {
  const seed = 1000 + r;
  const g = await timed(() => generate(plain, tok, ids, { sampler: 'sample', maxNewTokens: N, seed, stopAtEos: true }));
  // The online run's cost: a decoder with the current weights (a session built per rollout batch), then the rollout.
  const ro = await timed(async () => rollout(await livePolicy.load(weights), tok, ids, { maxNewTokens: N, seed }));
  if (r < 0) continue; // warm-up
  // Same weights, same seed: the same tokens (a draw at a near tie could flip with rounding; time per token compares either way).
  const gTokens = g.value.reduce((a, row) => a + row.tokens.length, 0);
  const rTokens = ro.value.reduce((a, row) => a + row.tokens.length, 0);
  differing += g.value.filter((row, i) => row.tokens.join() !== ro.value[i].tokens.join()).length;
  for (const k of ['wall', 'cpu']) {
    gen[k].push(g[k] / gTokens);
    rol[k].push(ro[k] / rTokens);
  }
  generated += gTokens;
}
const ratio1 = { wall: median(rol.wall) / median(gen.wall), cpu: median(rol.cpu) / median(gen.cpu) };
console.log('rollout batch (session build included) vs generate, same prompts and seed, per generated token');
console.log(`  wall: generate ${(1000 * median(gen.wall)).toFixed(0)} us, rollout ${(1000 * median(rol.wall)).toFixed(0)} us, ratio ${ratio1.wall.toFixed(3)}`);
console.log(`  CPU:  generate ${(1000 * median(gen.cpu)).toFixed(0)} us, rollout ${(1000 * median(rol.cpu)).toFixed(0)} us, ratio ${ratio1.cpu.toFixed(3)}  (target <= 1.2)`);
console.log(`  ${generated} tokens per side over ${rounds} rounds; ${differing} of ${rounds * ids.length} rows drew a different token somewhere\n`);
await livePolicy.release();
}

// ---------------------------------------------------------------- 2. PPO update vs DPO step per token
if (sections.has('update')) {
const rows = 8; // PPO rows = DPO pairs x 2
const promptLen = 40;
const respLen = N;
const rng = (() => {
  let s = 7;
  return () => ((s = (s * 1103515245 + 12345) >>> 0) / 4294967296);
})();
const randIds = (n) => Array.from({ length: n }, () => 2 + Math.floor(rng() * (dir.arch.vocabSize - 2)));
const source = loadModel(dir.onnxFile);

async function trainerFor(loss, groupsRows, extension) {
  const groups = rowGroupsFor(loss, 'causal-lm');
  const graph = buildRunGraph(source, { role: 'causal-lm', loss, groups, rows: groupsRows, train: 'full', lora: RUN_DEFAULTS.lora, seed: 0, extension });
  const trainer = await Trainer.create({ training: graph.training, source: graph.forward, optimizer: createOptimizer('adamw', { lr: 1e-6 }), session });
  return { graph, groups, trainer };
}

const dpoLoss = createLoss('dpo');
const dpo = await trainerFor(dpoLoss, rows / 2);
const dpoItems = Array.from({ length: rows / 2 }, (_, i) => ({ id: `p${i}`, prompt: randIds(promptLen), responses: [randIds(respLen), randIds(respLen)] }));
const dpoRef = new Map(dpo.groups.filter((g) => g.reference).map((g) => [g.reference, new Float64Array(rows / 2).fill(-50)]));
const dpoFeeds = buildBatch({ forward: dpo.graph.forward, items: dpoItems, groups: dpo.groups, loss: dpoLoss, fed: dpo.graph.fedInputs, reference: dpoRef, padId: tok.padTokenId }, dpoItems.map((_, i) => i), {}).feeds;

const ppoLoss = createLoss('ppo');
const ppo = await trainerFor(ppoLoss, rows, valueHeadForward);
const f32 = (n, f) => Float32Array.from({ length: n }, f);
const ppoRows = Array.from({ length: rows }, () => ({
  prompt: randIds(promptLen), tokens: randIds(respLen), oldLogps: f32(respLen, () => -2 - rng()), oldValues: f32(respLen, () => rng() - 0.5),
  tokenAdvantages: f32(respLen, () => rng() - 0.5), returns: f32(respLen, () => rng() - 0.5),
}));
const ppoItems = ppoRows.map((r, i) => ({ id: `r${i}`, prompt: r.prompt, responses: [r.tokens] }));
const ppoFeeds = experienceBatch({ forward: ppo.graph.forward, items: ppoItems, groups: ppo.groups, loss: ppoLoss, fed: ppo.graph.fedInputs, reference: new Map(), padId: tok.padTokenId }, ppoRows, ppoRows.map((_, i) => i), {}).feeds;

const dpoT = { wall: [], cpu: [] };
const ppoT = { wall: [], cpu: [] };
for (let r = -1; r < rounds * 2; r++) {
  const d = await timed(() => dpo.trainer.step([dpoFeeds]));
  const p = await timed(() => ppo.trainer.step([ppoFeeds]));
  if (r < 0) continue;
  for (const k of ['wall', 'cpu']) {
    dpoT[k].push(d[k]);
    ppoT[k].push(p[k]);
  }
}
const tokens = rows * (promptLen + respLen);
console.log(`update step per token vs DPO step per token (${rows} rows of ${promptLen} + ${respLen} tokens each; DPO: ${rows / 2} pairs)`);
for (const k of ['wall', 'cpu'])
  console.log(`  ${k.padEnd(4)}: DPO ${((1000 * median(dpoT[k])) / tokens).toFixed(1)} us/token, PPO ${((1000 * median(ppoT[k])) / tokens).toFixed(1)} us/token, ratio ${(median(ppoT[k]) / median(dpoT[k])).toFixed(3)}${k === 'cpu' ? '  (target <= 1.2)' : ''}`);
console.log('');
await dpo.trainer.release();
await ppo.trainer.release();
}

// ---------------------------------------------------------------- 3. a real train ppo run, phase by phase
if (sections.has('phases')) {
const out = fs.mkdtempSync(path.join(os.tmpdir(), 'alignkit-bench-rl-'));
const config = resolveRunConfig({
  kind: 'ppo', model: values.policy, data: values.data, output: out, limit: 160, steps: Number(values.iterations), batchSize: 8, microBatchSize: 8,
  maxLength: 128, maxPromptLength: 64, lr: 1e-5, progress: false, threads: Number(values.threads), evalEvery: 0, evalFraction: 0, cacheDir: path.join(out, 'cache'),
  rl: { reward: [values.reward], onLongPrompt: 'truncate', promptsPerStep: P, maxNewTokens: N, epochs: 1, evalPrompts: 0 },
});
await runTraining(config);
const records = readMetrics(path.join(out, 'metrics.jsonl')).filter((r) => r.step > 1); // step 1 warms the sessions up
const phases = Object.keys(records[0]).filter((k) => k.startsWith('time/'));
const med = Object.fromEntries(phases.map((k) => [k, median(records.map((r) => r[k]))]));
const total = phases.reduce((a, k) => a + med[k], 0);
console.log(`train ppo phase breakdown (median of ${records.length} iterations; ${P} prompts x ${N} tokens, 1 PPO epoch, minibatch 8)`);
for (const k of phases) console.log(`  ${k.slice(5).padEnd(16)} ${(1000 * med[k]).toFixed(0).padStart(7)} ms  ${((100 * med[k]) / total).toFixed(1).padStart(5)}%`);
console.log(`  ${'total'.padEnd(16)} ${(1000 * total).toFixed(0).padStart(7)} ms`);
fs.rmSync(out, { recursive: true, force: true });
}
