// The gradient-check table: several cases per op type (broadcasting variants, attribute and input
// forms). rules.test.ts runs every case through the finite-difference checker and fails when a
// registered rule has no case here.
import type { GradientCheckCase } from '../../../src/graph/autodiff/index.js';
import { CaseBuilder, type CheckDType, type Draw } from './helpers.js';

export interface RuleCase {
  op: string;
  name: string;
  build: (dtype: CheckDType) => GradientCheckCase;
}

const cases: RuleCase[] = [];
function add(op: string, name: string, build: (b: CaseBuilder) => GradientCheckCase, opset = 17): void {
  cases.push({ op, name, build: (dtype) => build(new CaseBuilder(dtype, opset)) });
}

// ------------------------------------------------------------ elementwise with broadcasting
const binary = (op: string, drawB: Draw = 'normal') => {
  add(op, 'same shape', (b) => b.out(b.g.op1(op, [b.param('a', [2, 3]), b.param('b', [2, 3], drawB)])));
  add(op, 'trailing bias [2,3] . [3]', (b) => b.out(b.g.op1(op, [b.param('a', [2, 3]), b.param('b', [3], drawB)])));
  add(op, 'column [2,3] . [2,1]', (b) => b.out(b.g.op1(op, [b.param('a', [2, 3]), b.param('b', [2, 1], drawB)])));
  add(op, 'both broadcast [2,1,4] . [3,1]', (b) => b.out(b.g.op1(op, [b.param('a', [2, 1, 4]), b.param('b', [3, 1], drawB)])));
  add(op, 'scalar right', (b) => b.out(b.g.op1(op, [b.param('a', [2, 3]), b.param('b', [], drawB)])));
  add(op, 'symbolic batch input . param', (b) => b.out(b.g.op1(op, [b.input('x', ['batch', 3], [4, 3]), b.param('b', [3], drawB)])));
};
binary('Add');
binary('Sub');
binary('Mul');
binary('Div', 'positive');
add('Add', 'runtime broadcast (unrelated symbolic dims)', (b) =>
  b.out(b.g.add(b.input('x', ['n', 'm'], [2, 3], 'normal', true), b.input('y', ['k'], [3], 'normal', true))));
add('Mul', 'square x * x', (b) => { const x = b.param('x', [2, 3]); return b.out(b.g.mul(x, x)); });
add('Pow', 'constant exponent 2', (b) => b.out(b.g.pow(b.param('x', [2, 3]), b.scalar(2))));
add('Pow', 'constant exponent 3', (b) => b.out(b.g.pow(b.param('x', [2, 3]), b.scalar(3))));
add('Pow', 'exponent from a Constant node (torch export)', (b) => {
  const two = b.g.op1('Constant', [], { value: { dtype: b.dtype, dims: [], data: (b.dtype === 'float64' ? Float64Array : Float32Array).of(2) } });
  return b.out(b.g.pow(b.param('x', [2, 3]), two));
});
add('Pow', 'base and exponent', (b) => b.out(b.g.pow(b.param('x', [2, 3], 'positive'), b.param('y', [3]))));
add('Sum', 'three inputs with broadcasting', (b) => b.out(b.g.op1('Sum', [b.param('a', [2, 3]), b.param('b', [3]), b.param('c', [2, 1])])));
add('Mean', 'three inputs with broadcasting', (b) => b.out(b.g.op1('Mean', [b.param('a', [2, 3]), b.param('b', [3]), b.param('c', [2, 1])])));
add('CumSum', 'axis 1', (b) => b.out(b.g.op1('CumSum', [b.param('x', [2, 4]), b.g.scalar(1, 'int64')])));
add('CumSum', 'exclusive reverse on axis 0', (b) => b.out(b.g.op1('CumSum', [b.param('x', [3, 2]), b.g.scalar(0, 'int64')], { exclusive: 1, reverse: 1 })));
add('Min', 'binary broadcast', (b) => b.out(b.g.min(b.param('a', [2, 3]), b.param('b', [3]))));
add('Max', 'binary broadcast', (b) => b.out(b.g.max(b.param('a', [2, 3]), b.param('b', [2, 1]))));
add('Max', 'three inputs', (b) => b.out(b.g.max(b.param('a', [4]), b.param('b', [4]), b.param('c', [4]))));
add('Where', 'broadcast branches', (b) => {
  const cond = b.boolInput('cond', [2, 3], [true, false, true, false, false, true]);
  return b.out(b.g.where(cond, b.param('a', [2, 3]), b.param('b', [3])));
});
add('Where', 'causal mask against a constant', (b) => {
  const mask = b.g.cast(b.g.trilu(b.g.constant(new Float32Array(9).fill(1), [3, 3]), false), 'bool');
  // A moderate fill value: -1e4 in the projected output would drown the check in rounding.
  return b.out(b.g.where(mask, b.param('s', [2, 3, 3]), b.scalar(-3)));
});

