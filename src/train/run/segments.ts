// How a loss's policy-side inputs map onto rows of ONE forward batch. Every policy input the run
// can provide names a row group: the batch holds G groups of B rows ([G*B, T] ids), the graph
// slices the model's output per group, and each group brings its response mask and, when the loss
// has a reference, the reference input its cached sums feed. TDPO's per-token KLs and SparsePO's
// token weights, mask logits and per-token reference log-probs are not row groups: the graph
// computes them on a group's rows (IN_GRAPH below; a frozen reference runs inside the forward, see
// token-level.ts). SRPO's revision rows are a prompt layout (src/train/run/revision.ts): prompt +
// template(draft) before the response.

import { fail } from '../../errors.js';
import { BcoInputs, KtoInputs, LossInputs, RewardInputs, RlInputs, SrpoInputs, TokenInputs, UnpairedInputs, type ConfiguredLoss } from '../../losses/index.js';
import type { Text } from '../../models/index.js';
import type { ModelRole } from './kinds.js';
import { revisionRow, type RevisionLayout } from './revision.js';

/** One tokenized example as the run holds it: prompt ids and one or two responses. */
export interface RunItem {
  id: string;
  prompt: number[];
  responses: number[][];
  /** 1 desirable / 0 undesirable for unpaired data. */
  label?: number;
  margin?: number;
  /** Rated data: attribute name -> score. */
  ratings?: Record<string, number>;
  /** BCO's UDM density-ratio weight (set before training by udm-weights.ts when the loss reads it). */
  udmWeight?: number;
  /** SRPO's revision template tokens and length limit, attached when the loss reads revision rows. */
  revision?: RevisionLayout;
  /** Online kinds: the prompt as read (text or messages), which reward models score with the response. */
  promptText?: Text;
}

export interface RowGroup {
  /** The loss input this group's forward rows feed. */
  policy: string;
  /** Data input holding the [B, T] response mask (causal LMs). */
  mask?: string;
  /** Reference input fed the group's cached summed reference log-probs. */
  reference?: string;
  /** The row of example `index` of `items`: prompt and response ids. */
  row(items: readonly RunItem[], index: number): { prompt: number[]; response: number[] };
}

const own = (response: number) => (items: readonly RunItem[], i: number) => ({ prompt: items[i]!.prompt, response: items[i]!.responses[response]! });

// KTO's reference point: each prompt with ANOTHER example's completion (TRL's KTOTrainer shifts the
// completions by one within a batch); shifting over the whole loaded list keeps the pairing fixed,
// so the reference sums of these rows can be cached like the others.
const mismatched = (items: readonly RunItem[], i: number) => ({ prompt: items[i]!.prompt, response: items[(i + 1) % items.length]!.responses[0]! });

/** Every policy input a run can feed, by name. */
const GROUPS: Record<ModelRole, Record<string, RowGroup>> = {
  'causal-lm': {
    [LossInputs.policyChosen]: { policy: LossInputs.policyChosen, mask: LossInputs.chosenMask, reference: LossInputs.refChosen, row: own(0) },
    [LossInputs.policyRejected]: { policy: LossInputs.policyRejected, mask: LossInputs.rejectedMask, reference: LossInputs.refRejected, row: own(1) },
    [UnpairedInputs.policy]: { policy: UnpairedInputs.policy, mask: UnpairedInputs.mask, reference: UnpairedInputs.ref, row: own(0) },
    [KtoInputs.policyKl]: { policy: KtoInputs.policyKl, mask: KtoInputs.klMask, reference: KtoInputs.refKl, row: mismatched },
    // SRPO: the chosen response as a revision of the rejected draft, and the draft as a revision of itself.
    [SrpoInputs.revision]: { policy: SrpoInputs.revision, mask: SrpoInputs.revisionMask, reference: SrpoInputs.refRevision, row: revisionRow(0) },
    [SrpoInputs.selfRevision]: { policy: SrpoInputs.selfRevision, mask: SrpoInputs.selfRevisionMask, reference: SrpoInputs.refSelfRevision, row: revisionRow(1) },
    // Online kinds: a sampled response after its prompt.
    [RlInputs.policy]: { policy: RlInputs.policy, mask: RlInputs.mask, row: own(0) },
  },
  classifier: {
    [RewardInputs.chosen]: { policy: RewardInputs.chosen, row: own(0) },
    [RewardInputs.rejected]: { policy: RewardInputs.rejected, row: own(1) },
    [RewardInputs.predictions]: { policy: RewardInputs.predictions, row: own(0) },
  },
};

/** What the token-level forward computes (token-level.ts): from the frozen reference branch, or the policy's mask head. */
export type TokenSource = 'kl' | 'referenceLogps' | 'referenceWeights' | 'maskLogits' | 'klMaskLogits';

export interface InGraphInput {
  /** The row group, by its policy input, whose rows the value is computed on. */
  rows: string;
  source: TokenSource;
}

const onChosen = (source: TokenSource): InGraphInput => ({ rows: LossInputs.policyChosen, source });
const onRejected = (source: TokenSource): InGraphInput => ({ rows: LossInputs.policyRejected, source });

/**
 * Loss inputs the forward graph computes on a group's rows. A loss reading one of them (or a
 * per-token reference) runs the frozen reference inside the graph, and then takes its reference
 * log-probs from that branch as well: no cached reference pass.
 */
