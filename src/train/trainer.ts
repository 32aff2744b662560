// The training step loop: one onnxruntime run() per micro-batch of a training graph (forward, loss
// and backward in one graph, parameters as inputs, loss, metrics and gradients as outputs; see
// DESIGN.md "Training graphs"), gradients accumulated over the micro-batches of a step, then one
// optimizer update of named Float32Array parameters in place. The session is built once per run;
// parameters are fed zero-copy from the same arrays the optimizer updates.
//
// Accumulation convention: the step's gradient is the MEAN of the micro-batch gradients (and the
// reported loss the mean of the micro-batch losses), as transformers' Trainer does by dividing each
// micro-batch loss by gradient_accumulation_steps. With a per-token mean loss this equals the
// full-batch gradient when the micro-batches hold equal numbers of counted tokens.

import { fail } from '../errors.js';
import { ParameterMap } from '../graph/rewrites/index.js';
import { positionIds } from './feeds.js';
import { Session, type Feed, type Model, type SessionOptions, type Tensor } from '../graph/index.js';

/** A parameter as the optimizer library sees it. */
export interface TrainParam {
  name: string;
  data: Float32Array;
  dims: number[];
}

/** What the trainer needs from an optimizer (src/optim's Optimizer satisfies it). */
export interface StepOptimizer {
  step(params: TrainParam[], grads: Map<string, Float32Array>): void;
  readonly stepCount: number;
  state(): Map<string, Tensor>;
  loadState(t: Map<string, Tensor>): void;
}

/** Where parameter and gradient arrays live (src/optim's WasmArena satisfies it); default: the JS heap. */
export interface ParamAllocator {
  f32(n: number): Float32Array;
}

/** buildTrainingGraph's result, as far as the trainer reads it. */
export interface TrainingGraphLike {
  model: Model;
  /** Trainable initializer name -> gradient output name. */
  gradients: Map<string, string>;
  lossOutput: string;
}

export interface TrainerSpec {
  training: TrainingGraphLike;
  /** The model whose initializers hold the trainables' starting values (usually the forward model). */
  source: Model;
  optimizer: StepOptimizer;
  /** Train tied initializers (same tensor exported twice) as one parameter (default false). */
  tie?: boolean;
  allocator?: ParamAllocator;
  /** Scalar graph outputs reported per step besides the loss (default: every scalar output that is not a gradient). */
  metrics?: string[];
  session?: SessionOptions;
}

export interface StepResult {
  step: number;
  loss: number;
  metrics: Record<string, number>;
}

const HEAP: ParamAllocator = { f32: (n) => new Float32Array(n) };

/**
 * The scalar outputs a trainer reports per step besides the loss: `metrics` if given (each checked
 * to be an output), else every scalar output that is neither the loss nor a gradient.
 */
export function metricOutputs(training: TrainingGraphLike, metrics?: readonly string[]): string[] {
  const { model, gradients, lossOutput } = training;
  const outputs = new Map(model.graph.outputs.map((o) => [o.name, o]));
  if (!outputs.has(lossOutput)) throw fail('ALIGNKIT_ERR_ONNX_MODEL', `training graph has no loss output ${lossOutput}`, { field: lossOutput });
  const gradOutputs = new Set(gradients.values());
  const names = metrics ?? [...outputs.values()].filter((o) => o.name !== lossOutput && !gradOutputs.has(o.name) && o.dims?.length === 0).map((o) => o.name);
  for (const m of names) if (!outputs.has(m)) throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `metric ${m} is not an output of the training graph`, { field: 'metrics', value: m });
  return [...names];
}

export class Trainer {
  /** Optimizer parameters (one per initializer, or one per tied group). */
  readonly params: TrainParam[];
  readonly parameterMap: ParameterMap;
  private readonly inputs = new Map<string, Float32Array>();
  private readonly grads = new Map<string, Float32Array>();
  private readonly memberGrads = new Map<string, Float32Array>();
  private readonly fetches: string[];
  private steps = 0;
  private readonly readsPositionIds: boolean;

  private constructor(
    private readonly spec: TrainerSpec,
    private readonly session: Session,
    readonly metricNames: string[],
  ) {
    const alloc = spec.allocator ?? HEAP;
    const trainable = [...spec.training.gradients.keys()];
    this.parameterMap = new ParameterMap(spec.source, trainable, { tie: spec.tie });
    this.params = this.parameterMap.names.map((name) => {
      const t = spec.source.graph.initializers.get(name)!;
      if (t.dtype !== 'float32') throw fail('ALIGNKIT_ERR_TENSOR', `trainable ${name} is ${t.dtype}; the trainer trains float32 parameters`, { field: name });
      const data = alloc.f32(t.data.length);
      data.set(t.data as Float32Array);
      this.grads.set(name, alloc.f32(t.data.length));
      return { name, data, dims: [...t.dims] };
    });
    // Graph inputs: a parameter's own array, or (tied, transposed twin) an array kept in sync.
    for (const p of this.params)
      for (const m of this.parameterMap.membersOf(p.name)) {
        this.inputs.set(m.name, m.name === p.name ? p.data : Float32Array.from(spec.source.graph.initializers.get(m.name)!.data as Float32Array));
        this.memberGrads.set(m.name, new Float32Array(p.data.length));
      }
    this.readsPositionIds = spec.training.model.graph.inputs.some((v) => v.name === 'position_ids');
    this.fetches = [spec.training.lossOutput, ...metricNames, ...trainable.map((n) => spec.training.gradients.get(n)!)];
  }

