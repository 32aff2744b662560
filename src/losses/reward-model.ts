// Reward-model losses: Bradley-Terry on scalar scores (with margin and reward centering),
// multi-attribute regression (HelpSteer2 / SteerLM), and GenARM's autoregressive reward model.

import { pairedLoss } from './paired-loss.js';
import { greaterAsFloat, mean, negLogSigmoid, type PairedHp } from './prelude.js';
import type { LossDefinition, LossInputSpec } from './types.js';
import { check, checkKnownKeys } from './validate.js';

export const RewardInputs = {
  chosen: 'rewards_chosen', // [B] reward-model scores of the chosen responses
  rejected: 'rewards_rejected', // [B]
  margin: 'margin', // [B] per-pair margin (e.g. from annotator scores)
  predictions: 'attribute_predictions', // [B,A] one head per attribute
  targets: 'attribute_targets', // [B,A]
} as const;

export interface BradleyTerryHp {
  /** Read a per-pair `margin` input: -log sigma(r_w - r_l - m) (Llama 2's margin loss, TRL RewardTrainer). */
  useMargin: boolean;
  /** eta of the reward-centering term eta * mean((r_w + r_l)^2) ("Helping or Herding?", Eisenstein et al. 2023; TRL center_rewards_coefficient, 0 = off). */
  centerRewardsCoefficient: number;
}

/** Bradley-Terry reward-model loss, as TRL's RewardTrainer.compute_loss. */
export const bradleyTerry: LossDefinition<BradleyTerryHp> = {
  name: 'bradley_terry',
  summary: 'Bradley-Terry RM loss: -log sigmoid(r_w - r_l - margin) + eta mean((r_w + r_l)^2)',
  defaults: { useMargin: false, centerRewardsCoefficient: 0 },
  validate(hp) {
    checkKnownKeys('bradley_terry', hp, this.defaults);
    check.boolean('bradley_terry', 'useMargin', hp.useMargin);
    check.nonNegative('bradley_terry', 'centerRewardsCoefficient', hp.centerRewardsCoefficient);
  },
  inputs(hp) {
    const specs: LossInputSpec[] = [
      { name: RewardInputs.chosen, dims: ['B'], side: 'policy', doc: 'reward-model score of the chosen response' },
      { name: RewardInputs.rejected, dims: ['B'], side: 'policy', doc: 'reward-model score of the rejected response' },
    ];
    if (hp.useMargin) specs.push({ name: RewardInputs.margin, dims: ['B'], side: 'data', doc: 'required score margin per pair' });
    return specs;
  },
  build(g, x, hp) {
    const rw = x[RewardInputs.chosen]!;
    const rl = x[RewardInputs.rejected]!;
    let diff = g.sub(rw, rl);
    if (hp.useMargin) diff = g.sub(diff, x[RewardInputs.margin]!);
    let loss = mean(g, negLogSigmoid(g, diff));
    const sum = g.add(rw, rl);
    if (hp.centerRewardsCoefficient > 0) loss = g.add(loss, g.mul(g.scalar(hp.centerRewardsCoefficient), mean(g, g.mul(sum, sum))));
    return {
      loss,
      metrics: {
        'rewards/chosen': mean(g, rw),
        'rewards/rejected': mean(g, rl),
        'rewards/margins': mean(g, g.sub(rw, rl)),
        'rewards/accuracies': mean(g, greaterAsFloat(g, rw, rl)),
        'rewards/center': mean(g, g.mul(sum, g.scalar(0.5))),
      },
    };
  },
};

export interface MultiAttributeHp {
  /** Attribute names, one regression head each (HelpSteer2's five by default). */
  attributes: string[];
  /** Loss weight per attribute (default 1 each: the plain mean of the per-attribute MSEs). */
  weights?: number[];
}

/**
 * Multi-attribute regression ("HelpSteer2", Wang et al. 2024; SteerLM): mean squared error per
 * attribute head; the loss is the weighted mean of the attributes' MSEs. A single reward for
 * ranking is a user-weighted sum of the heads, applied at scoring time, not here.
 */
export const multiAttribute: LossDefinition<MultiAttributeHp> = {
  name: 'multi_attribute',
  summary: 'multi-attribute regression (HelpSteer2/SteerLM): MSE per attribute head',
  defaults: { attributes: ['helpfulness', 'correctness', 'coherence', 'complexity', 'verbosity'] },
  validate(hp) {
    checkKnownKeys('multi_attribute', hp, this.defaults, ['weights']);
    if (!Array.isArray(hp.attributes) || hp.attributes.length === 0 || hp.attributes.some((a) => typeof a !== 'string'))
      check.oneOf('multi_attribute', 'attributes', hp.attributes, ['a non-empty list of names']);
    if (hp.weights !== undefined) {
      if (!Array.isArray(hp.weights) || hp.weights.length !== hp.attributes.length)
        check.oneOf('multi_attribute', 'weights', hp.weights, [`a list of ${hp.attributes.length} numbers`]);
      hp.weights.forEach((w, i) => check.nonNegative('multi_attribute', `weights[${i}]`, w));
    }
  },
  inputs: (hp) => [
    { name: RewardInputs.predictions, dims: ['B', hp.attributes.length], side: 'policy', doc: `predicted ${hp.attributes.join(', ')}` },
    { name: RewardInputs.targets, dims: ['B', hp.attributes.length], side: 'data', doc: 'annotated attribute scores' },
  ],
  build(g, x, hp) {
    const err = g.sub(x[RewardInputs.predictions]!, x[RewardInputs.targets]!);
    const mse = g.reduceMean(g.mul(err, err), [0], false); // [A]
    const weights = hp.weights ?? hp.attributes.map(() => 1);
    const total = weights.reduce((a, b) => a + b, 0);
    const w = g.constant(Float32Array.from(weights, (v) => v / Math.max(total, 1e-12)), [weights.length]);
    const metrics = Object.fromEntries(hp.attributes.map((a, i) => [`mse/${a}`, g.reshape(g.slice(mse, [i], [i + 1], [0]), [])]));
    return { loss: g.reduceSum(g.mul(mse, w), undefined, false), metrics };
  },
};

export interface GenArmHp extends PairedHp {
  /** Target margin gamma (official GenARM default 0). */
  gamma: number;
}

/**
 * GenARM's autoregressive reward model ("GenARM: Reward Guided Generation with Autoregressive
 * Reward Model for Test-time Alignment", Xu et al. 2024, Eq. 5): r(x,y) = beta_r sum_t log pi_r(y_t|x,y<t)
 * and the Bradley-Terry loss -log sigma(r(x,y_w) - r(x,y_l) - gamma), log-probs summed over tokens,
 * no reference. beta is beta_r (official HH-RLHF recipe: 0.05).
 */
export const genArm = pairedLoss<GenArmHp>({
  name: 'genarm',
  summary: 'GenARM ARM loss (Xu et al. 2024): -log sigmoid(beta_r (sum lp_w - sum lp_l) - gamma)',
  defaults: { beta: 0.05, reduction: 'sum', gamma: 0 },
  reference: false,
  check: (hp) => check.number('genarm', 'gamma', hp.gamma),
  perPair: (g, t, hp) => negLogSigmoid(g, g.sub(g.mul(t.beta, g.sub(t.chosenLogps, t.rejectedLogps)), g.scalar(hp.gamma))),
});
