import type { TagRecord } from '../features/catalog.js';
import type { RoutingPair } from '../types.js';

/** Tags every pair of a pool with the 8 dimensions of tagging_configs.json. */
export interface Tagger {
  readonly name: string;
  tag(pairs: RoutingPair[]): Promise<TagRecord[]>;
}

export function emptyTags(): TagRecord {
  return {
    subject_of_expertise: [],
    languages: [],
    expertise_level: '',
    open_endedness: '',
    safety_concern: '',
    complexity_of_intents: '',
    type_of_in_context_material: [],
    format_constraints: [],
  };
}
