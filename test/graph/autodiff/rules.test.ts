import { describe, expect, it } from 'vitest';
import { checkGradientCase, GRADIENT_RULES, NON_DIFFERENTIABLE } from '../../../src/graph/autodiff/index.js';
import { qualifiedOpType } from '../../../src/graph/ir.js';
import { RULE_CASES } from './cases.js';

describe('gradient rules: finite-difference checks', () => {
  it.each(RULE_CASES.map((c) => [`${c.op}: ${c.name}`, c] as const))('%s', async (_, c) => {
    const result = await checkGradientCase(c.build);
    expect(result.failures).toEqual([]);
    expect(result.ok).toBe(true);
    expect(result.checks).toBeGreaterThan(0);
  });
});

describe('gradient rule registry', () => {
  it('has a check case for every registered rule, and each case really contains its op', () => {
    const missing = Object.keys(GRADIENT_RULES).filter((op) => !RULE_CASES.some((c) => c.op === op));
    expect(missing).toEqual([]);
    for (const c of RULE_CASES) {
      expect(GRADIENT_RULES[c.op], `case '${c.name}' names unregistered op ${c.op}`).toBeDefined();
      expect(c.build('float32').model.graph.nodes.some((n) => qualifiedOpType(n) === c.op), `case '${c.op}: ${c.name}'`).toBe(true);
    }
  });

  it('keeps "no gradient by design" apart from the rules', () => {
    for (const op of Object.keys(NON_DIFFERENTIABLE)) expect(GRADIENT_RULES[op]).toBeUndefined();
    expect(NON_DIFFERENTIABLE.Shape).toMatch(/shape/);
  });
});
