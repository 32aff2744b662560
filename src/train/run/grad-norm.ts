// Gradient-spike accounting as an optimizer wrapper: it sees every step's averaged gradients on
// their way to the real optimizer, records the global L2 norm, and counts a spike when the norm
// exceeds `factor` times its running mean (an EMA over earlier steps, as SPAM's spike detection
// compares against a moving estimate). The wrapped optimizer's update is unchanged.

import type { Tensor } from '../../graph/index.js';
import { sumOfSquares, type Optimizer, type WasmArena } from '../../optim/index.js';
import type { StepOptimizer, TrainParam } from '../trainer.js';

const EMA = 0.9;
/** Steps before the running mean is trusted. */
const WARMUP = 5;

export interface ProbeSnapshot {
  mean: number;
  seen: number;
  spikes: number;
}

export class GradNormProbe implements StepOptimizer {
  lastNorm = 0;
  private mean = 0;
  private seen = 0;
  spikes = 0;

  constructor(
    readonly inner: Optimizer,
    private readonly factor: number,
    /** Where the gradients live, when in an arena: the norm is then taken by its kernel. */
    private readonly arena?: WasmArena,
  ) {}

  step(params: TrainParam[], grads: Map<string, Float32Array>): void {
    this.observe(Math.sqrt(sumOfSquares(grads.values(), this.arena)));
    this.inner.step(params, grads);
  }

  /** Record one step's gradient norm (a device trainer computes it in its graph and reports it here). */
  observe(norm: number): void {
    if (this.seen >= WARMUP && norm > this.factor * this.mean) this.spikes++;
    this.mean = this.seen === 0 ? norm : EMA * this.mean + (1 - EMA) * norm;
    this.seen++;
    this.lastNorm = norm;
  }

  get stepCount(): number {
    return this.inner.stepCount;
  }

  prepare(params: TrainParam[]): Promise<void> {
    return this.inner.prepare(params);
  }

  lr(): number {
    return this.inner.lr();
  }

  state(): Map<string, Tensor> {
    return this.inner.state();
  }

  loadState(t: Map<string, Tensor>): void {
    this.inner.loadState(t);
  }

  snapshot(): ProbeSnapshot {
    return { mean: this.mean, seen: this.seen, spikes: this.spikes };
  }

  restore(s: ProbeSnapshot): void {
    this.mean = s.mean;
    this.seen = s.seen;
    this.spikes = s.spikes;
  }
}
