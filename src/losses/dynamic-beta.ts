// Dynamic reward scaling from "MM-RLHF: The Next Step Forward in Multimodal LLM Alignment":
// each pair's beta grows with the reward model's confidence in it,
//   beta_i = beta * (1 + w * (1 - exp(-k * delta_i))),   delta_i = r(x, y_w) - r(x, y_l),
// so pairs with a large reward margin get a sharper preference signal. w bounds the growth
// (beta_i <= (1 + w) beta for positive margins); k sets how fast it saturates. The margin is a
// data input, so beta_i carries no gradient, and every paired loss accepts it through its prelude.

import type { GraphBuilder, Value } from '../graph/index.js';
import { fail } from '../errors.js';

export function dynamicBetaValue(g: GraphBuilder, beta: number, dyn: { w: number; k: number } | undefined, margin: Value | undefined): Value {
  if (!dyn) return g.scalar(beta);
  if (!margin) throw fail('ALIGNKIT_ERR_GRAPH_BUILD', 'dynamic beta needs the reward_margin input');
  const saturation = g.sub(g.scalar(1), g.exp(g.mul(g.scalar(-dyn.k), margin))); // [B]
  return g.mul(g.scalar(beta), g.add(g.scalar(1), g.mul(g.scalar(dyn.w), saturation)));
}