const unary = (op: string, draw: Draw = 'normal', opset = 17) =>
  add(op, `[2,3] ${draw}`, (b) => b.out(b.g.op1(op, [b.param('x', [2, 3], draw)])), opset);
unary('Neg');
unary('Abs', 'nonzero');
unary('Exp');
unary('Log', 'positive');
unary('Sqrt', 'positive');
unary('Reciprocal', 'nonzero');
unary('Sin');
unary('Cos');
unary('Tanh');
unary('Erf');
unary('Sigmoid');
unary('Softplus');
unary('Relu', 'nonzero');
add('LeakyRelu', 'alpha 0.2', (b) => b.out(b.g.op1('LeakyRelu', [b.param('x', [2, 3], 'nonzero')], { alpha: 0.2 })));
add('Clip', 'constant bounds', (b) => {
  const x = b.param('x', [3, 4]);
  b.g.graph.initializers.set('x', { dtype: b.dtype, dims: [3, 4], data: (b.dtype === 'float64' ? Float64Array : Float32Array).from([-2, -1.2, -0.6, -0.2, 0.1, 0.4, 0.7, 1.3, 1.9, -0.9, 0.55, 2.5]) });
  return b.out(b.g.clip(x, b.scalar(-1), b.scalar(1)));
});
add('Clip', 'trainable bounds', (b) => {
  const x = b.frozen('x', [3, 4]);
  b.g.graph.initializers.set('x', { dtype: b.dtype, dims: [3, 4], data: (b.dtype === 'float64' ? Float64Array : Float32Array).from([-2, -1.2, -0.6, -0.2, 0.1, 0.4, 0.7, 1.3, 1.9, -0.9, 0.55, 2.5]) });
  const lo = b.param('lo', []);
  b.g.graph.initializers.set('lo', { dtype: b.dtype, dims: [], data: (b.dtype === 'float64' ? Float64Array : Float32Array).of(-1) });
  const hi = b.param('hi', []);
  b.g.graph.initializers.set('hi', { dtype: b.dtype, dims: [], data: (b.dtype === 'float64' ? Float64Array : Float32Array).of(1) });
  return b.out(b.g.clip(x, lo, hi));
});
add('Clip', 'min only', (b) => b.out(b.g.clip(b.param('x', [2, 3], 'nonzero'), b.scalar(0))));
add('Gelu', 'exact (opset 20)', (b) => b.out(b.g.op1('Gelu', [b.param('x', [2, 3])])), 20);
add('Gelu', 'tanh approximation (opset 20)', (b) => b.out(b.g.op1('Gelu', [b.param('x', [2, 3])], { approximate: 'tanh' })), 20);
const fastGelu = (b: CaseBuilder, inputs: string[]) => {
  b.g.useDomain('com.microsoft', 1);
  return b.out(b.g.op1('FastGelu', inputs, {}, { domain: 'com.microsoft' }));
};
add('com.microsoft.FastGelu', 'x only', (b) => fastGelu(b, [b.param('x', [4, 6])]));
add('com.microsoft.FastGelu', 'x and bias [6]', (b) => fastGelu(b, [b.param('x', [4, 6]), b.param('bias', [6])]));

