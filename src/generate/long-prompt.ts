// What happens to a prompt longer than the tokens a decoder may give it: one policy for every
// command that decodes from a prompts file (`generate`, `jobs submit generate`, the online
// `train` kinds), so a file that one of them accepts, skips or cuts, the others treat the same.

import { fail } from '../errors.js';
import { keepEnd } from './evaluate.js';

/** fail: an error naming the row; skip: left out and listed; truncate: its last `limit` tokens kept. */
export const LONG_PROMPT_POLICIES = ['fail', 'skip', 'truncate'] as const;
export type LongPromptPolicy = (typeof LONG_PROMPT_POLICIES)[number];

export function checkLongPromptPolicy(value: string): LongPromptPolicy {
  if (!(LONG_PROMPT_POLICIES as readonly string[]).includes(value))
    throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `onLongPrompt must be one of ${LONG_PROMPT_POLICIES.join(', ')}, got '${value}'`, { field: 'onLongPrompt' });
  return value as LongPromptPolicy;
}

/** How messages name a 0-based row: of a file (`FILE row 3`) or of a repeated flag (`--prompt 3`). */
export function rowName(source: string, row: number): string {
  return source.startsWith('--') ? `${source} ${row + 1}` : `${source} row ${row + 1}`;
}

export interface PromptSite {
  /** A file name or a flag, as rowName takes it. */
  source: string;
  /** 0-based row. */
  row: number;
  /** Where the limit comes from, in flags: the reason users read in errors and skip lists. */
  limitFrom: string;
}

export type FittedPrompt = { ids: number[]; dropped?: number } | { skipped: { row: number; reason: string } };

/** A prompt's ids under `policy`: as they are when they fit, else cut to the last `limit`, skipped (1-based row) or an error naming the row. */
export function fitPrompt(ids: number[], limit: number, policy: LongPromptPolicy, site: PromptSite): FittedPrompt {
  if (ids.length <= limit) return { ids };
  const reason = `prompt has ${ids.length} tokens, more than the ${limit} allowed (${site.limitFrom})`;
  if (policy === 'skip') return { skipped: { row: site.row + 1, reason } };
  if (policy === 'fail')
    throw fail('ALIGNKIT_ERR_TOO_LONG', `${rowName(site.source, site.row)}: ${reason}; skip such rows or keep their last tokens with --on-long-prompt skip|truncate`, { row: site.row + 1, field: 'prompt', limit, tokens: ids.length });
  return { ids: keepEnd(ids, limit), dropped: ids.length - limit };
}
