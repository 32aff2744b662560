// Kernels for the Adam family: Adam/AdamW (L2 or decoupled decay, AMSGrad, Nesterov, eps outside
// the corrections), SPAM, Stable-SPAM, EXAdam, AdaBelief, Lion, 8-bit Adam and 1-bit Adam. Each
// turns the chain's hyperparameters and counts into the per-step constants of its C function.

import { fail } from '../../errors.js';
import type { GradientTransformation, Param, TransformState } from '../core.js';
import type { Schedule } from '../schedules.js';
import { resetWarmupFactor, stepsSinceReset, zeroState } from '../reset.js';
import { hasMember, learningRate, member, ptr, tickAll, type KernelSpec, type Member } from './chain.js';
import { scratchF64, type ArenaKernels } from './module.js';

/** k1, k2 of adam_step for a scaleByAdam member at count t (b1 possibly scheduled). */
function adamConstants(a: Member, t: number, step: number) {
  const h = a.hyper as { b1: number; b2: number; eps: number; epsOutsideCorrection: boolean; biasCorrection: boolean; b1Schedule?: Schedule; nesterov: boolean; amsgrad: boolean };
  const b1 = h.b1Schedule ? h.b1 * h.b1Schedule(step) : h.b1;
  const bc1 = h.biasCorrection ? 1 - b1 ** t : 1;
  const bc2 = h.biasCorrection ? 1 - h.b2 ** t : 1;
  const [k1, k2] = h.epsOutsideCorrection ? [Math.sqrt(bc2) / bc1, 1] : [1 / bc1, 1 / bc2];
  return { b1, b2: h.b2, c1: 1 - b1, c2: 1 - h.b2, eps: h.eps, k1, k2, nesterov: h.nesterov ? 1 : 0 };
}

/** The weight-decay rate of a decayWeights member at this step, and whether it acts after the step. */
function decayOf(t: GradientTransformation, s: TransformState, step: number): { rate: number; afterStep: boolean } {
  if (!hasMember(t, 'decayWeights')) return { rate: 0, afterStep: false };
  const d = member(t, s, 'decayWeights').hyper as { weightDecay: number; lr?: number; schedule: Schedule; afterStep: boolean };
  return { rate: d.weightDecay * (d.lr === undefined ? 1 : d.lr * d.schedule(step)), afterStep: d.afterStep };
}

const INF = Number.POSITIVE_INFINITY;

/** Adam's elementwise update with no preprocessing beyond an L2 term. */
function runAdam({ x }: ArenaKernels, p: Param, g: Float32Array, a: Member, i: number, c: ReturnType<typeof adamConstants>, o: { step: number; l2?: number; decayPre?: number; decayPost?: number; theta?: number; clipLimit?: number; clipScale?: number; gscale?: number }) {
  const slot = a.state.slots[i]!;
  x.adam_step(ptr(p.data), ptr(g), ptr(slot.m), ptr(slot.v), ptr(slot.vmax), p.data.length, o.step, c.b1, c.b2, c.c1, c.c2, c.eps, c.k1, c.k2, o.l2 ?? 0, o.decayPre ?? 0, o.decayPost ?? 0, o.theta ?? 0, o.clipLimit ?? INF, o.clipScale ?? 1, o.gscale ?? 1, c.nesterov);
}

const plainAdamHyper = (t: GradientTransformation) => {
  const h = t.children!.find((c) => c.name === 'scaleByAdam')!.hyper;
  return h.b1Schedule === undefined;
};

/** Adam with an L2 term (addDecayedWeights first) or AdamW (after). */
const adam: KernelSpec = {
  name: 'adam',
  signatures: ['chain(scaleByAdam,addDecayedWeights,scaleByLearningRate)', 'chain(addDecayedWeights,scaleByAdam,scaleByLearningRate)'],
  accepts: plainAdamHyper,
  make: (k) => (params, grads, state, t, aux) => {
    tickAll(state);
    const a = member(t, state, 'scaleByAdam');
    const c = adamConstants(a, a.state.count, aux.step);
    const lr = learningRate(t, state);
    const wd = member(t, state, 'addDecayedWeights').hyper.weightDecay as number;
    const l2First = t.children![0]!.name === 'addDecayedWeights';
    params.forEach((p, i) => runAdam(k, p, grads[i]!, a, i, c, { step: lr, l2: l2First ? wd : 0, decayPre: l2First ? 0 : lr * wd }));
  },
};

