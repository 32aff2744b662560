#!/usr/bin/env node
// alignkit's side of the training benches (bench/train-step, bench/dpo), a child process that
// speaks bench/torch_peer.py's protocol so both sides are measured the same way (start-up, peak RSS
// of their own process, steps on request). argv[2] is the bench's JSON config.
//
// The model is the project's builder output (src/models/fixtures) saved once as an ONNX file with
// external data in the OS temp dir and loaded from there, as a user loads an exported model; the
// training graph is built from it as the training run builds it: `next-token` through
// prepareCausalLmTraining, `dpo` through the run's buildRunGraph + buildBatch. Ops: steps (one
// Trainer step each: forward+backward, plus the optimizer in mode `adamw`), export (weights, batch,
// loss and gradients for the torch peer's check), sgemm (onnxruntime MatMul peak), gemm (one
// profiled step's matrix-product GFLOP/s), exit.
import fs from 'node:fs';
import { register } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** Start-up phases: wall and CPU time (ms) and minor page faults (fresh pages), each since the previous mark. */
const phases = [];
let last = { wall: 0, cpu: 0, faults: 0 };
function mark(name) {
  const u = process.resourceUsage();
  const now = { wall: performance.now(), cpu: (u.userCPUTime + u.systemCPUTime) / 1000, faults: u.minorPageFault };
  phases.push({ name, wallMs: now.wall - last.wall, cpuMs: now.cpu - last.cpu, faults: now.faults - last.faults });
  last = now;
}
// Node.js start up to this module's first line (performance.now() counts from the process's start).
mark('node');

const CFG = JSON.parse(process.argv[2]);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
// --dist: the built package (`npm run build`), what `alignkit` runs; else the TypeScript sources
// through their module hooks, whose transpiling and hook thread add to the imports phase.
if (!CFG.dist) register('../src/dev/ts-source-hooks.mjs', import.meta.url);
const src = (p) => import(CFG.dist ? path.join(root, 'dist', p.replace(/\.ts$/, '.js')) : path.join(root, 'src', p));

const S = CFG.shape;
const { buildGpt2, buildLlama } = await src('models/fixtures/index.ts');
const { loadModel, saveModel, Session } = await src('graph/index.ts');
const { weightInitializers } = await src('graph/rewrites/index.ts');
const { prepareCausalLmTraining, Trainer, trainableValues, buildRunGraph, buildBatch, rowGroupsFor } = await src('train/index.ts');
const { createLoss } = await src('losses/index.ts');
const { recomputeActivations } = await src('graph/autodiff/index.ts');
const { createOptimizer, trainingArena } = await src('optim/index.ts');
const { matmulProfile, standaloneGflops } = await import('./gemm-profile.mjs');
const { servePeer } = await import('./torch-peer.mjs');
mark('imports');

const BUILDERS = {
  gpt2: (s) => buildGpt2({ vocabSize: s.vocab, nPositions: s.positions, nEmbd: s.dim, nLayer: s.layers, nHead: s.heads, layerNormEpsilon: s.eps ?? 1e-5 }, { kind: 'lm' }, 0),
  llama: (s) => buildLlama({
    vocabSize: s.vocab, hiddenSize: s.dim, intermediateSize: s.intermediate, numLayers: s.layers, numHeads: s.heads, numKvHeads: s.kvHeads,
    ropeTheta: s.ropeTheta, rmsNormEps: s.eps, attentionBias: s.attentionBias, tieWordEmbeddings: true,
  }, 0),
};

/**
 * The model file, built by the project's builder on first use and loaded from disk after. Training
 * all weights through the arena, the file's weights are read straight into a training arena sized
 * from the files (their bytes bound the float values), and the trainer adopts them: no second
 * model-sized copy (see the start-up phases' page faults).
 */
// --optim-threads N: the arena's kernel threads (default: the arena's, 2 on two cores or more).
const arenaOptions = CFG.optimThreads ? { threads: CFG.optimThreads } : {};

function loadOrBuild() {
  const key = Object.entries(S).map(([k, v]) => `${k}${v}`).join('-');
  const file = path.join(os.tmpdir(), 'alignkit-bench-models', key, 'model.onnx');
  if (fs.existsSync(file)) {
    const bound = (fs.statSync(file).size + fs.statSync(`${file}_data`).size) / 4;
    const arena = CFG.arena && !CFG.lora ? trainingArena(bound, undefined, arenaOptions) : undefined;
    return { model: loadModel(file, arena ? { allocator: arena } : {}), cached: true, arena };
  }
  const model = BUILDERS[S.family](S);
  saveModel(model, file, { externalData: true });
  return { model, cached: false };
}