// ------------------------------------------------------------ matmul and gemm
add('MatMul', '2-D [3,4] x [4,5]', (b) => b.out(b.g.matMul(b.param('a', [3, 4]), b.param('w', [4, 5]))));
add('MatMul', '3-D activation x 2-D weight (Gemm path)', (b) => b.out(b.g.matMul(b.param('a', [2, 3, 4]), b.param('w', [4, 5]))));
add('MatMul', 'symbolic batch input x weight', (b) => b.out(b.g.matMul(b.input('x', ['batch', 'seq', 4], [2, 3, 4], 'normal', true), b.param('w', [4, 5]))));
add('MatMul', 'batched 4-D (attention)', (b) => b.out(b.g.matMul(b.param('q', [2, 2, 3, 4]), b.param('k', [2, 2, 4, 3]))));
add('MatMul', 'broadcast batch [2,3,4] x [1,4,5]', (b) => b.out(b.g.matMul(b.param('a', [2, 3, 4]), b.param('b', [1, 4, 5]))));
add('MatMul', '2-D x 3-D [3,4] x [2,4,5]', (b) => b.out(b.g.matMul(b.param('a', [3, 4]), b.param('b', [2, 4, 5]))));
add('MatMul', 'vector left [4] x [4,5]', (b) => b.out(b.g.matMul(b.param('a', [4]), b.param('b', [4, 5]))));
add('MatMul', 'vector right [2,3,4] x [4]', (b) => b.out(b.g.matMul(b.param('a', [2, 3, 4]), b.param('b', [4]))));
add('MatMul', 'dot [4] x [4]', (b) => b.out(b.g.matMul(b.param('a', [4]), b.param('b', [4]))));
for (const transA of [false, true])
  for (const transB of [false, true])
    add('Gemm', `transA=${+transA} transB=${+transB} alpha 0.7 beta 1.3, C [N]`, (b) => {
      const a = b.param('a', transA ? [4, 3] : [3, 4]);
      const w = b.param('w', transB ? [5, 4] : [4, 5]);
      return b.out(b.g.gemm(a, w, b.param('c', [5]), { transA, transB, alpha: 0.7, beta: 1.3 }));
    });
add('Gemm', 'C [M,N]', (b) => b.out(b.g.gemm(b.param('a', [3, 4]), b.param('w', [4, 5]), b.param('c', [3, 5]))));
add('Gemm', 'C [M,1]', (b) => b.out(b.g.gemm(b.param('a', [3, 4]), b.param('w', [5, 4]), b.param('c', [3, 1]), { transB: true })));
add('Gemm', 'scalar C', (b) => b.out(b.g.gemm(b.param('a', [3, 4]), b.param('w', [4, 5]), b.param('c', []))));
add('Gemm', 'no C', (b) => b.out(b.g.gemm(b.param('a', [4, 3]), b.param('w', [4, 5]), undefined, { transA: true })));

