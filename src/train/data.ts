// Batches of fixed-length token windows drawn from one token stream (nanoGPT's get_batch: random
// offsets, inputs are the window itself since the log-prob head shifts by one), with a resumable
// position: the whole state is the RNG state and the number of batches drawn.

import { fail } from '../errors.js';
import { mulberry32, type Rng } from '../random.js';
import type { Tensor } from '../graph/index.js';

export interface WindowSamplerOptions {
  batch: number;
  sequence: number;
  seed?: number;
}

export interface SamplerPosition {
  rng: number;
  drawn: number;
}

export class TokenWindowSampler {
  private readonly rng: Rng;
  private drawn = 0;

  constructor(private readonly tokens: ArrayLike<number>, readonly opts: WindowSamplerOptions) {
    if (!(opts.batch >= 1 && opts.sequence >= 2)) throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `batch must be >= 1 and sequence >= 2, got ${opts.batch} x ${opts.sequence}`, { field: 'batch' });
    if (tokens.length < opts.sequence) throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `the token stream has ${tokens.length} tokens, fewer than one window of ${opts.sequence}`, { field: 'tokens' });
    this.rng = mulberry32(opts.seed ?? 0);
  }

  /** Next batch: input_ids [B, T] and an all-ones attention_mask. */
  next(): { input_ids: Tensor; attention_mask: Tensor } {
    const { batch: B, sequence: T } = this.opts;
    const ids = new BigInt64Array(B * T);
    for (let b = 0; b < B; b++) {
      const start = this.rng.int(this.tokens.length - T + 1);
      for (let t = 0; t < T; t++) ids[b * T + t] = BigInt(this.tokens[start + t]!);
    }
    this.drawn++;
    return {
      input_ids: { dtype: 'int64', dims: [B, T], data: ids },
      attention_mask: { dtype: 'int64', dims: [B, T], data: new BigInt64Array(B * T).fill(1n) },
    };
  }

  get position(): SamplerPosition {
    return { rng: this.rng.state, drawn: this.drawn };
  }

  restore(p: SamplerPosition): void {
    this.rng.state = p.rng;
    this.drawn = p.drawn;
  }
}
