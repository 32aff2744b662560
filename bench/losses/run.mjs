#!/usr/bin/env node
// Does a preference loss add much to a training step? One onnxruntime run per step (forward, loss,
// backward) of the GPT-2-shaped model of bench/train-step (d 256, 4 layers, 4 heads, vocab 4096,
// 8 sequences of 128 tokens, built by the same buildGpt2), its KV cache stripped and the per-token
// log-prob head spliced, then either DPO (rows 0-3 chosen, 4-7 rejected, cached reference sums as
// inputs) or the plain next-token loss over all 8 rows (SFT: token-mean NLL) spliced with
// spliceLoss, and the autodiff's backward for every weight. The forward is the same graph in both;
// only the loss differs. Steps alternate between the two sessions and medians are reported (this
// machine's speed drifts, DESIGN.md).
//   node bench/losses/run.mjs [--rounds 6] [--small]
import { register } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

register('../../src/dev/ts-source-hooks.mjs', import.meta.url);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const { values } = parseArgs({ options: { rounds: { type: 'string', default: '6' }, small: { type: 'boolean', default: false } } });
const ROUNDS = Number(values.rounds);
// --small: a quick smoke run of the same code path.
const S = values.small ? { vocab: 64, dim: 32, layers: 1, heads: 2, rows: 8, seq: 16 } : { vocab: 4096, dim: 256, layers: 4, heads: 4, rows: 8, seq: 128 };

const { buildGpt2 } = await import(path.join(root, 'src/models/fixtures/gpt2-graph.ts'));
const { GraphBuilder, Session, onnxOpset } = await import(path.join(root, 'src/graph/index.ts'));
const { buildTrainingGraph } = await import(path.join(root, 'src/graph/autodiff/index.ts'));
const { addTokenLogProbHead, selectTrainable, stripKvCache } = await import(path.join(root, 'src/graph/rewrites/index.ts'));
const { createLoss, spliceLoss } = await import(path.join(root, 'src/losses/index.ts'));

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const source = buildGpt2({ vocabSize: S.vocab, nPositions: S.seq, nEmbd: S.dim, nLayer: S.layers, nHead: S.heads, layerNormEpsilon: 1e-5 }, { kind: 'lm' }, 0);

async function buildStep(kind) {
  const forward = stripKvCache(source).model;
  const trainable = selectTrainable(forward, {});
  const model = addTokenLogProbHead(forward).model;
  model.graph.outputs = [];
  const g = new GraphBuilder({ graph: model.graph, opset: onnxOpset(model) });
  const half = S.rows / 2;
  const provided = kind === 'dpo'
    ? { policy_chosen_logps: g.slice('token_logprobs', [0], [half], [0]), policy_rejected_logps: g.slice('token_logprobs', [half], [S.rows], [0]) }
    : { policy_chosen_logps: 'token_logprobs' };
  const spliced = spliceLoss(g, createLoss(kind === 'dpo' ? 'dpo' : 'sft'), provided, { B: kind === 'dpo' ? half : S.rows, T: S.seq });
  const training = buildTrainingGraph({ model, loss: spliced.lossOutput, trainable, keepOutputs: false });
  const t0 = performance.now();
  const session = await Session.create(training.model, { intraOpThreads: 2 });
  const params = Object.fromEntries(trainable.map((p) => [p, forward.graph.initializers.get(p)]));
  return { session, params, inputs: training.model.graph.inputs.map((i) => i.name), nodes: training.model.graph.nodes.length, createMs: performance.now() - t0, fetch: [training.lossOutput, ...training.gradients.values()] };
}

let seed = 12345;
const rand = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
const n = S.rows * S.seq;
const data = {
  input_ids: { dtype: 'int64', dims: [S.rows, S.seq], data: BigInt64Array.from({ length: n }, () => BigInt(Math.floor(rand() * S.vocab))) },
  attention_mask: { dtype: 'int64', dims: [S.rows, S.seq], data: new BigInt64Array(n).fill(1n) },
  position_ids: { dtype: 'int64', dims: [S.rows, S.seq], data: BigInt64Array.from({ length: n }, (_, i) => BigInt(i % S.seq)) },
  // Response masks: the first token has no prediction (the head puts 0 there).
  chosen_mask: { dtype: 'float32', dims: [S.rows, S.seq], data: Float32Array.from({ length: n }, (_, i) => (i % S.seq === 0 ? 0 : 1)) },
  ref_chosen_logps: { dtype: 'float32', dims: [S.rows / 2], data: Float32Array.from({ length: S.rows / 2 }, () => -S.seq * Math.log(S.vocab) - rand()) },
  ref_rejected_logps: { dtype: 'float32', dims: [S.rows / 2], data: Float32Array.from({ length: S.rows / 2 }, () => -S.seq * Math.log(S.vocab) - rand()) },
};
data.rejected_mask = { ...data.chosen_mask, dims: [S.rows / 2, S.seq], data: data.chosen_mask.data.slice(0, n / 2) };
const dpoMask = { ...data.chosen_mask, dims: [S.rows / 2, S.seq], data: data.chosen_mask.data.slice(0, n / 2) };

const steps = { ntp: await buildStep('ntp'), dpo: await buildStep('dpo') };
const feedsFor = (kind) => {
  const s = steps[kind];
  const pool = { ...data, ...(kind === 'dpo' ? { chosen_mask: dpoMask } : {}), ...s.params };
  return Object.fromEntries(s.inputs.map((name) => [name, pool[name]]));
};
const run = async (kind) => {
  const feeds = feedsFor(kind);
  const t0 = performance.now();
  await steps[kind].session.run(feeds, steps[kind].fetch);
  return performance.now() - t0;
};
for (const kind of ['ntp', 'dpo', 'ntp', 'dpo']) await run(kind); // warm-up
const times = { ntp: [], dpo: [] };
for (let r = 0; r < ROUNDS; r++) for (const kind of r % 2 ? ['dpo', 'ntp'] : ['ntp', 'dpo']) times[kind].push(await run(kind));
const [ntp, dpo] = [median(times.ntp), median(times.dpo)];
console.log(`GPT-2 shape d${S.dim} L${S.layers} V${S.vocab}, ${S.rows} x ${S.seq} tokens, one run() per step, medians of ${ROUNDS} alternating steps`);
console.log(`next-token loss (SFT): ${ntp.toFixed(1)} ms/step (${steps.ntp.nodes} nodes, session ${steps.ntp.createMs.toFixed(0)} ms)`);
console.log(`DPO:                   ${dpo.toFixed(1)} ms/step (${steps.dpo.nodes} nodes, session ${steps.dpo.createMs.toFixed(0)} ms)`);
console.log(`ratio DPO / next-token: ${(dpo / ntp).toFixed(3)}`);
await Promise.all(Object.values(steps).map((s) => s.session.release()));