// ------------------------------------------------------------ reductions (attribute and input axes)
add('ReduceSum', 'axes input [1], keepdims 1', (b) => b.out(b.g.reduceSum(b.param('x', [2, 3, 4]), [1], true)));
add('ReduceSum', 'axes input [-1, 0], keepdims 0', (b) => b.out(b.g.reduceSum(b.param('x', [2, 3, 4]), [-1, 0], false)));
add('ReduceSum', 'all axes, keepdims 0', (b) => b.out(b.g.reduceSum(b.param('x', [2, 3]), undefined, false)));
add('ReduceSum', 'noop_with_empty_axes', (b) => b.out(b.g.op1('ReduceSum', [b.param('x', [2, 3])], { noop_with_empty_axes: 1 })));
add('ReduceMean', 'attribute axes [-1], keepdims 0 (opset 17)', (b) => b.out(b.g.reduceMean(b.param('x', [2, 3, 4]), [-1], false)));
add('ReduceMean', 'input axes [0, 2] (opset 18)', (b) => b.out(b.g.reduceMean(b.param('x', [2, 3, 4]), [0, 2], true)), 18);
add('ReduceMean', 'symbolic batch, all axes', (b) => b.out(b.g.reduceMean(b.input('x', ['batch', 3], [2, 3], 'normal', true), undefined, false)));
add('ReduceMax', 'attribute axes [1] (opset 17)', (b) => b.out(b.g.reduceMax(b.param('x', [2, 3, 4]), [1], true)));
add('ReduceMax', 'input axes, keepdims 0 (opset 18)', (b) => b.out(b.g.reduceMax(b.param('x', [2, 3, 4]), [-1], false)), 18);
add('ReduceMin', 'attribute axes [0]', (b) => b.out(b.g.op1('ReduceMin', [b.param('x', [3, 4])], { axes: [0], keepdims: 0 })));
add('ReduceLogSumExp', 'axes [-1]', (b) => b.out(b.g.reduceLogSumExp(b.param('x', [2, 5]), [-1], false)));
add('ReduceSumSquare', 'axes [1]', (b) => b.out(b.g.op1('ReduceSumSquare', [b.param('x', [2, 3])], { axes: [1], keepdims: 1 })));
add('ReduceL2', 'axes [-1], keepdims 0', (b) => b.out(b.g.op1('ReduceL2', [b.param('x', [2, 4])], { axes: [-1], keepdims: 0 })));
add('ReduceL2', 'all axes', (b) => b.out(b.g.op1('ReduceL2', [b.param('x', [2, 3])], { keepdims: 1 })));

// ------------------------------------------------------------ normalization, softmax family
add('LayerNormalization', 'axis -1 with bias', (b) => b.out(b.g.layerNorm(b.param('x', [2, 3, 5]), b.param('s', [5]), b.param('bias', [5]))));
add('LayerNormalization', 'axis 1 without bias', (b) => b.out(b.g.layerNorm(b.param('x', [2, 3, 4]), b.param('s', [3, 4]), undefined, { axis: 1 })));
add('LayerNormalization', 'Mean and InvStdDev already exposed', (b) => {
  const [y, mean] = b.g.op('LayerNormalization', [b.param('x', [3, 4]), b.param('s', [4]), b.param('bias', [4])], { axis: -1, epsilon: 1e-5 }, { outputs: 3 });
  b.g.output(mean!, 'mean', 'float32');
  return { ...b.out(y!), of: ['out0'] };
});
add('Softmax', 'axis -1', (b) => b.out(b.g.softmax(b.param('x', [2, 5]))));
add('Softmax', 'axis 1 of 3-D', (b) => b.out(b.g.softmax(b.param('x', [2, 3, 4]), 1)));
add('LogSoftmax', 'axis -1', (b) => b.out(b.g.logSoftmax(b.param('x', [2, 5]))));
add('LogSoftmax', 'axis 0', (b) => b.out(b.g.logSoftmax(b.param('x', [3, 4]), 0)));
add('LogSoftmax', 'cross-entropy with GatherElements (scatter peephole)', (b) => {
  const logp = b.g.logSoftmax(b.param('logits', [4, 6]));
  const targets = b.intInput('t', [4, 1], [4, 1], [1, 5, 0, 5]);
  return b.out(b.g.neg(b.g.reduceMean(b.g.gatherElements(logp, targets, 1), undefined, false)));
});
add('LogSoftmax', 'weighted per-token log-probs of labels on [B,T,V] (log-prob head)', (b) => {
  const logp = b.g.logSoftmax(b.param('logits', [2, 3, 5]), -1);
  const picked = b.g.gatherElements(logp, b.intInput('labels', [2, 3, 1], [2, 3, 1], [0, 4, 2, 2, 1, 3]), 2);
  return b.out(b.g.mul(b.g.squeeze(picked, [2]), b.input('weights', [2, 3], [2, 3], 'positive')));
});
add('LogSoftmax', 'log-softmax used twice (no peephole)', (b) => {
  const logp = b.g.logSoftmax(b.param('logits', [3, 5]));
  const picked = b.g.gatherElements(logp, b.intInput('t', [3, 1], [3, 1], [0, 4, 2]), 1);
  return b.out(picked, b.g.mul(logp, b.scalar(0.1)));
});

