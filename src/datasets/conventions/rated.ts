// Multi-attribute ratings (NVIDIA HelpSteer / HelpSteer2 columns).

import type { RatedExample } from '../types.js';
import type { Convention } from './convention.js';
import { definedOnly, optionalSource, requireNumber, requireText, rowId } from './fields.js';

/** HelpSteer's five attributes, each a 0-4 Likert score from human annotators. */
export const HELPSTEER_ATTRIBUTES = ['helpfulness', 'correctness', 'coherence', 'complexity', 'verbosity'] as const;

/** HelpSteer-style rows: prompt, response, and any of the five attributes (those present become `ratings`). */
export const HELPSTEER: Convention<'rated'> = {
  name: 'helpsteer',
  kind: 'rated',
  columns: `prompt, response, one or more of ${HELPSTEER_ATTRIBUTES.join(', ')} (numbers)`,
  matches: (row) => 'prompt' in row && 'response' in row && HELPSTEER_ATTRIBUTES.some((a) => a in row),
  normalize(row, ctx): RatedExample {
    const ratings: Record<string, number> = {};
    for (const attribute of HELPSTEER_ATTRIBUTES) {
      if (row[attribute] !== undefined && row[attribute] !== null) ratings[attribute] = requireNumber(row[attribute], attribute, ctx);
    }
    return definedOnly({
      id: rowId(row, ctx, ['id']),
      prompt: requireText(row.prompt, 'prompt', ctx),
      response: requireText(row.response, 'response', ctx),
      ratings,
      ...optionalSource(row, ctx),
    });
  },
};
