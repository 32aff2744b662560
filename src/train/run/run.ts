// `alignkit train`: one run from a RunConfig to a trained model directory. Data loaded and
// tokenized, reference log-probs cached, the loss spliced into one training graph, the step loop
// with metrics, evaluation, checkpoints (every K steps, on SIGINT, before a non-finite loss stops
// the run) and resume, then the Hugging Face export with LoRA merged, the model card and the curves.

import fs from 'node:fs';
import path from 'node:path';
import { fail, isAlignkitError } from '../../errors.js';
import { loadModel, type Model } from '../../graph/index.js';
import { createLoss, type ConfiguredLoss } from '../../losses/index.js';
import { loadModelDir } from '../../models/index.js';
import { createOptimizer } from '../../optim/index.js';
import { hasCheckpoint, loadCheckpoint, saveCheckpoint } from '../checkpoint.js';
import { exportHfDirectory } from '../export.js';
import { JsonlMetricsLogger, readMetrics, formatSummaryTable, summarizeMetrics, trainingCurves, writeSvgPlot, TrainingProgress, type MetricsRecord, type StepProgress } from '../report/index.js';
import { Trainer } from '../trainer.js';
import { buildBatch, type BatchContext } from './batches.js';
import { modelCard } from './card.js';
import type { RunConfig } from './config.js';
import { loadRunData, type RunData } from './data.js';
import { GradNormProbe } from './grad-norm.js';
import { buildRunGraph, exportedValues, type RunGraph } from './graph.js';
import { kindSpec } from './kinds.js';
import { resolveCacheDir } from './cache-dir.js';
import { referenceLogProbs, type ReferenceResult } from './reference-cache.js';
import { revisionLayout, usesRevision, withRevisionLayout } from './revision.js';
import { withRewardHead, writeRewardHeadConfig } from './reward-head.js';
import { EpochSampler, type ExamplePosition } from './sampler.js';
import { rowGroupsFor } from './segments.js';
import { checkAttributeHeads, trainedAttributes, writeAttributeLabels } from './attribute-heads.js';
import { classifierTemplate, withPairTemplate } from './pair-template.js';
import { computeUdmWeights, formatUdmLine, readsUdmWeights, type UdmResult } from './udm-weights.js';

/** Files of a run's output directory. */
export const RUN_FILES = {
  checkpoint: 'checkpoint.safetensors',
  config: 'run-config.json',
  metrics: 'metrics.jsonl',
  curves: 'training-curves.svg',
  card: 'README.md',
} as const;

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

export interface RunResult {
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
  /** BCO's UDM classifier and weights, when the loss reads them. */
  udm?: UdmResult;
}

interface ResumeExtra {
  sampler: ExamplePosition;
  state: Record<string, number>;
  probe: ReturnType<GradNormProbe['snapshot']>;
}

/**
 * The eval split through the training graph without updating: metrics averaged over micro-batches.
 * The graph's batch size is fixed, so the last micro-batch wraps around to the split's start.
 */