// ------------------------------------------------------------ shape ops
add('Reshape', '[2,3,4] -> [6,-1]', (b) => b.out(b.g.reshape(b.param('x', [2, 3, 4]), [6, -1])));
add('Reshape', 'with 0 (copy dim) and symbolic batch', (b) => b.out(b.g.reshape(b.input('x', ['batch', 6], [2, 6], 'normal', true), [0, 2, 3])));
add('Flatten', 'axis 2', (b) => b.out(b.g.op1('Flatten', [b.param('x', [2, 3, 4])], { axis: 2 })));
add('Unsqueeze', 'axes [0, -1]', (b) => b.out(b.g.unsqueeze(b.param('x', [2, 3]), [0, -1])));
add('Squeeze', 'axes [1]', (b) => b.out(b.g.squeeze(b.param('x', [2, 1, 3]), [1])));
add('Squeeze', 'no axes (all ones)', (b) => b.out(b.g.squeeze(b.param('x', [1, 3, 1]))));
add('Transpose', 'perm [2,0,1]', (b) => b.out(b.g.transpose(b.param('x', [2, 3, 4]), [2, 0, 1])));
add('Transpose', 'default perm (reverse)', (b) => b.out(b.g.op1('Transpose', [b.param('x', [2, 3, 4])])));
add('Identity', 'pass-through', (b) => b.out(b.g.identity(b.param('x', [2, 3]))));
add('Dropout', 'inference form', (b) => b.out(b.g.op1('Dropout', [b.param('x', [2, 3])])));
// Built in float32 for either check dtype: a round trip through float32 would otherwise leave
// float64 differences at float32 resolution.
add('Cast', 'float32 -> float64 -> float32', (b) => {
  b.g.initializer('x', Float32Array.from([0.3, -1.2, 0.8, 1.5, -0.4, 0.9]), [2, 3]);
  b.wrt.push('x');
  const up = b.g.mul(b.g.cast('x', 'float64'), b.g.constant(Float64Array.of(1.5), [], 'float64'));
  b.g.output(b.g.cast(up, 'float32'), 'out0', 'float32');
  return { model: b.g.toModel(), wrt: b.wrt, feeds: b.feeds };
});
add('Expand', '[3] -> [2,3]', (b) => b.out(b.g.expand(b.param('x', [3]), b.g.int64s([2, 3]))));
add('Expand', '[2,1] -> [2,2,4]', (b) => b.out(b.g.expand(b.param('x', [2, 1]), b.g.int64s([2, 2, 4]))));
add('Trilu', 'lower', (b) => b.out(b.g.trilu(b.param('x', [3, 4]), false)));
add('Trilu', 'upper with k = 1', (b) => b.out(b.g.trilu(b.param('x', [2, 3, 3]), true, b.g.scalar(1, 'int64'))));
add('Concat', 'axis 1, a frozen input between', (b) => b.out(b.g.concat([b.param('a', [2, 3]), b.frozen('f', [2, 1]), b.param('c', [2, 2])], 1)));
add('Concat', 'axis -1 with symbolic batch', (b) => b.out(b.g.concat([b.input('x', ['batch', 2], [3, 2], 'normal', true), b.input('y', ['batch', 'k'], [3, 4], 'normal', true)], -1)));
add('Split', 'sizes input [1, 2], both outputs used', (b) => {
  const [p, q] = b.g.split(b.param('x', [2, 3]), [1, 2], 1);
  return b.out(p!, b.g.mul(q!, q!));
});
add('Split', 'equal split, one output unused', (b) => {
  const [, q] = b.g.op('Split', [b.param('x', [4, 3])], { axis: 0 }, { outputs: 2 });
  return b.out(q!);
});
add('Slice', 'two axes, step 1, constant', (b) => b.out(b.g.slice(b.param('x', [4, 5]), [1, 0], [3, 4], [0, 1])));
add('Slice', 'negative start, open end (rotary half)', (b) => b.out(b.g.slice(b.param('x', [2, 3, 6]), [-3], [2 ** 62], [-1])));
add('Slice', 'step 2', (b) => b.out(b.g.slice(b.param('x', [3, 7]), [1], [7], [1], [2])));
add('Slice', 'step -1 (reverse)', (b) => b.out(b.g.slice(b.param('x', [3, 4]), [-1], [-(2 ** 62)], [1], [-1])));
add('Slice', 'starts known only at run time', (b) => {
  const starts = b.intInput('starts', [1], [1], [1]);
  return b.out(b.g.op1('Slice', [b.param('x', [3, 5]), starts, b.g.int64s([4]), b.g.int64s([1])]));
});
add('Pad', 'constant pads on two axes', (b) => b.out(b.g.op1('Pad', [b.param('x', [2, 3]), b.g.int64s([1, 0, 0, 2])])));
add('Pad', 'begin-only pad on the last axis of 3-D', (b) => b.out(b.g.op1('Pad', [b.param('x', [2, 2, 3]), b.g.int64s([0, 0, 2, 0, 0, 0])])));
add('Tile', 'repeats [2, 1, 3]', (b) => b.out(b.g.op1('Tile', [b.param('x', [2, 2, 1]), b.g.int64s([2, 1, 3])])));
add('Tile', 'symbolic batch, repeats [1, 2]', (b) => b.out(b.g.op1('Tile', [b.input('x', ['batch', 3], [2, 3], 'normal', true), b.g.int64s([1, 2])])));

