// `alignkit train`: one run from a RunConfig to a trained model directory. The run's stages
// (stages.ts, chosen by its kind and its loss in stage-registry.ts) prepare the examples, run the
// reference pass, shape the model and its forward, and supply what each iteration trains on; this
// loop builds the one training graph, steps the optimizer with metrics, evaluation, checkpoints
// (every K steps, on SIGINT, before a non-finite loss stops the run) and resume, then the Hugging
// Face export with LoRA merged, the stages' export hooks, the model card and the curves. It never
// names a loss or a kind.

import fs from 'node:fs';
import path from 'node:path';
import { fail, isAlignkitError } from '../../errors.js';
import { loadModel, type Model, type Tensor } from '../../graph/index.js';
import { recomputeActivations } from '../../graph/autodiff/index.js';
import { createLoss, type ConfiguredLoss } from '../../losses/index.js';
import { loadModelDir } from '../../models/index.js';
import { createOptimizer, trainingArena, type ScheduleSpec, type WasmArena } from '../../optim/index.js';
import { hasCheckpoint, loadCheckpoint, saveCheckpoint } from '../checkpoint.js';
import { exportHfDirectory } from '../export.js';
import { JsonlMetricsLogger, readMetrics, formatSummaryTable, summarizeMetrics, trainingCurves, writeSvgPlot, TrainingProgress, type MetricsRecord, type StepProgress } from '../report/index.js';
import { trainableValues, type StepResult } from '../trainer.js';
import { createRunTrainer, deviceLine, runSession, syncTrainer } from '../device/run-trainer.js';
import { modelCard } from './card.js';
import { RUN_FILES, RUN_OUTPUTS } from './files.js';
import type { RunConfig } from './config.js';
import type { RunData } from './data.js';
import { GradNormProbe } from './grad-norm.js';
import { buildRunGraph, exportedValues, type RunGraph } from './graph.js';
import { kindSpec } from './kinds.js';
import type { ReferenceResult } from './reference-cache.js';
import { rowGroupsFor } from './segments.js';
import { stagesFor } from './stage-registry.js';
import type { ForwardExtension, RunContext, RunExtras, RunStage } from './stages.js';

/** Files of a run's output directory (files.ts). */
export { RUN_FILES };


export interface RunHooks {
  /** Progress bar stream (default process.stderr; the bar draws only on a TTY). */
  stream?: NodeJS.WritableStream & { isTTY?: boolean };
  /** The run's step progress instead of the terminal bar (the CLI passes its line mode off a terminal); called with the run's length. */
  progress?: (totalSteps: number) => StepProgress;
  /** Called after every step (tests stop runs with it). */
  onStep?(step: number, loss: number): void;
  /** Stop after the current step as SIGINT does (checkpoint saved, no export). */
  shouldStop?(): boolean;
}

export interface RunResult extends RunExtras {
  outDir: string;
  steps: number;
  /** True when stopped by SIGINT / shouldStop before the last step (checkpoint saved, no export). */
  interrupted: boolean;
  /** True when `resume` found the run already finished at this length: nothing ran, nothing was rewritten. */
  alreadyFinished?: boolean;
  /** Step-averaged training loss of the first and last steps run in this process. */
  firstLoss: number;
  lastLoss: number;
  finalEval?: Record<string, number>;
  reference: Omit<ReferenceResult, 'values'>;
  skipped: RunData['skipped'];
  gradientSpikes: number;
  seconds: number;
  /** The end-of-run summary table (the CLI prints it). */
  summary: string;
  /** Trained values by initializer name (LoRA adapters unmerged). */
  values: Map<string, Float32Array>;
  /** The fused kernel each optimizer parameter group ran ('' for the TypeScript path). */
  optimizerKernels: string[];
}

interface ResumeExtra {
  /** The update source's position (offline: the example sampler's; online: the prompt sampler's and the KL controller's). */
  source: unknown;
  state: Record<string, number>;
  probe: ReturnType<GradNormProbe['snapshot']>;
  /** Iterations done (offline: = optimizer steps; online: rollout batches). */
  iteration: number;
}

/** Drop metric lines past the checkpoint (a killed run may have logged steps it did not checkpoint). */
function truncateMetrics(file: string, step: number): void {
  if (!fs.existsSync(file)) return;
  const kept = readMetrics(file).filter((r) => r.step <= step);
  fs.writeFileSync(file, kept.map((r) => `${JSON.stringify(r)}\n`).join(''));
}

function startState(loss: ConfiguredLoss): Record<string, number> {
  return Object.fromEntries(loss.inputs.filter((s) => s.side === 'state').map((s) => [s.name, s.initial ?? 0]));
}

