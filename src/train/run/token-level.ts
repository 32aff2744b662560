// The forward of a token-level loss run (TDPO1/TDPO2, SparsePO): the policy (LoRA or not, with
// SparsePO's learned mask head when the loss reads it), a frozen copy of the starting model as
// the reference in the same graph (src/graph/rewrites/frozen-branch.ts), and the head giving
// per-token log-probs of both and the per-position KL(pi_ref || pi). The values are then cut
// into the loss's row groups: KLs, per-token reference log-probs (or their sums under the
// response mask), reference-activation token weights and mask logits.

import { GraphBuilder, onnxOpset, type Model, type Value } from '../../graph/index.js';
import { addFrozenBranch, addTokenKlHead, addTokenMaskHead, alignToNextToken, finalHiddenState, lastMlpActivation } from '../../graph/rewrites/index.js';
import { activationTokenWeights, type ConfiguredLoss, type LossInputSpec } from '../../losses/index.js';
import { IN_GRAPH, usesInGraphReference, type RowGroup, type TokenSource } from './segments.js';
import type { ForwardExtension, RunStage } from './stages.js';

export interface TokenLevelForward {
  /** The policy forward with the mask head when there is one: the trainer's source of starting values. */
  forward: Model;
  /** forward + frozen reference + KL head: the graph the loss is spliced onto. */
  model: Model;
  /** The policy's [N, T] token log-probs. */
  policy: string;
  /** Value of each in-graph source ([N, T]; [N, T, H'] reference activations for `referenceWeights`). */
  values: Partial<Record<TokenSource, string>>;
  /** Graph outputs the heads declared; not outputs of the training graph. */
  headOutputs: string[];
  /** The mask head's initializers: trained, but not part of the exported policy. */
  auxiliary: string[];
  /** The frozen reference's initializers. */
  frozen: string[];
}

// A learned mask starts at 1 on every token, so SparsePO's first steps are TDPO1's: relu(1) = 1;
// sigmoid(3) = 0.95, as near 1 as keeps the sigmoid's slope (0.045) useful.
const MASK_START_LOGIT: Record<string, number> = { relu: 1, sigmoid: 3 };

const MASK_OUTPUTS: Partial<Record<TokenSource, string>> = { maskLogits: 'mask_logits', klMaskLogits: 'kl_mask_logits' };

/** The in-graph sources a loss reads. */
export function tokenSourcesOf(loss: ConfiguredLoss): Set<TokenSource> {
  return new Set(loss.inputs.filter((s) => IN_GRAPH[s.name]).map((s) => IN_GRAPH[s.name]!.source));
}

/**
 * `policy`: the run's forward (KV cache stripped, LoRA injected); `reference`: the stripped model
 * before LoRA, copied frozen.
 */
export function buildTokenLevelForward(policy: Model, reference: Model, loss: ConfiguredLoss): TokenLevelForward {
  const sources = tokenSourcesOf(loss);
  const values: Partial<Record<TokenSource, string>> = {};
  let forward = policy;
  let auxiliary: string[] = [];
  const heads = (Object.keys(MASK_OUTPUTS) as TokenSource[]).filter((s) => sources.has(s));
  if (heads.length > 0) {
    const activation = typeof loss.hp.activation === 'string' ? loss.hp.activation : 'relu';
    const mh = addTokenMaskHead(policy, { heads: heads.map((s) => MASK_OUTPUTS[s]!), startLogit: MASK_START_LOGIT[activation] ?? 1 });
    forward = mh.model;
    auxiliary = mh.trainable;
    for (const s of heads) values[s] = mh.outputs[MASK_OUTPUTS[s]!];
  }
  const branch = addFrozenBranch(forward, reference);
  const head = addTokenKlHead(branch.model, { referenceLogits: branch.outputs.logits! });
  const model = head.model;
  values.kl = head.outputs.kl;
  values.referenceLogps = head.outputs.reference;
  if (sources.has('referenceWeights')) {
    // SparsePO's reference-activation mask reads the reference's last MLP activation (its final
    // hidden state when no weight is named like an MLP output projection), moved onto the token
    // it helps predict like every other per-token value here.
    const act = lastMlpActivation(reference) ?? finalHiddenState(reference).value;
    const b = new GraphBuilder({ graph: model.graph, opset: onnxOpset(model) });
    values.referenceWeights = alignToNextToken(b, branch.rename(act)); // [N, T, H']
  }
  return { forward, model, policy: head.outputs.policy!, values, headOutputs: Object.values(head.outputs), auxiliary, frozen: branch.initializers };
}

type PerGroup = (g: GraphBuilder, rows: Value, spec: LossInputSpec, mask: () => Value) => Value;

/** How a source's rows of one group become the loss input. */
const PER_GROUP: Record<TokenSource, PerGroup> = {
  kl: (_g, rows) => rows,
  // Per-token for SparsePO; summed over the response tokens where the loss reads sequence sums (TDPO).
  referenceLogps: (g, rows, spec, mask) => (spec.dims.length === 1 ? g.reduceSum(g.mul(rows, mask()), [1], false) : rows),
  referenceWeights: (g, rows, _spec, mask) => activationTokenWeights(g, rows, mask()),
  maskLogits: (_g, rows) => rows,
  klMaskLogits: (_g, rows) => rows,
};

export interface InGraphInputs {
  /** Loss input -> its value in the graph. */
  provided: Record<string, Value>;
  /** Inputs created here that the batch feeds (response masks read before the loss). */
  fed: LossInputSpec[];
}

/** The loss's in-graph inputs, each cut from its row group's rows of the batch. */
export function provideTokenInputs(g: GraphBuilder, t: TokenLevelForward, opts: { loss: ConfiguredLoss; groups: readonly RowGroup[]; rows: number }): InGraphInputs {
  const B = opts.rows;
  const provided: Record<string, Value> = {};
  const fed: LossInputSpec[] = [];
  const maskOf = (group: RowGroup) => () => {
    const name = group.mask!;
    if (provided[name] === undefined) {
      const spec = opts.loss.inputs.find((s) => s.name === name)!;
      provided[name] = g.input(name, 'float32', spec.dims.map((d) => (d === 'B' ? B : d)));
      fed.push(spec);
    }
    return provided[name]!;
  };
  for (const spec of opts.loss.inputs) {
    const entry = IN_GRAPH[spec.name];
    if (!entry) continue;
    const i = opts.groups.findIndex((grp) => grp.policy === entry.rows);
    const rows = g.slice(t.values[entry.source]!, [i * B], [(i + 1) * B], [0]);
    provided[spec.name] = PER_GROUP[entry.source](g, rows, spec, maskOf(opts.groups[i]!));
  }
  return { provided, fed };
}

/** The token-level forward as a run graph's extension. */
export const tokenLevelForward: ForwardExtension = (policy, reference, loss) => {
  const t = buildTokenLevelForward(policy, reference, loss);
  return { forward: t.forward, model: t.model, policy: t.policy, provide: (g, o) => provideTokenInputs(g, t, o), headOutputs: t.headOutputs, auxiliary: t.auxiliary, frozen: t.frozen };
};

/** Token-level losses (reading per-token KLs, reference log-probs or masks): the frozen reference runs inside the training forward. */
export const tokenLevelStage: RunStage = {
  name: 'in-graph-reference',
  appliesTo: (d) => d.spec.model === 'causal-lm' && usesInGraphReference(d.loss),
  forward: () => tokenLevelForward,
};
