// Does a preference loss add much to a training step? One onnxruntime run per step (forward, loss,
// backward) of a GPT-shaped model (d 256, 4 layers, 4 heads, vocab 4096, 8 sequences of 128 tokens)
// with DPO spliced after it (rows 0-3 chosen, 4-7 rejected, cached reference log-probs as inputs),
// against the same step with plain next-token loss (token-mean NLL over all 8 rows). The forward
// is the same graph in both; only the loss differs. Steps alternate between the two sessions and
// medians are reported (this machine's speed drifts, DESIGN.md).
//   node --import ./bench/train-step/register.mjs bench/losses/run.mjs [--rounds 6]
import { parseArgs } from 'node:util';
import { GraphBuilder, Session } from '../../src/graph/index.ts';
import { buildTrainingGraph } from '../../src/graph/autodiff/index.ts';
import { createLoss } from '../../src/losses/index.ts';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '6' } } });
const ROUNDS = Number(values.rounds);
const S = { V: 4096, D: 256, L: 4, H: 4, T: 128, N: 8 };
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

let seed = 12345;
const rand = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
const normal = (n, std) => Float32Array.from({ length: n }, () => std * Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand()));

/** GPT-2-style blocks (pre-LayerNorm, causal attention, sigmoid-GELU MLP), tied head; returns per-token log-probs [N, T]. */
function gpt(g, trainable) {
  const param = (name, dims, std, mean = 0) => {
    const n = dims.reduce((a, b) => a * b, 1);
    const data = normal(n, std);
    if (mean) data.forEach((v, i) => (data[i] = v + mean));
    trainable.push(g.initializer(name, data, dims));
    return name;
  };
  const { V, D, L, H, T } = S;
  const hd = D / H;
  const causal = new Float32Array(T * T);
  for (let i = 0; i < T; i++) for (let j = i + 1; j < T; j++) causal[i * T + j] = -1e9;
  const mask = g.constant(causal, [T, T]);
  const wte = param('wte', [V, D], 0.02);
  let h = g.add(g.gather(wte, 'input_ids', 0), param('wpe', [T, D], 0.01)); // [N,T,D]
  const heads = (x) => g.transpose(g.reshape(x, [0, 0, H, hd]), [0, 2, 1, 3]);
  for (let l = 0; l < L; l++) {
    const x = g.layerNorm(h, param(`h${l}.ln1.w`, [D], 0.02, 1), param(`h${l}.ln1.b`, [D], 0.0));
    const [q, k, v] = g.split(g.add(g.matMul(x, param(`h${l}.qkv.w`, [D, 3 * D], 0.02)), param(`h${l}.qkv.b`, [3 * D], 0)), [D, D, D], 2);
    const scores = g.add(g.mul(g.matMul(heads(q), g.transpose(heads(k), [0, 1, 3, 2])), g.scalar(1 / Math.sqrt(hd))), mask);
    const ctx = g.reshape(g.transpose(g.matMul(g.softmax(scores, -1), heads(v)), [0, 2, 1, 3]), [0, 0, D]);
    h = g.add(h, g.add(g.matMul(ctx, param(`h${l}.proj.w`, [D, D], 0.02)), param(`h${l}.proj.b`, [D], 0)));
    const m = g.layerNorm(h, param(`h${l}.ln2.w`, [D], 0.02, 1), param(`h${l}.ln2.b`, [D], 0));
    const up = g.add(g.matMul(m, param(`h${l}.fc.w`, [D, 4 * D], 0.02)), param(`h${l}.fc.b`, [4 * D], 0));
    const act = g.mul(up, g.sigmoid(g.mul(up, g.scalar(1.702))));
    h = g.add(h, g.add(g.matMul(act, param(`h${l}.out.w`, [4 * D, D], 0.02)), param(`h${l}.out.b`, [D], 0)));
  }
  const f = g.layerNorm(h, param('lnf.w', [D], 0.02, 1), param('lnf.b', [D], 0));
  const logits = g.matMul(g.reshape(f, [-1, D]), g.transpose(wte, [1, 0])); // [N*T, V]
  const logp = g.logSoftmax(logits, -1);
  const tok = g.gatherElements(logp, g.reshape('targets', [-1, 1]), 1); // [N*T, 1]
  return g.reshape(tok, [S.N, T]);
}

