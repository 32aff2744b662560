// Run a loss forward over given arrays (no gradients): evaluation of a batch, and the graph
// programs that are not losses (RTO token rewards, over-optimisation indicators).

import { GraphBuilder, Session, type Tensor } from '../graph/index.js';
import { overoptimisationIndicators, tokenRewards } from './analysis.js';
import { buildLossProgram, bindInputs, type LossArrays } from './program.js';
import { createLoss } from './registry.js';
import type { ConfiguredLoss } from './types.js';

export interface LossEvaluation {
  loss: number;
  metrics: Record<string, number>;
  /** The next value of each state input (BCO's running mean and count). */
  state: Record<string, number>;
}

export function resolveLoss(nameOrLoss: string | ConfiguredLoss, hp: Record<string, unknown> = {}): ConfiguredLoss {
  return typeof nameOrLoss === 'string' ? createLoss(nameOrLoss, hp) : nameOrLoss;
}

const scalarOf = (t: Tensor | undefined) => Number((t!.data as Float32Array)[0]);

/** Loss, metrics and next state of a loss over arrays, in one small onnxruntime session. */
export async function evaluateLoss(nameOrLoss: string | ConfiguredLoss, hp: Record<string, unknown>, arrays: LossArrays): Promise<LossEvaluation> {
  const program = buildLossProgram(resolveLoss(nameOrLoss, hp), arrays);
  const session = await Session.create(program.model, { intraOpThreads: 1 });
  try {
    const out = await session.run(program.feeds);
    return {
      loss: scalarOf(out[program.lossOutput]),
      metrics: Object.fromEntries(Object.entries(program.metricOutputs).map(([k, v]) => [k, scalarOf(out[v])])),
      state: Object.fromEntries(Object.entries(program.stateOutputs).map(([k, v]) => [k, scalarOf(out[v])])),
    };
  } finally {
    await session.release();
  }
}

/** RTO token rewards beta * (lp_t - rp_t) on masked tokens, [B,T]. */
export async function computeTokenRewards(arrays: { policy_logps: Tensor; ref_logps: Tensor; mask: Tensor }, beta: number): Promise<Tensor> {
  const inputs = (['policy_logps', 'ref_logps', 'mask'] as const).map((name) => ({ name, dims: ['B', 'T'], side: 'data' as const, doc: name }));
  const tensors = bindInputs({ name: 'rto_token_rewards', inputs }, arrays);
  const g = new GraphBuilder({ name: 'rto_token_rewards', opset: 17 });
  for (const [k, t] of Object.entries(tensors)) g.input(k, 'float32', t.dims);
  g.output(tokenRewards(g, 'policy_logps', 'ref_logps', 'mask', beta), 'token_rewards');
  const session = await Session.create(g.toModel(), { intraOpThreads: 1 });
  try {
    return (await session.run(tensors))['token_rewards']!;
  } finally {
    await session.release();
  }
}

/** Top-k entropy and top-k mass of next-token distributions over masked positions (logits [B,T,V], mask [B,T]). */
export async function computeOveroptimisationIndicators(logits: Tensor, mask: Tensor, k: number): Promise<{ topkEntropy: number; topkMass: number }> {
  const g = new GraphBuilder({ name: 'overoptimisation_indicators', opset: 17 });
  g.input('logits', 'float32', logits.dims);
  g.input('mask', 'float32', mask.dims);
  const ind = overoptimisationIndicators(g, 'logits', 'mask', k);
  g.output(ind.topkEntropy, 'topk_entropy', 'float32', []);
  g.output(ind.topkMass, 'topk_mass', 'float32', []);
  const session = await Session.create(g.toModel(), { intraOpThreads: 1 });
  try {
    const out = await session.run({ logits, mask });
    return { topkEntropy: scalarOf(out['topk_entropy']), topkMass: scalarOf(out['topk_mass']) };
  } finally {
    await session.release();
  }
}
