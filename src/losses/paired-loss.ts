// The factory behind every paired loss: validation of the shared hyperparameters, input
// declaration, the prelude, the batch mean and the shared metrics are done here once, so each loss
// file states only its per-pair equation.

import type { GraphBuilder, Value } from '../graph/index.js';
import { mean, pairedInputs, pairedMetrics, pairedPrelude, type PairedHp, type PairedTerms } from './prelude.js';
import type { LossDefinition, LossGraph, LossInputSpec } from './types.js';
import { check, checkKnownKeys } from './validate.js';

export const REDUCTIONS = ['sum', 'mean'] as const;

export interface PairedSpec<H extends PairedHp> {
  name: string;
  summary: string;
  defaults: H;
  /** false for reference-free losses (SimPO, ORPO, GenARM). */
  reference?: boolean;
  /** Checks beyond beta, reduction and dynamicBeta. */
  check?(hp: H): void;
  extraInputs?(hp: H): LossInputSpec[];
  /** The per-pair loss [B]; the batch loss is its mean. */
  perPair(g: GraphBuilder, t: PairedTerms, hp: H, x: Record<string, Value>): Value;
  /** A batch-level term added to the mean (RPO's NLL), with metrics of its own. */
  extra?(g: GraphBuilder, t: PairedTerms, hp: H, x: Record<string, Value>): { value: Value; metrics: Record<string, Value> };
  /** Implicit rewards when they are not beta * h (TDPO adds the sequential KL; SimPO uses lp). */
  rewards?(g: GraphBuilder, t: PairedTerms, hp: H, x: Record<string, Value>): { chosen: Value; rejected: Value };
  /** Extra metrics computed from the terms. */
  metrics?(g: GraphBuilder, t: PairedTerms, hp: H, x: Record<string, Value>): Record<string, Value>;
}

export function pairedLoss<H extends PairedHp>(spec: PairedSpec<H>): LossDefinition<H> {
  const reference = spec.reference ?? true;
  return {
    name: spec.name,
    summary: spec.summary,
    defaults: spec.defaults,
    validate(hp) {
      checkKnownKeys(spec.name, hp, spec.defaults, ['dynamicBeta']);
      check.positive(spec.name, 'beta', hp.beta);
      check.oneOf(spec.name, 'reduction', hp.reduction, REDUCTIONS);
      check.dynamicBeta(spec.name, hp.dynamicBeta);
      spec.check?.(hp);
    },
    inputs(hp) {
      return [...pairedInputs({ reference, dynamicBeta: hp.dynamicBeta }), ...(spec.extraInputs?.(hp) ?? [])];
    },
    build(g, x, hp): LossGraph {
      const t = pairedPrelude(g, x, hp, reference);
      let loss = mean(g, spec.perPair(g, t, hp, x));
      const metrics = pairedMetrics(g, t, spec.rewards?.(g, t, hp, x));
      const extra = spec.extra?.(g, t, hp, x);
      if (extra) {
        loss = g.add(loss, extra.value);
        Object.assign(metrics, extra.metrics);
      }
      Object.assign(metrics, spec.metrics?.(g, t, hp, x) ?? {});
      return { loss, metrics };
    },
  };
}