/** The one stage of a run that declares `hook` (an update source, a forward extension); fails naming the stages otherwise. */
function single<K extends 'source' | 'forward'>(stages: readonly RunStage[], hook: K, required: boolean): RunStage | undefined {
  const found = stages.filter((s) => s[hook]);
  if (found.length > 1 || (required && found.length === 0))
    throw fail('ALIGNKIT_ERR_INTERNAL', `a run needs ${required ? 'exactly' : 'at most'} one stage with a ${hook} hook, got ${found.length} (${stages.map((s) => s.name).join(', ')})`, { field: hook });
  return found[0];
}

/**
 * Full fine-tuning on the CPU: a training arena sized from the model's files (their bytes bound the
 * float values they hold), for loadModel to read the external-data weights straight into. The
 * trainer (shareSource) then adopts them as its parameters instead of copying them: one model-sized
 * set of fresh pages and of resident memory less at start-up. Undefined where the arena would not
 * fit one wasm memory, or for LoRA (the base model's weights stay frozen and outside the arena).
 */
function arenaFromFiles(config: RunConfig, onnxFile: string): WasmArena | undefined {
  if (config.train !== 'full' || config.device === 'webgpu') return undefined;
  const size = (f: string) => (fs.existsSync(f) ? fs.statSync(f).size : 0);
  return trainingArena((size(onnxFile) + size(`${onnxFile}_data`)) / 4);
}

/** Phases before the loop: every stage's hook of each phase, in stage order (stages.ts). */
async function prepareRun(config: RunConfig): Promise<{ ctx: RunContext; stages: RunStage[]; source: Model; arena?: WasmArena; extension?: ForwardExtension }> {
  const spec = kindSpec(config.kind);
  const dir = await loadModelDir(config.model);
  const loss = createLoss(config.loss, config.lossHp);
  const groups = rowGroupsFor(loss, spec.model);
  const stages = stagesFor({ spec, loss, groups, config });
  const ctx: RunContext = {
    config, spec, dir, loss, groups, session: runSession(config), data: undefined as unknown as RunData,
    reference: { values: new Map(), computed: false }, referenceKey: {}, startMetrics: {}, notes: [], extras: {}, stages,
  };
  for (const s of stages) await s.prepare?.(ctx);
  for (const s of stages) await s.reference?.(ctx);
  const arena = arenaFromFiles(config, dir.onnxFile);
  let source: Model = loadModel(dir.onnxFile, arena ? { allocator: arena } : {});
  for (const s of stages) if (s.model) source = s.model(ctx, source);
  return { ctx, stages, source, arena, extension: single(stages, 'forward', false)?.forward!(ctx) };
}

/** Mean of each metric over an iteration's optimizer steps. */
function meanOf(results: readonly StepResult[]): { loss: number; metrics: Record<string, number> } {
  const n = results.length;
  const metrics: Record<string, number> = {};
  for (const r of results) for (const [k, v] of Object.entries(r.metrics)) metrics[k] = (metrics[k] ?? 0) + v / n;
  return { loss: results.reduce((a, r) => a + r.loss / n, 0), metrics };
}

