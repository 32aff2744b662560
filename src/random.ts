// Seeded randomness for everything that must be reproducible (shuffles, splits, fixture weights,
// sampling, optimizer probes, routing simulations): one small PRNG and one string hash for the
// whole library, so a seed written in a config gives the same numbers on every machine. No
// Math.random anywhere.

import { fail } from './errors.js';

/** A seeded source of uniform numbers. Methods are bound, so `rng.next` can be passed around. */
export interface Rng {
  /** Uniform float in [0, 1), 32 bits of randomness. */
  next(): number;
  /** Uniform unsigned 32-bit integer. */
  nextUint32(): number;
  /** Uniform integer in [0, n). */
  int(n: number): number;
  /** The whole generator state (one uint32): a checkpoint stores it, a resumed run sets it. */
  state: number;
}

/**
 * Mulberry32 (Tommy Ettinger's public-domain 32-bit generator): one 32-bit state word, passes
 * PractRand to 2^32 outputs, which is far beyond the shuffles of datasets this size. Chosen over
 * xorshift for its trivially seedable single word of state.
 */
export function mulberry32(seed: number): Rng {
  if (!Number.isFinite(seed)) throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `seed must be a finite number, got ${seed}`, { parameter: 'seed' });
  let state = seed >>> 0;
  const nextUint32 = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
  return {
    nextUint32,
    next: () => nextUint32() / 4294967296,
    int(n: number): number {
      if (!Number.isInteger(n) || n <= 0) throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `int(n) needs a positive integer n, got ${n}`, { parameter: 'n' });
      return Math.floor((nextUint32() / 4294967296) * n);
    },
    get state() {
      return state;
    },
    set state(v: number) {
      state = v >>> 0;
    },
  };
}

/** A standard normal draw by the Box-Muller transform (two uniforms, the cosine branch). */
export function normalSample(uniform: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - uniform())) * Math.cos(2 * Math.PI * uniform());
}

/** Accepts a seed or an existing generator, so callers can thread one Rng through several steps. */
export function toRng(seedOrRng: number | Rng): Rng {
  return typeof seedOrRng === 'number' ? mulberry32(seedOrRng) : seedOrRng;
}

/**
 * 32-bit string hash: FNV-1a over UTF-16 code units, then MurmurHash3's fmix32 finalizer so that
 * ids differing in one character land far apart (plain FNV-1a's low bits avalanche poorly).
 */
export function hashString(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Maps a string to a uniform-looking number in [0, 1): the basis of id-keyed splits. */
export function hashToUnit(text: string): number {
  return hashString(text) / 4294967296;
}

/** Fisher-Yates (Durstenfeld) shuffle into a new array; the input is left untouched. */
export function shuffle<T>(items: readonly T[], seedOrRng: number | Rng): T[] {
  return shuffleInPlace(items.slice(), seedOrRng);
}

/** Fisher-Yates (Durstenfeld) shuffle of `out` itself; returns it. */
export function shuffleInPlace<T>(out: T[], seedOrRng: number | Rng): T[] {
  const rng = toRng(seedOrRng);
  for (let i = out.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    const tmp = out[i] as T;
    out[i] = out[j] as T;
    out[j] = tmp;
  }
  return out;
}
