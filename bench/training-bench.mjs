// The training benches' driver (bench/train-step: next-token loss; bench/dpo: the DPO loss): alignkit
// (bench/alignkit-peer.mjs) and PyTorch eager (bench/torch_peer.py) as two child processes built from
// the same shape, checked against each other once (loss and every gradient, on alignkit's weights and
// batch), then timed in alternating rounds so the machine's drift cancels (../shared/DESIGN.md), each
// timing at least --min-seconds long, medians compared. Printed: the machine (CPU, ISA, load), the
// peer's configuration (OpenBLAS kernel and threads), start-up (spawn to built) and the first two
// steps apart from the steady state, whole-process time, peak RSS of each process, and the ratio;
// the handicapped torch reading (OpenBLAS pinned, as the environment may set it) only as a second line.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { describeMachine, loadAverage, loadLine, machine, mb, median } from './machine.mjs';
import { environmentPin, startPeer, startTorchPeer } from './torch-peer.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));

/** Model shapes by --model; rows x seq is the micro-batch (DPO: rows / 2 pairs). */
export const SHAPES = {
  tiny: { shape: { family: 'gpt2', vocab: 4096, dim: 256, layers: 4, heads: 4, positions: 128 }, rows: 8, seq: 128, label: 'tiny GPT-2 (V 4096, d 256, 4 layers, 4 heads)' },
  'gpt2-small': { shape: { family: 'gpt2', vocab: 50257, dim: 768, layers: 12, heads: 12, positions: 1024 }, rows: 2, seq: 128, label: 'GPT-2-small (V 50257, d 768, 12 layers, 12 heads)' },
  // Qwen2.5-0.5B's config: GQA (14 query, 2 key/value heads), RoPE theta 1e6, RMSNorm, SiLU MLP, q/k/v biases, tied head.
  'qwen-0.5b': {
    shape: { family: 'llama', vocab: 151936, dim: 896, intermediate: 4864, layers: 24, heads: 14, kvHeads: 2, ropeTheta: 1e6, eps: 1e-6, attentionBias: true },
    rows: 2, seq: 512, label: 'Qwen2.5-0.5B shape (V 151936, d 896, 24 layers, 14/2 GQA heads, MLP 4864)',
  },
};

const OPTIONS = {
  model: { type: 'string', default: 'tiny' },
  mode: { type: 'string', default: 'adamw' },
  train: { type: 'string', default: 'full' },
  rows: { type: 'string' },
  seq: { type: 'string' },
  prompt: { type: 'string' },
  rounds: { type: 'string', default: '5' },
  'min-seconds': { type: 'string', default: '1' },
  'lora-rank': { type: 'string', default: '8' },
  pinned: { type: 'string' },
  'no-torch': { type: 'boolean', default: false },
  'no-check': { type: 'boolean', default: false },
  gemm: { type: 'boolean', default: false },
  foreach: { type: 'boolean', default: false },
  'no-arena': { type: 'boolean', default: false },
  'no-ort-arena': { type: 'boolean', default: false },
  'no-memory-reuse': { type: 'boolean', default: false },
  binding: { type: 'string', default: 'c-api' },
  recompute: { type: 'boolean', default: false },
  dist: { type: 'boolean', default: false },
  threads: { type: 'string', default: '2' },
  'optim-threads': { type: 'string' },
  spinning: { type: 'string', default: 'during-run' },
  json: { type: 'boolean', default: false },
};

/** Steps until `minMs` have passed, as one timing: the mean step time of the batch. */
async function timing(peer, n) {
  const r = await peer.request({ op: 'steps', n });
  const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
  return {
    ms: mean(r.ms), all: r.ms, maxRssKb: r.maxRssKb, optimizerMs: r.optimizerMs?.length ? mean(r.optimizerMs) : undefined, kernels: r.kernels,
    runMs: r.runMs?.length ? mean(r.runMs) : undefined, faults: r.faults?.length ? mean(r.faults) : undefined,
  };
}

/**
 * Loss and every gradient of one run on alignkit's weights and batch, in both. For DPO the reference
 * sums are set from torch's policy sums on those weights, offset by -/+0.5 for chosen/rejected, so the
 * loss sits near ln 2 where its gradients are not saturated to zero.
 */
