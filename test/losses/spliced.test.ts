// Each paired loss spliced after a real forward graph (the tiny causal LM of fixture-lm.ts, with a
// frozen reference copy inside the same graph): one onnxruntime run per step gives the loss,
// metrics and every parameter's gradient; the gradients pass an end-to-end finite-difference check
// along random directions; and a few SGD steps lower the loss (state fed back between steps).

import { describe, expect, it } from 'vitest';
import { GraphBuilder, Session, type Model, type Tensor, type Value } from '../../src/graph/index.js';
import { buildTrainingGraph, isStopGradient, normalSample, seededRandom } from '../../src/graph/autodiff/index.js';
import { activationTokenWeights, createLoss, spliceLoss, type ConfiguredLoss } from '../../src/losses/index.js';
import { BATCH, LM, lmForward, lmParams, tokenKl } from './fixture-lm.js';

interface Spliced {
  session: Session;
  /** The forward with every stop-gradient's output turned into an input (for finite differences). */
  frozen: Session;
  stopGradients: string[];
  params: Map<string, Tensor>;
  feeds: Record<string, Tensor>;
  lossOutput: string;
  gradients: Map<string, string>;
  stateOutputs: Record<string, string>;
  metricNames: string[];
}

async function splice(loss: ConfiguredLoss): Promise<Spliced> {
  const g = new GraphBuilder({ name: `spliced_${loss.name}`, opset: 17 });
  for (const k of ['chosen_ids', 'chosen_targets', 'rejected_ids', 'rejected_targets']) g.input(k, 'int64', [LM.B, LM.T]);
  for (const k of ['chosen_mask', 'rejected_mask']) g.input(k, 'float32', [LM.B, LM.T]);
  const trainable = lmParams(g, 'policy', 1);
  lmParams(g, 'ref', 2); // the frozen reference: initializers that are not trained
  const pc = lmForward(g, 'policy', 'chosen_ids', 'chosen_targets');
  const pr = lmForward(g, 'policy', 'rejected_ids', 'rejected_targets');
  const rc = lmForward(g, 'ref', 'chosen_ids', 'chosen_targets');
  const rr = lmForward(g, 'ref', 'rejected_ids', 'rejected_targets');
  const feeds: Record<string, Tensor> = { ...BATCH };
  const values: Record<string, Value> = {};
  const wants = new Set(loss.inputs.map((s) => s.name));
  const provide: Record<string, () => Value> = {
    policy_chosen_logps: () => pc.tokenLogps,
    policy_rejected_logps: () => pr.tokenLogps,
    chosen_mask: () => 'chosen_mask',
    rejected_mask: () => 'rejected_mask',
    policy_chosen_kl: () => tokenKl(g, rc.logp, pc.logp),
    policy_rejected_kl: () => tokenKl(g, rr.logp, pr.logp),
    chosen_mask_logits: () => maskHead(pc.hidden),
    rejected_mask_logits: () => maskHead(pr.hidden),
  };
  let head: string | undefined;
  function maskHead(hidden: Value): Value {
    if (!head) {
      head = g.initializer('mask_head', { dtype: 'float32', dims: [LM.D, 1], data: Float32Array.of(0.9, -0.4, 0.7, 0.3, -0.2) });
      trainable.push(head);
    }
    return g.add(g.squeeze(g.matMul(hidden, head), [2]), g.scalar(0.3));
  }
  const refSum = (tok: Value, mask: string) => g.reduceSum(g.mul(tok, mask), [1], false);
  const dataInput = (name: string, data: number[]) => {
    g.input(name, 'float32', [data.length]);
    feeds[name] = { dtype: 'float32', dims: [data.length], data: Float32Array.from(data) };
    return name;
  };
  Object.assign(provide, {
    // Unpaired losses: the chosen rows are the rated responses, the rejected rows their mismatched (x, y') pairs.
    policy_logps: () => pc.tokenLogps,
    mask: () => 'chosen_mask',
    ref_logps: () => refSum(rc.tokenLogps, 'chosen_mask'),
    labels: () => dataInput('labels', [1, 0]),
    policy_kl_logps: () => pr.tokenLogps,
    kl_mask: () => 'rejected_mask',
    ref_kl_logps: () => refSum(rr.tokenLogps, 'rejected_mask'),
    udm_weights: () => dataInput('udm_weights', [1, 2.5]),
    // SparsePO's reference-activation mask from the frozen reference's hidden states.
    chosen_token_weights: () => activationTokenWeights(g, rc.hidden, 'chosen_mask'),
    rejected_token_weights: () => activationTokenWeights(g, rr.hidden, 'rejected_mask'),
    // SRPO: the fixture has no revision prompt layout, so the revision passes reuse the response forwards.
    policy_revision_logps: () => pc.tokenLogps,
    revision_mask: () => 'chosen_mask',
    ref_revision_logps: () => refSum(rc.tokenLogps, 'chosen_mask'),
    policy_self_revision_logps: () => pr.tokenLogps,
    self_revision_mask: () => 'rejected_mask',
    ref_self_revision_logps: () => refSum(rr.tokenLogps, 'rejected_mask'),
  } satisfies Record<string, () => Value>);
  for (const spec of loss.inputs) {
    if (spec.name === 'ref_chosen_logps' || spec.name === 'ref_rejected_logps') {
      const [tok, mask] = spec.name === 'ref_chosen_logps' ? [rc.tokenLogps, 'chosen_mask'] : [rr.tokenLogps, 'rejected_mask'];
      values[spec.name] = spec.dims.length === 2 ? tok : refSum(tok, mask);
    } else if (spec.side === 'state') continue; // spliceLoss makes it a graph input
    else if (provide[spec.name]) values[spec.name] = provide[spec.name]!();
    else throw new Error(`the fixture does not provide ${spec.name}`);
  }
  const spliced = spliceLoss(g, loss, values, { B: LM.B, T: LM.T });
  // Only the carried state is left for the training loop to feed.
  expect(spliced.createdInputs.map((s) => s.side)).toEqual(loss.inputs.filter((s) => s.side === 'state').map(() => 'state'));
  expect([...wants].every((w) => values[w] !== undefined || spliced.createdInputs.some((s) => s.name === w))).toBe(true);
  for (const spec of spliced.createdInputs) feeds[spec.name] = { dtype: 'float32', dims: [], data: Float32Array.of(spec.initial!) };
  const { lossOutput, stateOutputs } = spliced;
  const metricNames = Object.keys(spliced.metricOutputs);
  const model = g.toModel();
  const params = new Map(trainable.map((p) => [p, model.graph.initializers.get(p)!]));
  const { frozen, stopGradients } = freezeStopGradients(model, trainable);
  const training = buildTrainingGraph({ model, loss: lossOutput, trainable, outputs: stopGradients });
  const session = await Session.create(training.model, { intraOpThreads: 1 });
  const frozenSession = await Session.create(frozen, { intraOpThreads: 1 });
  return { session, frozen: frozenSession, stopGradients, params, feeds, lossOutput, gradients: training.gradients, stateOutputs, metricNames };
}

