// A reward model must be trained on the ids it is later scored on. SequenceClassifier (and so
// OnnxRewardModel, the server and best-of-n) encodes an encoder's (prompt, response) through the
// tokenizer's pair template ([CLS] prompt [SEP] response [SEP], token types 0/1 for BERT) and a
// decoder's prompt with the tokenizer's own special tokens (a BOS where it adds one), as TRL's
// RewardTrainer tokenizes. The run tokenizes prompt and response apart without special tokens
// (TRL's truncation rules), so for classifiers the special tokens are put back here, found by
// encoding two probe texts and locating them among the ids.

import { fail } from '../../errors.js';
import type { Model } from '../../graph/index.js';
import { ENCODER_TYPES, type ModelDir, type Tokenizer } from '../../models/index.js';
import type { RunItem } from './segments.js';
import { KIND_STAGES, kindStage, type RunStage } from './stages.js';

export interface PairTemplate {
  /** Ids before the prompt, between prompt and response, and after the response. */
  prefix: number[];
  middle: number[];
  suffix: number[];
}

const PROBE = { prompt: 'hello', response: 'world' } as const;

function indexOfRun(ids: readonly number[], run: readonly number[], from: number): number {
  for (let i = from; i + run.length <= ids.length; i++) if (run.every((v, k) => ids[i + k] === v)) return i;
  return -1;
}

/** The specials of an encoding `ids` around the probe prompt's ids `p` and (when not empty) the probe response's ids `r`. */
function split(ids: readonly number[], p: readonly number[], r: readonly number[], source: string): PairTemplate {
  const i = indexOfRun(ids, p, 0);
  const j = r.length === 0 ? ids.length : indexOfRun(ids, r, i + p.length);
  if (i < 0 || j < 0) throw fail('ALIGNKIT_ERR_MODEL_DIR', `tokenizer ${source}: cannot locate the prompt and response among the ids it encodes them to`, { file: source, field: 'post_processor' });
  return { prefix: ids.slice(0, i), middle: ids.slice(i + p.length, j), suffix: ids.slice(j + r.length) };
}

const probeIds = (tok: Tokenizer, text: string) => tok.encode(text, { addSpecialTokens: false });

/** How SequenceClassifier adds special tokens for a classifier of this kind. */
export const CLASSIFIER_TEMPLATES: Record<'encoder' | 'decoder', (tok: Tokenizer) => PairTemplate> = {
  encoder: (tok) => split(tok.encodePair(PROBE.prompt, PROBE.response).ids, probeIds(tok, PROBE.prompt), probeIds(tok, PROBE.response), tok.source),
  // encodeForCausalLM: the prompt with the tokenizer's specials, the response without.
  decoder: (tok) => split(tok.encode(PROBE.prompt, { addSpecialTokens: true }), probeIds(tok, PROBE.prompt), [], tok.source),
};

export function isEmptyTemplate(t: PairTemplate): boolean {
  return t.prefix.length + t.middle.length + t.suffix.length === 0;
}

/**
 * Items with the template's specials around prompt and response. Over `maxLength`, the prompt
 * loses tokens from its start (TRL keeps the end of the prompt), keeping at least one.
 */
export function withPairTemplate(items: readonly RunItem[], t: PairTemplate, maxLength: number): RunItem[] {
  const specials = t.prefix.length + t.middle.length + t.suffix.length;
  return items.map((it) => {
    const longest = Math.max(...it.responses.map((r) => r.length));
    const over = it.prompt.length + longest + specials - maxLength;
    const prompt = over > 0 ? it.prompt.slice(Math.min(over, it.prompt.length - 1)) : it.prompt;
    return { ...it, prompt: [...t.prefix, ...prompt, ...t.middle], responses: it.responses.map((r) => [...r, ...t.suffix]) };
  });
}

/** The template SequenceClassifier uses for this model: a pair encoder when the graph reads token_type_ids or the model type is an encoder's. */
export function classifierTemplate(model: Model, dir: ModelDir): PairTemplate {
  const encoder = model.graph.inputs.some((v) => v.name === 'token_type_ids') || ENCODER_TYPES.has(dir.arch.modelType);
  return CLASSIFIER_TEMPLATES[encoder ? 'encoder' : 'decoder'](dir.tokenizer);
}

/**
 * Reward-model kinds: the items get the scorer's special tokens, read from the forward model as
 * the model phase leaves it (classifier groups read no reference sums, so the reference is unaffected).
 */
export const pairTemplateStage: RunStage = {
  name: KIND_STAGES.pairTemplate,
  appliesTo: kindStage(KIND_STAGES.pairTemplate),
  model(ctx, model) {
    ctx.data.items = withPairTemplate(ctx.data.items, classifierTemplate(model, ctx.dir), ctx.config.maxLength);
    return model;
  },
};
