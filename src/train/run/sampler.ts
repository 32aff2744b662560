// Which examples each step trains on: the training indices reshuffled every epoch by a seeded
// mulberry32 (the order of epoch e depends only on seed and e), read in consecutive slices that wrap
// into the next epoch. Its position is two integers, saved in checkpoints so a resumed run draws
// exactly the batches the uninterrupted one would have.

import { mulberry32, shuffle } from '../../datasets/index.js';

export interface ExamplePosition {
  epoch: number;
  cursor: number;
}

export class EpochSampler {
  private order: number[];
  private pos: ExamplePosition = { epoch: 0, cursor: 0 };

  constructor(
    private readonly indices: readonly number[],
    private readonly seed: number,
  ) {
    this.order = this.orderOf(0);
  }

  private orderOf(epoch: number): number[] {
    return shuffle([...this.indices], mulberry32(this.seed * 1_000_003 + epoch));
  }

  get position(): ExamplePosition {
    return { ...this.pos };
  }

  /** Fractional epochs done. */
  get epochs(): number {
    return this.pos.epoch + this.pos.cursor / this.order.length;
  }

  restore(p: ExamplePosition): void {
    this.pos = { ...p };
    this.order = this.orderOf(p.epoch);
  }

  next(n: number): number[] {
    const out: number[] = [];
    while (out.length < n) {
      if (this.pos.cursor === this.order.length) {
        this.pos = { epoch: this.pos.epoch + 1, cursor: 0 };
        this.order = this.orderOf(this.pos.epoch);
      }
      out.push(this.order[this.pos.cursor++]!);
    }
    return out;
  }
}
