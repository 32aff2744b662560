#!/usr/bin/env node
// bench/gpu: how much faster (or slower) `--device webgpu` is than onnxruntime-node on the CPU, on
// this machine's adapter, for the three things alignkit does with models: scoring with a reward
// model, KV-cached greedy decoding, and a DPO training step (forward, loss, backward and the AdamW
// update; on the device in one graph with parameters and state on the GPU). Both sides run in one
// process and alternate round by round; medians are reported, after warm-up runs that exclude the
// GPU's shader compilation. The CPU side uses --threads (default: the machine's cores).
//
//   node bench/gpu/run.mjs [--adapter auto|N|NAME] [--rm DIR] [--lm DIR] [--rounds 5] [--batch 8]
//                          [--tokens 32] [--seq 64] [--threads N] [--json]
import fs from 'node:fs';
import { register } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

register('../../src/dev/ts-source-hooks.mjs', import.meta.url);
const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../..');

const { values: args } = parseArgs({
  options: {
    adapter: { type: 'string', default: 'auto' }, rm: { type: 'string', default: path.join(root, 'data/models/alignkit-rm') },
    lm: { type: 'string', default: path.join(root, 'data/models/alignkit-base') }, rounds: { type: 'string', default: '5' },
    batch: { type: 'string', default: '8' }, tokens: { type: 'string', default: '32' }, seq: { type: 'string', default: '64' },
    threads: { type: 'string', default: String(os.cpus().length) }, json: { type: 'boolean', default: false },
  },
});
const ROUNDS = Number(args.rounds);
const B = Number(args.batch);
const NEW_TOKENS = Number(args.tokens);
const SEQ = Number(args.seq);

const { SequenceClassifier, CausalLM } = await import(path.join(root, 'src/models/index.ts'));
const { generate } = await import(path.join(root, 'src/generate/index.ts'));
const { loadModel, formatAdapter } = await import(path.join(root, 'src/graph/index.ts'));
const { createLoss } = await import(path.join(root, 'src/losses/index.ts'));
const { createOptimizer } = await import(path.join(root, 'src/optim/index.ts'));
const { Trainer, DeviceTrainer } = await import(path.join(root, 'src/train/index.ts'));
const { buildBatch, buildRunGraph, rowGroupsFor, RUN_DEFAULTS } = await import(path.join(root, 'src/train/run/index.ts'));
const { isAlignkitError } = await import(path.join(root, 'src/errors.ts'));

const cpu = { intraOpThreads: Number(args.threads) };
const gpu = { provider: 'webgpu', adapter: args.adapter };
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const loadAvg = () => os.loadavg().map((x) => x.toFixed(2)).join(' ');

function cpuLine() {
  const info = fs.existsSync('/proc/cpuinfo') ? fs.readFileSync('/proc/cpuinfo', 'utf8') : '';
  const flags = /^flags\s*:(.*)$/m.exec(info)?.[1].split(/\s+/) ?? [];
  const isa = ['avx2', 'avx512f'].filter((f) => flags.includes(f)).join(', ') || 'no avx2';
  return `${os.cpus()[0]?.model ?? 'unknown CPU'} (${isa}), ${os.cpus().length} cores`;
}

/** Alternate the CPU and GPU sides round by round; each round times `once` and returns its work units. */
async function compare(name, unit, sides) {
  for (const s of sides) for (let i = 0; i < 2; i++) await s.once(); // warm-up: arenas, GPU shader compilation
  const rates = sides.map(() => []);
  for (let r = 0; r < ROUNDS; r++)
    for (const [i, s] of sides.entries()) {
      const t0 = performance.now();
      const work = await s.once();
      rates[i].push(work / ((performance.now() - t0) / 1000));
    }
  const [c, g] = rates.map(median);
  return { name, unit, cpu: c, webgpu: g, ratio: g / c };
}

// ---------------------------------------------------------------- workloads
const words = 'the quick brown fox jumps over a lazy dog while seven wizards quietly judge each boxing match'.split(' ');
const text = (n, seed) => Array.from({ length: n }, (_, i) => words[(seed * 7 + i * 3) % words.length]).join(' ');

async function scoring() {
  const items = Array.from({ length: B }, (_, i) => ({ prompt: `Human: ${text(12, i)}?\n\nAssistant:`, response: ` ${text(SEQ / 2, i + 1)}.` }));
  const models = [await SequenceClassifier.load(args.rm, { session: cpu }), await SequenceClassifier.load(args.rm, { session: gpu })];
  const r = await compare(`score ${path.basename(args.rm)} (${B} items)`, 'items/s', models.map((m) => ({ once: async () => (await m.score(items, { truncate: true })).length })));
  await Promise.all(models.map((m) => m.session.release()));
  return r;
}

