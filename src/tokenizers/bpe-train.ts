// Byte-level BPE training (Sennrich et al. 2016 on bytes, as GPT-2 and the CS336 assignment 1
// reference train it): start from the 256 byte tokens, repeatedly merge the most frequent adjacent
// pair inside pre-tokens, ties broken by the lexicographically greatest pair of byte strings.
//
// Speed: the pair counts are kept incrementally. An index from each pair to the pre-tokens that
// contain it means a merge only revisits those pre-tokens, subtracting their old pairs and adding
// their new ones; a lazy max-heap finds the next pair. No full recount per merge.

import { fail } from '../errors.js';
import { BYTE_ORDER } from './byte-unicode.js';
import { PairHeap, type PairEntry } from './pair-heap.js';
import { countPreTokens } from './pretokenize.js';

export interface BpeTrainConfig {
  /** Final vocabulary size, special tokens and the 256 byte tokens included (as in CS336). */
  vocabSize: number;
  /** Added first, with ids 0.. in this order; never split, never merged across. */
  specialTokens: string[];
}

export const BPE_TRAIN_DEFAULTS: BpeTrainConfig = {
  vocabSize: 4096,
  // The document separator GPT-2 uses, and a pad token distinct from it so padding never looks like
  // the end of a document to a loss that keeps EOS.
  specialTokens: ['<|endoftext|>', '<|pad|>'],
};

export interface BpeModel {
  /** Token id -> the bytes it stands for (special tokens: their UTF-8 text). */
  tokens: Uint8Array[];
  /** Merges in the order learned, as token ids. */
  merges: [number, number][];
  specialTokens: string[];
}

export function bpeTrainConfig(config: Partial<BpeTrainConfig> = {}): BpeTrainConfig {
  const merged: BpeTrainConfig = {
    vocabSize: config.vocabSize ?? BPE_TRAIN_DEFAULTS.vocabSize,
    specialTokens: config.specialTokens ?? BPE_TRAIN_DEFAULTS.specialTokens,
  };
  const specials = merged.specialTokens;
  if (specials.some((s) => s.length === 0) || new Set(specials).size !== specials.length)
    throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `specialTokens must be distinct non-empty strings, got ${JSON.stringify(specials)}`, { parameter: 'specialTokens' });
  const minimum = 256 + specials.length;
  if (!Number.isInteger(merged.vocabSize) || merged.vocabSize < minimum)
    throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `vocabSize must be an integer of at least ${minimum} (256 bytes + ${specials.length} special tokens), got ${merged.vocabSize}`, { parameter: 'vocabSize' });
  return merged;
}

/** Python's bytes ordering: element-wise, a proper prefix sorts first. */
function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

// Pair ids fit a double exactly: ids stay far below 2^21.
const PAIR_SHIFT = 2 ** 21;
const pairKey = (left: number, right: number): number => left * PAIR_SHIFT + right;

class PairCounts {
  readonly counts = new Map<number, number>();
  readonly words = new Map<number, Set<number>>();
  readonly changed = new Set<number>();

  add(left: number, right: number, by: number, word: number): void {
    const key = pairKey(left, right);
    this.counts.set(key, (this.counts.get(key) ?? 0) + by);
    this.changed.add(key);
    if (by > 0) {
      let set = this.words.get(key);
      if (set === undefined) this.words.set(key, (set = new Set()));
      set.add(word);
    }
  }
}

/** `word` with every non-overlapping left-to-right occurrence of (left, right) replaced by `merged`. */
function mergeWord(word: number[], left: number, right: number, merged: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < word.length; i++) {
    if (i + 1 < word.length && word[i] === left && word[i + 1] === right) {
      out.push(merged);
      i++;
    } else out.push(word[i]!);
  }
  return out;
}

/** Trains on pre-token counts (see `countPreTokens`). */
export function trainBpeFromCounts(preTokens: Map<string, number>, config: Partial<BpeTrainConfig> = {}): BpeModel {
  const cfg = bpeTrainConfig(config);
  const encoder = new TextEncoder();
  const tokens: Uint8Array[] = cfg.specialTokens.map((s) => encoder.encode(s));
  const byteId = new Array<number>(256);
  for (const b of BYTE_ORDER) {
    byteId[b] = tokens.length;
    tokens.push(Uint8Array.of(b));
  }

  const words: number[][] = [];
  const freqs: number[] = [];
  for (const [text, freq] of preTokens) {
    words.push(Array.from(encoder.encode(text), (b) => byteId[b]!));
    freqs.push(freq);
  }
  const pairs = new PairCounts();
  words.forEach((w, wi) => {
    for (let i = 0; i + 1 < w.length; i++) pairs.add(w[i]!, w[i + 1]!, freqs[wi]!, wi);
  });

  // Most frequent first; on equal counts the greater (left bytes, right bytes) tuple, as CS336's
  // reference `max(pairs, key=lambda p: (count[p], p))` picks it.
  const heap = new PairHeap((a: PairEntry, b: PairEntry) => {
    if (a.count !== b.count) return a.count > b.count;
    const byLeft = compareBytes(tokens[a.left]!, tokens[b.left]!);
    return byLeft !== 0 ? byLeft > 0 : compareBytes(tokens[a.right]!, tokens[b.right]!) > 0;
  });
  const pushChanged = (): void => {
    for (const key of pairs.changed) {
      const count = pairs.counts.get(key) ?? 0;
      if (count > 0) heap.push({ count, left: Math.floor(key / PAIR_SHIFT), right: key % PAIR_SHIFT });
    }
    pairs.changed.clear();
  };
  pushChanged();

  const merges: [number, number][] = [];
  while (tokens.length < cfg.vocabSize) {
    let best: PairEntry | undefined;
    while ((best = heap.pop()) !== undefined && pairs.counts.get(pairKey(best.left, best.right)) !== best.count);
    if (best === undefined) break; // every pre-token is a single token: nothing left to merge
    const { left, right } = best;
    const merged = tokens.length;
    const bytes = new Uint8Array(tokens[left]!.length + tokens[right]!.length);
    bytes.set(tokens[left]!);
    bytes.set(tokens[right]!, tokens[left]!.length);
    tokens.push(bytes);
    merges.push([left, right]);

    const key = pairKey(left, right);
    for (const wi of pairs.words.get(key) ?? []) {
      const old = words[wi]!;
      const next = mergeWord(old, left, right, merged);
      if (next.length === old.length) continue; // the index is lazy: this word lost the pair earlier
      const f = freqs[wi]!;
      for (let i = 0; i + 1 < old.length; i++) pairs.add(old[i]!, old[i + 1]!, -f, wi);
      for (let i = 0; i + 1 < next.length; i++) pairs.add(next[i]!, next[i + 1]!, f, wi);
      words[wi] = next;
    }
    pairs.counts.delete(key);
    pairs.words.delete(key);
    pairs.changed.delete(key);
    for (const k of pairs.changed) {
      if (pairs.counts.get(k) !== 0) continue;
      pairs.counts.delete(k);
      pairs.words.delete(k);
    }
    pushChanged();
  }
  return { tokens, merges, specialTokens: cfg.specialTokens };
}

/** Trains on raw texts (each may hold several documents separated by special tokens). */
export function trainBpe(texts: Iterable<string>, config: Partial<BpeTrainConfig> = {}): BpeModel {
  const cfg = bpeTrainConfig(config);
  const counts = new Map<string, number>();
  for (const text of texts) countPreTokens(text, cfg.specialTokens, counts);
  return trainBpeFromCounts(counts, cfg);
}