const t0 = performance.now();
const { model, cached, arena: loadedInto } = loadOrBuild();
const loadMs = performance.now() - t0;
mark(cached ? 'model file' : 'model build');
const lora = CFG.lora ? { rank: CFG.lora.rank, alpha: CFG.lora.alpha, targets: 'all-linear', seed: 0 } : undefined;
const rows = CFG.rows;
const T = CFG.seq;
let training;
let forward;
let metrics;
let makeBatch;
let reference;
let setReference;
const ids = new BigInt64Array(rows * T);
for (let i = 0; i < ids.length; i++) ids[i] = BigInt((i * 2654435761) % S.vocab);
if (CFG.task === 'next-token') {
  const prep = prepareCausalLmTraining(model, { loss: 'next-token', ...(lora && { lora }) });
  training = prep.training;
  forward = prep.forward;
  const batch = {
    input_ids: { dtype: 'int64', dims: [rows, T], data: ids },
    attention_mask: { dtype: 'int64', dims: [rows, T], data: new BigInt64Array(rows * T).fill(1n) },
  };
  makeBatch = () => batch;
} else {
  // DPO: rows/2 pairs, chosen rows then rejected rows, prompt then response (bench/torch_peer.py batches the same way).
  const loss = createLoss('dpo');
  const groups = rowGroupsFor(loss, 'causal-lm');
  const pairs = rows / 2;
  const graph = buildRunGraph(model, { role: 'causal-lm', loss, groups, rows: pairs, train: lora ? 'lora' : 'full', lora: { rank: CFG.lora?.rank ?? 8, alpha: CFG.lora?.alpha ?? 16, targets: 'all-linear' }, seed: 0 });
  training = graph.training;
  forward = graph.forward;
  metrics = Object.values(graph.metricOutputs);
  const token = (r, t) => Number(ids[r * T + t]);
  const items = Array.from({ length: pairs }, (_, i) => ({
    id: String(i),
    prompt: Array.from({ length: CFG.prompt }, (_, t) => token(i, t)),
    responses: [0, 1].map((side) => Array.from({ length: T - CFG.prompt }, (_, t) => token(side * pairs + i, CFG.prompt + t))),
  }));
  reference = new Map(groups.map((g, gi) => [g.reference, Float64Array.from(items, (_, i) => -300 - ((gi * pairs + i) % 7) / 7)]));
  const ctx = { forward, items, groups, loss, fed: graph.fedInputs, reference, padId: 0 };
  let batch = buildBatch(ctx, items.map((_, i) => i), {}).feeds;
  makeBatch = () => batch;
  // The check sets the reference sums (chosen rows then rejected rows) so the DPO margin is moderate.
  setReference = (sums) => {
    groups.forEach((g, gi) => reference.set(g.reference, Float64Array.from(items, (_, i) => sums[gi * pairs + i])));
    batch = buildBatch(ctx, items.map((_, i) => i), {}).feeds;
  };
}
// --recompute: activation recomputation rewrite (src/graph/autodiff/recompute.ts).
if (CFG.recompute) training = recomputeActivations(training);
const graphMs = performance.now() - t0 - loadMs;
mark('training graph');
// Parameters, gradients and AdamW's state in one WebAssembly memory (the fused kernel's path), unless --no-arena.
const arena = loadedInto ?? (CFG.arena ? trainingArena(trainableValues(training, forward), undefined, arenaOptions) : undefined);
const optimizer = createOptimizer('adamw', { lr: 1e-4 }, arena ? { arena } : {});
const trainer = await Trainer.create({ training, source: forward, optimizer, allocator: arena, shareSource: true, prepareOptimizer: CFG.mode === 'adamw', reuseFreedMemory: CFG.memoryReuse !== false, ...(metrics && { metrics }), session: { binding: CFG.binding ?? 'c-api', intraOpThreads: CFG.threads ?? 2, ...(CFG.spinning !== undefined && { allowSpinning: CFG.spinning }), ...(CFG.ortArena === false && { memoryArena: false }), ...(CFG.profile && { profile: path.join(os.tmpdir(), `alignkit-bench-profile-${process.pid}`) }) } });
const sessionMs = performance.now() - t0 - loadMs - graphMs;
mark('session');

const step = CFG.mode === 'adamw' ? () => trainer.step([makeBatch()]) : () => trainer.evaluate(makeBatch());