async function gradientCheck(ours, torch, task) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'alignkit-bench-check-'));
  try {
    await ours.request({ op: 'export', dir });
    let reference;
    if (task === 'dpo') {
      const { sums } = await torch.request({ op: 'sums', dir });
      reference = sums.map((x, i) => x + (i < sums.length / 2 ? -0.5 : 0.5));
    }
    await ours.request({ op: 'check', dir, reference });
    return await torch.request({ op: 'check', dir });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Alternate ours and theirs for `rounds` timings each; load average sampled every round. */
async function alternate(ours, theirs, rounds, n) {
  const a = [];
  const b = [];
  const loads = [];
  const rss = { ours: 0, theirs: 0 };
  const optimizer = [];
  let kernels;
  for (let r = 0; r < rounds; r++) {
    const x = await timing(ours, n);
    const y = await timing(theirs, n);
    a.push(x.ms);
    b.push(y.ms);
    if (x.optimizerMs !== undefined) optimizer.push(x.optimizerMs);
    kernels = x.kernels;
    rss.ours = x.maxRssKb;
    rss.theirs = y.maxRssKb;
    loads.push(loadAverage()[0]);
  }
  return { ours: a, theirs: b, loads, rss, optimizer, kernels };
}

function describePeer(hello) {
  if (!hello.core) return `PyTorch ${hello.torch}, ${hello.blas}`;
  const env = Object.entries(hello.env).filter(([k]) => k.startsWith('OPENBLAS')).map(([k, v]) => `${k}=${v ?? 'unset'}`).join(', ');
  return `PyTorch ${hello.torch} eager, OpenBLAS kernel ${hello.core} (${env}), ${hello.threads} torch threads / ${hello.blasThreads} BLAS threads, OMP_WAIT_POLICY=${hello.env.OMP_WAIT_POLICY}`;
}

/** --spinning: onnxruntime's intra-op spinning during runs only (the Trainer's default), always on, or off. */
function spinningFlag(value) {
  const modes = { 'during-run': 'during-run', on: true, off: false };
  if (!Object.hasOwn(modes, value)) throw new Error(`--spinning ${value}: one of ${Object.keys(modes).join(', ')}`);
  return modes[value];
}

/** --dist measures the built package: refuse a dist/ older than a source file (it would measure other code). */
function checkDistFresh() {
  const root = path.resolve(here, '..');
  const newest = (dir) => fs.readdirSync(dir, { recursive: true }).map((f) => path.join(dir, String(f))).filter((f) => fs.statSync(f).isFile()).reduce((m, f) => Math.max(m, fs.statSync(f).mtimeMs), 0);
  const built = fs.existsSync(path.join(root, 'dist')) ? newest(path.join(root, 'dist')) : 0;
  if (built < newest(path.join(root, 'src'))) throw new Error('--dist: dist/ is missing or older than src/; run `npm run build` first');
}

/**
 * alignkit's start-up by phase, each as wall / CPU ms and fresh pages (minor page faults, 4 KiB each
 * unless the allocation got huge pages): where the time before the steady state goes.
 */
function startUpPhases(phases, first, second) {
  const f = (wall, cpu, faults) => `${wall.toFixed(0)}${cpu === undefined ? '' : ` / ${cpu.toFixed(0)}`} ms${faults === undefined ? '' : `, ${(faults / 1000).toFixed(0)} k faults`}`;
  const parts = phases.map((p) => `${p.name} ${f(p.wallMs, p.cpuMs, p.faults)}`);
  const step = (label, s) => `${label} ${f(s.ms, undefined, s.faults)}${s.runMs === undefined ? '' : ` (run ${s.runMs.toFixed(0)}, optimizer ${s.optimizerMs.toFixed(0)})`}`;
  return `alignkit start-up phases (wall / CPU): ${parts.join('; ')}; ${step('first step', first)}; ${step('second step', second)}`;
}

export async function runTrainingBench(task, argv = process.argv.slice(2)) {
  const { values: a } = parseArgs({ args: argv, options: OPTIONS });
  const preset = SHAPES[a.model];
  if (!preset) throw new Error(`--model ${a.model}: one of ${Object.keys(SHAPES).join(', ')}`);
  const mode = task === 'dpo' ? 'adamw' : a.mode;
  const rows = Number(a.rows ?? preset.rows);
  const seq = Number(a.seq ?? preset.seq);
  const config = {
    task, mode, shape: preset.shape, rows, seq, prompt: Number(a.prompt ?? seq / 2), threads: Number(a.threads), foreach: a.foreach,
    lora: a.train === 'lora' ? { rank: Number(a['lora-rank']), alpha: 2 * Number(a['lora-rank']) } : null, profile: a.gemm, arena: !a['no-arena'], ortArena: !a['no-ort-arena'], memoryReuse: !a['no-memory-reuse'], binding: a.binding, recompute: a.recompute, dist: a.dist,
    ...(a['optim-threads'] !== undefined && { optimThreads: Number(a['optim-threads']) }), spinning: spinningFlag(a.spinning),
  };
  if (a.dist) checkDistFresh();
  const tokens = rows * seq;
  const out = { machine: machine(), loadStart: loadAverage(), task, model: a.model, config };
  const log = (s) => !a.json && console.log(s);
  log(describeMachine(out.machine));
  log(`${task === 'dpo' ? `DPO step (${rows / 2} pairs x 2 rows, prompt ${config.prompt}; both sides compute logits from the first response position on, as TRL's use_logits_to_keep)` : 'training step (next-token loss)'}: ${preset.label}, ${rows} x ${seq} tokens, ${a.train === 'lora' ? `LoRA r ${config.lora.rank} on every linear layer` : 'all weights'}, ${mode === 'adamw' ? 'forward + backward + AdamW' : 'forward + backward'}`);

  const ours = await startPeer(process.execPath, [path.join(here, 'alignkit-peer.mjs'), JSON.stringify(config)]);
  const torch = a['no-torch'] ? undefined : await startTorchPeer(path.join(here, 'torch_peer.py'), config);
  out.alignkit = { ...ours.hello, startMs: ours.startMs };
  if (torch) out.torch = { ...torch.hello, startMs: torch.startMs, python: torch.python };
  log(`alignkit (${ours.hello.build === 'dist' ? 'built package, dist/' : 'TypeScript sources through their module hooks; --dist for the built package'}): onnxruntime-node ${ours.hello.onnxruntime}, ${ours.hello.threads} intra-op threads (spinning ${config.spinning === 'during-run' ? 'during runs' : config.spinning ? 'on' : 'off'}), ${ours.hello.optimThreads ? `optimizer on ${ours.hello.optimThreads} thread${ours.hello.optimThreads > 1 ? 's' : ''}, ` : ''}${(ours.hello.trainable / 1e6).toFixed(1)} M trainable, graph ${ours.hello.nodes} nodes${ours.hello.recomputed ? ` (activation recomputation: ${ours.hello.recomputed} forward nodes copied)` : ''}${ours.hello.ortArena === false ? ', onnxruntime CPU arena off' : ''}${ours.hello.memoryReuse === false ? ', freed memory returned to the system' : ''}, ${ours.hello.binding === 'c-api' ? "onnxruntime's C API (gradients written in place, no copies)" : 'onnxruntime-node binding (a copy of every output)'}; model ${ours.hello.cached ? 'loaded from its ONNX file' : 'built and saved'} in ${(ours.hello.loadMs / 1000).toFixed(2)} s, training graph ${(ours.hello.graphMs / 1000).toFixed(2)} s, session ${(ours.hello.sessionMs / 1000).toFixed(2)} s`);
  if (torch) log(`peer: ${describePeer(torch.hello)}, AdamW foreach=${torch.hello.foreach}`);
  else if (!a['no-torch']) log('peer: not available (no python3 that imports torch)');

  // Warm-up, reported apart: the first step allocates (onnxruntime's arena, torch's caching allocator).
  const first = { ours: await timing(ours, 1), torch: torch && (await timing(torch, 1)) };
  const second = { ours: await timing(ours, 1), torch: torch && (await timing(torch, 1)) };
  log(startUpPhases(ours.hello.phases, first.ours, second.ours));
  // Steps per timing so that even the faster side's timing lasts --min-seconds.
  const perTiming = Math.max(1, Math.ceil((Number(a['min-seconds']) * 1000) / Math.min(second.ours.ms, second.torch?.ms ?? Infinity)));
  const rounds = Number(a.rounds);
  let fair;
  if (torch) fair = await alternate(ours, torch, rounds, perTiming);
  else {
    fair = { ours: [], theirs: [], loads: [], rss: { ours: 0 }, optimizer: [] };
    for (let r = 0; r < rounds; r++) {
      const x = await timing(ours, perTiming);
      fair.ours.push(x.ms);
      if (x.optimizerMs !== undefined) fair.optimizer.push(x.optimizerMs);
      fair.kernels = x.kernels;
      fair.rss.ours = x.maxRssKb;
      fair.loads.push(loadAverage()[0]);
    }
  }
  const oursMs = median(fair.ours);
  const torchMs = torch ? median(fair.theirs) : undefined;

  // The check after the timed rounds, so its file reads and writes never count in the peaks reported.
  if (torch && !a['no-check']) {
    out.check = await gradientCheck(ours, torch, task);
    log(`check (alignkit's weights and batch in both): loss ${out.check.lossOurs.toFixed(6)} vs torch ${out.check.lossTorch.toFixed(6)} (rel ${out.check.lossRelErr.toExponential(1)}); gradients max |diff| / max |g| ${out.check.gradMaxRelErr.toExponential(1)} over ${out.check.tensors} tensors (worst ${out.check.worstTensor})`);
  }
  if (a.gemm) {
    // The peak is taken right before and right after the profiled step (and OpenBLAS's after that),
    // so a change of the machine's load between them shows as a spread instead of a false percentage.
    const sgemm = async (peer) => ({ ...(await peer.request({ op: 'sgemm', n: 2048, seconds: 1 })), load: loadAverage()[0] });
    const before = await sgemm(ours);
    out.gemm = { ...(await ours.request({ op: 'gemm' })), load: loadAverage()[0] };
    const after = await sgemm(ours);
    out.sgemm = { onnxruntime: before.gflops >= after.gflops ? before : after, onnxruntimeRuns: [before, after], openblas: torch && (await sgemm(torch)) };
  }
  let pinnedResult;
  const pin = a.pinned ?? environmentPin();
  if (torch) await torch.close();
  if (torch && pin) {
    const pinned = await startTorchPeer(path.join(here, 'torch_peer.py'), config, { pinned: pin });
    await timing(pinned, 1);
    await timing(pinned, 1);
    const r = await alternate(ours, pinned, Math.max(3, Math.ceil(rounds / 2)), perTiming);
    pinnedResult = { core: pinned.hello.core, oursMs: median(r.ours), torchMs: median(r.theirs), loads: r.loads };
    await pinned.close();
  }
  await ours.close();

  const side = (peer, f, s, steady, peakKb, all) => ({
    startMs: peer.startMs, firstStepMs: f.ms, secondStepMs: s.ms, steadyMs: steady, tokensPerSec: (tokens / steady) * 1000,
    peakRssMb: mb(peakKb),
    // Whole process: spawn to built, then every step it ran (warm-up, check excluded, timed rounds).
    wholeProcessMs: peer.startMs + f.ms + s.ms + all.reduce((x, y) => x + y, 0) * perTiming,
    startUpMs: peer.startMs + f.ms,
  });
  out.rounds = { count: rounds, stepsPerTiming: perTiming, loads: fair.loads };
  out.alignkit = { ...out.alignkit, ...side(ours, first.ours, second.ours, oursMs, fair.rss.ours, fair.ours), samplesMs: fair.ours };
  if (fair.optimizer.length) out.alignkit.optimizer = { medianMs: median(fair.optimizer), shareOfStep: median(fair.optimizer) / oursMs, kernels: fair.kernels };
  if (torch) {
    out.torch = { ...out.torch, ...side(torch, first.torch, second.torch, torchMs, fair.rss.theirs, fair.theirs), samplesMs: fair.theirs };
    out.ratio = torchMs / oursMs;
    out.rssRatio = out.alignkit.peakRssMb / out.torch.peakRssMb;
  }
  if (pinnedResult) out.pinned = { ...pinnedResult, ratio: pinnedResult.torchMs / pinnedResult.oursMs };
  out.loadEnd = loadAverage();

  if (a.json) {
    console.log(JSON.stringify(out));
    return out;
  }
  const row = (label, x, y, fmt) => log(`  ${label.padEnd(44)} ${fmt(x).padStart(14)} ${y === undefined ? '' : fmt(y).padStart(14)}`);
  const ms = (v) => `${v.toFixed(v < 100 ? 1 : 0)} ms`;
  log(`  ${''.padEnd(44)} ${'alignkit'.padStart(14)} ${torch ? 'torch'.padStart(14) : ''}`);
  row('start-up: spawn to built', out.alignkit.startMs, out.torch?.startMs, ms);
  row('first step', out.alignkit.firstStepMs, out.torch?.firstStepMs, ms);
  row('second step', out.alignkit.secondStepMs, out.torch?.secondStepMs, ms);
  row('start-up + first step', out.alignkit.startUpMs, out.torch?.startUpMs, ms);
  row(`steady step (median of ${rounds} timings x ${perTiming} steps)`, oursMs, torchMs, ms);
  row('tokens/s', out.alignkit.tokensPerSec, out.torch?.tokensPerSec, (v) => v.toFixed(0));
  row('peak RSS (through the timed steps)', out.alignkit.peakRssMb, out.torch?.peakRssMb, (v) => `${v} MB`);
  row('whole process (start-up + all steps)', out.alignkit.wholeProcessMs, out.torch?.wholeProcessMs, (v) => `${(v / 1000).toFixed(1)} s`);
  if (out.alignkit.optimizer) log(`alignkit optimizer update (${out.alignkit.optimizer.kernels.map((k) => k || 'TypeScript path').join(', ')}): ${ms(out.alignkit.optimizer.medianMs)}, ${(100 * out.alignkit.optimizer.shareOfStep).toFixed(1)}% of the step`);
  if (torch) log(`ratio: alignkit ${out.ratio.toFixed(2)}x torch's throughput; peak RSS ${out.rssRatio.toFixed(2)}x torch's`);
  if (pinnedResult) log(`second line, handicapped peer (OPENBLAS_CORETYPE=${pin}, kernel ${pinnedResult.core}): torch ${ms(pinnedResult.torchMs)} vs alignkit ${ms(pinnedResult.oursMs)}: ${out.pinned.ratio.toFixed(2)}x`);
  if (out.gemm) {
    const peak = Math.max(out.sgemm.onnxruntime.gflops, out.sgemm.openblas?.gflops ?? 0);
    log(`GEMM: the step's matrix products ${out.gemm.productGflop.toFixed(1)} GFLOP in ${out.gemm.productMs.toFixed(0)} ms = ${out.gemm.productGflops.toFixed(0)} GFLOP/s (${((100 * out.gemm.productMs) / out.gemm.runMs).toFixed(0)}% of the run; whole run ${out.gemm.wholeRunGflops.toFixed(0)} GFLOP/s)`);
    const runs = out.sgemm.onnxruntimeRuns.map((r) => `${r.gflops_inputs.toFixed(0)} / ${r.gflops_initializer.toFixed(0)} (load ${r.load.toFixed(2)})`).join(' before, ');
    log(`      sgemm 2048^2 on ${config.threads} threads in this run, onnxruntime B as input / as initializer: ${runs} after the profiled step (load ${out.gemm.load.toFixed(2)}); OpenBLAS ${out.sgemm.openblas ? `${out.sgemm.openblas.gflops.toFixed(0)} (load ${out.sgemm.openblas.load.toFixed(2)})` : 'n/a'} GFLOP/s`);
    const share = out.gemm.productGflops / peak;
    log(`      products at ${(100 * share).toFixed(0)}% of the peak ${peak.toFixed(0)} GFLOP/s${share > 1 ? ' - NOT COMPARABLE: the load changed between the step and the peak measurements' : ''}`);
    log('      slowest product shapes (time in the step, GFLOP/s in the step, GFLOP/s of the same product alone in its own session):');
    for (const s of out.gemm.slowest) log(`      ${s.ms.toFixed(1).padStart(7)} ms ${s.gflops.toFixed(0).padStart(4)} GFLOP/s (alone ${s.standaloneGflops.toFixed(0).padStart(4)}) x${s.n} ${s.shape}`);
  }
  log(`${loadLine()} at the end; 1-minute load during the rounds ${Math.min(...fair.loads, Infinity).toFixed(2)}-${Math.max(...fair.loads, 0).toFixed(2)}`);
  return out;
}
