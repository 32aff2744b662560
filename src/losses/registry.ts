// The loss registry, configuration (defaults merged, validated at construction) and weighted
// composition (e.g. DPO + 0.1 SFT) into one ConfiguredLoss.

import { fail } from '../errors.js';
import type { Dim, GraphBuilder, Value } from '../graph/index.js';
import { bco, bcoPair } from './bco.js';
import { cdpo, dpo, hinge, ipo, lnDpo, robustDpo, rpo } from './dpo.js';
import { kto } from './kto.js';
import { orpo, sft, simpo } from './reference-free.js';
import { bradleyTerry, genArm, multiAttribute } from './reward-model.js';
import { srpo } from './srpo.js';
import { grpo } from './grpo.js';
import { ppo, rto } from './ppo.js';
import { rloo } from './rloo.js';
import { sparsePo, tdpo1, tdpo2 } from './token-level.js';
import type { ConfiguredLoss, LossDefinition, LossGraph, LossInputSpec } from './types.js';

type AnyLoss = LossDefinition<any>;

const ALL: AnyLoss[] = [
  dpo, cdpo, robustDpo, ipo, hinge, lnDpo, rpo, bcoPair,
  simpo, orpo, sft,
  tdpo1, tdpo2, sparsePo,
  kto, bco,
  bradleyTerry, multiAttribute, genArm,
  srpo,
  ppo, rto, grpo, rloo,
];

/** Every loss by name. */
export const LOSSES: Readonly<Record<string, AnyLoss>> = Object.freeze(Object.fromEntries(ALL.map((l) => [l.name, l])));

export function lossDefinition(name: string): AnyLoss {
  const def = LOSSES[name];
  if (!def)
    throw fail('ALIGNKIT_ERR_UNKNOWN_NAME', `unknown loss ${JSON.stringify(name)}; known losses: ${Object.keys(LOSSES).join(', ')}`, { loss: name, known: Object.keys(LOSSES) });
  return def;
}

/** Configure a loss: the paper's defaults overridden by `hp`, validated now rather than at the first step. */
export function createLoss(name: string, hp: Record<string, unknown> = {}): ConfiguredLoss {
  return configureLoss(lossDefinition(name), hp);
}

/** Configure a definition outside the registry (PPO's value loss, which a separate critic trains on) the same way. */
export function configureLoss(def: AnyLoss, hp: Record<string, unknown> = {}): ConfiguredLoss {
  const merged = { ...def.defaults, ...hp };
  def.validate(merged);
  return {
    name: def.name,
    hp: Object.freeze(merged),
    inputs: def.inputs(merged),
    build: (g: GraphBuilder, inputs: Record<string, Value>): LossGraph => def.build(g, inputs, merged),
  };
}

export interface WeightedLoss {
  name: string;
  weight: number;
  hp?: Record<string, unknown>;
}

function sameDims(a: Dim[], b: Dim[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/**
 * A weighted sum of losses over shared inputs: inputs with the same name are fed once (their
 * declared shapes must agree); metrics are prefixed by the component's name (and `<name>/loss`
 * reports each unweighted component).
 */
export function composeLosses(parts: WeightedLoss[]): ConfiguredLoss {
  if (parts.length === 0) throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', 'composeLosses needs at least one loss', { parameter: 'losses' });
  const configured = parts.map((p, i) => {
    if (typeof p.weight !== 'number' || !Number.isFinite(p.weight))
      throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `loss ${i} (${p.name}): weight must be a finite number, got ${JSON.stringify(p.weight)}`, { loss: p.name, parameter: 'weight' });
    return { weight: p.weight, loss: createLoss(p.name, p.hp) };
  });
  const names = configured.map((c) => c.loss.name);
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  if (dup) throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `loss ${dup} appears twice in the composition`, { loss: dup });
  const inputs = new Map<string, LossInputSpec>();
  for (const { loss } of configured)
    for (const spec of loss.inputs) {
      const prev = inputs.get(spec.name);
      if (prev && !sameDims(prev.dims, spec.dims))
        throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `losses disagree on input ${spec.name}: [${prev.dims}] vs [${spec.dims}] (in ${loss.name})`, { loss: loss.name, field: spec.name });
      if (!prev) inputs.set(spec.name, spec);
    }
  return {
    name: names.join('+'),
    hp: Object.freeze(Object.fromEntries(configured.map((c) => [c.loss.name, { weight: c.weight, ...c.loss.hp }]))),
    inputs: [...inputs.values()],
    build(g, x) {
      let total: Value | undefined;
      const metrics: Record<string, Value> = {};
      const state: Record<string, Value> = {};
      for (const { weight, loss } of configured) {
        const part = loss.build(g, x);
        const weighted = g.mul(part.loss, g.scalar(weight));
        total = total ? g.add(total, weighted) : weighted;
        metrics[`${loss.name}/loss`] = part.loss;
        for (const [k, v] of Object.entries(part.metrics)) metrics[`${loss.name}/${k}`] = v;
        Object.assign(state, part.state ?? {});
      }
      return { loss: total!, metrics, state };
    },
  };
}