/** alignkit's exchange format for the torch peer: <stem>.json {name: {dims, offset}} over <stem>.bin (float32 LE). */
function writeTensors(dir, stem, tensors) {
  const index = {};
  const fd = fs.openSync(path.join(dir, `${stem}.bin`), 'w');
  let offset = 0;
  for (const [name, { dims, data }] of tensors) {
    index[name] = { dims, offset };
    fs.writeSync(fd, new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    offset += data.length;
  }
  fs.closeSync(fd);
  fs.writeFileSync(path.join(dir, `${stem}.json`), JSON.stringify(index));
}

// A LoRA adapter of weight W is `W.lora_A` here and the module's `lora_A` in torch (PEFT's naming).
const torchName = (n) => n.replace(/\.weight\.lora_([AB])$/, '.lora_$1');

/** Weights and the ids the session runs on (DPO rows are built from items: a rejected row repeats its pair's prompt). */
function exportWeights(dir) {
  const init = forward.graph.initializers;
  const values = trainer.values();
  const names = [...new Set([...weightInitializers(forward), ...values.keys()])];
  writeTensors(dir, 'weights', names.map((n) => [torchName(n), { dims: init.get(n).dims, data: values.get(n) ?? init.get(n).data }]));
  fs.writeFileSync(path.join(dir, 'meta.json'), JSON.stringify({ ids: Array.from(makeBatch().input_ids.data, Number) }));
  return {};
}

/** Loss and gradients on the exported weights (with `reference` sums for DPO), for the torch peer's check. */
async function exportCheck(dir, sums) {
  if (sums) setReference(sums);
  const r = await trainer.evaluate(makeBatch());
  const init = forward.graph.initializers;
  writeTensors(dir, 'grads', [...r.gradients].map(([n, g]) => [torchName(n), { dims: init.get(n).dims, data: g }]));
  const meta = { loss: r.loss, ids: Array.from(makeBatch().input_ids.data, Number) };
  if (reference) meta.reference = [...reference.values()].flatMap((a) => Array.from(a));
  fs.writeFileSync(path.join(dir, 'meta.json'), JSON.stringify(meta));
  return { loss: r.loss };
}

async function sgemm(n, seconds) {
  const { GraphBuilder } = await src('graph/index.ts');
  const out = {};
  for (const form of ['inputs', 'initializer']) {
    const g = new GraphBuilder({ name: 'sgemm', opset: 17 });
    const a = g.input('a', 'float32', [n, n]);
    const rand = () => Float32Array.from({ length: n * n }, (_, i) => ((i * 7919) % 1000) / 1000 - 0.5);
    const b = form === 'inputs' ? g.input('b', 'float32', [n, n]) : g.initializer('b', rand(), [n, n]);
    g.output(g.matMul(a, b), 'c', 'float32', [n, n]);
    const s = await Session.create(g.toModel(), { intraOpThreads: CFG.threads ?? 2 });
    const feeds = { a: { dtype: 'float32', dims: [n, n], data: rand() } };
    if (form === 'inputs') feeds.b = { dtype: 'float32', dims: [n, n], data: rand() };
    for (let i = 0; i < 2; i++) await s.run(feeds);
    let reps = 0;
    const t = performance.now();
    while (performance.now() - t < seconds * 1000) {
      await s.run(feeds);
      reps++;
    }
    out[form] = (2 * n ** 3 * reps) / ((performance.now() - t) / 1000) / 1e9;
    await s.release();
  }
  return { gflops: Math.max(out.inputs, out.initializer), ...Object.fromEntries(Object.entries(out).map(([k, v]) => [`gflops_${k}`, v])) };
}

await servePeer({
  onnxruntime: (await import('onnxruntime-node')).default.env.versions?.common ?? 'unknown', node: process.version,
  threads: CFG.threads ?? 2, loadMs, cached, build: CFG.dist ? 'dist' : 'src', graphMs, sessionMs, buildMs: loadMs + graphMs + sessionMs, phases,
  trainable: trainer.params.reduce((a, p) => a + p.data.length, 0), nodes: training.model.graph.nodes.length, arena: arena !== undefined, optimThreads: arena?.threads, ortArena: CFG.ortArena !== false, memoryReuse: CFG.memoryReuse !== false, binding: trainer.runCopiesOutputs ? 'node' : 'c-api', recomputed: training.recomputedNodes,
}, {
  async steps({ n }) {
    const ms = [];
    const optimizerMs = [];
    const runMs = [];
    const faults = [];
    for (let i = 0; i < n; i++) {
      const f = process.resourceUsage().minorPageFault;
      const s = performance.now();
      const r = await step();
      ms.push(performance.now() - s);
      faults.push(process.resourceUsage().minorPageFault - f);
      if (r.timings) {
        optimizerMs.push(r.timings.optimizerMs);
        runMs.push(r.timings.runMs);
      }
    }
    return { ms, optimizerMs, runMs, faults, kernels: optimizer.kernelNames() };
  },
  export: ({ dir }) => exportWeights(dir),
  check: ({ dir, reference: sums }) => exportCheck(dir, sums),
  sgemm: ({ n, seconds }) => sgemm(n, seconds),
  async gemm() {
    // A fresh step, so the profile's last run is the one timed next to the peak (not the check's).
    await step();
    const profile = matmulProfile(trainer.endProfiling());
    const graph = await src('graph/index.ts');
    for (const p of profile.slowest) p.standaloneGflops = await standaloneGflops(p, graph, CFG.threads ?? 2);
    return profile;
  },
}, () => trainer.release());