export async function runTraining(config: RunConfig, hooks: RunHooks = {}): Promise<RunResult> {
  const started = performance.now();
  const { ctx, stages, source, arena: loadedInto, extension } = await prepareRun(config);
  const { spec, loss, groups, data } = ctx;
  const graph: RunGraph = buildRunGraph(source, { role: spec.model, loss, groups, rows: config.microBatchSize, train: config.train, lora: config.lora, seed: config.seed, extension });
  if (config.recompute) graph.training = recomputeActivations(graph.training);
  const updates = await single(stages, 'source', true)!.source!(ctx);
  const totalSteps = config.steps ?? config.epochs * updates.iterationsPerEpoch;
  const scheduleSteps = totalSteps * updates.stepsPerIteration;
  // Parameters, gradients and optimizer state in one wasm memory, where the fused kernels update them
  // (heap when too large). On a device the update runs in the training graph instead: no arena.
  const arena = loadedInto ?? (config.device === 'webgpu' ? undefined : trainingArena(trainableValues(graph.training, graph.forward)));
  const schedule: ScheduleSpec = { type: config.schedule, warmupSteps: config.warmupSteps, totalSteps: Math.max(scheduleSteps, config.warmupSteps + 1) };
  const probe = new GradNormProbe(
    createOptimizer(config.optimizer, { ...config.optimizerHp, lr: config.lr }, { schedule, arena }),
    config.spikeFactor,
    arena,
  );
  const metricNames = [...Object.values(graph.metricOutputs), ...Object.values(graph.stateOutputs)];
  const trainer = await createRunTrainer({ training: graph.training, source: graph.forward, probe, metrics: metricNames, session: ctx.session, allocator: arena });
  const onDevice = deviceLine(trainer, config.optimizer);
  if (onDevice) (hooks.stream ?? process.stderr).write(`alignkit train: ${onDevice}\n`);
  await updates.bind?.(trainer, graph, schedule);
  let state = startState(loss);
  let iteration = 0;

  fs.mkdirSync(config.output, { recursive: true });
  const ckpt = path.join(config.output, RUN_FILES.checkpoint);
  const metricsFile = path.join(config.output, RUN_FILES.metrics);
  const release = async () => {
    await updates.release?.();
    await trainer.release();
    arena?.close(); // the optimizer's worker threads; the arena's views stay readable for the export
  };
  if (config.resume && hasCheckpoint(ckpt)) {
    let tensors = new Map<string, Tensor>();
    const extra = loadCheckpoint(ckpt, trainer, (t) => (tensors = t)) as unknown as ResumeExtra;
    iteration = extra.iteration ?? trainer.stepCount;
    if (iteration > totalSteps) {
      await release();
      throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `--resume: ${ckpt} is at step ${iteration}, past this run's ${totalSteps} steps (--steps / --epochs); resuming extends a run, it cannot shorten one`, { field: 'steps', value: totalSteps, file: ckpt });
    }
    // A finished run resumed with the same length (a scheduler retrying): nothing to do, nothing rewritten.
    if (iteration === totalSteps && isExported(config.output)) {
      const values = trainer.values();
      await release();
      return finishedRun(ctx, iteration, values, probe, started);
    }
    updates.restore(extra.source);
    updates.restoreTensors?.(tensors);
    state = extra.state;
    probe.restore(extra.probe);
    truncateMetrics(metricsFile, iteration);
  }
  fs.writeFileSync(path.join(config.output, RUN_FILES.config), `${JSON.stringify(config, null, 2)}\n`);
  const logger = new JsonlMetricsLogger(metricsFile, { truncate: iteration === 0 });
  // A source that measures the starting policy (online: the held-out reward and KL before any update) logs it at step 0.
  const startEval = iteration === 0 && config.evalEvery > 0 && updates.evaluatesAtStart ? await updates.evaluate(trainer, state) : undefined;
  if (iteration === 0 && Object.keys({ ...ctx.startMetrics, ...startEval }).length > 0) logger.log({ step: 0, ...ctx.startMetrics, ...startEval });
  if (config.progress) for (const note of ctx.notes) (hooks.stream ?? process.stderr).write(note);
  const save = async () => {
    await syncTrainer(trainer);
    saveCheckpoint(ckpt, trainer, { source: updates.position(), state, probe: probe.snapshot(), iteration } satisfies ResumeExtra as never, updates.tensors?.());
  };

  let interrupted = false;
  const onSigint = () => {
    interrupted = true;
  };
  process.once('SIGINT', onSigint);
  const progress = config.progress ? (hooks.progress?.(totalSteps) ?? new TrainingProgress({ totalSteps, stream: hooks.stream })) : undefined;
  progress?.start(iteration);
  let firstLoss = NaN;
  let lastLoss = NaN;
  let lastTrain: Record<string, number> = {};
  let finalEval: Record<string, number> | undefined;
  try {
    while (iteration < totalSteps) {
      const iterationStart = performance.now();
      const plan = await updates.next(iteration + 1);
      const updateStart = performance.now();
      const results: StepResult[] = [];
      let tokens = 0;
      for (const planned of plan.steps) {
        const micro = planned.build(state);
        let result: StepResult;
        try {
          result = await trainer.step(micro.map((m) => m.feeds));
        } catch (e) {
          if (!isAlignkitError(e) || e.code !== 'ALIGNKIT_ERR_NON_FINITE') throw e;
          // Trainer.step throws before the optimizer update: the parameters are the last good ones.
          await save();
          const step = iteration + 1;
          throw fail('ALIGNKIT_ERR_NON_FINITE', `loss became non-finite at step ${step} (batch of examples ${planned.ids.join(', ')}); the last good state is saved in ${ckpt}`, { step, batch: planned.ids, file: ckpt }, e);
        }
        for (const [input, output] of Object.entries(graph.stateOutputs)) state[input] = result.metrics[output]!;
        tokens += micro.reduce((a, m) => a + m.tokens, 0);
        results.push(result);
      }
      iteration++;
      const updateSeconds = (performance.now() - updateStart) / 1000;
      const seconds = (performance.now() - iterationStart) / 1000;
      const mean = meanOf(results);
      lastTrain = {
        loss: mean.loss,
        ...Object.fromEntries(Object.entries(graph.metricOutputs).map(([name, out]) => [name, mean.metrics[out]!])),
        ...plan.metrics,
        grad_norm: probe.lastNorm,
        lr: probe.lr(),
        examples_per_s: plan.examples / seconds,
        tokens_per_s: tokens / seconds,
        'time/update': updateSeconds,
        epoch: updates.epochs(),
      };
      await updates.after?.(iteration, lastTrain);
      if (Number.isNaN(firstLoss)) firstLoss = mean.loss;
      lastLoss = mean.loss;
      const record: MetricsRecord = { step: iteration };
      if (iteration % config.logEvery === 0 || iteration === totalSteps) Object.assign(record, lastTrain);
      if ((config.evalEvery > 0 && iteration % config.evalEvery === 0) || iteration === totalSteps) {
        finalEval = await updates.evaluate(trainer, state);
        Object.assign(record, finalEval ?? {});
      }
      if (Object.keys(record).length > 1) logger.log(record);
      progress?.update({ step: iteration, loss: mean.loss, lr: probe.lr(), tokens });
      hooks.onStep?.(iteration, mean.loss);
      if (config.checkpointEvery > 0 && iteration % config.checkpointEvery === 0) await save();
      if (interrupted || hooks.shouldStop?.()) {
        interrupted = iteration < totalSteps;
        if (interrupted) {
          await save();
          break;
        }
      }
    }
  } finally {
    process.removeListener('SIGINT', onSigint);
    progress?.stop();
    logger.close();
  }
  if (!interrupted) await save();
  const values = trainer.values();
  const seconds = (performance.now() - started) / 1000;
  const records = readMetrics(metricsFile);
  if (!interrupted) {
    exportHfDirectory({ model: source, values: exportedValues(graph, values), lora: graph.lora, outDir: config.output, sourceDir: config.model, exclude: RUN_OUTPUTS });
    for (const s of stages) await s.export?.(ctx, config.output);
    writeSvgPlot(path.join(config.output, RUN_FILES.curves), trainingCurves(records, curvePanels(records)));
    fs.writeFileSync(
      path.join(config.output, RUN_FILES.card),
      modelCard({
        config, steps: iteration, seconds, trainExamples: updates.counts.train, evalExamples: updates.counts.eval, skippedRows: data.skipped.length,
        trainableParameters: trainer.params.reduce((a, p) => a + p.data.length, 0), finalTrain: lastTrain, finalEval, gradientSpikes: probe.spikes,
      }),
    );
  }
  await release();
  const { values: _v, ...referenceInfo } = ctx.reference;
  return {
    outDir: config.output, steps: iteration, interrupted, firstLoss, lastLoss, finalEval, reference: referenceInfo, skipped: data.skipped,
    gradientSpikes: probe.spikes, seconds, summary: formatSummaryTable(summarizeMetrics(records)), values, ...ctx.extras, alreadyFinished: false, optimizerKernels: probe.inner.kernelNames(),
  };
}