/** SPAM: spike clipping against v, momentum reset before the update, warmup after a reset, decay after the step. */
const spam: KernelSpec = {
  name: 'spam',
  signatures: ['chain(chain(spikeAwareClip,periodicReset(scaleByAdam)),scaleByResetWarmup,scaleByLearningRate,decayWeights)'],
  make: (k) => (params, grads, state, t, aux) => {
    tickAll(state);
    const clip = member(t, state, 'spikeAwareClip');
    const reset = member(t, state, 'periodicReset');
    const a = member(t, state, 'scaleByAdam');
    const { threshold, resetInterval, clipWarmupSteps } = clip.hyper as { threshold: number; resetInterval: number; clipWarmupSteps: number };
    const period = reset.hyper.period as number;
    if (period > 0 && reset.state.count % period === 0) zeroState(a.state);
    const tc = clip.state.count;
    const clipping = threshold !== 0 && tc >= clipWarmupSteps && !(resetInterval > 0 && tc % resetInterval < clipWarmupSteps);
    const w = member(t, state, 'scaleByResetWarmup');
    const warm = resetWarmupFactor(w.state.count, w.hyper.period as number, w.hyper.warmupSteps as number);
    const c = adamConstants(a, a.state.count, aux.step);
    const lr = learningRate(t, state);
    const decay = decayOf(t, state, aux.step).rate;
    params.forEach((p, i) => runAdam(k, p, grads[i]!, a, i, c, { step: lr * warm, decayPost: decay, theta: clipping ? threshold : 0 }));
  },
};

/** Stable-SPAM: AdaClip and AdaGN from per-tensor reductions, then Adam on the rescaled gradient. */
const stableSpam: KernelSpec = {
  name: 'stable-spam',
  signatures: ['chain(adaptiveSpikeClip,adaptiveGradNorm,periodicReset(scaleByAdam),addDecayedWeights,scaleByLearningRate)'],
  make: (k) => (params, grads, state, t, aux) => {
    tickAll(state);
    const clip = member(t, state, 'adaptiveSpikeClip');
    const norm = member(t, state, 'adaptiveGradNorm');
    const reset = member(t, state, 'periodicReset');
    const a = member(t, state, 'scaleByAdam');
    const period = reset.hyper.period as number;
    const resetting = period > 0 && reset.state.count % period === 0;
    if (resetting) a.state.count = 1; // the update runs on the old moments with bias correction 1 (reset.ts 'afterUpdate')
    const { gamma3, resetInterval } = clip.hyper as { gamma3: number; resetInterval: number };
    const { gamma1, gamma2, eps: normEps, schedule } = norm.hyper as { gamma1: number; gamma2: number; eps: number; schedule: Schedule };
    const kc = stepsSinceReset(clip.state.count, resetInterval);
    const kn = stepsSinceReset(norm.state.count, norm.hyper.resetInterval as number);
    const g1 = gamma1 * schedule(norm.state.count);
    const c = adamConstants(a, a.state.count, aux.step);
    const lr = learningRate(t, state);
    const wd = member(t, state, 'addDecayedWeights').hyper.weightDecay as number;
    params.forEach((p, i) => {
      const g = grads[i]!;
      const n = g.length;
      const mMax = clip.state.slots[i]!.mMax as Float64Array;
      // max |g| and ||g||^2 in one pass; a second only when AdaClip clips (then the norm is of the clipped g).
      const maxOut = k.scratch('absmax', 1);
      const rawSq = k.x.absmax_sumsq(ptr(g), n, ptr(maxOut));
      const max = maxOut[0]!;
      mMax[0] = gamma3 * mMax[0]! + (1 - gamma3) * max;
      const limit = mMax[0]! / (1 - gamma3 ** kc);
      const clipping = max > limit;
      const scale = clipping ? limit / max : 1;
      const sq = clipping ? k.x.clipped_sumsq(ptr(g), n, limit, scale) : rawSq;
      const { mNorm, vNorm } = norm.state.slots[i] as { mNorm: Float64Array; vNorm: Float64Array };
      const gn = Math.sqrt(sq);
      mNorm[0] = g1 * mNorm[0]! + (1 - g1) * gn;
      vNorm[0] = gamma2 * vNorm[0]! + (1 - gamma2) * sq;
      const target = mNorm[0]! / (1 - g1 ** kn) / (Math.sqrt(vNorm[0]! / (1 - gamma2 ** kn)) + normEps);
      runAdam(k, p, g, a, i, c, { step: lr, decayPre: lr * wd, clipLimit: clipping ? limit : INF, clipScale: scale, gscale: gn > 0 ? target / gn : 1 });
    });
    if (resetting) zeroState(a.state);
  },
};

