// The training step loop: one onnxruntime run() per micro-batch of a training graph (forward, loss
// and backward in one graph, parameters as inputs, loss, metrics and gradients as outputs; see
// DESIGN.md "Training graphs"), gradients accumulated over the micro-batches of a step, then one
// optimizer update of named Float32Array parameters in place. The session is built once per run.
//
// Memory: parameters and gradients are allocated once, by `allocator` (the optimizer's WasmArena,
// so the fused kernels update them where they are, or the JS heap). onnxruntime reads parameters
// from those arrays (inputs are zero-copy) and writes each gradient straight into its array
// (pre-allocated outputs): no per-step copies, and no second gradient copy inside onnxruntime.
// Frozen weights (LoRA's base model, a token-level loss's reference branch) are fed the same way
// rather than serialized into the session, which would hold them twice more while it is created.
// The session runs through onnxruntime's C API by default (src/graph/native-session.ts), which
// returns nothing for the outputs it wrote in place. onnxruntime-node's binding (`session: {
// binding: 'node' }`) returns a JavaScript copy of every one: from `releaseCopiesFrom` bytes of
// gradients on, the trainer then has V8 collect them right after each run
// (src/graph/output-copies.ts), so they are not resident under the next run's activations.
// The optimizer's state is allocated, and in an arena faulted in, while the session is created.
//
// Accumulation convention: the step's gradient is the MEAN of the micro-batch gradients (and the
// reported loss the mean of the micro-batch losses), as transformers' Trainer does by dividing each
// micro-batch loss by gradient_accumulation_steps. With a per-token mean loss this equals the
// full-batch gradient when the micro-batches hold equal numbers of counted tokens.

import { fail } from '../errors.js';
import { cloneModel, ParameterMap } from '../graph/rewrites/index.js';
import { fullGc, releaseOutputCopies } from '../graph/output-copies.js';
import { reuseFreedMemory } from '../graph/malloc.js';
import { positionIds } from './feeds.js';
import { rowScattersOutside, type RowScatter } from '../graph/autodiff/row-scatters.js';
import { assembleRowScatter, transposerFor, type Transposer } from './row-scatters.js';
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
  /** Allocate the optimizer's state before the first step; the Trainer awaits it while its session is created. */
  prepare?(params: TrainParam[]): Promise<void>;
}

/** Where parameter and gradient arrays live (src/optim's WasmArena satisfies it); default: the JS heap. */
export interface ParamAllocator {
  f32(n: number): Float32Array;
  /** Whether `view` lies in this allocator's memory (a model loaded into the arena: see shareSource). */
  contains?(view: ArrayBufferView): boolean;
  /** Bytes still free (an arena has a fixed size). */
  readonly bytesFree?: number;
  /** Offset where the next allocation starts: a mark for prefaultSince. */
  readonly end?: number;
  /** Fault in, off the main thread, the pages allocated since `mark`. */
  prefaultSince?(mark: number): Promise<boolean>;
}

/** buildTrainingGraph's result, as far as the trainer reads it. */
export interface TrainingGraphLike {
  model: Model;
  /** Trainable initializer name -> gradient output name. */
  gradients: Map<string, string>;
  lossOutput: string;
  /** Session options the graph needs to run as built (a recomputation rewrite's disabled optimizers). */
  sessionOptions?: SessionOptions;
}