export const IN_GRAPH: Record<string, InGraphInput> = {
  [TokenInputs.chosenKl]: onChosen('kl'),
  [TokenInputs.rejectedKl]: onRejected('kl'),
  [LossInputs.refChosen]: onChosen('referenceLogps'),
  [LossInputs.refRejected]: onRejected('referenceLogps'),
  [TokenInputs.chosenWeights]: onChosen('referenceWeights'),
  [TokenInputs.rejectedWeights]: onRejected('referenceWeights'),
  [TokenInputs.chosenMaskLogits]: onChosen('maskLogits'),
  [TokenInputs.rejectedMaskLogits]: onRejected('maskLogits'),
  [TokenInputs.chosenKlMaskLogits]: onChosen('klMaskLogits'),
  [TokenInputs.rejectedKlMaskLogits]: onRejected('klMaskLogits'),
};

/** Whether a causal-LM run of this loss needs the frozen reference inside its forward graph. */
export function usesInGraphReference(loss: ConfiguredLoss): boolean {
  return loss.inputs.some((s) => IN_GRAPH[s.name] !== undefined && (s.side !== 'reference' || s.dims.length === 2));
}

/**
 * Inputs an online run fills from its scored rollouts (src/train/rl/experience.ts) or computes in
 * the forward (the value head): not row groups, and not data of the dataset.
 */
export const EXPERIENCE_INPUTS: ReadonlySet<string> = new Set([
  RlInputs.oldLogps, RlInputs.refLogps, RlInputs.tokenAdvantages, RlInputs.returns, RlInputs.oldValues, RlInputs.sequenceAdvantages, RlInputs.dpoTokenRewards, RlInputs.values,
]);

/** Data inputs filled from the examples (masks come with their groups). */
export const DATA_INPUTS: Record<string, (items: readonly RunItem[], index: number, loss: ConfiguredLoss) => number[]> = {
  [UnpairedInputs.labels]: (items, i) => [items[i]!.label ?? 0],
  [RewardInputs.margin]: (items, i) => [requireMargin(items[i]!)],
  [LossInputs.rewardMargin]: (items, i) => [requireMargin(items[i]!)],
  [RewardInputs.targets]: (items, i, loss) => (loss.hp.attributes as string[]).map((a) => requireRating(items[i]!, a)),
  [BcoInputs.udmWeights]: (items, i) => [requireUdmWeight(items[i]!)],
};

function requireUdmWeight(item: RunItem): number {
  if (item.udmWeight === undefined) throw fail('ALIGNKIT_ERR_INTERNAL', `example ${item.id} has no UDM weight: the run computes them before training (udm-weights.ts)`, { id: item.id, field: 'udm_weights' });
  return item.udmWeight;
}

function requireMargin(item: RunItem): number {
  if (item.margin === undefined) throw fail('ALIGNKIT_ERR_DATASET_ROW', `example ${item.id} has no margin, which the loss reads`, { id: item.id, field: 'margin' });
  return item.margin;
}

function requireRating(item: RunItem, attribute: string): number {
  const v = item.ratings?.[attribute];
  if (typeof v !== 'number') throw fail('ALIGNKIT_ERR_DATASET_ROW', `example ${item.id} has no rating for ${attribute}`, { id: item.id, field: attribute });
  return v;
}

/** The row groups of a loss, in its input order; fails naming the first input the run cannot feed. */
export function rowGroupsFor(loss: ConfiguredLoss, role: ModelRole): RowGroup[] {
  const table = GROUPS[role];
  const groups: RowGroup[] = [];
  const masks = new Set(Object.values(table).map((g) => g.mask));
  const references = new Set(Object.values(table).map((g) => g.reference));
  const inGraph = role === 'causal-lm' && usesInGraphReference(loss);
  for (const spec of loss.inputs) {
    const notYet = (why: string) =>
      fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `loss ${loss.name} is not yet supported by alignkit train: its input ${spec.name} ${why}`, { loss: loss.name, field: spec.name });
    if (EXPERIENCE_INPUTS.has(spec.name)) continue;
    if (inGraph && IN_GRAPH[spec.name]) {
      if (!loss.inputs.some((s) => s.name === IN_GRAPH[spec.name]!.rows)) throw notYet(`is computed on the rows of ${IN_GRAPH[spec.name]!.rows}, which the loss does not read`);
    } else if (spec.side === 'policy') {
      const group = table[spec.name];
      if (!group) throw notYet(`is not a value a ${role} forward computes`);
      groups.push(group);
    } else if (spec.side === 'reference') {
      if (spec.dims.length !== 1 || !references.has(spec.name)) throw notYet('is a per-token reference distribution, computed in-graph');
    } else if (spec.side === 'data') {
      if (!masks.has(spec.name) && !DATA_INPUTS[spec.name]) throw notYet('is a data input the run does not compute');
    }
  }
  // A group keeps its cached reference only when the loss reads it: reference-free losses (SimPO,
  // ORPO, GenARM, SFT) need no reference pass, and with the reference in the graph none is cached.
  const readsCached = (name: string | undefined) => !inGraph && name !== undefined && loss.inputs.some((s) => s.name === name);
  return groups.map(({ reference, ...g }) => (readsCached(reference) ? { ...g, reference } : g));
}