/**
 * A copy of the forward whose stop-gradients (detach's StopGradient Identity nodes) read their
 * value from a graph input instead: central differences of this model, with those inputs held at
 * the base point, are what the analytic gradient of a loss with a stop-gradient must match.
 */
function freezeStopGradients(model: Model, trainable: string[]): { frozen: Model; stopGradients: string[] } {
  const graph = model.graph;
  const stops = graph.nodes.filter(isStopGradient);
  const stopGradients = stops.map((n) => n.outputs[0]!);
  const frozen: Model = {
    ...model,
    graph: {
      ...graph,
      nodes: graph.nodes.filter((n) => !stops.includes(n)),
      inputs: [...graph.inputs, ...stopGradients.map((name) => ({ name, dtype: 'float32' as const })), ...trainable.map((p) => ({ name: p, dtype: 'float32' as const, dims: graph.initializers.get(p)!.dims }))],
      initializers: new Map([...graph.initializers].filter(([k]) => !trainable.includes(k))),
    },
  };
  return { frozen, stopGradients };
}

const SPLICED_LOSSES: [string, Record<string, unknown>][] = [
  ['dpo', { beta: 0.5 }],
  ['cdpo', { beta: 0.5, labelSmoothing: 0.1 }],
  ['robust_dpo', { beta: 0.5, labelSmoothing: 0.1 }],
  ['ipo', { beta: 0.5 }],
  ['hinge', { beta: 0.5 }],
  ['ln_dpo', { beta: 2 }],
  ['rpo', { beta: 0.5, alpha: 0.5 }],
  ['bco_pair', { beta: 0.5 }],
  ['simpo', {}],
  ['orpo', { beta: 0.5 }],
  ['genarm', { beta: 0.5 }],
  ['tdpo1', { beta: 0.5 }],
  ['tdpo2', { beta: 0.5 }],
  ['sparsepo', { beta: 0.5, activation: 'sigmoid', sparsity: 0.05 }],
  ['sparsepo', { beta: 0.5, mask: 'reference' }],
  ['srpo', { beta: 0.5 }],
  // Unpaired losses spliced the same way (their detached terms are frozen for the differences).
  ['kto', { beta: 0.5 }],
  ['bco', { beta: 0.5, udm: true }],
];