const lion: KernelSpec = {
  name: 'lion',
  signatures: ['chain(scaleByLion,addDecayedWeights,scaleByLearningRate)'],
  accepts: (t) => t.children![0]!.hyper.kappa === 'sign',
  make: ({ x }) => (params, grads, state, t) => {
    tickAll(state);
    const l = member(t, state, 'scaleByLion');
    const { b1, b2 } = l.hyper as { b1: number; b2: number };
    const wd = member(t, state, 'addDecayedWeights').hyper.weightDecay as number;
    const lr = learningRate(t, state);
    params.forEach((p, i) => x.lion_step(ptr(p.data), ptr(grads[i]), ptr(l.state.slots[i]!.m), p.data.length, lr, b1, b2, 1 - b1, 1 - b2, wd));
  },
};

const exadam: KernelSpec = {
  name: 'exadam',
  signatures: ['chain(scaleByExAdam,addDecayedWeights,scaleByLearningRate)', 'chain(scaleByExAdam,scaleByLogGrowth,addDecayedWeights,scaleByLearningRate)'],
  make: ({ x }) => (params, grads, state, t) => {
    tickAll(state);
    const e = member(t, state, 'scaleByExAdam');
    const { b1, b2, eps } = e.hyper as { b1: number; b2: number; eps: number };
    const n = e.state.count;
    const growth = hasMember(t, 'scaleByLogGrowth') ? Math.log(Math.SQRT2 * Math.sqrt(member(t, state, 'scaleByLogGrowth').state.count + 1)) : 1;
    const lr = learningRate(t, state);
    const wd = member(t, state, 'addDecayedWeights').hyper.weightDecay as number;
    params.forEach((p, i) => {
      const s = e.state.slots[i]!;
      x.exadam_step(ptr(p.data), ptr(grads[i]), ptr(s.m), ptr(s.v), p.data.length, b1, b2, 1 - b1, 1 - b2, eps, b1 ** n, b2 ** n, 1 / (1 - b1 ** n), 1 / (1 - b2 ** n), lr * growth, lr * wd);
    });
  },
};

