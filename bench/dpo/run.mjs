#!/usr/bin/env node
// End-to-end DPO training throughput of alignkit's run path (src/train/run: the dpo loss spliced
// after a GPT-2-shaped model's per-token log-probs, batches built from token ids with their
// response masks and cached reference sums, one onnxruntime run() per step, AdamW update in JS),
// in pairs/s and tokens/s, and, when PyTorch imports, the same DPO step in PyTorch eager for the
// same shape (bench/dpo/torch_dpo.py, reusing bench/train-step's torch model), with the ratio.
// As bench/train-step does, the two alternate in rounds and medians are compared; torch runs
// with OMP_WAIT_POLICY=PASSIVE and 2 threads, alignkit with 2 intra-op threads, spinning off.
// Usage: node bench/dpo/run.mjs [--rounds 3] [--steps 3] [--json]
import { register } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startTorchPeer } from '../torch-peer.mjs';

register('../../src/dev/ts-source-hooks.mjs', import.meta.url);
const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../..');

const { values: args } = parseArgs({ options: { rounds: { type: 'string', default: '3' }, steps: { type: 'string', default: '3' }, json: { type: 'boolean', default: false } } });
// bench/train-step's shape with its 8 rows as 4 pairs (chosen + rejected), half prompt, half response.
const SHAPE = { vocab: 4096, dim: 256, layers: 4, heads: 4, pairs: 4, seq: 128, prompt: 64 };
const ROUNDS = Number(args.rounds);
const STEPS = Number(args.steps);
const tokensPerStep = 2 * SHAPE.pairs * SHAPE.seq;

const { buildGpt2 } = await import(path.join(root, 'src/models/fixtures/gpt2-graph.ts'));
const { buildRunGraph, buildBatch, rowGroupsFor } = await import(path.join(root, 'src/train/run/index.ts'));
const { createLoss } = await import(path.join(root, 'src/losses/index.ts'));
const { Trainer } = await import(path.join(root, 'src/train/index.ts'));
const { createOptimizer } = await import(path.join(root, 'src/optim/index.ts'));

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

// ---------------------------------------------------------------- alignkit
let t0 = performance.now();
const model = buildGpt2({ vocabSize: SHAPE.vocab, nPositions: SHAPE.seq, nEmbd: SHAPE.dim, nLayer: SHAPE.layers, nHead: SHAPE.heads, layerNormEpsilon: 1e-5 }, { kind: 'lm' }, 0);
const loss = createLoss('dpo');
const groups = rowGroupsFor(loss, 'causal-lm');
const graph = buildRunGraph(model, { role: 'causal-lm', loss, groups, rows: SHAPE.pairs, train: 'full', lora: { rank: 8, alpha: 16, targets: 'all-linear' }, seed: 0 });
const buildMs = performance.now() - t0;
t0 = performance.now();
const trainer = await Trainer.create({
  training: graph.training, source: graph.forward, optimizer: createOptimizer('adamw', { lr: 1e-4 }),
  metrics: Object.values(graph.metricOutputs), session: { intraOpThreads: 2 },
});
const sessionMs = performance.now() - t0;
let seed = 1;
const token = () => (seed = (seed * 1103515245 + 12345) % 2147483648) % SHAPE.vocab;
const items = Array.from({ length: SHAPE.pairs }, (_, i) => ({
  id: String(i),
  prompt: Array.from({ length: SHAPE.prompt }, token),
  responses: [0, 1].map(() => Array.from({ length: SHAPE.seq - SHAPE.prompt }, token)),
}));
const reference = new Map(groups.map((g) => [g.reference, Float64Array.from(items, () => -300 - Math.random())]));
const ctx = { forward: graph.forward, items, groups, loss, fed: graph.fedInputs, reference, padId: 0 };
const indices = items.map((_, i) => i);
async function oursSteps(n) {
  const ms = [];
  for (let i = 0; i < n; i++) {
    const s = performance.now();
    await trainer.step([buildBatch(ctx, indices, {}).feeds]);
    ms.push(performance.now() - s);
  }
  return ms;
}

// ---------------------------------------------------------------- torch peer
const torch = startTorchPeer(path.join(here, 'torch_dpo.py'), [SHAPE.vocab, SHAPE.dim, SHAPE.layers, SHAPE.heads, SHAPE.pairs, SHAPE.seq, SHAPE.prompt]);
const python = torch?.python;

// ---------------------------------------------------------------- alternating rounds
await oursSteps(2); // warm-up: first runs allocate onnxruntime's arenas
if (torch) await torch.steps(2);
const ours = [];
const theirs = [];
for (let r = 0; r < ROUNDS; r++) {
  ours.push(...(await oursSteps(STEPS)));
  if (torch) theirs.push(...(await torch.steps(STEPS)).ms);
}
torch?.close();
await trainer.release();

const rate = (ms) => ({ medianMs: +ms.toFixed(1), pairsPerSec: +((SHAPE.pairs / ms) * 1000).toFixed(2), tokensPerSec: Math.round((tokensPerStep / ms) * 1000) });
const oursMs = median(ours);
const result = {
  shape: SHAPE,
  trainingGraphNodes: graph.training.model.graph.nodes.length,
  buildMs: Math.round(buildMs),
  sessionMs: Math.round(sessionMs),
  alignkit: rate(oursMs),
  torch: torch ? { ...rate(median(theirs)), python } : 'not available (python3 -c "import torch" failed)',
  ratio: torch ? +(median(theirs) / oursMs).toFixed(2) : null,
  samples: ours.length,
};
if (args.json) console.log(JSON.stringify(result));
else {
  console.log(`DPO step, GPT-2 shape d=${SHAPE.dim} L=${SHAPE.layers} H=${SHAPE.heads} V=${SHAPE.vocab}, ${SHAPE.pairs} pairs x 2 rows x T=${SHAPE.seq} (prompt ${SHAPE.prompt}), AdamW, ${ours.length} steps each, medians`);
  console.log(`alignkit: ${result.alignkit.medianMs} ms/step, ${result.alignkit.pairsPerSec} pairs/s, ${result.alignkit.tokensPerSec} tokens/s (graph ${result.trainingGraphNodes} nodes, built in ${result.buildMs} ms, session ${result.sessionMs} ms)`);
  if (torch) {
    console.log(`torch eager: ${result.torch.medianMs} ms/step, ${result.torch.pairsPerSec} pairs/s, ${result.torch.tokensPerSec} tokens/s`);
    console.log(`ratio (alignkit throughput over torch): ${result.ratio}x`);
  } else console.log(`torch: ${result.torch}`);
}