describe('losses spliced after a causal LM: one run per step', () => {
  for (const [name, hp] of SPLICED_LOSSES) {
    it(`${name} ${JSON.stringify(hp)}: end-to-end finite differences and training steps`, async () => {
      const s = await splice(createLoss(name, hp));
      try {
        const params = new Map([...s.params].map(([k, t]) => [k, { ...t, data: Float32Array.from(t.data as Float32Array) }]));
        const state = { ...s.feeds };
        const run = (p: Map<string, Tensor>, feeds = state) => s.session.run({ ...feeds, ...Object.fromEntries(p) });
        const first = await run(params);
        const held = Object.fromEntries(s.stopGradients.map((v) => [v, first[v]!]));
        const loss0 = Number((first[s.lossOutput]!.data as Float32Array)[0]);
        expect(Number.isFinite(loss0)).toBe(true);

        // End-to-end finite differences of the loss along random directions in parameter space.
        const rand = seededRandom(7);
        const eps = 2e-3;
        for (let dir = 0; dir < 2; dir++) {
          const d = new Map([...params].map(([k, t]) => [k, Float32Array.from(t.data as Float32Array, () => normalSample(rand))]));
          let analytic = 0;
          for (const [k, v] of d) {
            const grad = first[s.gradients.get(k)!]!.data as Float32Array;
            v.forEach((x, i) => (analytic += x * grad[i]!));
          }
          const moved = (sign: number) => new Map([...params].map(([k, t]) => [k, { ...t, data: Float32Array.from(t.data as Float32Array, (x, i) => x + sign * eps * d.get(k)![i]!) }]));
          const lossAt = async (sign: number) => Number(((await s.frozen.run({ ...state, ...held, ...Object.fromEntries(moved(sign)) }))[s.lossOutput]!.data as Float32Array)[0]);
          const numeric = ((await lossAt(1)) - (await lossAt(-1))) / (2 * eps);
          expect(Math.abs(analytic - numeric)).toBeLessThan(2e-3 + 2e-2 * Math.abs(numeric));
        }

        // A few SGD steps in place, state outputs fed back as the next step's state inputs.
        let out = first;
        for (let step = 0; step < 4; step++) {
          for (const [k, t] of params) {
            const grad = out[s.gradients.get(k)!]!.data as Float32Array;
            (t.data as Float32Array).forEach((x, i, a) => (a[i] = x - 0.5 * grad[i]!));
          }
          for (const [k, o] of Object.entries(s.stateOutputs)) state[k] = out[o]!;
          out = await run(params);
        }
        expect(Number((out[s.lossOutput]!.data as Float32Array)[0])).toBeLessThan(loss0);
        if (['tdpo2', 'bco_pair', 'kto', 'bco'].includes(name)) expect(s.stopGradients.length).toBeGreaterThan(0);
        if (name === 'bco_pair' || name === 'bco') expect(Number((state['running_reward_count']!.data as Float32Array)[0])).toBeCloseTo(name === 'bco' ? 8 : 4, 4);
      } finally {
        await s.session.release();
        await s.frozen.release();
      }
    });
  }
});