const adabelief: KernelSpec = {
  name: 'adabelief',
  signatures: ['chain(scaleByBelief,addDecayedWeights,scaleByLearningRate)', 'chain(addDecayedWeights,scaleByBelief,scaleByLearningRate)', 'chain(scaleByBelief,scaleByLearningRate,decayWeights)'],
  accepts: (t) => !hasMember(t, 'decayWeights') || (t.children![2]!.hyper.lr === undefined && t.children![2]!.hyper.afterStep === false),
  make: ({ x }) => (params, grads, state, t) => {
    tickAll(state);
    const b = member(t, state, 'scaleByBelief');
    const { b1, b2, eps, rectify, degeneratedToSgd } = b.hyper as { b1: number; b2: number; eps: number; rectify: boolean; degeneratedToSgd: boolean };
    const n = b.state.count;
    const bc1 = 1 - b1 ** n;
    const bc2 = 1 - b2 ** n;
    const rhoInf = 2 / (1 - b2) - 1;
    const rho = rhoInf - (2 * n * b2 ** n) / bc2;
    let mode = 0;
    let k1 = 1 / bc1;
    if (rectify && rho >= 5) {
      mode = 1;
      k1 = Math.sqrt((bc2 * (rho - 4) * (rho - 2) * rhoInf) / ((rhoInf - 4) * (rhoInf - 2) * rho)) / bc1;
    } else if (rectify) {
      mode = 2;
      k1 = degeneratedToSgd ? 1 / bc1 : 0;
    }
    const lr = learningRate(t, state);
    const first = t.children![0]!.name;
    const wd = hasMember(t, 'addDecayedWeights') ? (member(t, state, 'addDecayedWeights').hyper.weightDecay as number) : 0;
    const l2 = first === 'addDecayedWeights' ? wd : 0;
    const decay = hasMember(t, 'decayWeights') ? (member(t, state, 'decayWeights').hyper.weightDecay as number) : l2 ? 0 : lr * wd;
    params.forEach((p, i) => {
      const s = b.state.slots[i]!;
      x.adabelief_step(ptr(p.data), ptr(grads[i]), ptr(s.m), ptr(s.s), ptr(s.smax), p.data.length, b1, b2, 1 - b1, 1 - b2, eps, l2, mode, k1, 1 / Math.sqrt(bc2), lr, decay);
    });
  },
};

/** bitsandbytes' 8-bit Adam: block-wise kernel for quantized tensors, Adam's for float32-state ones. */
const adam8bit: KernelSpec = {
  name: 'adam8bit',
  signatures: ['chain(scaleByAdam8bit,scaleByLearningRate,decayWeights)', 'chain(percentileClipping,scaleByAdam8bit,scaleByLearningRate,decayWeights)'],
  make: (k) => (params, grads, state, t, aux) => {
    tickAll(state);
    const a = member(t, state, 'scaleByAdam8bit');
    const { b1, b2, eps, blockSize } = a.hyper as { b1: number; b2: number; eps: number; blockSize: number };
    const n8 = a.state.count;
    const lr = learningRate(t, state);
    const decay = decayOf(t, state, aux.step).rate;
    const clip = hasMember(t, 'percentileClipping') ? member(t, state, 'percentileClipping') : undefined;
    const q = k.q8();
    const c = { b1, b2, c1: 1 - b1, c2: 1 - b2, eps, k1: 1 / (1 - b1 ** n8), k2: 1 / (1 - b2 ** n8), nesterov: 0 };
    params.forEach((p, i) => {
      const g = grads[i]!;
      let gscale = 1;
      if (clip) {
        // percentileClipping's history, as the transform keeps it (the norm from a kernel reduction).
        const gnorms = clip.state.slots[i]!.gnorms as Float32Array;
        const tc = clip.state.count;
        const sq = k.x.sumsq(ptr(g), g.length);
        if (tc === 1) gnorms.fill(sq);
        else gnorms[tc % 100] = sq;
        const current = Math.sqrt(gnorms[tc % 100]!);
        const limit = Math.sqrt(Float32Array.from(gnorms).sort()[clip.hyper.percentile as number]!);
        if (current > limit) gscale = limit / current;
      }
      const s = a.state.slots[i]!;
      if (s.m) runAdam(k, p, g, a, i, c, { step: lr, decayPost: decay, gscale });
      else k.x.adam8bit_step(ptr(p.data), ptr(g), ptr(s.mq), ptr(s.vq), ptr(s.mAbsmax), ptr(s.vAbsmax), p.data.length, blockSize, q.smap, q.umap, q.slut, q.ulut, q.scratch, lr, b1, b2, 1 - b1, 1 - b2, eps, c.k1, c.k2, gscale, decay);
    });
  },
};

/**
 * With one worker, the scale of each slot's last compressed step while the slot is packed (e's array
 * holds y = b1 q + e, v's sign bit sign(q); see onebit_pack in optim_kernels.c).
 */
const packedScale = new WeakMap<object, number>();

