// Unpaired (thumbs up / down) conventions, as KTO trains on them.

import type { UnpairedExample } from '../types.js';
import type { Convention } from './convention.js';
import { definedOnly, isMessageList, optionalSource, requireBoolean, requireMessages, requireText, rowError, rowId } from './fields.js';

const ID_COLUMNS = ['id'];

/** TRL's unpaired preference format: prompt, completion (strings or messages), label bool. */
export const TRL_UNPAIRED: Convention<'unpaired'> = {
  name: 'trl-unpaired',
  kind: 'unpaired',
  columns: 'prompt, completion (strings or messages), label: boolean',
  matches: (row) => 'prompt' in row && 'completion' in row && 'label' in row,
  normalize(row, ctx): UnpairedExample {
    return definedOnly({
      id: rowId(row, ctx, ID_COLUMNS),
      prompt: requireText(row.prompt, 'prompt', ctx),
      completion: requireText(row.completion, 'completion', ctx),
      label: requireBoolean(row, 'label', ctx),
      ...optionalSource(row, ctx),
    });
  },
};

/**
 * KTO messages + label (LLaMA-Factory's kto_en_demo, argilla/kto-mix style): the last message is the
 * assistant completion being judged, everything before it is the prompt.
 */
export const KTO_MESSAGES: Convention<'unpaired'> = {
  name: 'kto-messages',
  kind: 'unpaired',
  columns: 'messages: [{role, content}] ending with the judged assistant reply, label: boolean',
  matches: (row) => isMessageList(row.messages) && 'label' in row,
  normalize(row, ctx): UnpairedExample {
    const messages = requireMessages(row.messages, 'messages', ctx);
    const last = messages[messages.length - 1];
    if (!last || last.role !== 'assistant') {
      throw rowError(ctx, `messages[${Math.max(messages.length - 1, 0)}].role`, `must be "assistant" (the judged completion is the last message), got ${last ? `"${last.role}"` : 'an empty list'}`);
    }
    return definedOnly({
      id: rowId(row, ctx, ID_COLUMNS),
      prompt: messages.slice(0, -1),
      completion: [last],
      label: requireBoolean(row, 'label', ctx),
      ...optionalSource(row, ctx),
    });
  },
};