  static async create(spec: TrainerSpec): Promise<Trainer> {
    const metrics = metricOutputs(spec.training, spec.metrics);
    // Several sessions may share the process (reference model, evaluation): no spinning threads.
    const session = await Session.create(spec.training.model, { allowSpinning: false, ...spec.session });
    return new Trainer(spec, session, metrics);
  }

  get stepCount(): number {
    return this.steps;
  }

  /** Restore the step counter (checkpoint resume). */
  set stepCount(v: number) {
    this.steps = v;
  }

  get optimizer(): StepOptimizer {
    return this.spec.optimizer;
  }

  /** Current values by initializer name (tied twins included, transposed as stored). */
  values(): Map<string, Float32Array> {
    return new Map(this.inputs);
  }

  /** Overwrite parameters by optimizer-parameter name (checkpoint resume). */
  setParams(values: Map<string, Float32Array>): void {
    for (const p of this.params) {
      const v = values.get(p.name);
      if (!v || v.length !== p.data.length) throw fail('ALIGNKIT_ERR_STATE', `checkpoint has no parameter ${p.name} of ${p.data.length} values`, { field: p.name });
      p.data.set(v);
      this.parameterMap.scatter(p.name, p.data, this.inputs);
    }
  }

  private feedsWith(batch: Record<string, Feed>): Record<string, Feed> {
    const feeds: Record<string, Feed> = { ...batch };
    // optimum's decoders read position_ids: derive them from the mask as transformers does.
    if (this.readsPositionIds && !feeds.position_ids && feeds.attention_mask) {
      const mask = feeds.attention_mask as Tensor;
      feeds.position_ids = { dtype: 'int64', dims: mask.dims, data: positionIds(mask.data as BigInt64Array, mask.dims as [number, number]) };
    }
    for (const [name, data] of this.inputs) feeds[name] = { dtype: 'float32', dims: this.spec.source.graph.initializers.get(name)!.dims, data };
    return feeds;
  }

  /** Run the training graph on one micro-batch without updating: loss, metrics and gradients by initializer name. */
  async evaluate(batch: Record<string, Feed>): Promise<{ loss: number; metrics: Record<string, number>; gradients: Map<string, Float32Array> }> {
    const out = await this.session.run(this.feedsWith(batch), this.fetches);
    const loss = Number(out[this.spec.training.lossOutput]!.data[0]);
    const metrics = Object.fromEntries(this.metricNames.map((m) => [m, Number(out[m]!.data[0])]));
    const gradients = new Map([...this.spec.training.gradients].map(([p, g]) => [p, out[g]!.data as Float32Array]));
    return { loss, metrics, gradients };
  }

  /** One optimizer step over `microBatches` (each one run), gradients averaged. */
  async step(microBatches: Record<string, Feed>[]): Promise<StepResult> {
    if (microBatches.length === 0) throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', 'a training step needs at least one micro-batch', { field: 'microBatches' });
    const k = microBatches.length;
    let loss = 0;
    const metrics: Record<string, number> = Object.fromEntries(this.metricNames.map((m) => [m, 0]));
    for (const [i, batch] of microBatches.entries()) {
      const r = await this.evaluate(batch);
      if (!Number.isFinite(r.loss)) throw fail('ALIGNKIT_ERR_NON_FINITE', `loss is ${r.loss} at step ${this.steps + 1}, micro-batch ${i}`, { step: this.steps + 1, microBatch: i });
      loss += r.loss / k;
      for (const m of this.metricNames) metrics[m]! += r.metrics[m]! / k;
      for (const [name, g] of r.gradients) {
        const acc = this.memberGrads.get(name)!;
        if (i === 0) acc.set(g);
        else for (let j = 0; j < g.length; j++) acc[j]! += g[j]!;
      }
    }
    if (k > 1) for (const acc of this.memberGrads.values()) for (let j = 0; j < acc.length; j++) acc[j]! /= k;
    this.parameterMap.combineGradients(this.memberGrads, this.grads);
    this.spec.optimizer.step(this.params, this.grads);
    for (const p of this.params) this.parameterMap.scatter(p.name, p.data, this.inputs);
    this.steps++;
    return { step: this.steps, loss, metrics };
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}