/** 1-bit Adam: Adam without bias correction in the warm-up, then the two-sided sign compression. */
const onebitAdam: KernelSpec = {
  name: 'onebit-adam',
  signatures: ['chain(scaleByOneBitAdam,addDecayedWeights,scaleByLearningRate)'],
  make: (k) => (params, grads, state, t, aux) => {
    tickAll(state);
    const a = member(t, state, 'scaleByOneBitAdam');
    const { b1, b2, eps, freezeStep, workers } = a.hyper as { b1: number; b2: number; eps: number; freezeStep: number; workers: number };
    const lr = learningRate(t, state);
    const wd = member(t, state, 'addDecayedWeights').hyper.weightDecay as number;
    const per = aux.workerGrads ?? [grads];
    if (per.length !== workers) throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `onebit-adam is configured for ${workers} workers but step() got gradients of ${per.length}`, { field: 'workerGrads' });
    params.forEach((p, i) => {
      const s = a.state.slots[i] as Record<string, Float32Array>;
      const n = p.data.length;
      if (a.state.count <= freezeStep) {
        k.x.adam_step(ptr(p.data), ptr(grads[i]), ptr(s.m), ptr(s.v), 0, n, lr, b1, b2, 1 - b1, 1 - b2, eps, 1, 1, 0, lr * wd, 0, 0, INF, 1, 1, 0);
        return;
      }
      const sums = scratchF64(k.arena, 'onebit-sums', 3);
      // Per-worker gradients may live anywhere (the mean gradient is already in the arena).
      const arenaGrad = (g: Float32Array) => {
        if (k.arena.contains(g)) return g;
        const copy = k.scratch('onebit-grad', n).subarray(0, n);
        copy.set(g);
        return copy;
      };
      if (workers === 1) {
        const g = arenaGrad(per[0]![i]!);
        const y = s.workerError0!;
        if (!packedScale.has(s)) k.x.onebit_pack(ptr(s.m), ptr(y), n, b1);
        k.x.onebit_norm(ptr(g), ptr(y), n, 1 - b1, ptr(sums));
        const scale = Math.fround(Math.sqrt(sums[0]! / n));
        k.x.onebit_single(ptr(p.data), ptr(s.v), ptr(y), ptr(g), n, b1, 1 - b1, scale, eps, lr, wd);
        packedScale.set(s, scale);
        return;
      }
      const acc = k.scratch('onebit-acc', n);
      per.forEach((wg, w) => {
        const g = arenaGrad(wg[i]!);
        const e = s[`workerError${w}`]!;
        const [first, last] = [w === 0 ? 1 : 0, w === per.length - 1 ? 1 : 0];
        k.x.onebit_local(ptr(s.m), ptr(g), ptr(e), ptr(acc), ptr(s.serverError), n, b1, 1 - b1, first, last, ptr(sums));
        const scale = Math.fround(Math.sqrt(sums[0]! / n));
        const wt = 1 / workers;
        if (!last) return k.x.onebit_compress(ptr(e), ptr(acc), n, scale, wt, first);
        // The server's norm from the sums of pass 1: ||q w + z||^2 = w^2 n scale^2 + 2 w scale sum(sign z) + sum z^2.
        const scale2 = Math.sqrt(Math.max(0, wt * wt * n * scale * scale + 2 * wt * scale * sums[1]! + sums[2]!) / n);
        k.x.onebit_finish(ptr(p.data), ptr(s.m), ptr(s.v), ptr(e), ptr(acc), ptr(s.serverError), n, scale, wt, first, scale2, eps, lr, wd);
      });
    });
  },
  canonicalize: (k, state, t) => {
    const a = member(t, state, 'scaleByOneBitAdam');
    const b1 = (a.hyper as { b1: number }).b1;
    for (const slot of a.state.slots) {
      const s = slot as Record<string, Float32Array>;
      const scale = packedScale.get(s);
      if (scale === undefined) continue;
      k.x.onebit_unpack(ptr(s.m), ptr(s.v), ptr(s.workerError0), s.m!.length, b1, scale);
      packedScale.delete(s);
    }
  },
};

export const ADAM_FAMILY_KERNELS: KernelSpec[] = [adam, spam, stableSpam, lion, exadam, adabelief, adam8bit, onebitAdam];
