// src/optim's element-wise gradient transformations as ONNX nodes, so that a training graph can
// end in the optimizer update and run on the GPU with parameters and state as device buffers
// (DESIGN.md notes a CPU loop over GPU data would copy everything back every step). One rule per
// transform name, reading the same hyperparameters, keeping the same state slots under the same
// names, and computing the same equations as the TypeScript transform it mirrors (cited there);
// a chain runs on the device when every member has a rule here. The per-step numbers that depend
// on the step count (bias corrections, the scheduled learning rate) are computed on the host and
// fed as scalar inputs, so one graph serves every step.

import { GraphBuilder, type Value } from '../../graph/index.js';
import type { GradientTransformation } from '../../optim/index.js';
import type { Schedule } from '../../optim/schedules.js';

/** What a rule sees of the graph for one parameter: its value, its state slots, the step's scalars. */
export interface RuleContext {
  g: GraphBuilder;
  /** The parameter's current value. */
  param: Value;
  /** A state slot's current value (an input of the graph). */
  slot(name: string): Value;
  /** The slot's next value (an output of the graph). */
  setSlot(name: string, next: Value): void;
  /** A per-step scalar this rule declared in `scalars`. */
  scalar(name: string): Value;
  /** A float32 constant. */
  c(x: number): Value;
}

export interface DeviceRule {
  /** Why these hyperparameters cannot run on the device, or undefined when they can. */
  refuse?(hyper: Record<string, unknown>): string | undefined;
  /** Per-parameter state slots, named as the TypeScript transform names them. */
  slots(hyper: Record<string, unknown>): string[];
  /** Scalars of the step whose 1-based count (this transform's count after the step) is `t`. */
  scalars?(hyper: Record<string, unknown>, t: number): Record<string, number>;
  /** The updates after this transform, from the updates before it. */
  emit(u: Value, ctx: RuleContext, hyper: Record<string, unknown>): Value;
}

const num = (h: Record<string, unknown>, k: string) => h[k] as number;

/** m = b1 m + (1-b1) u (as written in the TypeScript loops: b * x + (1 - b) * u). */
function ema(ctx: RuleContext, state: Value, u: Value, b: number): Value {
  return ctx.g.add(ctx.g.mul(ctx.c(b), state), ctx.g.mul(ctx.c(1 - b), u));
}

export const DEVICE_RULES: Record<string, DeviceRule> = {
  // src/optim/adam.ts scaleByAdam.
  scaleByAdam: {
    slots: (h) => (h.amsgrad ? ['m', 'v', 'vmax'] : ['m', 'v']),
    scalars: (h, t) => {
      const bc2 = 1 - num(h, 'b2') ** t;
      return { bc1: 1 - num(h, 'b1') ** t, bc2, sqrtBc2: Math.sqrt(bc2) };
    },
    emit: (u, ctx, h) => {
      const { g } = ctx;
      const m = ema(ctx, ctx.slot('m'), u, num(h, 'b1'));
      const v = ema(ctx, ctx.slot('v'), g.mul(u, u), num(h, 'b2'));
      ctx.setSlot('m', m);
      ctx.setSlot('v', v);
      let vj = v;
      if (h.amsgrad) {
        vj = g.max(ctx.slot('vmax'), v);
        ctx.setSlot('vmax', vj);
      }
      const mHat = g.div(m, ctx.scalar('bc1'));
      const eps = ctx.c(num(h, 'eps'));
      return h.epsOutsideCorrection
        ? g.div(g.mul(mHat, ctx.scalar('sqrtBc2')), g.add(g.sqrt(vj), eps))
        : g.div(mHat, g.add(g.sqrt(g.div(vj, ctx.scalar('bc2'))), eps));
    },
  },
  // src/optim/lion.ts scaleByLion: the update is kappa'(b1 m + (1-b1) u), the state moves with b2.
  scaleByLion: {
    refuse: (h) => (h.kappa === 'sign' || h.kappa === 'l2' ? undefined : `kappa ${String(h.kappa)}`),
    slots: () => ['m'],
    emit: (u, ctx, h) => {
      const { g } = ctx;
      const c = ema(ctx, ctx.slot('m'), u, num(h, 'b1'));
      ctx.setSlot('m', ema(ctx, ctx.slot('m'), u, num(h, 'b2')));
      if (h.kappa === 'sign') return g.op('Sign', [c])[0]!;
      // kappa = ||c||_2 per tensor: c / ||c||, and 0 where c is all zeros.
      const sq = g.op('ReduceSumSquare', [c], { keepdims: 0 })[0]!;
      const inv = g.where(g.greater(sq, ctx.c(0)), g.reciprocal(g.sqrt(sq)), ctx.c(0));
      return g.mul(c, inv);
    },
  },
  // src/optim/transforms.ts addDecayedWeights (without a ratio sibling: AdamP's projection has no rule).
  addDecayedWeights: {
    slots: () => [],
    emit: (u, ctx, h) => (num(h, 'weightDecay') === 0 ? u : ctx.g.add(u, ctx.g.mul(ctx.c(num(h, 'weightDecay')), ctx.param))),
  },
  // scaleByLearningRate: u *= -lr * schedule(t), the scheduled rate computed on the host.
  scaleByLearningRate: {
    slots: () => [],
    scalars: (h, t) => ({ scale: -num(h, 'lr') * (h.schedule as Schedule)(t) }),
    emit: (u, ctx) => ctx.g.mul(u, ctx.scalar('scale')),
  },
  // trace (torch SGD momentum): buf = momentum buf + (1 - dampening) u, the first buf = u when
  // firstIsGrad; fed as coefficients (0, 1) on that step so one graph serves every step.
  trace: {
    slots: (h) => (num(h, 'momentum') === 0 ? [] : ['momentum']),
    scalars: (h, t) => {
      const first = Boolean(h.firstIsGrad) && t === 1;
      return { keep: first ? 0 : num(h, 'momentum'), take: first ? 1 : 1 - num(h, 'dampening') };
    },
    emit: (u, ctx, h) => {
      if (num(h, 'momentum') === 0) return u;
      const { g } = ctx;
      const buf = g.add(g.mul(ctx.scalar('keep'), ctx.slot('momentum')), g.mul(ctx.scalar('take'), u));
      ctx.setSlot('momentum', buf);
      return h.nesterov ? g.add(u, g.mul(ctx.c(num(h, 'momentum')), buf)) : buf;
    },
  },
  scale: {
    slots: () => [],
    emit: (u, ctx, h) => ctx.g.mul(u, ctx.c(num(h, 'factor'))),
  },
  clipCoordinates: {
    slots: () => [],
    emit: (u, ctx, h) => ctx.g.clip(u, ctx.c(-num(h, 'threshold')), ctx.c(num(h, 'threshold'))),
  },
};

/** Why a group's chain cannot run on the device (the first member without a rule), or undefined. */
export function deviceRefusal(t: GradientTransformation): string | undefined {
  const members = t.name === 'chain' && t.children ? t.children : [t];
  for (const m of members) {
    const rule = DEVICE_RULES[m.name];
    if (!rule) return `its chain has ${m.name}, which has no device rule`;
    const why = rule.refuse?.(m.hyper as Record<string, unknown>);
    if (why) return `${m.name} with ${why} has no device rule`;
  }
  return undefined;
}
