// Tagging in chunks: a tagger (rules, a column, an LM endpoint) tags each pair on its own, so the
// tags of a pool can be computed chunk by chunk, with progress, or by `jobs` workers, and handed to
// routing's pool building as a tagger that already knows them. The rest of `route features` (lexical
// scores, verdict aggregation, bins cut over the whole pool) stays routing's own code.

import { fail } from '../../errors.js';
import type { RoutingPair, Tagger, TagRecord } from '../../routing/index.js';

/** Pairs tagged per call when tagging in chunks. */
export const TAG_CHUNK = 1000;

/** The same tagger, called on at most `chunk` pairs at a time, reporting the pairs tagged so far. */
export function taggedInChunks(inner: Tagger, chunk: number, onProgress?: (done: number) => void): Tagger {
  return {
    name: inner.name,
    async tag(pairs: RoutingPair[]): Promise<TagRecord[]> {
      const out: TagRecord[] = [];
      for (let at = 0; at < pairs.length; at += chunk) {
        out.push(...(await inner.tag(pairs.slice(at, at + chunk))));
        onProgress?.(out.length);
      }
      return out;
    },
  };
}

/** A tagger that answers with tags computed earlier (by chunk jobs), pair for pair in pool order. */
export function precomputedTagger(name: string, tags: readonly TagRecord[]): Tagger {
  return {
    name,
    async tag(pairs: RoutingPair[]): Promise<TagRecord[]> {
      if (pairs.length !== tags.length) throw fail('ALIGNKIT_ERR_STATE', `precomputed tags for ${tags.length} pairs, asked for ${pairs.length}`, { field: 'tags' });
      return [...tags];
    },
  };
}
