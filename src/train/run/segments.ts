// How a loss's policy-side inputs map onto rows of ONE forward batch. Every policy input the run
// can provide names a row group: the batch holds G groups of B rows ([G*B, T] ids), the graph
// slices the model's output per group, and each group brings its response mask and, when the loss
// has a reference, the reference input its cached sums feed. A loss declaring a policy input not in
// this table (TDPO's per-token KLs, SparsePO's mask heads, SRPO's revision layouts) needs the frozen
// reference or another prompt layout inside the graph, which the run does not build yet.

import { fail } from '../../errors.js';
import { KtoInputs, LossInputs, RewardInputs, UnpairedInputs, type ConfiguredLoss } from '../../losses/index.js';
import type { ModelRole } from './kinds.js';

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
  },
  classifier: {
    [RewardInputs.chosen]: { policy: RewardInputs.chosen, row: own(0) },
    [RewardInputs.rejected]: { policy: RewardInputs.rejected, row: own(1) },
    [RewardInputs.predictions]: { policy: RewardInputs.predictions, row: own(0) },
  },
};

/** Data inputs filled from the examples (masks come with their groups). */
export const DATA_INPUTS: Record<string, (items: readonly RunItem[], index: number, loss: ConfiguredLoss) => number[]> = {
  [UnpairedInputs.labels]: (items, i) => [items[i]!.label ?? 0],
  [RewardInputs.margin]: (items, i) => [requireMargin(items[i]!)],
  [LossInputs.rewardMargin]: (items, i) => [requireMargin(items[i]!)],
  [RewardInputs.targets]: (items, i, loss) => (loss.hp.attributes as string[]).map((a) => requireRating(items[i]!, a)),
};

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
  for (const spec of loss.inputs) {
    const notYet = (why: string) =>
      fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `loss ${loss.name} is not yet supported by alignkit train: its input ${spec.name} ${why}`, { loss: loss.name, field: spec.name });
    if (spec.side === 'policy') {
      const group = table[spec.name];
      if (!group) throw notYet('needs the frozen reference (or another prompt layout) inside the forward graph');
      groups.push(group);
    } else if (spec.side === 'reference') {
      if (spec.dims.length !== 1 || !references.has(spec.name)) throw notYet('is a per-token reference distribution, computed in-graph');
    } else if (spec.side === 'data') {
      if (!masks.has(spec.name) && !DATA_INPUTS[spec.name]) throw notYet('is a data input the run does not compute');
    }
  }
  return groups;
}
