// A causal LM that decodes with weights fed at every run instead of baked into its graph: the
// policy of an online RL run, which samples rollouts from the very arrays the optimizer updates
// in place, with no re-export and no new session between updates. The named initializers become
// graph inputs (onnxruntime takes input tensors zero-copy, DESIGN.md "Training graphs"), and a
// session wrapper adds their current arrays to every run; decoding itself is CausalLM.step, so
// KvDecoder and generate() drive it like any loaded model.

import { fail } from '../errors.js';
import { Session, type Feed, type Model, type SessionOptions, type Tensor } from '../graph/index.js';
import { cloneModel } from '../graph/rewrites/index.js';
import { CausalLM, type ModelDir } from '../models/index.js';

/** A copy of `model` where each named float initializer is a graph input instead. */
export function initializersAsInputs(model: Model, names: readonly string[]): Model {
  const out = cloneModel(model);
  for (const name of names) {
    const t = out.graph.initializers.get(name);
    if (!t) throw fail('ALIGNKIT_ERR_UNKNOWN_NAME', `${name} is not an initializer of graph ${model.graph.name}`, { field: name });
    out.graph.initializers.delete(name);
    out.graph.inputs.push({ name, dtype: t.dtype, dims: [...t.dims] });
  }
  return out;
}

/** Session's surface with the fed weights added to every run and hidden from inputNames. */
class FedSession {
  constructor(
    private readonly inner: Session,
    private readonly fed: Map<string, Tensor>,
  ) {}

  get ort() {
    return this.inner.ort;
  }

  get source() {
    return this.inner.source;
  }

  get inputNames(): readonly string[] {
    return this.inner.inputNames.filter((n) => !this.fed.has(n));
  }

  get outputNames(): readonly string[] {
    return this.inner.outputNames;
  }

  run(feeds: Record<string, Feed>, fetches?: readonly string[]): Promise<Record<string, Tensor>> {
    return this.inner.run({ ...feeds, ...Object.fromEntries(this.fed) }, fetches);
  }

  release(): Promise<void> {
    return this.inner.release();
  }
}

export class LivePolicy {
  private constructor(
    readonly lm: CausalLM,
    private readonly fed: Map<string, Tensor>,
  ) {}

  /**
   * `model`: the decoding graph (with its KV-cache inputs); `weights`: the arrays to decode with, by
   * initializer name. The arrays are held, not copied: change them in place (or call setWeights
   * with new arrays) and the next step decodes with the new values.
   */
  static async create(dir: ModelDir, model: Model, weights: ReadonlyMap<string, Float32Array>, session: SessionOptions = {}): Promise<LivePolicy> {
    const names = [...weights.keys()];
    const fed = new Map<string, Tensor>();
    for (const n of names) {
      const t = model.graph.initializers.get(n);
      if (!t) throw fail('ALIGNKIT_ERR_UNKNOWN_NAME', `live weight ${n} is not an initializer of the decoding graph`, { field: n });
      fed.set(n, { dtype: 'float32', dims: [...t.dims], data: weights.get(n)! });
    }
    const inner = await Session.create(initializersAsInputs(model, names), { allowSpinning: false, ...session });
    return new LivePolicy(CausalLM.fromSession(dir, new FedSession(inner, fed) as unknown as Session), fed);
  }

  /** Decode with these arrays from now on (same names and sizes as at creation). */
  setWeights(weights: ReadonlyMap<string, Float32Array>): void {
    for (const [n, data] of weights) {
      const t = this.fed.get(n);
      if (!t || t.data.length !== data.length) throw fail('ALIGNKIT_ERR_STATE', `live weight ${n} is not one this policy was created with, or changed size`, { field: n });
      this.fed.set(n, { ...t, data });
    }
  }

  release(): Promise<void> {
    return this.lm.session.release();
  }
}
