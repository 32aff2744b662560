// A loss as a small standalone graph program over given arrays: the input shapes are checked
// against the loss's declaration, policy-side inputs become float initializers (so the autodiff
// can treat them as trainable and promote them to inputs with gradients), the rest are graph
// inputs, and the loss, metrics and state are graph outputs.

import { fail } from '../errors.js';
import { GraphBuilder, numel, type Dim, type Model, type Tensor, type Value } from '../graph/index.js';
import type { ConfiguredLoss, LossInputSpec } from './types.js';

/** An array as a user gives it: a Tensor, {data, dims}, or a plain number for a scalar. */
export type ArrayLikeInput = Tensor | { data: ArrayLike<number>; dims: number[] } | number;
export type LossArrays = Record<string, ArrayLikeInput>;

export interface LossProgram {
  model: Model;
  /** Output names in the model. */
  lossOutput: string;
  metricOutputs: Record<string, string>;
  stateOutputs: Record<string, string>;
  /** Policy-side inputs, stored as initializers holding the given arrays. */
  policyInputs: string[];
  /** Feeds for the non-policy inputs. */
  feeds: Record<string, Tensor>;
  tensors: Record<string, Tensor>;
}

function toTensor(name: string, v: ArrayLikeInput): Tensor {
  if (typeof v === 'number') return { dtype: 'float32', dims: [], data: Float32Array.of(v) };
  if (!v || typeof v !== 'object' || !('dims' in v) || !('data' in v))
    throw fail('ALIGNKIT_ERR_TENSOR', `loss input ${name} must be a number, a Tensor or {data, dims}`, { field: name });
  if ('dtype' in v && v.dtype !== 'float32') throw fail('ALIGNKIT_ERR_TENSOR', `loss input ${name} has dtype ${v.dtype}, want float32`, { field: name });
  const data = v.data instanceof Float32Array ? v.data : Float32Array.from(v.data as ArrayLike<number>);
  if (data.length !== numel(v.dims)) throw fail('ALIGNKIT_ERR_TENSOR', `loss input ${name} has ${data.length} values for dims [${v.dims}]`, { field: name });
  return { dtype: 'float32', dims: [...v.dims], data };
}

/** Check every declared input is given with the declared rank and consistent symbolic dims. */
export function bindInputs(loss: Pick<ConfiguredLoss, 'name' | 'inputs'>, arrays: LossArrays): Record<string, Tensor> {
  const bound = new Map<string, number>();
  const out: Record<string, Tensor> = {};
  const declared = new Set(loss.inputs.map((s) => s.name));
  for (const k of Object.keys(arrays))
    if (!declared.has(k))
      throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `loss ${loss.name} has no input ${k} (inputs: ${[...declared].join(', ')})`, { loss: loss.name, field: k });
  for (const spec of loss.inputs) {
    const given = arrays[spec.name] ?? (spec.side === 'state' && spec.initial !== undefined ? spec.initial : undefined);
    if (given === undefined) throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `loss ${loss.name} needs input ${spec.name} [${spec.dims}]: ${spec.doc}`, { loss: loss.name, field: spec.name });
    const t = toTensor(spec.name, given);
    checkDims(loss.name, spec, t.dims, bound);
    out[spec.name] = t;
  }
  return out;
}

function checkDims(lossName: string, spec: LossInputSpec, dims: number[], bound: Map<string, number>): void {
  const want = spec.dims;
  const where = { loss: lossName, field: spec.name };
  if (dims.length !== want.length) throw fail('ALIGNKIT_ERR_TENSOR', `loss input ${spec.name} has dims [${dims}], want [${want}]`, where);
  want.forEach((d: Dim, i) => {
    if (typeof d === 'number') {
      if (dims[i] !== d) throw fail('ALIGNKIT_ERR_TENSOR', `loss input ${spec.name} has dims [${dims}], want [${want}]`, where);
      return;
    }
    const prev = bound.get(d);
    if (prev !== undefined && prev !== dims[i])
      throw fail('ALIGNKIT_ERR_TENSOR', `loss input ${spec.name} has ${d} = ${dims[i]}, but an earlier input has ${d} = ${prev}`, where);
    bound.set(d, dims[i]!);
  });
}

const metricName = (k: string) => `metric.${k.replace(/[^A-Za-z0-9_]/g, '_')}`;

export interface SplicedLoss {
  /** Output names: `loss`, `metric.<name>` (non-word characters as _), `state.<input>`. */
  lossOutput: string;
  metricOutputs: Record<string, string>;
  /** state input name -> output holding its next value (feed it back on the next step). */
  stateOutputs: Record<string, string>;
  /** The loss inputs that became graph inputs (everything the caller did not provide). */
  createdInputs: LossInputSpec[];
}

/**
 * Splice a configured loss into a graph under construction (the training graph's forward): inputs
 * the caller provides (the forward's per-token log-probs, KLs, mask-head logits...) are wired in;
 * every other declared input becomes a float32 graph input, its symbolic dims resolved by `dims`
 * (e.g. {B: 8, T: 128}; unresolved names stay symbolic). Loss, metrics and state become outputs.
 */
export function spliceLoss(g: GraphBuilder, loss: ConfiguredLoss, provided: Record<string, Value>, dims: Record<string, number> = {}): SplicedLoss {
  const values: Record<string, Value> = {};
  const createdInputs: LossInputSpec[] = [];
  for (const spec of loss.inputs) {
    if (provided[spec.name] !== undefined) {
      values[spec.name] = provided[spec.name]!;
      continue;
    }
    values[spec.name] = g.input(spec.name, 'float32', spec.dims.map((d) => (typeof d === 'string' ? (dims[d] ?? d) : d)));
    createdInputs.push(spec);
  }
  const built = loss.build(g, values);
  const lossOutput = g.output(built.loss, 'loss', 'float32', []);
  const metricOutputs: Record<string, string> = {};
  for (const [k, v] of Object.entries(built.metrics)) metricOutputs[k] = g.output(v, metricName(k), 'float32', []);
  const stateOutputs: Record<string, string> = {};
  for (const [k, v] of Object.entries(built.state ?? {})) stateOutputs[k] = g.output(v, `state.${k}`, 'float32', []);
  return { lossOutput, metricOutputs, stateOutputs, createdInputs };
}

/** Build the loss over `arrays` as one graph (forward only); `differentiable` keeps policy inputs as initializers. */
export function buildLossProgram(loss: ConfiguredLoss, arrays: LossArrays, opts: { differentiable?: boolean } = {}): LossProgram {
  const tensors = bindInputs(loss, arrays);
  const g = new GraphBuilder({ name: `loss_${loss.name.replace(/\W/g, '_')}`, opset: 17 });
  const provided: Record<string, Value> = {};
  const policyInputs: string[] = [];
  for (const spec of loss.inputs)
    if (opts.differentiable && spec.side === 'policy') {
      provided[spec.name] = g.initializer(spec.name, tensors[spec.name]!);
      policyInputs.push(spec.name);
    }
  const concrete = Object.fromEntries(loss.inputs.map((s) => [s.name, tensors[s.name]!.dims]));
  const spliced = spliceLoss(g, { ...loss, inputs: loss.inputs.map((s) => ({ ...s, dims: concrete[s.name]! })) }, provided);
  const feeds = Object.fromEntries(spliced.createdInputs.map((s) => [s.name, tensors[s.name]!]));
  return { model: g.toModel(), lossOutput: spliced.lossOutput, metricOutputs: spliced.metricOutputs, stateOutputs: spliced.stateOutputs, policyInputs, feeds, tensors };
}
