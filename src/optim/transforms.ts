// Small transformations every optimizer composes: learning rate with a schedule, decoupled weight
// decay, momentum (trace), global-norm and coordinate-wise clipping. Each is a few lines and owns
// only its own state.

import { emptyState, transform, type GradientTransformation } from './core.js';
import type { Schedule } from './schedules.js';

/** u *= -lr * schedule(t): the last transform of a chain (optax.scale_by_learning_rate). */
export function scaleByLearningRate(lr: number, schedule: Schedule = () => 1): GradientTransformation {
  return transform('scaleByLearningRate', { lr, schedule }, (params) => emptyState(params), (updates, state) => {
    state.count++;
    const s = -lr * schedule(state.count);
    for (const u of updates) for (let j = 0; j < u.length; j++) u[j]! *= s;
  });
}

/** The current learning rate of a `scaleByLearningRate` state, for `Optimizer.lr()`. */
export function currentLr(lr: number, schedule: Schedule, count: number): number {
  return lr * schedule(Math.max(1, count));
}

/**
 * u += wd * p (optax.add_decayed_weights). Placed after an adaptive scaling and before the learning
 * rate, this is decoupled weight decay (AdamW: p -= lr * wd * p); placed first, it is the L2 penalty
 * of torch's SGD and Adam. `ratioOf` names a sibling whose per-parameter `wdRatio` scales it (AdamP).
 */
export function addDecayedWeights(weightDecay: number, ratioOf?: string): GradientTransformation {
  return transform('addDecayedWeights', { weightDecay }, (params) => emptyState(params), (updates, state, ctx) => {
    state.count++;
    if (weightDecay === 0) return;
    const ratios = ratioOf ? ctx.stateOf(ratioOf) : undefined;
    for (let i = 0; i < updates.length; i++) {
      const u = updates[i]!;
      const p = ctx.params[i]!.data;
      const wd = weightDecay * (ratios ? ratios.slots[i]!.wdRatio![0]! : 1);
      for (let j = 0; j < u.length; j++) u[j]! += wd * p[j]!;
    }
  });
}

export interface DecayWeightsOptions {
  /** Multiply the rate by this learning rate and its schedule (omit for a rate not tied to lr: AdaBelief's fixed_decay). */
  lr?: number;
  schedule?: Schedule;
  /** Decay the parameter after the step, p_new = (p + u)(1 - rate), instead of the pre-step p. */
  afterStep?: boolean;
}

/**
 * Multiplicative weight decay placed LAST in a chain (after the learning rate), for official code
 * that shrinks the parameter directly: u -= rate * p, or with `afterStep` u -= rate * (p + u), so
 * p_new = (p + u)(1 - rate). rate = weightDecay * lr * schedule(t), or weightDecay alone without lr.
 * SPAM's and SOAP's code and bitsandbytes' Adam kernels decay after the step (p.add_(p,
 * alpha=-lr*wd) after p.add_(update); p *= 1 - lr*wd after the update in kOptimizer32bit2State and
 * kOptimizerStatic8bit2StateBlockwise); AdaBelief's fixed_decay decays the pre-step p by wd alone.
 * With lr, `afterStep: false` equals addDecayedWeights before the learning rate.
 */
export function decayWeights(weightDecay: number, opts: DecayWeightsOptions = {}): GradientTransformation {
  const { lr, schedule = () => 1, afterStep = false } = opts;
  return transform('decayWeights', { weightDecay, lr, schedule, afterStep }, (params) => emptyState(params), (updates, state, ctx) => {
    const t = ++state.count;
    if (weightDecay === 0) return;
    // The schedule runs on the optimizer's step (this transform may start late: SOAP skips step 1).
    const rate = weightDecay * (lr === undefined ? 1 : lr * schedule(ctx.step ?? t));
    for (let i = 0; i < updates.length; i++) {
      const u = updates[i]!;
      const p = ctx.params[i]!.data;
      if (afterStep) for (let j = 0; j < u.length; j++) u[j]! -= rate * (p[j]! + u[j]!);
      else for (let j = 0; j < u.length; j++) u[j]! -= rate * p[j]!;
    }
  });
}

/**
 * Momentum as torch.optim.SGD computes it: buf = momentum * buf + (1 - dampening) * u, with the
 * first buffer equal to the raw gradient (or, with firstIsGrad false, starting from zeros as
 * AdamP's SGDP does); Nesterov returns u + momentum * buf.
 */
export function trace(momentum: number, nesterov = false, dampening = 0, firstIsGrad = true): GradientTransformation {
  return transform(
    'trace',
    { momentum, nesterov, dampening, firstIsGrad },
    (params, alloc) => {
      const s = emptyState(params);
      if (momentum !== 0) s.slots = params.map((p) => ({ momentum: alloc.f32(p.data.length) }));
      return s;
    },
    (updates, state) => {
      state.count++;
      if (momentum === 0) return;
      const first = firstIsGrad && state.count === 1;
      for (let i = 0; i < updates.length; i++) {
        const u = updates[i]!;
        const buf = state.slots[i]!.momentum as Float32Array;
        for (let j = 0; j < u.length; j++) {
          const b = first ? u[j]! : momentum * buf[j]! + (1 - dampening) * u[j]!;
          buf[j] = b;
          u[j] = nesterov ? u[j]! + momentum * b : b;
        }
      }
    },
  );
}

/** Rescale all updates so their joint l2 norm is at most maxNorm (torch.nn.utils.clip_grad_norm_). */
export function clipByGlobalNorm(maxNorm: number): GradientTransformation {
  return transform('clipByGlobalNorm', { maxNorm }, (params) => emptyState(params), (updates, state) => {
    state.count++;
    let sq = 0;
    for (const u of updates) for (let j = 0; j < u.length; j++) sq += u[j]! * u[j]!;
    const norm = Math.sqrt(sq);
    if (norm <= maxNorm) return;
    const s = maxNorm / norm;
    for (const u of updates) for (let j = 0; j < u.length; j++) u[j]! *= s;
  });
}

/**
 * Clip every coordinate to [-threshold, threshold] ("Toward Understanding Why Adam Converges Faster
 * Than SGD for Transformers": coordinate-wise clipping gives SGD much of Adam's robustness to heavy tails).
 */
export function clipCoordinates(threshold: number): GradientTransformation {
  return transform('clipCoordinates', { threshold }, (params) => emptyState(params), (updates, state) => {
    state.count++;
    for (const u of updates) for (let j = 0; j < u.length; j++) u[j] = Math.min(threshold, Math.max(-threshold, u[j]!));
  });
}

/** u *= factor. */
export function scale(factor: number): GradientTransformation {
  return transform('scale', { factor }, (params) => emptyState(params), (updates, state) => {
    state.count++;
    for (const u of updates) for (let j = 0; j < u.length; j++) u[j]! *= factor;
  });
}
