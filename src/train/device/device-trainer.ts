// Training on the WebGPU device: one run per micro-batch of a graph that ends in the optimizer
// update (step-graph.ts), with parameters and optimizer state fed back as GPU buffers from the
// previous run, so a step moves only the batch in and the loss, metrics and gradient norm out.
// The optimizer stays src/optim's ChainOptimizer: its chain is what the graph computes, its counts
// and schedule give the per-step scalars, and its host state arrays (with the parameters' host
// arrays) are filled by `sync()`, so checkpoints keep the CPU trainer's format and a run can resume
// on either device. Everything the CPU Trainer's contract says holds: the step's gradient is the
// mean of the micro-batch gradients, the reported loss their mean, and a non-finite loss stops the
// step before any parameter changes.

import { fail } from '../../errors.js';
import { readResident, releaseResident, Session, type Feed, type Model, type SessionOptions, type Tensor } from '../../graph/index.js';
import { ParameterMap } from '../../graph/rewrites/index.js';
import { OPTIMIZERS, type ChainOptimizer, type GroupLayout } from '../../optim/index.js';
import { makeSchedule } from '../../optim/schedules.js';
import { withPositionIds } from '../feeds.js';
import { metricOutputs, type StepOptimizer, type StepResult, type TrainingGraphLike, type TrainParam } from '../trainer.js';
import { buildStepGraph, checkDeviceLayout, membersOf, NEXT, type StepGraph } from './step-graph.js';
import { DEVICE_RULES, deviceRefusal } from './update-rules.js';

export interface DeviceTrainerSpec {
  training: TrainingGraphLike;
  /** The model whose initializers hold the trainables' starting values. */
  source: Model;
  /** As createOptimizer makes it: its chains become graph nodes; its state arrays are the checkpoint's. */
  optimizer: ChainOptimizer;
  /** Scalar graph outputs reported per step besides the loss (default: every scalar output that is not a gradient). */
  metrics?: string[];
  /** `provider: 'webgpu'` for the GPU; any provider runs the same graph (the CPU one in tests). */
  session: SessionOptions;
  /** Called with each step's global gradient L2 norm (the run's spike probe). */
  onGradNorm?(norm: number): void;
}

/** Registry optimizers whose default chain runs on the device (derived from the rules, not listed by hand). */
export function deviceOptimizers(): string[] {
  return Object.entries(OPTIMIZERS).filter(([, e]) => deviceRefusal(e.create(e.defaults, makeSchedule())) === undefined).map(([name]) => name);
}

interface Compiled {
  graph: StepGraph;
  session: Session;
}

const f32 = (dims: number[], data: Float32Array): Tensor => ({ dtype: 'float32', dims, data });

export class DeviceTrainer {
  readonly params: TrainParam[];
  readonly parameterMap: ParameterMap;
  /** The optimizer as checkpoints see it: counts and state from the host arrays `sync()` fills. */
  readonly optimizer: StepOptimizer;
  private readonly layouts: readonly GroupLayout[];
  /** Graph input -> the value to feed: a device buffer from the last step, or absent (feed the host array). */
  private readonly current = new Map<string, Feed>();
  /** Graph input -> its host array (parameters and optimizer state). */
  private readonly host = new Map<string, { dims: number[]; data: Float32Array }>();
  private accumulating: Compiled | undefined;
  private zeros: Map<string, Float32Array> | undefined;
  private steps = 0;
  /** False while the device holds values newer than the host arrays. */
  private synced = true;
  private readonly readsPositionIds: boolean;

  private constructor(
    private readonly spec: DeviceTrainerSpec,
    private readonly plain: Compiled,
    readonly metricNames: string[],
  ) {
    this.parameterMap = new ParameterMap(spec.source, [...spec.training.gradients.keys()]);
    this.params = this.parameterMap.names.map((name) => {
      const t = spec.source.graph.initializers.get(name)!;
      if (t.dtype !== 'float32') throw fail('ALIGNKIT_ERR_TENSOR', `trainable ${name} is ${t.dtype}; the trainer trains float32 parameters`, { field: name });
      return { name, data: Float32Array.from(t.data as Float32Array), dims: [...t.dims] };
    });
    this.layouts = spec.optimizer.layout(this.params);
    for (const p of this.params) this.host.set(p.name, p);
    this.layouts.forEach((l, gi) => {
      const members = membersOf(l);
      for (const s of plain.graph.slots.filter((x) => x.group === gi)) {
        const pi = l.params.findIndex((p) => p.name === s.param);
        const data = l.state.children?.[s.member]?.slots[pi]?.[s.slot] ?? (members.length === 1 ? l.state.slots[pi]?.[s.slot] : undefined);
        if (!(data instanceof Float32Array)) throw fail('ALIGNKIT_ERR_STATE', `optimizer state ${s.input} is not a float32 array of the ${spec.optimizer.optimizerName} state`, { field: s.input });
        this.host.set(s.input, { dims: l.params[pi]!.dims, data });
      }
    });
    this.readsPositionIds = spec.training.model.graph.inputs.some((v) => v.name === 'position_ids');
    const inner = spec.optimizer;
    const self = this;
    this.optimizer = {
      step: () => {
        throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', 'the device trainer updates parameters inside its training graph; call DeviceTrainer.step');
      },
      get stepCount() {
        return inner.stepCount;
      },
      state: () => {
        self.assertSynced('the optimizer state');
        return inner.state();
      },
      loadState: (t) => {
        inner.loadState(t);
        self.forgetDevice((name) => !self.params.some((p) => p.name === name));
      },
    };
  }

