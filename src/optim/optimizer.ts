// The Optimizer the training loop holds: parameter groups (each a chain built from the registry
// with its own hyperparameters), one step counter, state save/load, and the choice between a fused
// WebAssembly kernel (when parameters and state live in a WasmArena and the chain matches one) and
// the TypeScript transforms. Both run the same chain on the same state arrays, so switching paths
// mid-run (or loading a state saved by the other) changes nothing but speed.

import { fail } from '../errors.js';
import type { Tensor } from '../graph/index.js';
import { heapAllocator, type Allocator, type GradientTransformation, type Param, type StateArray, type TransformState, type UpdateContext } from './core.js';
import type { WasmArena } from './arena.js';
import { canPrefault } from '../graph/prefault.js';
import { kernelsFor } from './kernels/module.js';
import { findKernel, type FusedKernel } from './kernels/dispatch.js';
import { collectState, restoreState } from './state-io.js';
import { makeSchedule, type Schedule, type ScheduleSpec } from './schedules.js';

export type Grads = Map<string, Float32Array> | Record<string, Float32Array>;

/** Parameters whose name matches get these hyperparameters on top of the optimizer's (first match wins). */
export interface ParamGroupSpec {
  /** A RegExp, or a string taken as a RegExp source, tested against the parameter name. */
  match: RegExp | string;
  hyper: Record<string, unknown>;
}

/** The usual grouping: no weight decay on biases and normalisation weights. */
export const NO_DECAY_ON_NORMS_AND_BIASES: ParamGroupSpec = { match: /(^|[._/])(bias|b|beta|gamma)$|norm|(^|[._/])ln/i, hyper: { weightDecay: 0 } };

/** Extra inputs some steps need: Hessian diagonals (Sophia, AdaHessian) and per-worker gradients (1-bit Adam). */
export interface StepAux {
  hessianDiag?: Grads;
  workerGrads?: Grads[];
}

/** Supplies a diagonal Hessian estimate at the current parameters when the optimizer asks for one. */
export type HessianProvider = (params: Param[]) => Grads;

export interface OptimizerOptions {
  groups?: ParamGroupSpec[];
  schedule?: ScheduleSpec;
  /** Allocate state and workspace in this arena and use the fused kernels when the chain has one. */
  arena?: WasmArena;
  /** Called for a Hessian estimate on the steps `needsHessian` reports, unless `step` gets one in `aux`. */
  hessian?: HessianProvider;
  /** Set false to force the TypeScript path even in an arena (tests compare the two). */
  kernels?: boolean;
}

export interface Optimizer {
  step(params: Param[], grads: Grads, aux?: StepAux): void;
  readonly stepCount: number;
  state(): Map<string, Tensor>;
  loadState(t: Map<string, Tensor>): void;
  stateBytesPerParam(): number;
  lr(): number;
  /** Whether the next step (stepCount + 1) needs a Hessian estimate. */
  needsHessian(): boolean;
  /** Name of the fused kernel each group uses ('' for the TypeScript path), after the first step. */
  kernelNames(): string[];
  /** Allocate the state for `params` ahead of the first step (see ChainOptimizer.prepare). */
  prepare(params: Param[]): Promise<void>;
}

/** One parameter group as ChainOptimizer.layout() shows it. */
export interface GroupLayout {
  transform: GradientTransformation;
  hyper: Record<string, unknown>;
  params: Param[];
  state: TransformState;
}

/** How a registry entry turns merged hyperparameters into a chain. */
export type ChainFactory = (hyper: Record<string, unknown>, schedule: Schedule) => GradientTransformation;

interface Group {
  spec: ParamGroupSpec | undefined;
  hyper: Record<string, unknown>;
  transform: GradientTransformation;
  params: Param[];
  state: TransformState;
  /** Workspace for the TypeScript path (and for kernels given gradients outside the arena), allocated on first use. */
  updates: Float32Array[] | undefined;
  /** Arena copies of Hessian diagonals given outside it (kernel path), allocated on first use. */
  hessianCopies: Float32Array[] | undefined;
  kernel: FusedKernel | undefined;
}

