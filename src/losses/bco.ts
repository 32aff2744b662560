// BCO ("Binary Classifier Optimization for Large Language Model Alignment", Jung et al. 2024):
// the implicit reward r = beta h is trained as a binary classifier logit, shifted by delta, the
// running mean of the rewards (TRL's RunningMoments), which the graph updates and returns as state:
//   thumbs-up: -log sigma(r - delta),   thumbs-down: -log sigma(-(r - delta)).
// Underlying-distribution matching (UDM) reweights thumbs-down rows by a density ratio from a
// classifier of prompt embeddings (udm.ts fits it); the weights are a data input here.

import { detach, mean, negLogSigmoid, pairedInputs, pairedMetrics, pairedPrelude, type PairedHp } from './prelude.js';
import { RunningMeanInputs, runningMeanInputs, updateRunningMean } from './state.js';
import type { LossDefinition } from './types.js';
import { UnpairedInputs, unpairedInputs, unpairedMetrics, unpairedRatio, type UnpairedHp } from './unpaired.js';
import { check, checkKnownKeys } from './validate.js';

export const BcoInputs = {
  udmWeights: 'udm_weights', // [B] density-ratio weights of thumbs-down rows (ignored on thumbs-up rows)
  mean: RunningMeanInputs.mean,
  count: RunningMeanInputs.count,
} as const;

export interface BcoHp extends UnpairedHp {
  /** Read `udm_weights` and apply them to thumbs-down rows (TRL: when an embedding function is given). */
  udm: boolean;
}

/**
 * Unpaired BCO, as TRL's BCOTrainer.bco_loss: the running mean is updated with every reward of the
 * batch (count += B) before delta is read, and the loss is the mean over all rows.
 */
export const bco: LossDefinition<BcoHp> = {
  name: 'bco',
  summary: 'BCO (Jung et al. 2024): reward as a binary classifier logit shifted by its running mean, optional UDM weights',
  defaults: { beta: 0.1, reduction: 'sum', udm: false },
  validate(hp) {
    checkKnownKeys('bco', hp, this.defaults);
    check.positive('bco', 'beta', hp.beta);
    check.oneOf('bco', 'reduction', hp.reduction, ['sum', 'mean']);
    check.boolean('bco', 'udm', hp.udm);
  },
  inputs: (hp) => [
    ...unpairedInputs(),
    ...(hp.udm ? [{ name: BcoInputs.udmWeights, dims: ['B'], side: 'data' as const, doc: 'UDM density-ratio weight per row (see fitUdmClassifier)' }] : []),
    ...runningMeanInputs(''),
  ],
  build(g, x, hp) {
    const { logps, ratio } = unpairedRatio(g, x, hp);
    const rewards = g.mul(g.scalar(hp.beta), ratio); // [B]
    const batch = detach(g, rewards);
    const labels = x[UnpairedInputs.labels]!;
    const undesirable = g.sub(g.scalar(1), labels);
    const rows = g.reduceSum(g.add(labels, undesirable), undefined, false); // B as a float scalar
    const running = updateRunningMean(g, x[BcoInputs.mean]!, x[BcoInputs.count]!, g.reduceMean(batch, undefined, false), rows);
    const delta = running.mean;
    const shifted = g.sub(rewards, delta);
    const weights = hp.udm ? g.mul(undesirable, x[BcoInputs.udmWeights]!) : undesirable;
    const perRow = g.add(g.mul(labels, negLogSigmoid(g, shifted)), g.mul(weights, negLogSigmoid(g, g.neg(shifted))));
    const metrics = unpairedMetrics(g, rewards, logps, labels);
    metrics.delta = delta;
    return { loss: mean(g, perRow), metrics, state: { [BcoInputs.mean]: delta, [BcoInputs.count]: running.count } };
  },
};

/**
 * Paired BCO, as TRL's DPOTrainer loss_type="bco_pair": -log sigma(beta h_w - delta) -
 * log sigma(-(beta h_l - delta)), with the running mean updated by the batch's mean reward as a
 * single value (count += 1), exactly as TRL passes a 0-d mean to RunningMoments.update.
 */
export const bcoPair: LossDefinition<PairedHp> = {
  name: 'bco_pair',
  summary: 'paired BCO (Jung et al. 2024; TRL bco_pair): chosen and rejected rewards classified around their running mean',
  defaults: { beta: 0.1, reduction: 'sum' },
  validate(hp) {
    checkKnownKeys('bco_pair', hp, this.defaults, ['dynamicBeta']);
    check.positive('bco_pair', 'beta', hp.beta);
    check.oneOf('bco_pair', 'reduction', hp.reduction, ['sum', 'mean']);
    check.dynamicBeta('bco_pair', hp.dynamicBeta);
  },
  inputs: (hp) => [...pairedInputs({ reference: true, dynamicBeta: hp.dynamicBeta }), ...runningMeanInputs('')],
  build(g, x, hp) {
    const t = pairedPrelude(g, x, hp);
    const rw = g.mul(t.beta, t.chosenRatio);
    const rl = g.mul(t.beta, t.rejectedRatio);
    const batchMean = detach(g, g.div(g.add(mean(g, rw), mean(g, rl)), g.scalar(2)));
    const running = updateRunningMean(g, x[BcoInputs.mean]!, x[BcoInputs.count]!, batchMean, g.scalar(1));
    const delta = running.mean;
    const perPair = g.add(negLogSigmoid(g, g.sub(rw, delta)), negLogSigmoid(g, g.neg(g.sub(rl, delta))));
    const metrics = pairedMetrics(g, t);
    metrics.delta = delta;
    return { loss: mean(g, perPair), metrics, state: { [BcoInputs.mean]: delta, [BcoInputs.count]: running.count } };
  },
};