/** Whether `dir` holds a run's complete export (the card is written last). */
function isExported(dir: string): boolean {
  return fs.existsSync(path.join(dir, RUN_FILES.card)) && fs.existsSync(path.join(dir, 'onnx', 'model.onnx'));
}

/** The result of resuming a run that had already finished: read back, nothing written. */
function finishedRun(ctx: RunContext, steps: number, values: Map<string, Float32Array>, probe: GradNormProbe, started: number): RunResult {
  const records = readMetrics(path.join(ctx.config.output, RUN_FILES.metrics));
  const lastEval = [...records].reverse().find((r) => 'eval/loss' in r);
  const finalEval = lastEval && (Object.fromEntries(Object.entries(lastEval).filter(([k]) => k.startsWith('eval/'))) as Record<string, number>);
  const { values: _v, ...referenceInfo } = ctx.reference;
  return {
    outDir: ctx.config.output, steps, interrupted: false, alreadyFinished: true, firstLoss: NaN, lastLoss: NaN, finalEval, reference: referenceInfo,
    skipped: ctx.data.skipped, gradientSpikes: probe.spikes, seconds: (performance.now() - started) / 1000, summary: formatSummaryTable(summarizeMetrics(records)), values, ...ctx.extras,
    optimizerKernels: probe.inner.kernelNames(),
  };
}

/** Loss (train and eval) on one panel, then each group of related metrics the run reports (reward accuracy and margin; online rewards, KL, entropy). */
function curvePanels(records: readonly MetricsRecord[]): string[][] {
  const keys = new Set(records.flatMap((r) => Object.keys(r)));
  const panels = [
    ['loss', 'eval/loss'], ['rewards/accuracies', 'eval/rewards/accuracies'], ['rewards/margins', 'eval/rewards/margins'],
    // Online runs: the optimised reward and the gold one, the KL to the reference, the policy's entropy.
    ['reward/mean', 'eval/reward/mean', 'gold/reward', 'eval/gold/reward'], ['kl', 'eval/kl'], ['entropy'],
    ['grad_norm'],
  ];
  return panels.map((p) => p.filter((k) => keys.has(k))).filter((p) => p.length > 0);
}