async function buildStep(kind) {
  const g = new GraphBuilder({ name: `step_${kind}`, opset: 17 });
  g.input('input_ids', 'int64', [S.N, S.T]);
  g.input('targets', 'int64', [S.N, S.T]);
  g.input('loss_mask', 'float32', [S.N, S.T]);
  const trainable = [];
  const tokenLogps = gpt(g, trainable);
  let loss;
  if (kind === 'dpo') {
    const half = S.N / 2;
    const [chosen, rejected] = g.split(tokenLogps, [half, half], 0);
    const [cm, rm] = g.split('loss_mask', [half, half], 0);
    g.input('ref_chosen_logps', 'float32', [half]);
    g.input('ref_rejected_logps', 'float32', [half]);
    const built = createLoss('dpo').build(g, {
      policy_chosen_logps: chosen, policy_rejected_logps: rejected, chosen_mask: cm, rejected_mask: rm,
      ref_chosen_logps: 'ref_chosen_logps', ref_rejected_logps: 'ref_rejected_logps',
    });
    loss = built.loss;
  } else {
    loss = createLoss('sft').build(g, { policy_chosen_logps: tokenLogps, chosen_mask: 'loss_mask' }).loss;
  }
  const params = new Map(trainable.map((p) => [p, g.graph.initializers.get(p)]));
  const training = buildTrainingGraph({ model: g.toModel(), loss, trainable, keepOutputs: false });
  const t0 = performance.now();
  const session = await Session.create(training.model, { intraOpThreads: 2 });
  return { session, params, nodes: training.model.graph.nodes.length, createMs: performance.now() - t0, fetch: [training.lossOutput, ...training.gradients.values()] };
}

const ids = () => ({ dtype: 'int64', dims: [S.N, S.T], data: BigInt64Array.from({ length: S.N * S.T }, () => BigInt(Math.floor(rand() * S.V))) });
const feeds = {
  input_ids: ids(),
  targets: ids(),
  loss_mask: { dtype: 'float32', dims: [S.N, S.T], data: new Float32Array(S.N * S.T).fill(1) },
};
const refs = { ref_chosen_logps: { dtype: 'float32', dims: [S.N / 2], data: Float32Array.from({ length: S.N / 2 }, () => -1064 - rand()) }, ref_rejected_logps: { dtype: 'float32', dims: [S.N / 2], data: Float32Array.from({ length: S.N / 2 }, () => -1064 - rand()) } };

const steps = { ntp: await buildStep('ntp'), dpo: await buildStep('dpo') };
const run = async (kind) => {
  const s = steps[kind];
  const t0 = performance.now();
  await s.session.run({ ...feeds, ...(kind === 'dpo' ? refs : {}), ...Object.fromEntries(s.params) }, s.fetch);
  return performance.now() - t0;
};
for (const kind of ['ntp', 'dpo', 'ntp', 'dpo']) await run(kind); // warm-up
const times = { ntp: [], dpo: [] };
for (let r = 0; r < ROUNDS; r++) for (const kind of r % 2 ? ['dpo', 'ntp'] : ['ntp', 'dpo']) times[kind].push(await run(kind));
const [ntp, dpo] = [median(times.ntp), median(times.dpo)];
console.log(`GPT d${S.D} L${S.L} V${S.V}, ${S.N} x ${S.T} tokens, one run() per step, medians of ${ROUNDS} alternating steps`);
console.log(`next-token loss: ${ntp.toFixed(1)} ms/step (${steps.ntp.nodes} nodes, session ${steps.ntp.createMs.toFixed(0)} ms)`);
console.log(`DPO:             ${dpo.toFixed(1)} ms/step (${steps.dpo.nodes} nodes, session ${steps.dpo.createMs.toFixed(0)} ms)`);
console.log(`ratio DPO / next-token: ${(dpo / ntp).toFixed(3)}`);
await Promise.all(Object.values(steps).map((s) => s.session.release()));