export interface TrainerSpec {
  training: TrainingGraphLike;
  /** The model whose initializers hold the trainables' starting values (usually the forward model). */
  source: Model;
  optimizer: StepOptimizer;
  /** Train tied initializers (same tensor exported twice) as one parameter (default false). */
  tie?: boolean;
  /**
   * Where parameters and gradients live. Give the optimizer's arena (`trainingArena` in src/optim,
   * the same one passed to createOptimizer) so its fused kernels update them in place.
   */
  allocator?: ParamAllocator;
  /** Scalar graph outputs reported per step besides the loss (default: every scalar output that is not a gradient). */
  metrics?: string[];
  session?: SessionOptions;
  /**
   * Frozen float initializers of the training graph of at least this many bytes are fed as inputs
   * from their arrays instead of being serialized into the session (default 1 MiB; Infinity keeps
   * every one in the graph, where onnxruntime may pre-pack them and holds its own copy).
   */
  feedFrozenFrom?: number;
  /**
   * Re-point the source model's trainable initializers at the trainer's parameter arrays once their
   * values are copied in, so the starting values are not held twice (a model-sized saving when
   * parameters live in an arena). The source (and every model sharing its tensors) then reads the
   * current parameters. Tensors the training graph also holds as frozen constants (a token-level
   * loss's reference branch) are left alone. A starting value already in the allocator's memory
   * (loadModel with the arena as its allocator) is then adopted as the parameter, not copied.
   * Default false.
   */
  shareSource?: boolean;
  /**
   * From this many bytes of gradients on (default 256 MiB: 64 M trainable values, GPT-2-small has
   * 475 MB), the output copies onnxruntime-node makes of each run are collected right after it (a
   * full V8 collection, 25-60 ms at GPT-2-small against a 2-5 s step), and once after the session is
   * created (the starting values `shareSource` released). Infinity never collects.
   */
  releaseCopiesFrom?: number;
  /**
   * From `releaseCopiesFrom` on, keep the memory a step frees for the next step's blocks instead of
   * returning it to the system (glibc malloc settings, src/graph/malloc.ts: the process keeps its
   * high-water mark). Default true.
   */
  reuseFreedMemory?: boolean;
  /**
   * Allocate the optimizer's state when the trainer is created (and, in an arena, fault its pages in
   * while the session is built) instead of at the first step. Default true; false for a trainer that
   * only evaluates, which then never holds the state.
   */
  prepareOptimizer?: boolean;
  /**
   * Assemble embedding gradients after each run (src/graph/autodiff/row-scatters.ts): the run
   * writes the dense part (a tied head's, turned around in the arena when it is faster as
   * [cols, rows]) and returns the embedded rows, which are added here. Default true; false keeps
   * the scatter-add in the graph.
   */
  rowScatters?: boolean;
}

export interface StepResult {
  step: number;
  loss: number;
  metrics: Record<string, number>;
  /** Wall time of the step's parts: the session runs (forward + backward) and the optimizer update (the CPU Trainer's; a device trainer runs both in one graph). */
  timings?: { runMs: number; optimizerMs: number };
}

const HEAP: ParamAllocator = { f32: (n) => new Float32Array(n) };
/** Frozen weights from this size on are fed rather than serialized into the session (1 MiB: every weight matrix, no small constant). */
const FEED_FROZEN_FROM = 1 << 20;
/** Gradient bytes from which run output copies are collected: below it a collection costs a larger share of a shorter step than the memory is worth. */
const RELEASE_COPIES_FROM = 256 * 2 ** 20;

/** Float values the training graph trains: what an arena for its parameters must hold (src/optim trainingArena). */
export function trainableValues(training: TrainingGraphLike, source: Model): number {
  let n = 0;
  for (const p of training.gradients.keys()) n += source.graph.initializers.get(p)?.data.length ?? 0;
  return n;
}

