// Registry, configuration-time validation, composition and input checking.

import { describe, expect, it } from 'vitest';
import { isAlignkitError } from '../../src/errors.js';
import { LOSSES, composeLosses, createLoss, evaluateLoss } from '../../src/losses/index.js';
import { PAIRED, arraysOf } from './reference.js';

function errorOf(f: () => unknown): { code: string; message: string; details: Record<string, unknown> } {
  try {
    f();
  } catch (e) {
    if (isAlignkitError(e)) return { code: e.code, message: e.message, details: e.details };
    throw e;
  }
  throw new Error('expected an error');
}

describe('loss registry and configuration', () => {
  it('an unknown name lists the registry keys', () => {
    const e = errorOf(() => createLoss('dpoo'));
    expect(e.code).toBe('ALIGNKIT_ERR_UNKNOWN_NAME');
    for (const name of Object.keys(LOSSES)) expect(e.message).toContain(name);
  });

  it('fills in the paper defaults and freezes them', () => {
    expect(createLoss('dpo').hp).toEqual({ beta: 0.1, reduction: 'sum' });
    expect(createLoss('ipo').hp.reduction).toBe('mean');
    expect(createLoss('simpo').hp).toMatchObject({ beta: 2, gamma: 0.5, reduction: 'mean' });
    expect(createLoss('tdpo2').hp.alpha).toBe(0.5);
    expect(Object.isFrozen(createLoss('kto').hp)).toBe(true);
  });

  it.each([
    ['dpo', { beta: -1 }, 'beta'],
    ['dpo', { reduction: 'max' }, 'reduction'],
    ['dpo', { lable_smoothing: 0.1 }, 'lable_smoothing'],
    ['robust_dpo', { labelSmoothing: 0.5 }, 'labelSmoothing'],
    ['cdpo', { labelSmoothing: 0.7 }, 'labelSmoothing'],
    ['ln_dpo', { reduction: 'sum' }, 'reduction'],
    ['rpo', { alpha: -0.1 }, 'alpha'],
    ['kto', { undesirableWeight: Number.NaN }, 'undesirableWeight'],
    ['bco', { udm: 'yes' }, 'udm'],
    ['sparsepo', { mask: 'reference', sharing: 'independent' }, 'sharing'],
    ['multi_attribute', { attributes: ['a', 'b'], weights: [1] }, 'weights'],
    ['dpo', { dynamicBeta: { w: 0.5, k: 0 } }, 'dynamicBeta.k'],
    ['srpo', { alpha: 2 }, 'alpha'],
  ])('%s rejects %j at configuration time, naming %s', (name, hp, param) => {
    const e = errorOf(() => createLoss(name, hp));
    expect(e.code).toBe('ALIGNKIT_ERR_INVALID_ARGUMENT');
    expect(e.details.parameter).toBe(param);
    expect(e.message).toContain(param);
    expect(e.message).toContain(name);
  });

  it('declares inputs by side, with symbolic dims', () => {
    const dpo = createLoss('dpo');
    expect(dpo.inputs.map((s) => [s.name, s.side, s.dims.join(',')])).toEqual([
      ['policy_chosen_logps', 'policy', 'B,T'],
      ['policy_rejected_logps', 'policy', 'B,T'],
      ['chosen_mask', 'data', 'B,T'],
      ['rejected_mask', 'data', 'B,T'],
      ['ref_chosen_logps', 'reference', 'B'],
      ['ref_rejected_logps', 'reference', 'B'],
    ]);
    expect(createLoss('dpo', { dynamicBeta: { w: 1, k: 1 } }).inputs.at(-1)!.name).toBe('reward_margin');
    expect(createLoss('bco').inputs.filter((s) => s.side === 'state').map((s) => [s.name, s.initial])).toEqual([
      ['running_reward_mean', 0],
      ['running_reward_count', 1e-24],
    ]);
  });
});

describe('composition', () => {
  it('shares inputs, prefixes metrics and weights the sum', async () => {
    const c = composeLosses([{ name: 'dpo', weight: 1 }, { name: 'sft', weight: 0.25, hp: { nllReduction: 'sequence' } }]);
    expect(c.name).toBe('dpo+sft');
    expect(c.inputs.filter((s) => s.name === 'policy_chosen_logps')).toHaveLength(1);
    const arrays = arraysOf(PAIRED);
    const r = await evaluateLoss(c, {}, arrays);
    const dpo = await evaluateLoss('dpo', {}, arrays);
    expect(r.metrics['dpo/loss']).toBeCloseTo(dpo.loss, 6);
    expect(r.metrics['dpo/rewards/margins']).toBeCloseTo(dpo.metrics['rewards/margins']!, 6);
    expect(r.loss).toBeCloseTo(dpo.loss + 0.25 * r.metrics['sft/loss']!, 6);
  });

  it('rejects conflicting input shapes, duplicates and bad weights', () => {
    expect(errorOf(() => composeLosses([{ name: 'dpo', weight: 1 }, { name: 'sparsepo', weight: 1 }])).message).toContain('ref_chosen_logps');
    expect(errorOf(() => composeLosses([{ name: 'dpo', weight: 1 }, { name: 'dpo', weight: 2 }])).code).toBe('ALIGNKIT_ERR_INVALID_ARGUMENT');
    expect(errorOf(() => composeLosses([{ name: 'dpo', weight: Number.POSITIVE_INFINITY }])).details.parameter).toBe('weight');
    expect(errorOf(() => composeLosses([{ name: 'nope', weight: 1 }])).code).toBe('ALIGNKIT_ERR_UNKNOWN_NAME');
  });
});

describe('input checking of the standalone form', () => {
  const arrays = arraysOf(PAIRED);
  it('names a missing input and what it is', async () => {
    const { ref_rejected_logps: _, ...missing } = arrays;
    await expect(evaluateLoss('dpo', {}, missing)).rejects.toMatchObject({ code: 'ALIGNKIT_ERR_INVALID_ARGUMENT', details: { field: 'ref_rejected_logps' } });
  });
  it('names an input whose batch size disagrees', async () => {
    await expect(evaluateLoss('dpo', {}, { ...arrays, ref_chosen_logps: { data: [1, 2, 3], dims: [3] } })).rejects.toMatchObject({ code: 'ALIGNKIT_ERR_TENSOR', details: { field: 'ref_chosen_logps' } });
  });
  it('names an input of the wrong rank, and an input the loss does not read', async () => {
    await expect(evaluateLoss('dpo', {}, { ...arrays, chosen_mask: { data: [1, 1], dims: [2] } })).rejects.toMatchObject({ details: { field: 'chosen_mask' } });
    await expect(evaluateLoss('dpo', {}, { ...arrays, labels: { data: [1, 1], dims: [2] } })).rejects.toMatchObject({ details: { field: 'labels' } });
  });
});
