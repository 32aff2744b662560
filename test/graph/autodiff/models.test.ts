import { describe, expect, it } from 'vitest';
import { checkGradientCase } from '../../../src/graph/autodiff/index.js';
import { tinyClassifier, tinyGpt2, tinyLlama, tinyTorchStyleGpt } from './models.js';

// Whole-model finite-difference checks with tiny dims: every parameter tensor is probed along
// random directions and at single coordinates.
describe('whole-model gradient checks', () => {
  it.each([
    ['GPT-2-style (LayerNormalization, causal Where/Trilu mask, Softmax, GELU, tied embedding + head, cross-entropy)', tinyGpt2],
    ['LLaMA-style (decomposed RMSNorm, rotary Sin/Cos + Slice/Concat/Neg, SwiGLU, untied head)', tinyLlama],
    ['GPT-2 as torch.onnx.export writes it at opset 14 (decomposed LayerNorm, Slice q/k/v, Shape-built reshapes)', tinyTorchStyleGpt],
    ['classifier head (decomposed LayerNorm, Gather at last token, Gemm score head)', tinyClassifier],
  ] as const)('%s', async (_, build) => {
    const result = await checkGradientCase((dtype) => build(dtype), { directions: 2, coordinates: 3 });
    expect(result.failures).toEqual([]);
    expect(result.dtype).toBe('float64');
    expect(result.checks).toBe(build('float64').wrt.length * 5);
  });
});
