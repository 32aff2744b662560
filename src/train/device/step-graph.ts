// The device training step as one graph: the training graph (forward, loss, backward; parameters
// as inputs, gradients as outputs) followed by each parameter group's optimizer chain as nodes
// (update-rules.ts), so one run takes parameters and optimizer state in and gives their next values
// out, all of which stay on the GPU between steps. With gradient accumulation the graph also takes
// the running gradient sum: it adds this micro-batch's gradient to it, outputs the new sum, and
// updates with sum / k (the mean over micro-batches, as the CPU Trainer averages them).

import { fail } from '../../errors.js';
import { GraphBuilder, onnxOpset, type Model, type Value } from '../../graph/index.js';
import { cloneModel } from '../../graph/rewrites/index.js';
import type { GroupLayout } from '../../optim/index.js';
import type { TrainingGraphLike } from '../trainer.js';
import { DEVICE_RULES, deviceRefusal } from './update-rules.js';

/** One state array of the optimizer on the device: its graph names and where it lives on the host. */
export interface StateSlot {
  /** Graph input; the output holding its next value is `${input}.next`. */
  input: string;
  group: number;
  member: number;
  param: string;
  slot: string;
}

/** A per-step scalar input and how the host computes it. */
export interface StepScalar {
  input: string;
  group: number;
  member: number;
  name: string;
}

export interface StepGraph {
  model: Model;
  /** Parameter (graph input) -> output holding its next value. */
  nextParam: Map<string, string>;
  slots: StateSlot[];
  scalars: StepScalar[];
  /** Scalar output: the sum of squares of the (averaged) gradient the update used. */
  gradSumSq: string;
  /** With accumulation: parameter -> [sum input, next sum output]; and the micro-batch count input. */
  accumulate?: { sums: Map<string, [string, string]>; count: string };
}

export const NEXT = '.next';
const key = (gi: number, mi: number, name: string) => `optim.group${gi}/${mi}.${name}`;

/** Members of a group's chain (a bare transform counts as a chain of one). */
export function membersOf(layout: GroupLayout) {
  const t = layout.transform;
  return t.name === 'chain' && t.children ? t.children : [t];
}

/** Refuse, naming the optimizer and the reason, a layout some group of which has no device rules. */
export function checkDeviceLayout(layouts: readonly GroupLayout[], optimizer: string, supported: readonly string[]): void {
  for (const [gi, l] of layouts.entries()) {
    const why = deviceRefusal(l.transform);
    if (why) throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `optimizer ${optimizer} (group ${gi}) cannot update on the WebGPU device: ${why}; optimizers that run on the device: ${supported.join(', ')}`, { field: 'optimizer', value: optimizer });
  }
}

export function buildStepGraph(training: TrainingGraphLike, layouts: readonly GroupLayout[], opts: { accumulate: boolean }): StepGraph {
  const model = cloneModel(training.model);
  const g = new GraphBuilder({ graph: model.graph, opset: onnxOpset(model) });
  const dimsOf = new Map(model.graph.inputs.map((v) => [v.name, v.dims as number[]]));
  const nextParam = new Map<string, string>();
  const slots: StateSlot[] = [];
  const scalars: StepScalar[] = [];
  const sums = new Map<string, [string, string]>();
  const count = opts.accumulate ? g.input('accumulate.count', 'float32', []) : undefined;
  const squares: Value[] = [];
  const c = (x: number) => g.scalar(x);
  layouts.forEach((layout, gi) => {
    const members = membersOf(layout);
    const scalarOf = new Map<string, Value>();
    members.forEach((m, mi) => {
      const rule = DEVICE_RULES[m.name]!;
      for (const name of Object.keys(rule.scalars?.(m.hyper as Record<string, unknown>, 1) ?? {})) {
        const input = `${key(gi, mi, m.name)}/#${name}`;
        scalarOf.set(`${mi}/${name}`, g.input(input, 'float32', []));
        scalars.push({ input, group: gi, member: mi, name });
      }
    });
    for (const p of layout.params) {
      const gradOut = training.gradients.get(p.name);
      const dims = dimsOf.get(p.name);
      if (!gradOut || !dims) throw fail('ALIGNKIT_ERR_GRAPH_BUILD', `parameter ${p.name} is not an input with a gradient output of the training graph`, { field: p.name });
      let grad: Value = gradOut;
      if (count) {
        const sumIn = g.input(`accumulate.${p.name}`, 'float32', dims);
        const sum = g.add(sumIn, grad);
        g.output(sum, `accumulate.${p.name}${NEXT}`, 'float32', dims);
        sums.set(p.name, [sumIn, `accumulate.${p.name}${NEXT}`]);
        grad = g.div(sum, count);
      }
      squares.push(g.op('ReduceSumSquare', [grad], { keepdims: 0 })[0]!);
      let u = grad;
      members.forEach((m, mi) => {
        const rule = DEVICE_RULES[m.name]!;
        const hyper = m.hyper as Record<string, unknown>;
        const slotIn = new Map<string, Value>();
        for (const s of rule.slots(hyper)) {
          const input = `${key(gi, mi, m.name)}/${p.name}/${s}`;
          slotIn.set(s, g.input(input, 'float32', dims));
          slots.push({ input, group: gi, member: mi, param: p.name, slot: s });
        }
        u = rule.emit(u, {
          g, param: p.name, c,
          slot: (s) => slotIn.get(s)!,
          setSlot: (s, next) => {
            g.output(next, `${key(gi, mi, m.name)}/${p.name}/${s}${NEXT}`, 'float32', dims);
          },
          scalar: (name) => scalarOf.get(`${mi}/${name}`)!,
        }, hyper);
      });
      // optax.apply_updates: p + u.
      nextParam.set(p.name, `${p.name}${NEXT}`);
      g.output(g.add(p.name, u), `${p.name}${NEXT}`, 'float32', dims);
    }
  });
  const gradSumSq = 'optim.grad_sumsq';
  g.output(squares.length === 1 ? squares[0]! : g.op('Sum', squares)[0]!, gradSumSq, 'float32', []);
  return { model, nextParam, slots, scalars, gradSumSq, ...(count && { accumulate: { sums, count } }) };
}
