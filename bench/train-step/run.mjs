#!/usr/bin/env node
// Forward+backward tokens/s of a GPT-2-shaped model (d=256, 4 layers, 4 heads, vocab 4096,
// batch 8, seq 128) trained through alignkit (GraphBuilder model -> log-prob head and next-token
// loss -> buildTrainingGraph -> one onnxruntime run() per step), and, when PyTorch imports, the
// same shape in PyTorch eager in the same run. The machine's bandwidth drifts (DESIGN.md), so the
// two alternate in rounds and medians are compared. Torch runs with OMP_WAIT_POLICY=PASSIVE and
// 2 threads, as DESIGN.md measured it; alignkit with 2 intra-op threads and spinning off, as the
// Trainer runs. Usage: node bench/train-step/run.mjs [--rounds 5] [--steps 3] [--json]
import { register } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startTorchPeer } from '../torch-peer.mjs';

register('../../src/dev/ts-source-hooks.mjs', import.meta.url);
const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../..');

const { values: args } = parseArgs({ options: { rounds: { type: 'string', default: '5' }, steps: { type: 'string', default: '3' }, json: { type: 'boolean', default: false } } });
const SHAPE = { vocab: 4096, dim: 256, layers: 4, heads: 4, batch: 8, seq: 128 };
const ROUNDS = Number(args.rounds);
const STEPS = Number(args.steps);
const tokensPerStep = SHAPE.batch * SHAPE.seq;

const { buildGpt2 } = await import(path.join(root, 'src/models/fixtures/gpt2-graph.ts'));
const { prepareCausalLmTraining, Trainer } = await import(path.join(root, 'src/train/index.ts'));
const { createOptimizer } = await import(path.join(root, 'src/optim/index.ts'));

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

// ---------------------------------------------------------------- alignkit
let t0 = performance.now();
const model = buildGpt2({ vocabSize: SHAPE.vocab, nPositions: SHAPE.seq, nEmbd: SHAPE.dim, nLayer: SHAPE.layers, nHead: SHAPE.heads, layerNormEpsilon: 1e-5 }, { kind: 'lm' }, 0);
const prep = prepareCausalLmTraining(model, { loss: 'next-token' });
const buildMs = performance.now() - t0;
t0 = performance.now();
const trainer = await Trainer.create({ training: prep.training, source: prep.forward, optimizer: createOptimizer('adamw'), session: { intraOpThreads: 2 } });
const sessionMs = performance.now() - t0;
const ids = new BigInt64Array(tokensPerStep);
for (let i = 0; i < ids.length; i++) ids[i] = BigInt((i * 2654435761) % SHAPE.vocab);
const batch = {
  input_ids: { dtype: 'int64', dims: [SHAPE.batch, SHAPE.seq], data: ids },
  attention_mask: { dtype: 'int64', dims: [SHAPE.batch, SHAPE.seq], data: new BigInt64Array(tokensPerStep).fill(1n) },
};
async function oursSteps(n) {
  const ms = [];
  for (let i = 0; i < n; i++) {
    const s = performance.now();
    await trainer.evaluate(batch);
    ms.push(performance.now() - s);
  }
  return ms;
}

// ---------------------------------------------------------------- torch peer
const torch = startTorchPeer(path.join(here, 'torch_step.py'), [SHAPE.vocab, SHAPE.dim, SHAPE.layers, SHAPE.heads, SHAPE.batch, SHAPE.seq]);
const python = torch?.python;

// ---------------------------------------------------------------- alternating rounds
await oursSteps(2); // warm-up: first runs allocate onnxruntime's arenas
if (torch) await torch.steps(2);
const ours = [];
const theirs = [];
let torchRssKb = 0;
for (let r = 0; r < ROUNDS; r++) {
  ours.push(...(await oursSteps(STEPS)));
  if (torch) {
    const t = await torch.steps(STEPS);
    theirs.push(...t.ms);
    torchRssKb = t.maxRssKb;
  }
}
torch?.close();
await trainer.release();

const oursMs = median(ours);
const result = {
  shape: SHAPE,
  trainable: prep.trainable.length,
  trainingGraphNodes: prep.training.model.graph.nodes.length,
  buildMs: Math.round(buildMs),
  sessionMs: Math.round(sessionMs),
  alignkit: { medianMs: +oursMs.toFixed(1), tokensPerSec: Math.round((tokensPerStep / oursMs) * 1000), peakRssMb: Math.round(process.resourceUsage().maxRSS / 1024) },
  torch: torch
    ? { medianMs: +median(theirs).toFixed(1), tokensPerSec: Math.round((tokensPerStep / median(theirs)) * 1000), peakRssMb: Math.round(torchRssKb / 1024), python }
    : 'not available (python3 -c "import torch" failed)',
  ratio: torch ? +(median(theirs) / oursMs).toFixed(2) : null,
  samples: ours.length,
};
if (args.json) console.log(JSON.stringify(result));
else {
  console.log(`GPT-2 shape d=${SHAPE.dim} L=${SHAPE.layers} H=${SHAPE.heads} V=${SHAPE.vocab} B=${SHAPE.batch} T=${SHAPE.seq}, forward+backward, ${ours.length} steps each, medians`);
  console.log(`alignkit: ${result.alignkit.medianMs} ms/step, ${result.alignkit.tokensPerSec} tokens/s, peak RSS ${result.alignkit.peakRssMb} MB (graph ${result.trainingGraphNodes} nodes, built in ${result.buildMs} ms, session ${result.sessionMs} ms)`);
  if (torch) {
    console.log(`torch eager: ${result.torch.medianMs} ms/step, ${result.torch.tokensPerSec} tokens/s, peak RSS ${result.torch.peakRssMb} MB`);
    console.log(`ratio (alignkit tokens/s over torch): ${result.ratio}x`);
  } else console.log(`torch: ${result.torch}`);
}
