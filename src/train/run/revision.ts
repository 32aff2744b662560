// The revision prompt layout of SRPO ("Self-Improving Robust Preference Optimization", Choi et al.
// 2024). SRPO's self-improvement policy pi+(y' | x, y) is the same model as the generative policy,
// run on another prompt: the original prompt followed by a draft y inside a revision template. The
// offline loss (src/losses/srpo.ts) reads two such rows per pair, both with the rejected response
// as the draft: the revision row answers with the chosen response (log pi+(y_w | x, y_l)) and the
// self-revision row with the rejected one again (log pi+(y_l | x, y_l)).
//
// We found no official SRPO code from the authors; the public implementation we follow, TRL pull
// request #1772 (huggingface/trl, closed unmerged; SRPOTrainer.tokenize_row), lays a revision out as
//   instruction + prompt + "EXAMPLE SUMMARY: " + draft + "\n\n" + "TL;DR:"   -> revision
// for TL;DR summaries. The default template below keeps that shape (the draft shown as an example
// answer, then a cue for the improved one) with task-neutral words; `revisionTemplate` in the run
// config replaces it. The template's text is tokenized once, here, in two pieces around the
// draft's ids, so the draft keeps the ids it has as a response (as prompt and responses are
// tokenized apart for every row).

import { fail } from '../../errors.js';
import { SrpoInputs } from '../../losses/index.js';
import type { RowGroup, RunItem } from './segments.js';
import type { RunStage } from './stages.js';

/** Where the draft goes in a revision template. */
export const DRAFT_SLOT = '{draft}';

/** Default revision template: the TRL SRPO layout with task-neutral words (see the file comment). */
export const DEFAULT_REVISION_TEMPLATE = `\n\nEXAMPLE RESPONSE: ${DRAFT_SLOT}\n\nIMPROVED RESPONSE:\n`;

/** The loss inputs whose rows use the revision layout. */
const REVISION_POLICIES: ReadonlySet<string> = new Set([SrpoInputs.revision, SrpoInputs.selfRevision]);

/** A revision template tokenized around its draft slot, with the run's length limit. Shared by every item of a run. */
export interface RevisionLayout {
  /** Ids of the template text before the draft. */
  before: number[];
  /** Ids of the template text after the draft. */
  after: number[];
  /** Longest prompt + response of a row (the run's maxLength). */
  maxLength: number;
  /** The EOS the run appends to responses: dropped from the draft, which is not the end of the sequence. */
  eosTokenId?: number;
}

/** Fails naming the field unless the template holds the draft slot exactly once. */
export function checkRevisionTemplate(field: string, template: unknown): void {
  if (typeof template !== 'string' || template.split(DRAFT_SLOT).length !== 2)
    throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `run config field ${field}: must be a string holding ${DRAFT_SLOT} exactly once, got ${JSON.stringify(template)}`, { field, value: template });
}

/** The one place a revision template is tokenized: the text before and after the draft slot, without special tokens. */
export function revisionLayout(template: string, encoder: { encode(text: string, opts: { addSpecialTokens: boolean }): number[] }, maxLength: number, eosTokenId?: number): RevisionLayout {
  checkRevisionTemplate('revisionTemplate', template);
  const [before, after] = template.split(DRAFT_SLOT) as [string, string];
  const encode = (text: string) => (text.length > 0 ? encoder.encode(text, { addSpecialTokens: false }) : []);
  return { before: encode(before), after: encode(after), maxLength, eosTokenId };
}

/** Whether any of a loss's row groups is laid out as a revision. */
export function usesRevision(groups: readonly RowGroup[]): boolean {
  return groups.some((g) => REVISION_POLICIES.has(g.policy));
}

/** The items with the run's revision layout attached (their revision rows read it). */
export function withRevisionLayout(items: readonly RunItem[], layout: RevisionLayout): RunItem[] {
  return items.map((it) => ({ ...it, revision: layout }));
}

/** A draft as the revision prompt shows it: the rejected response without the EOS the run appended. */
function draftOf(item: RunItem, layout: RevisionLayout): number[] {
  const draft = item.responses[1]!;
  return layout.eosTokenId !== undefined && draft.at(-1) === layout.eosTokenId ? draft.slice(0, -1) : draft;
}

/**
 * The revision prompt of a pair: prompt + template(draft). Both revision rows of a pair share it,
 * cut to the room the longer response leaves under maxLength, keeping its end: the responses stay
 * whole and the prompt loses its start, the rule every row follows (TRL's keep_end, applied to the
 * longer prompt). The responses fit: tokenization left each within maxLength - prompt length.
 */
export function revisionPrompt(item: RunItem): number[] {
  const layout = item.revision;
  if (!layout) throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `example ${item.id} has no revision layout; attach one with withRevisionLayout`, { id: item.id, field: 'revision' });
  const full = [...item.prompt, ...layout.before, ...draftOf(item, layout), ...layout.after];
  const room = layout.maxLength - Math.max(...item.responses.map((r) => r.length));
  return full.length > room ? full.slice(full.length - room) : full;
}

/** Row function of a revision group: the revision prompt with response `response` (0 chosen, 1 rejected). */
export const revisionRow = (response: number) => (items: readonly RunItem[], i: number) => ({ prompt: revisionPrompt(items[i]!), response: items[i]!.responses[response]! });

/** SRPO's stage: the revision layout attached to every item, and its template in the reference cache key. */
export const revisionStage: RunStage = {
  name: 'revision-rows',
  appliesTo: (d) => usesRevision(d.groups),
  prepare(ctx) {
    const template = ctx.config.revisionTemplate;
    ctx.data.items = withRevisionLayout(ctx.data.items, revisionLayout(template, ctx.dir.tokenizer, ctx.config.maxLength, ctx.data.tokenize.eosTokenId));
    ctx.referenceKey.revisionTemplate = template;
  },
};