async function evaluate(trainer: Trainer, ctx: BatchContext, metricOutputs: Record<string, string>, indices: readonly number[], rows: number, state: Record<string, number>): Promise<Record<string, number>> {
  const sums: Record<string, number> = { 'eval/loss': 0 };
  let n = 0;
  for (let start = 0; start < indices.length; start += rows) {
    const chunk = Array.from({ length: rows }, (_, i) => indices[(start + i) % indices.length]!);
    const r = await trainer.evaluate(buildBatch(ctx, chunk, state).feeds);
    sums['eval/loss']! += r.loss;
    for (const [name, output] of Object.entries(metricOutputs)) sums[`eval/${name}`] = (sums[`eval/${name}`] ?? 0) + r.metrics[output]!;
    n++;
  }
  return Object.fromEntries(Object.entries(sums).map(([k, v]) => [k, v / n]));
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

export async function runTraining(config: RunConfig, hooks: RunHooks = {}): Promise<RunResult> {
  const started = performance.now();
  const spec = kindSpec(config.kind);
  const dir = await loadModelDir(config.model);
  const loss = createLoss(config.loss, config.lossHp);
  const groups = rowGroupsFor(loss, spec.model);
  const data = await loadRunData(config, spec, dir.tokenizer);
  // SRPO's revision rows: the template tokenized once and keyed into the reference cache (absent, so
  // the key of every other loss is unchanged, when no group reads it).
  const revision = usesRevision(groups) ? config.revisionTemplate : undefined;
  if (revision !== undefined) data.items = withRevisionLayout(data.items, revisionLayout(revision, dir.tokenizer, config.maxLength, data.tokenize.eosTokenId));
  // BCO's UDM weights: prompt classifier fitted on the training split before any step (as TRL's BCOTrainer.__init__).
  const udm = readsUdmWeights(loss)
    ? await computeUdmWeights({ items: data.items, train: data.train, model: dir, settings: config.udm, seed: config.seed, dataFile: config.data, session: { intraOpThreads: config.threads } })
    : undefined;
  if (udm) data.items = data.items.map((it, i) => ({ ...it, udmWeight: udm.weights[i] }));
  const padId = dir.tokenizer.padTokenId;
  const reference = await referenceLogProbs({
    onnxFile: dir.onnxFile, dataFile: config.data, items: data.items, groups, padId, cacheDir: config.referenceCache ? resolveCacheDir(config.cacheDir) : undefined,
    settings: { tokenize: data.tokenize, limit: config.limit, onBadRow: config.onBadRow, convention: config.convention, revisionTemplate: revision },
    session: { intraOpThreads: config.threads },
  });
  // train rm --head moment-probe: the head is part of the model from here on (training graph, trainable selection, export).
  const source: Model = withRewardHead(loadModel(dir.onnxFile), config, dir);
  const attributes = trainedAttributes(loss);
  if (attributes) checkAttributeHeads(attributes, source, dir);
  // A reward model trains on the ids it is scored on (its special tokens; classifier groups read no reference sums, so the reference above is unaffected).
  if (spec.model === 'classifier') data.items = withPairTemplate(data.items, classifierTemplate(source, dir), config.maxLength);
  const graph: RunGraph = buildRunGraph(source, { role: spec.model, loss, groups, rows: config.microBatchSize, train: config.train, lora: config.lora, seed: config.seed });
  const stepsPerEpoch = Math.ceil(data.train.length / config.batchSize);
  const totalSteps = config.steps ?? config.epochs * stepsPerEpoch;
  const probe = new GradNormProbe(
    createOptimizer(config.optimizer, { ...config.optimizerHp, lr: config.lr }, { schedule: { type: config.schedule, warmupSteps: config.warmupSteps, totalSteps: Math.max(totalSteps, config.warmupSteps + 1) } }),
    config.spikeFactor,
  );
  const metricNames = [...Object.values(graph.metricOutputs), ...Object.values(graph.stateOutputs)];
  const trainer = await Trainer.create({ training: graph.training, source: graph.forward, optimizer: probe, metrics: metricNames, session: { intraOpThreads: config.threads } });
  const ctx: BatchContext = { forward: graph.forward, items: data.items, groups, loss, fed: graph.fedInputs, reference: reference.values, padId };
  const sampler = new EpochSampler(data.train, config.seed);
  let state = startState(loss);

  fs.mkdirSync(config.output, { recursive: true });
  const ckpt = path.join(config.output, RUN_FILES.checkpoint);
  const metricsFile = path.join(config.output, RUN_FILES.metrics);
  if (config.resume && hasCheckpoint(ckpt)) {
    const extra = loadCheckpoint(ckpt, trainer) as unknown as ResumeExtra;
    if (trainer.stepCount > totalSteps) {
      await trainer.release();
      throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `--resume: ${ckpt} is at step ${trainer.stepCount}, past this run's ${totalSteps} steps (--steps / --epochs); resuming extends a run, it cannot shorten one`, { field: 'steps', value: totalSteps, file: ckpt });
    }
    // A finished run resumed with the same length (a scheduler retrying): nothing to do, nothing rewritten.
    if (trainer.stepCount === totalSteps && isExported(config.output)) return finishedRun(config, trainer, reference, data, probe, started);
    sampler.restore(extra.sampler);
    state = extra.state;
    probe.restore(extra.probe);
    truncateMetrics(metricsFile, trainer.stepCount);
  }
  fs.writeFileSync(path.join(config.output, RUN_FILES.config), `${JSON.stringify(config, null, 2)}\n`);
  const logger = new JsonlMetricsLogger(metricsFile, { truncate: trainer.stepCount === 0 });
  if (udm && trainer.stepCount === 0) logger.log({ step: 0, ...udm.metrics });
  if (udm && config.progress) (hooks.stream ?? process.stderr).write(formatUdmLine(udm));
  const save = () => saveCheckpoint(ckpt, trainer, { sampler: sampler.position, state, probe: probe.snapshot() } satisfies ResumeExtra as never);

  let interrupted = false;
  const onSigint = () => {
    interrupted = true;
  };
  process.once('SIGINT', onSigint);
  const progress = config.progress ? (hooks.progress?.(totalSteps) ?? new TrainingProgress({ totalSteps, stream: hooks.stream })) : undefined;
  progress?.start(trainer.stepCount);
  const k = config.batchSize / config.microBatchSize;
  let firstLoss = NaN;
  let lastLoss = NaN;
  let lastTrain: Record<string, number> = {};
  let finalEval: Record<string, number> | undefined;
  const runEval = async () => (data.eval.length > 0 ? evaluate(trainer, ctx, graph.metricOutputs, data.eval, config.microBatchSize, state) : undefined);
  try {
    while (trainer.stepCount < totalSteps) {
      const stepStart = performance.now();
      const examples = sampler.next(config.batchSize);
      const micro = Array.from({ length: k }, (_, i) => buildBatch(ctx, examples.slice(i * config.microBatchSize, (i + 1) * config.microBatchSize), state));
      let result;
      try {
        result = await trainer.step(micro.map((m) => m.feeds));
      } catch (e) {
        if (!isAlignkitError(e) || e.code !== 'ALIGNKIT_ERR_NON_FINITE') throw e;
        // Trainer.step throws before the optimizer update: the parameters are the last good ones.
        save();
        const step = trainer.stepCount + 1;
        const ids = examples.map((i) => data.items[i]!.id);
        throw fail('ALIGNKIT_ERR_NON_FINITE', `loss became non-finite at step ${step} (batch of examples ${ids.join(', ')}); the last good state is saved in ${ckpt}`, { step, batch: ids, file: ckpt }, e);
      }
      for (const [input, output] of Object.entries(graph.stateOutputs)) state[input] = result.metrics[output]!;
      const tokens = micro.reduce((a, m) => a + m.tokens, 0);
      const seconds = (performance.now() - stepStart) / 1000;
      lastTrain = {
        loss: result.loss,
        ...Object.fromEntries(Object.entries(graph.metricOutputs).map(([name, out]) => [name, result.metrics[out]!])),
        grad_norm: probe.lastNorm,
        lr: probe.lr(),
        examples_per_s: config.batchSize / seconds,
        tokens_per_s: tokens / seconds,
        epoch: sampler.epochs,
      };
      if (Number.isNaN(firstLoss)) firstLoss = result.loss;
      lastLoss = result.loss;
      const step = result.step;
      const record: MetricsRecord = { step };
      if (step % config.logEvery === 0 || step === totalSteps) Object.assign(record, lastTrain);
      if ((config.evalEvery > 0 && step % config.evalEvery === 0) || step === totalSteps) {
        finalEval = await runEval();
        Object.assign(record, finalEval ?? {});
      }
      if (Object.keys(record).length > 1) logger.log(record);
      progress?.update({ step, loss: result.loss, lr: probe.lr(), tokens });
      hooks.onStep?.(step, result.loss);
      if (config.checkpointEvery > 0 && step % config.checkpointEvery === 0) save();
      if (interrupted || hooks.shouldStop?.()) {
        interrupted = step < totalSteps;
        if (interrupted) {
          save();
          break;
        }
      }
    }
  } finally {
    process.removeListener('SIGINT', onSigint);
    progress?.stop();
    logger.close();
  }
  if (!interrupted) save();
  const values = trainer.values();
  const seconds = (performance.now() - started) / 1000;
  const records = readMetrics(metricsFile);
  if (!interrupted) {
    exportHfDirectory({ model: source, values: exportedValues(graph, values), lora: graph.lora, outDir: config.output, sourceDir: config.model, exclude: Object.values(RUN_FILES) });
    writeRewardHeadConfig(config.output, config, dir);
    if (attributes) writeAttributeLabels(config.output, attributes);
    writeSvgPlot(path.join(config.output, RUN_FILES.curves), trainingCurves(records, curvePanels(records)));
    fs.writeFileSync(
      path.join(config.output, RUN_FILES.card),
      modelCard({
        config, steps: trainer.stepCount, seconds, trainExamples: data.train.length, evalExamples: data.eval.length, skippedRows: data.skipped.length,
        trainableParameters: trainer.params.reduce((a, p) => a + p.data.length, 0), finalTrain: lastTrain, finalEval, gradientSpikes: probe.spikes,
      }),
    );
  }
  await trainer.release();
  const { values: _v, ...referenceInfo } = reference;
  return {
    outDir: config.output, steps: trainer.stepCount, interrupted, firstLoss, lastLoss, finalEval, reference: referenceInfo, skipped: data.skipped,
    gradientSpikes: probe.spikes, seconds, summary: formatSummaryTable(summarizeMetrics(records)), values, udm, alreadyFinished: false,
  };
}

