// Building gradient-check cases: random parameters and inputs in the check dtype, from a seed.
import { GraphBuilder, type Dim, type Tensor } from '../../../src/graph/index.js';
import { normalSample, seededRandom, type GradientCheckCase } from '../../../src/graph/autodiff/index.js';

export type CheckDType = 'float32' | 'float64';

/** How random values are drawn: normal, positive (for Log/Sqrt/Pow bases), or kept away from 0 (kinks). */
export type Draw = 'normal' | 'positive' | 'nonzero' | 'small';

export class CaseBuilder {
  readonly g: GraphBuilder;
  readonly feeds: Record<string, Tensor> = {};
  readonly wrt: string[] = [];
  private readonly rand: () => number;

  constructor(readonly dtype: CheckDType, opset = 17, seed = 7) {
    this.g = new GraphBuilder({ opset });
    this.rand = seededRandom(seed);
  }

  values(n: number, draw: Draw = 'normal'): Float32Array | Float64Array {
    const a = this.dtype === 'float64' ? new Float64Array(n) : new Float32Array(n);
    for (let i = 0; i < n; i++) {
      if (draw === 'positive') a[i] = 0.5 + 1.5 * this.rand();
      else if (draw === 'nonzero') a[i] = (this.rand() < 0.5 ? -1 : 1) * (0.3 + this.rand());
      // 'small': weights of the model cases, scaled so deep stacks keep activations near unit size.
      else if (draw === 'small') a[i] = 0.3 * normalSample(this.rand);
      else a[i] = normalSample(this.rand);
    }
    return a;
  }

  /** A trainable initializer. */
  param(name: string, dims: number[], draw: Draw = 'normal'): string {
    this.g.initializer(name, this.values(dims.reduce((a, b) => a * b, 1), draw), dims, this.dtype);
    this.wrt.push(name);
    return name;
  }

  /** A frozen initializer (not differentiated). */
  frozen(name: string, dims: number[], draw: Draw = 'normal'): string {
    return this.g.initializer(name, this.values(dims.reduce((a, b) => a * b, 1), draw), dims, this.dtype);
  }

  /** A float graph input with (possibly symbolic) declared dims, fed with values of `shape`. */
  input(name: string, dims: Dim[], shape: number[], draw: Draw = 'normal', differentiate = false): string {
    this.g.input(name, this.dtype, dims);
    this.feeds[name] = { dtype: this.dtype, dims: shape, data: this.values(shape.reduce((a, b) => a * b, 1), draw) };
    if (differentiate) this.wrt.push(name);
    return name;
  }

  intInput(name: string, dims: Dim[], shape: number[], values: number[]): string {
    this.g.input(name, 'int64', dims);
    this.feeds[name] = { dtype: 'int64', dims: shape, data: BigInt64Array.from(values.map(BigInt)) };
    return name;
  }

  boolInput(name: string, shape: number[], values: boolean[]): string {
    this.g.input(name, 'bool', shape);
    this.feeds[name] = { dtype: 'bool', dims: shape, data: Uint8Array.from(values.map(Number)) };
    return name;
  }

  scalar(x: number): string {
    return this.g.scalar(x, this.dtype);
  }

  out(...values: string[]): GradientCheckCase {
    values.forEach((v, i) => this.g.output(v, `out${i}`, this.dtype));
    return { model: this.g.toModel(), wrt: this.wrt, feeds: this.feeds };
  }
}