function getGrad(grads: Grads, name: string): Float32Array | undefined {
  return grads instanceof Map ? grads.get(name) : grads[name];
}

function arenaAllocator(arena: WasmArena, zeroFill: () => boolean): Allocator {
  // State is written once when allocated (its values are zero already): the first update reads it
  // before writing, which costs each fresh page a zero-page fault and then a copy-on-write fault;
  // written first, one fault (AdamW at GPT-2-small: 487k -> 243k faults in the first update).
  // prepare() faults it in on another thread instead.
  return { f32: (n) => (zeroFill() ? arena.f32(n).fill(0) : arena.f32(n)), u8: (n) => arena.u8(n), addressable: (a) => arena.contains(a) };
}

function stateArrays(s: TransformState, out: StateArray[] = []): StateArray[] {
  for (const slots of s.slots) out.push(...Object.values(slots));
  for (const c of s.children ?? []) stateArrays(c, out);
  return out;
}

export class ChainOptimizer implements Optimizer {
  stepCount = 0;
  private groups: Group[] | undefined;
  private pending: Map<string, Tensor> | undefined;
  private readonly schedule: Schedule;
  private readonly alloc: Allocator;
  private zeroFill = true;

  constructor(
    readonly optimizerName: string,
    private readonly baseHyper: Record<string, unknown>,
    private readonly factory: ChainFactory,
    private readonly validateHyper: (h: Record<string, unknown>, where: string) => Record<string, unknown>,
    private readonly opts: OptimizerOptions = {},
  ) {
    this.schedule = makeSchedule(opts.schedule);
    this.alloc = opts.arena ? arenaAllocator(opts.arena, () => this.zeroFill) : heapAllocator;
    // Validate every group's hyperparameters now, not at the first step.
    for (const [i, g] of (opts.groups ?? []).entries()) this.validateHyper({ ...baseHyper, ...g.hyper }, `groups[${i}]`);
  }