// ------------------------------------------------------------ gather family
add('Gather', 'embedding rows with repeats (axis 0)', (b) => b.out(b.g.gather(b.param('wte', [5, 3]), b.intInput('ids', [2, 3], [2, 3], [0, 4, 4, 1, 0, 2]))));
add('Gather', 'last token, scalar index -1 on axis 1', (b) => b.out(b.g.gather(b.param('h', [2, 4, 3]), b.g.scalar(-1, 'int64'), 1)));
add('Gather', 'runtime negative indices on axis 1', (b) => b.out(b.g.gather(b.param('h', [2, 4, 3]), b.intInput('i', [2], [2], [-1, 1]), 1)));
add('GatherElements', 'axis -1 targets', (b) => b.out(b.g.gatherElements(b.param('x', [3, 5]), b.intInput('t', [3, 1], [3, 1], [4, 0, 2]), -1)));
add('GatherElements', 'axis 0 with repeats', (b) => b.out(b.g.gatherElements(b.param('x', [3, 2]), b.intInput('t', [2, 2], [2, 2], [0, 2, 0, 1]), 0)));
add('GatherND', 'last token per row, x[arange(B), lengths - 1]', (b) =>
  b.out(b.g.op1('GatherND', [b.param('h', [3, 4, 2]), b.intInput('at', [3, 2], [3, 2], [0, 3, 1, 1, 2, 3])])));
add('GatherND', 'whole rows with repeats', (b) =>
  b.out(b.g.op1('GatherND', [b.param('x', [4, 3]), b.intInput('rows', [3, 1], [3, 1], [2, 0, 2])])));
add('TopK', 'k = 2 along the last axis', (b) => b.out(b.g.op('TopK', [b.param('x', [3, 5]), b.g.int64s([2])], { axis: -1 }, { outputs: 2 })[0]!));
add('TopK', 'k = 1 along axis 0 (smallest)', (b) => b.out(b.g.op('TopK', [b.param('x', [4, 2]), b.g.int64s([1])], { axis: 0, largest: 0 }, { outputs: 2 })[0]!));

export const RULE_CASES: readonly RuleCase[] = cases;