async function decoding() {
  const models = [await CausalLM.load(args.lm, { session: cpu }), await CausalLM.load(args.lm, { session: gpu })];
  const prompts = Array.from({ length: Math.min(B, 4) }, (_, i) => models[0].tokenizer.encode(`${text(8, i)}`));
  const cfg = { sampler: 'greedy', maxNewTokens: NEW_TOKENS, stopAtEos: false };
  const r = await compare(`decode ${path.basename(args.lm)} (${prompts.length} rows x ${NEW_TOKENS} tokens, KV cache)`, 'tokens/s', models.map((m) => ({
    once: async () => (await generate(m, m.tokenizer, prompts, cfg)).reduce((a, row) => a + row.tokens.length, 0),
  })));
  await Promise.all(models.map((m) => m.session.release()));
  return r;
}

async function training() {
  const source = loadModel(path.join(args.lm, 'onnx/model.onnx'));
  const loss = createLoss('dpo');
  const groups = rowGroupsFor(loss, 'causal-lm');
  const rows = 2;
  const graph = buildRunGraph(source, { role: 'causal-lm', loss, groups, rows, train: 'full', lora: RUN_DEFAULTS.lora, seed: 0 });
  const vocab = source.graph.initializers.get([...source.graph.initializers.keys()].find((k) => /wte/.test(k)))?.dims[0] ?? 500;
  const ids = (n, seed) => Array.from({ length: n }, (_, i) => (seed * 131 + i * 17) % vocab);
  const items = Array.from({ length: rows }, (_, i) => ({ id: String(i), prompt: ids(SEQ / 4, i), responses: [ids((3 * SEQ) / 4, i + 10), ids((3 * SEQ) / 4, i + 20)] }));
  const reference = new Map(groups.filter((g) => g.reference).map((g) => [g.reference, Float64Array.from(items, () => -100)]));
  const batch = buildBatch({ forward: graph.forward, items, groups, loss, fed: graph.fedInputs, reference, padId: 0 }, [0, 1], {});
  const opt = () => createOptimizer('adamw', { lr: 1e-5 });
  const trainers = [
    await Trainer.create({ training: graph.training, source: graph.forward, optimizer: opt(), session: cpu }),
    await DeviceTrainer.create({ training: graph.training, source: graph.forward, optimizer: opt(), session: gpu }),
  ];
  const r = await compare(`train DPO step ${path.basename(args.lm)} (${2 * rows} sequences x ${SEQ} tokens, AdamW)`, 'tokens/s', trainers.map((t) => ({
    once: async () => {
      await t.step([batch.feeds]);
      return batch.tokens;
    },
  })));
  await Promise.all(trainers.map((t) => t.release()));
  return r;
}

// ---------------------------------------------------------------- run
const started = loadAvg();
let adapterLine;
try {
  const probe = await SequenceClassifier.load(args.rm, { session: gpu });
  adapterLine = formatAdapter(probe.session.device.adapter);
  await probe.session.release();
} catch (e) {
  if (!isAlignkitError(e)) throw e;
  console.error(`bench/gpu: ${e.message}`);
  process.exit(1);
}
const results = [];
for (const w of [scoring, decoding, training]) results.push(await w());
const header = [
  `bench/gpu: WebGPU adapter ${adapterLine}`,
  `CPU: ${cpuLine()}; onnxruntime-node with ${cpu.intraOpThreads} intra-op threads; node ${process.version}`,
  `load average at start ${started}, at end ${loadAvg()}; medians of ${ROUNDS} alternating rounds after 2 warm-up runs each`,
];
if (args.json) console.log(JSON.stringify({ adapter: adapterLine, cpu: cpuLine(), loadStart: started, loadEnd: loadAvg(), results }, null, 2));
else {
  const w = Math.max(...results.map((r) => r.name.length));
  const fmt = (x) => (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2)).padStart(10);
  console.log([...header, '', `${'workload'.padEnd(w)}  ${'unit'.padEnd(8)}  ${'cpu'.padStart(10)}  ${'webgpu'.padStart(10)}  webgpu/cpu`,
    ...results.map((r) => `${r.name.padEnd(w)}  ${r.unit.padEnd(8)}  ${fmt(r.cpu)}  ${fmt(r.webgpu)}  ${r.ratio.toFixed(3)}x`)].join('\n'));
}
