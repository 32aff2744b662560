// The tagger registry: a name maps to a factory taking that tagger's config.

import { fail } from '../../errors.js';
import { createColumnTagger, type ColumnTaggerConfig } from './column.js';
import { createHttpTagger, type HttpTaggerConfig } from './http.js';
import { createRulesTagger } from './rules.js';
import type { Tagger } from './types.js';

export const TAGGERS = {
  column: (config: Partial<ColumnTaggerConfig> = {}) => createColumnTagger(config),
  rules: () => createRulesTagger(),
  http: (config: Partial<HttpTaggerConfig> & Pick<HttpTaggerConfig, 'baseUrl' | 'model'>) => createHttpTagger(config),
} as const;

export type TaggerName = keyof typeof TAGGERS;

export function createTagger(name: string, config: Record<string, unknown> = {}): Tagger {
  const factory = (TAGGERS as Record<string, (c: never) => Tagger>)[name];
  if (!factory) throw fail('ALIGNKIT_ERR_UNKNOWN_NAME', `unknown tagger '${name}'; known: ${Object.keys(TAGGERS).join(', ')}`, { parameter: 'tagger', name });
  return factory(config as never);
}

export type { Tagger } from './types.js';
export { emptyTags } from './types.js';
export { tagByRules } from './rules.js';
export { buildTaggingPrompt, loadTaggingInstructions, type HttpTaggerConfig, type TaggingInstruction } from './http.js';
export type { ColumnTaggerConfig } from './column.js';