  private init(params: Param[]): Group[] {
    const specs = this.opts.groups ?? [];
    const buckets = new Map<number, Param[]>();
    const seen = new Set<string>();
    for (const p of params) {
      if (seen.has(p.name)) throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `parameter "${p.name}" is listed twice`, { field: p.name });
      seen.add(p.name);
      const gi = specs.findIndex((s) => (typeof s.match === 'string' ? new RegExp(s.match) : s.match).test(p.name));
      const key = gi < 0 ? specs.length : gi;
      if (!buckets.has(key)) buckets.set(key, []);
      buckets.get(key)!.push(p);
    }
    const groups: Group[] = [];
    for (const key of [...buckets.keys()].sort((a, b) => a - b)) {
      const spec = specs[key];
      const hyper = this.validateHyper({ ...this.baseHyper, ...(spec?.hyper ?? {}) }, spec ? `groups[${key}]` : 'hyper');
      const transform = this.factory(hyper, this.schedule);
      const ps = buckets.get(key)!;
      const state = transform.init(ps, this.alloc);
      groups.push({ spec, hyper, transform, params: ps, state, updates: undefined, hessianCopies: undefined, kernel: undefined });
    }
    for (const g of groups) {
      // Elementwise state comes from the arena allocator; per-tensor scalars (running norms, ratios) stay in
      // JS arrays that kernels read in JS. Kernels need the parameters and that elementwise state in the arena.
      const elementwise = (a: StateArray) => g.params.some((p) => a.length === p.data.length);
      const inArena = g.params.every((p) => this.alloc.addressable(p.data)) && stateArrays(g.state).filter(elementwise).every((a) => this.alloc.addressable(a));
      if (this.opts.arena && this.opts.kernels !== false && inArena) g.kernel = findKernel(g.transform, this.opts.arena, g.params);
    }
    return groups;
  }

  needsHessian(): boolean {
    const t = this.stepCount + 1;
    if (this.groups) return this.groups.some((g) => g.transform.needsHessian?.(t) ?? false);
    return this.factory(this.baseHyper, this.schedule).needsHessian?.(t) ?? false;
  }

  /**
   * Form the groups over `params` and allocate their state now rather than at the first step. In an
   * arena, the state's pages (and those of everything else allocated in it since the arena was made)
   * are faulted in on another thread: the returned promise settles when they are, and the caller can
   * do other work meanwhile (the Trainer creates its onnxruntime session).
   */
  async prepare(params: Param[]): Promise<void> {
    const arena = this.opts.arena;
    if (this.groups || !arena) {
      this.ensureGroups(params);
      return;
    }
    const prefaulting = canPrefault();
    this.zeroFill = !prefaulting;
    try {
      this.ensureGroups(params);
    } finally {
      this.zeroFill = true;
    }
    if (this.groups!.some((g) => g.kernel)) kernelsFor(arena).warmUp();
    if (prefaulting) await arena.prefaultSince(0);
  }

  private ensureGroups(params: Param[]): Group[] {
    if (!this.groups) {
      this.groups = this.init(params);
      if (this.pending) this.applyState(this.pending);
      this.pending = undefined;
    }
    return this.groups;
  }

  /**
   * The groups over `params` (formed as the first step forms them): each group's chain, merged
   * hyperparameters, parameters and live state. For an update that runs elsewhere (src/train/device:
   * the same chain as nodes of a WebGPU training graph), which advances the counts and fills the
   * state arrays before state() so that checkpoints keep one format.
   */
  layout(params: Param[]): readonly GroupLayout[] {
    this.canonicalize();
    return this.ensureGroups(params).map((g) => ({ transform: g.transform, hyper: g.hyper, params: g.params, state: g.state }));
  }

  step(params: Param[], grads: Grads, aux: StepAux = {}): void {
    this.groups = this.ensureGroups(params);
    const t = this.stepCount + 1;
    let hessianDiag = aux.hessianDiag;
    if (!hessianDiag && this.groups.some((g) => g.transform.needsHessian?.(t))) {
      if (!this.opts.hessian) throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `${this.optimizerName} needs a Hessian estimate at step ${t}: pass aux.hessianDiag to step() or opts.hessian to createOptimizer`, { field: 'hessianDiag' });
      hessianDiag = this.opts.hessian(params);
    }
    for (const g of this.groups) this.stepGroup(g, grads, aux, hessianDiag, t);
    this.stepCount = t;
  }

  private gradsOf(g: Group, grads: Grads, what: string): Float32Array[] {
    return g.params.map((p) => {
      const x = getGrad(grads, p.name);
      if (!x) throw fail('ALIGNKIT_ERR_TENSOR', `${what} has no entry for parameter "${p.name}"`, { field: p.name });
      if (x.length !== p.data.length) throw fail('ALIGNKIT_ERR_TENSOR', `${what} for "${p.name}" has ${x.length} elements, the parameter has ${p.data.length}`, { field: p.name });
      return x;
    });
  }

  /** x itself when kernels can address it, else a copy in the arena buffer `target` gives. */
  private inArena(x: Float32Array, target: () => Float32Array): Float32Array {
    if (this.alloc.addressable(x)) return x;
    const copy = target();
    copy.set(x);
    return copy;
  }

  private workspace(g: Group): Float32Array[] {
    g.updates ??= g.params.map((p) => this.alloc.f32(p.data.length));
    return g.updates;
  }

  private stepGroup(g: Group, grads: Grads, aux: StepAux, hessian: Grads | undefined, t: number): void {
    const workers = aux.workerGrads?.map((w, k) => this.gradsOf(g, w, `workerGrads[${k}]`));
    let raw: Float32Array[];
    if (workers) {
      // The gradient of the step is the workers' mean (what a full-precision all-reduce gives).
      raw = this.workspace(g).map((u, i) => {
        u.fill(0);
        for (const w of workers) for (let j = 0; j < u.length; j++) u[j]! += w[i]![j]! / workers.length;
        return u.slice();
      });
    } else {
      raw = this.gradsOf(g, grads, 'grads');
    }
    const hessianDiag = hessian && g.transform.needsHessian?.(t) ? this.gradsOf(g, hessian, 'hessianDiag') : undefined;
    if (g.kernel) {
      // Kernels read gradients and Hessian diagonals from the arena: copy the ones that live elsewhere.
      const inArena = raw.map((x, i) => this.inArena(x, () => this.workspace(g)[i]!));
      const diag = hessianDiag?.map((x, i) => this.inArena(x, () => (g.hessianCopies ??= g.params.map((p) => this.alloc.f32(p.data.length)))[i]!));
      g.kernel.run(g.params, inArena, g.state, g.transform, { step: t, hessianDiag: diag, workerGrads: workers });
      return;
    }
    const updates = this.workspace(g);
    for (let i = 0; i < raw.length; i++) if (raw[i] !== updates[i]) updates[i]!.set(raw[i]!);
    const ctx: UpdateContext = {
      params: g.params,
      step: t,
      grads: raw,
      hessianDiag,
      workerGrads: workers,
      stateOf: () => undefined,
    };
    g.transform.update(updates, g.state, ctx);
    for (let i = 0; i < g.params.length; i++) {
      const p = g.params[i]!.data;
      const u = updates[i]!;
      for (let j = 0; j < p.length; j++) p[j]! += u[j]!;
    }
  }

  state(): Map<string, Tensor> {
    // Loaded but not yet applied (no step since loadState): the loaded state is still the state.
    // Returning only the step count here made a resumed run that ran no step (resuming a finished
    // run) rewrite its checkpoint without the moments (issue #12: 92 tensors -> 30).
    if (!this.groups && this.pending) return new Map(this.pending);
    this.canonicalize();
    const out = new Map<string, Tensor>();
    out.set('#stepCount', { dtype: 'float64', dims: [1], data: Float64Array.of(this.stepCount) });
    this.groups?.forEach((g, gi) => collectState(`group${gi}/`, g.transform, g.state, g.params, out));
    return out;
  }

  loadState(t: Map<string, Tensor>): void {
    if (!this.groups) {
      // State arrays are sized at the first step (when the parameters are known): apply then.
      this.pending = t;
      const sc = t.get('#stepCount');
      if (sc) this.stepCount = Number(sc.data[0]);
      return;
    }
    this.applyState(t);
  }

  /** State in the transforms' layout: kernels that pack it between steps unpack it here. */
  private canonicalize(): void {
    for (const g of this.groups ?? []) g.kernel?.canonicalize(g.state, g.transform);
  }

  private applyState(t: Map<string, Tensor>): void {
    this.canonicalize();
    const used = new Set<string>(['#stepCount']);
    const sc = t.get('#stepCount');
    if (!sc) throw fail('ALIGNKIT_ERR_STATE', 'optimizer state has no "#stepCount"', { field: '#stepCount' });
    this.groups!.forEach((g, gi) => restoreState(`group${gi}/`, g.transform, g.state, g.params, t, used));
    const extra = [...t.keys()].filter((k) => !used.has(k));
    if (extra.length) throw fail('ALIGNKIT_ERR_STATE', `optimizer state has tensors this ${this.optimizerName} does not use: ${extra.slice(0, 5).join(', ')}`, { field: extra[0] });
    this.stepCount = Number(sc.data[0]);
  }

  stateBytesPerParam(): number {
    if (!this.groups) return 0;
    let bytes = 0;
    let n = 0;
    for (const g of this.groups) {
      for (const a of stateArrays(g.state)) bytes += a.byteLength;
      for (const p of g.params) n += p.data.length;
    }
    return n ? bytes / n : 0;
  }

  lr(): number {
    const lr = Number((this.groups?.[0]?.hyper ?? this.baseHyper).lr ?? 0);
    return lr * this.schedule(Math.max(1, this.stepCount));
  }

  kernelNames(): string[] {
    return (this.groups ?? []).map((g) => g.kernel?.name ?? '');
  }
}
