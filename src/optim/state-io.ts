// Flatten a chain's state into named tensors for safetensors, and copy saved tensors back into the
// live arrays (in place, so arena views handed to onnxruntime stay valid). Names:
// `<prefix><i>.<transform>/#count`, `.../#<scalar>`, `.../<param name>/<slot>`.

import { fail } from '../errors.js';
import { saveSafetensors, loadSafetensors, type DType, type Tensor } from '../graph/index.js';
import type { GradientTransformation, Param, StateArray, TransformState } from './core.js';

const DTYPE_OF: [new (n: number) => StateArray, DType][] = [
  [Float32Array, 'float32'], [Float64Array, 'float64'], [Int8Array, 'int8'], [Uint8Array, 'uint8'], [Uint32Array, 'uint32'], [Int32Array, 'int32'],
];

function dtypeOf(a: StateArray): DType {
  return DTYPE_OF.find(([ctor]) => a instanceof ctor)![1];
}

function scalarTensor(x: number): Tensor {
  return { dtype: 'float64', dims: [1], data: Float64Array.of(x) };
}

type Visit = (key: string, get: () => StateArray | number, set: (saved: Tensor) => void, dims: number[]) => void;

function walk(prefix: string, t: GradientTransformation, s: TransformState, params: Param[], visit: Visit): void {
  visit(`${prefix}#count`, () => s.count, (saved) => { s.count = Number(saved.data[0]); }, [1]);
  for (const k of Object.keys(s.scalars)) visit(`${prefix}#${k}`, () => s.scalars[k]!, (saved) => { s.scalars[k] = Number(saved.data[0]); }, [1]);
  s.slots.forEach((slots, i) => {
    const p = params[i]!;
    for (const [k, arr] of Object.entries(slots)) {
      const dims = arr.length === p.data.length ? p.dims : [arr.length];
      visit(`${prefix}${p.name}/${k}`, () => arr, (saved) => (arr as Float32Array).set(saved.data as Float32Array), dims);
    }
  });
  t.children?.forEach((c, j) => walk(`${prefix}${j}.${c.name}/`, c, s.children![j]!, params, visit));
}

export function collectState(prefix: string, t: GradientTransformation, s: TransformState, params: Param[], out: Map<string, Tensor>): void {
  walk(prefix, t, s, params, (key, get, _set, dims) => {
    const v = get();
    out.set(key, typeof v === 'number' ? scalarTensor(v) : { dtype: dtypeOf(v), dims, data: v });
  });
}

/** Copy saved tensors into the live state; every key must be present with the same dtype and size. */
export function restoreState(prefix: string, t: GradientTransformation, s: TransformState, params: Param[], saved: Map<string, Tensor>, used: Set<string>): void {
  walk(prefix, t, s, params, (key, get, set) => {
    const tensor = saved.get(key);
    if (!tensor) throw fail('ALIGNKIT_ERR_STATE', `optimizer state has no tensor "${key}" (was it saved by a different optimizer, grouping or parameter set?)`, { field: key });
    const live = get();
    if (typeof live === 'number') {
      if (tensor.data.length !== 1) throw fail('ALIGNKIT_ERR_STATE', `optimizer state "${key}" should hold one number, has ${tensor.data.length}`, { field: key });
    } else if (tensor.dtype !== dtypeOf(live) || tensor.data.length !== live.length) {
      throw fail('ALIGNKIT_ERR_STATE', `optimizer state "${key}" is ${tensor.dtype}[${tensor.data.length}], expected ${dtypeOf(live)}[${live.length}]`, { field: key });
    }
    set(tensor);
    used.add(key);
  });
}

/** Save an optimizer's state to a safetensors file. */
export function saveOptimizerState(file: string, opt: { state(): Map<string, Tensor> }): void {
  saveSafetensors(file, opt.state(), { format: 'alignkit-optim' });
}

/** Load an optimizer's state from a safetensors file written by saveOptimizerState. */
export function loadOptimizerState(file: string, opt: { loadState(t: Map<string, Tensor>): void }): void {
  opt.loadState(loadSafetensors(file).tensors);
}