/** Whether `dir` holds a run's complete export (the card is written last). */
function isExported(dir: string): boolean {
  return fs.existsSync(path.join(dir, RUN_FILES.card)) && fs.existsSync(path.join(dir, 'onnx', 'model.onnx'));
}

/** The result of resuming a run that had already finished: read back, nothing written. */
async function finishedRun(config: RunConfig, trainer: Trainer, reference: ReferenceResult, data: RunData, probe: GradNormProbe, started: number): Promise<RunResult> {
  const records = readMetrics(path.join(config.output, RUN_FILES.metrics));
  const lastEval = [...records].reverse().find((r) => 'eval/loss' in r);
  const finalEval = lastEval && Object.fromEntries(Object.entries(lastEval).filter(([k]) => k.startsWith('eval/'))) as Record<string, number>;
  const values = trainer.values();
  await trainer.release();
  const { values: _v, ...referenceInfo } = reference;
  return {
    outDir: config.output, steps: trainer.stepCount, interrupted: false, alreadyFinished: true, firstLoss: NaN, lastLoss: NaN, finalEval, reference: referenceInfo,
    skipped: data.skipped, gradientSpikes: probe.spikes, seconds: (performance.now() - started) / 1000, summary: formatSummaryTable(summarizeMetrics(records)), values,
  };
}

/** Loss (train and eval) on one panel, then the reward accuracy and margin when the loss reports them. */
function curvePanels(records: readonly MetricsRecord[]): string[][] {
  const keys = new Set(records.flatMap((r) => Object.keys(r)));
  const panels = [['loss', 'eval/loss'], ['rewards/accuracies', 'eval/rewards/accuracies'], ['rewards/margins', 'eval/rewards/margins'], ['grad_norm']];
  return panels.map((p) => p.filter((k) => keys.has(k))).filter((p) => p.length > 0);
}