  static async create(spec: DeviceTrainerSpec): Promise<DeviceTrainer> {
    const metrics = metricOutputs(spec.training, spec.metrics);
    const names = [...spec.training.gradients.keys()];
    const layouts = spec.optimizer.layout(names.map((name) => ({ name, data: spec.source.graph.initializers.get(name)!.data as Float32Array, dims: [...spec.source.graph.initializers.get(name)!.dims] })));
    checkDeviceLayout(layouts, spec.optimizer.optimizerName, deviceOptimizers());
    return new DeviceTrainer(spec, await DeviceTrainer.compile(spec, layouts, false), metrics);
  }

  private static async compile(spec: DeviceTrainerSpec, layouts: readonly GroupLayout[], accumulate: boolean): Promise<Compiled> {
    const graph = buildStepGraph(spec.training, layouts, { accumulate });
    const resident = [...graph.nextParam.values(), ...graph.slots.map((s) => s.input + NEXT), ...[...(graph.accumulate?.sums.values() ?? [])].map(([, next]) => next)];
    return { graph, session: await Session.create(graph.model, { allowSpinning: false, ...spec.session, residentOutputs: resident }) };
  }

  get stepCount(): number {
    return this.steps;
  }

  /** Restore the step counter (checkpoint resume). */
  set stepCount(v: number) {
    this.steps = v;
  }

  /** What the sessions run on. */
  get device() {
    return this.plain.session.device;
  }

  private assertSynced(what: string): void {
    if (!this.synced) throw fail('ALIGNKIT_ERR_STATE', `${what} lives on the device since the last step: await DeviceTrainer.sync() before reading it`);
  }

  /** Drop device copies (selected by input name) so the next step feeds the host arrays. */
  private forgetDevice(which: (name: string) => boolean): void {
    for (const [name, v] of [...this.current]) {
      if (!which(name)) continue;
      releaseResident([v]);
      this.current.delete(name);
    }
  }

  /** Copy parameters and optimizer state from the device into their host arrays. */
  async sync(): Promise<void> {
    for (const [name, v] of this.current) this.host.get(name)!.data.set((await readResident(v)) as Float32Array);
    this.synced = true;
  }

  /** Current values by initializer name (after sync()). */
  values(): Map<string, Float32Array> {
    this.assertSynced('the parameters');
    return new Map(this.params.map((p) => [p.name, p.data]));
  }

  /** Overwrite parameters by name (checkpoint resume); the next step uploads them. */
  setParams(values: Map<string, Float32Array>): void {
    for (const p of this.params) {
      const v = values.get(p.name);
      if (!v || v.length !== p.data.length) throw fail('ALIGNKIT_ERR_STATE', `checkpoint has no parameter ${p.name} of ${p.data.length} values`, { field: p.name });
      p.data.set(v);
    }
    this.forgetDevice((name) => this.params.some((p) => p.name === name));
  }

  /** This step's scalar inputs, from each chain member's count after the step. */
  private scalarFeeds(graph: StepGraph): Record<string, Tensor> {
    const feeds: Record<string, Tensor> = {};
    for (const s of graph.scalars) {
      const l = this.layouts[s.group]!;
      const member = membersOf(l)[s.member]!;
      const count = (l.state.children?.[s.member] ?? l.state).count + 1;
      const value = DEVICE_RULES[member.name]!.scalars!(member.hyper as Record<string, unknown>, count)[s.name]!;
      feeds[s.input] = f32([], Float32Array.of(value));
    }
    return feeds;
  }

  private feeds(batch: Record<string, Feed>, graph: StepGraph): Record<string, Feed> {
    const feeds: Record<string, Feed> = { ...withPositionIds(batch, this.readsPositionIds) };
    for (const [name, h] of this.host) feeds[name] = this.current.get(name) ?? f32(h.dims, h.data);
    return Object.assign(feeds, this.scalarFeeds(graph));
  }