/** The training graph with its large frozen initializers turned into inputs, and their feeds. */
function frozenAsInputs(model: Model, fromBytes: number): { model: Model; feeds: Record<string, Feed> } {
  const big = [...model.graph.initializers].filter(([, t]) => t.dtype === 'float32' && t.data.byteLength >= fromBytes);
  if (big.length === 0) return { model, feeds: {} };
  const m = cloneModel(model);
  const feeds: Record<string, Feed> = {};
  for (const [name, t] of big) {
    m.graph.initializers.delete(name);
    m.graph.inputs.push({ name, dtype: t.dtype, dims: [...t.dims] });
    feeds[name] = t;
  }
  return { model: m, feeds };
}

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
  /** Graph input name -> the array fed (a parameter's own array, or a tied twin kept in sync). */
  private readonly inputs = new Map<string, Float32Array>();
  /** Parameter name -> the step's gradient, what the optimizer reads. */
  private readonly grads = new Map<string, Float32Array>();
  /** Initializer name -> the gradient the run writes (the parameter's own gradient array when untied). */
  private readonly memberGrads = new Map<string, Float32Array>();
  /** Gradient targets of micro-batches after the first (accumulation), allocated on first use. */
  private scratch: Map<string, Float32Array> | undefined;
  private readonly fixedFeeds: Record<string, Feed> = {};
  private readonly fetches: string[];
  private steps = 0;
  private readonly readsPositionIds: boolean;
  private session!: Session;
  private readonly gradientBytes: number;
  /** Parameter name -> how its gradient is put together after a run (embedding gradients). */
  private readonly scatters: Map<string, RowScatter>;
  /** The graph the session runs: the training graph, with the embedding gradients' scatters taken out. */
  private readonly model: Model;
  private readonly transpose: Transposer;
  /** Parameter name -> where the run writes a dense part that comes as [cols, rows]. */
  private readonly transposedParts = new Map<string, Float32Array>();
  /** Gradients of at least `releaseCopiesFrom` bytes: garbage is collected after creation and freed memory reused. */
  private readonly largeGradients: boolean;

  private constructor(
    private readonly spec: TrainerSpec,
    readonly metricNames: string[],
  ) {
    const alloc = spec.allocator ?? HEAP;
    const trainable = [...spec.training.gradients.keys()];
    this.parameterMap = new ParameterMap(spec.source, trainable, { tie: spec.tie });
    const frozen = this.frozenTensors();
    this.params = this.parameterMap.names.map((name) => {
      const t = spec.source.graph.initializers.get(name)!;
      if (t.dtype !== 'float32') throw fail('ALIGNKIT_ERR_TENSOR', `trainable ${name} is ${t.dtype}; the trainer trains float32 parameters`, { field: name });
      // Adopting skips a model-sized copy and its fresh pages (the slowest part of start-up here).
      const adopt = spec.shareSource === true && !frozen.has(t) && alloc.contains?.(t.data) === true;
      const data = adopt ? (t.data as Float32Array) : alloc.f32(t.data.length);
      if (!adopt) data.set(t.data as Float32Array);
      this.grads.set(name, alloc.f32(t.data.length));
      return { name, data, dims: [...t.dims] };
    });
    // Graph inputs: a parameter's own array, or (tied, transposed twin) an array kept in sync.
    for (const p of this.params) {
      const members = this.parameterMap.membersOf(p.name);
      for (const m of members) {
        const own = m.name === p.name;
        this.inputs.set(m.name, own ? p.data : Float32Array.from(spec.source.graph.initializers.get(m.name)!.data as Float32Array));
        this.memberGrads.set(m.name, own && members.length === 1 ? this.grads.get(p.name)! : new Float32Array(p.data.length));
      }
    }
    for (const [name, data] of this.inputs) this.fixedFeeds[name] = { dtype: 'float32', dims: spec.source.graph.initializers.get(name)!.dims, data };
    if (spec.shareSource) this.shareSourceTensors();
    this.readsPositionIds = spec.training.model.graph.inputs.some((v) => v.name === 'position_ids');
    this.fetches = [spec.training.lossOutput, ...metricNames];
    this.gradientBytes = [...this.memberGrads.values()].reduce((n, g) => n + g.byteLength, 0);
    const turning = transposerFor(alloc);
    this.transpose = turning.transpose;
    // On the JS heap a 154 MB transpose costs more than the faster product saves: dense parts stay as they are.
    const outside = spec.rowScatters === false ? undefined : rowScattersOutside(spec.training, { transposed: turning.fast });
    this.scatters = outside?.scatters ?? new Map();
    this.model = outside?.training.model ?? spec.training.model;
    for (const plan of this.scatters.values()) for (const v of [plan.rows, plan.updates]) if (!this.fetches.includes(v)) this.fetches.push(v);
    this.largeGradients = this.gradientBytes >= (spec.releaseCopiesFrom ?? RELEASE_COPIES_FROM);
  }

  /** Bytes of output copies collected after each run (0: none, the session makes none or they are small). */
  get releasedCopyBytes(): number {
    return this.session.copiesOutputs && this.largeGradients ? this.gradientBytes : 0;
  }

  /** Tensors the training graph holds as constants: never re-pointed at (or adopted as) a parameter. */
  private frozenTensors(): Set<Tensor> {
    return new Set(this.spec.training.model.graph.initializers.values());
  }

  private shareSourceTensors(): void {
    const frozen = this.frozenTensors();
    for (const [name, data] of this.inputs) {
      const t = this.spec.source.graph.initializers.get(name)!;
      // The Tensor object itself: every model cloned from the source shares it, so the old array is released.
      if (!frozen.has(t) && t.data !== data) (t as { data: Float32Array }).data = data;
    }
  }

  static async create(spec: TrainerSpec): Promise<Trainer> {
    const metrics = metricOutputs(spec.training, spec.metrics);
    const trainer = new Trainer(spec, metrics);
    const fed = frozenAsInputs(trainer.model, spec.feedFrozenFrom ?? FEED_FROZEN_FROM);
    Object.assign(trainer.fixedFeeds, fed.feeds);
    const needs = spec.training.sessionOptions ?? {};
    // Several sessions may share the process (reference model, evaluation) and the optimizer runs
    // right after: onnxruntime's threads spin between the nodes of a run and stop when it returns
    // (in-process A/B, alternating: runs 2-5% faster than with no spinning at the tiny and GPT-2-small shapes).
    // No memory pattern: planned from the first run, its block is allocated on the second next to
    // the chunks the first run left in onnxruntime's arena, doubling what the arena holds (measured:
    // 2 -> 4 GB at GPT-2-small, 2 x 512 tokens), for no measurable speed.
    // onnxruntime's C API: the gradients it writes in place come back without a copy (runtime.ts `binding`).
    const creating = Session.create(fed.model, {
      allowSpinning: 'during-run', memoryPattern: false, binding: 'c-api', ...spec.session, ...needs,
      disabledOptimizers: [...(spec.session?.disabledOptimizers ?? []), ...(needs.disabledOptimizers ?? [])],
    });
    creating.catch(() => undefined); // awaited below: this only keeps a failure from going unhandled meanwhile
    // While onnxruntime builds the session on another thread: the optimizer's state is allocated and,
    // in an arena, its kernels warmed up and the pages of the gradients and the state faulted in
    // (start-up at GPT-2-small: 1.5 GB that the first step would otherwise fault in one by one).
    const prepared = spec.prepareOptimizer === false ? undefined : spec.optimizer.prepare?.(trainer.params);
    prepared?.catch(() => undefined);
    // After the optimizer's state (what the arena was sized for), faulted in alongside it.
    const turned = trainer.allocateTransposedParts(spec.allocator ?? HEAP);
    turned.catch(() => undefined);
    const session = await creating;
    try {
      await prepared;
      await turned;
    } catch (e) {
      await session.release();
      throw e;
    }
    trainer.session = session;
    // The serialized graph and (shareSource) the starting values are garbage now: free them before the first step allocates.
    if (trainer.largeGradients) {
      fullGc();
      if (spec.reuseFreedMemory !== false) reuseFreedMemory();
    }
    return trainer;
  }

  /**
   * Room for the dense parts that come as [cols, rows], in the arena when it has room left (else on
   * the JS heap). Resolves when their pages are faulted in, on another thread: a populate still
   * running later would hold up the collection that follows (measured: 13 -> 336 ms at GPT-2-small).
   */
  private async allocateTransposedParts(alloc: ParamAllocator): Promise<void> {
    for (const [param, plan] of this.scatters) {
      if (!plan.dense?.transposed) continue;
      const n = plan.dims[0] * plan.dims[1];
      const fits = alloc.bytesFree === undefined || alloc.bytesFree >= 4 * n + 64;
      const mark = alloc.end;
      this.transposedParts.set(param, fits ? alloc.f32(n) : new Float32Array(n));
      if (fits && mark !== undefined) await alloc.prefaultSince?.(mark);
    }
  }

  /** Whether each run hands back a JavaScript copy of its outputs (the onnxruntime-node binding) or writes the gradients in place only (the C API). */
  get runCopiesOutputs(): boolean {
    return this.session.copiesOutputs;
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
    return Object.assign(feeds, this.fixedFeeds);
  }

  /** One run with every gradient written into `targets` (by initializer name). */
  private async runInto(batch: Record<string, Feed>, targets: Map<string, Float32Array>): Promise<{ loss: number; metrics: Record<string, number> }> {
    const into: Record<string, Feed> = {};
    const init = this.spec.source.graph.initializers;
    for (const [p, g] of this.spec.training.gradients) {
      const dims = init.get(p)!.dims;
      const plan = this.scatters.get(p);
      if (!plan) into[g] = { dtype: 'float32', dims, data: targets.get(p)! };
      else if (plan.dense?.transposed) into[plan.dense.output] = { dtype: 'float32', dims: [dims[1]!, dims[0]!], data: this.transposedParts.get(p)! };
      else if (plan.dense) into[plan.dense.output] = { dtype: 'float32', dims, data: targets.get(p)! };
    }
    const baseline = this.releasedCopyBytes > 0 ? process.memoryUsage().arrayBuffers : 0;
    const out = await this.session.run(this.feedsWith(batch), this.fetches, into);
    for (const [p, plan] of this.scatters)
      assembleRowScatter(p, plan, targets.get(p)!, { transposed: this.transposedParts.get(p), rows: out[plan.rows]!.data as BigInt64Array, updates: out[plan.updates]!.data as Float32Array }, this.transpose);
    const result = {
      loss: Number(out[this.spec.training.lossOutput]!.data[0]),
      metrics: Object.fromEntries(this.metricNames.map((m) => [m, Number(out[m]!.data[0])])),
    };
    if (this.releasedCopyBytes > 0) releaseOutputCopies(baseline, this.releasedCopyBytes);
    return result;
  }

  /**
   * Run the training graph on one micro-batch without updating: loss, metrics and gradients by
   * initializer name. The gradient arrays are the trainer's own: valid until the next evaluate or step.
   */
  async evaluate(batch: Record<string, Feed>): Promise<{ loss: number; metrics: Record<string, number>; gradients: Map<string, Float32Array> }> {
    const r = await this.runInto(batch, this.memberGrads);
    return { ...r, gradients: new Map(this.memberGrads) };
  }

  private scratchGrads(): Map<string, Float32Array> {
    this.scratch ??= new Map([...this.memberGrads].map(([n, g]) => [n, new Float32Array(g.length)]));
    return this.scratch;
  }

  /** One optimizer step over `microBatches` (each one run), gradients averaged. */
  async step(microBatches: Record<string, Feed>[]): Promise<StepResult> {
    if (microBatches.length === 0) throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', 'a training step needs at least one micro-batch', { field: 'microBatches' });
    const k = microBatches.length;
    let loss = 0;
    const metrics: Record<string, number> = Object.fromEntries(this.metricNames.map((m) => [m, 0]));
    const started = performance.now();
    for (const [i, batch] of microBatches.entries()) {
      const targets = i === 0 ? this.memberGrads : this.scratchGrads();
      const r = await this.runInto(batch, targets);
      if (!Number.isFinite(r.loss)) throw fail('ALIGNKIT_ERR_NON_FINITE', `loss is ${r.loss} at step ${this.steps + 1}, micro-batch ${i}`, { step: this.steps + 1, microBatch: i });
      loss += r.loss / k;
      for (const m of this.metricNames) metrics[m]! += r.metrics[m]! / k;
      if (i > 0)
        for (const [name, acc] of this.memberGrads) {
          const g = targets.get(name)!;
          for (let j = 0; j < g.length; j++) acc[j]! += g[j]!;
        }
    }
    if (k > 1) for (const acc of this.memberGrads.values()) for (let j = 0; j < acc.length; j++) acc[j]! /= k;
    const ran = performance.now();
    this.parameterMap.combineGradients(this.memberGrads, this.grads);
    this.spec.optimizer.step(this.params, this.grads);
    for (const p of this.params) this.parameterMap.scatter(p.name, p.data, this.inputs);
    this.steps++;
    return { step: this.steps, loss, metrics, timings: { runMs: ran - started, optimizerMs: performance.now() - ran } };
  }

  /** Stop the session's profiler (created with `session.profile`) and return its file. */
  endProfiling(): string {
    return this.session.endProfiling();
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}