  private scalars(out: Record<string, Tensor>): { loss: number; metrics: Record<string, number> } {
    return {
      loss: Number(out[this.spec.training.lossOutput]!.data[0]),
      metrics: Object.fromEntries(this.metricNames.map((m) => [m, Number(out[m]!.data[0])])),
    };
  }

  /** Loss and metrics of one micro-batch without updating. */
  async evaluate(batch: Record<string, Feed>): Promise<{ loss: number; metrics: Record<string, number> }> {
    const out = await this.plain.session.run(this.feeds(batch, this.plain.graph), [this.spec.training.lossOutput, ...this.metricNames]);
    return this.scalars(out);
  }

  /** Gradients of one micro-batch by initializer name, downloaded (tests and diagnostics). */
  async gradients(batch: Record<string, Feed>): Promise<Map<string, Float32Array>> {
    const g = this.spec.training.gradients;
    const out = await this.plain.session.run(this.feeds(batch, this.plain.graph), [...g.values()]);
    return new Map([...g].map(([p, o]) => [p, out[o]!.data as Float32Array]));
  }

  private async accumulator(): Promise<Compiled> {
    this.accumulating ??= await DeviceTrainer.compile(this.spec, this.layouts, true);
    this.zeros ??= new Map(this.params.map((p) => [p.name, new Float32Array(p.data.length)]));
    return this.accumulating;
  }

  /** One optimizer step over `microBatches` (each one run), gradients averaged, all on the device. */
  async step(microBatches: Record<string, Feed>[]): Promise<StepResult> {
    const k = microBatches.length;
    if (k === 0) throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', 'a training step needs at least one micro-batch', { field: 'microBatches' });
    const { graph, session } = k === 1 ? this.plain : await this.accumulator();
    const next = [...graph.nextParam.values(), ...graph.slots.map((s) => s.input + NEXT)];
    const head = [this.spec.training.lossOutput, ...this.metricNames];
    let loss = 0;
    const metrics: Record<string, number> = Object.fromEntries(this.metricNames.map((m) => [m, 0]));
    let sums: Record<string, Feed> = {};
    let result: { outputs: Record<string, Tensor>; resident: Record<string, Feed> } | undefined;
    for (const [i, batch] of microBatches.entries()) {
      const last = i === k - 1;
      const feeds = this.feeds(batch, graph);
      if (graph.accumulate) {
        for (const [p, [input]] of graph.accumulate.sums) feeds[input] = sums[input] ?? f32(this.host.get(p)!.dims, this.zeros!.get(p)!);
        feeds[graph.accumulate.count] = f32([], Float32Array.of(k));
      }
      const fetch = last ? [...head, graph.gradSumSq, ...next] : [...head, ...[...(graph.accumulate?.sums.values() ?? [])].map(([, o]) => o)];
      const r = await session.runKeeping(feeds, fetch);
      const s = this.scalars(r.outputs);
      if (!Number.isFinite(s.loss)) {
        releaseResident(r.resident);
        releaseResident(sums);
        throw fail('ALIGNKIT_ERR_NON_FINITE', `loss is ${s.loss} at step ${this.steps + 1}, micro-batch ${i}`, { step: this.steps + 1, microBatch: i });
      }
      loss += s.loss / k;
      for (const m of this.metricNames) metrics[m]! += s.metrics[m]! / k;
      if (last) result = r;
      else {
        releaseResident(sums);
        sums = Object.fromEntries([...graph.accumulate!.sums.values()].map(([input, output]) => [input, r.resident[output]!]));
      }
    }
    releaseResident(sums);
    // Adopt the next parameters and state; the previous step's buffers are freed.
    for (const [input, output] of [...graph.nextParam, ...graph.slots.map((s) => [s.input, s.input + NEXT] as const)]) {
      const old = this.current.get(input);
      if (old) releaseResident([old]);
      this.current.set(input, result!.resident[output]!);
    }
    this.synced = false;
    for (const l of this.layouts) {
      l.state.count++;
      for (const c of l.state.children ?? []) c.count++;
    }
    this.spec.optimizer.stepCount++;
    this.spec.onGradNorm?.(Math.sqrt(Number(result!.outputs[graph.gradSumSq]!.data[0])));
    this.steps++;
    return { step: this.steps, loss, metrics };
  }

  async release(): Promise<void> {
    releaseResident(this.current.values());
    this.current.clear();
    await this.plain.session.release();
    await this.accumulating?.session.release();
  }
}
