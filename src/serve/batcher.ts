// Micro-batching across concurrent clients, as text-embeddings-inference's queue does it: requests'
// items wait in one FIFO per model for a short collection window (or until a full batch is there),
// then run as ONE batched session call, and each request's promise gets its own slice back. While a
// batch runs the next one collects, and it starts as soon as the previous finishes (the waiting
// items have already waited a whole run), so under load every run is a full batch.
//
// A failing batch must not fail the requests that share it by chance (one over-long text without
// `truncate` rejects the whole run): the batch is then re-run request by request, so the error goes
// to the request that caused it and the others still get their scores.

import { AlignkitError, isAlignkitError } from '../errors.js';
import type { RewardModel, ScoreItem, ScoreOptions } from '../rewards/index.js';

export interface BatcherConfig {
  /** How long the first item of a batch waits for others, in ms. */
  windowMs: number;
  /** Most items in one session run. */
  maxBatch: number;
}

export interface BatchObserver {
  /** Called after every session run: items in it, requests it served, its wall time. */
  onBatch?(items: number, requests: number, ms: number): void;
}

interface PendingRequest {
  results: Float32Array[];
  remaining: number;
  settled: boolean;
  resolve(scores: Float32Array[]): void;
  reject(e: unknown): void;
}

interface Entry {
  item: ScoreItem;
  truncate: boolean;
  request: PendingRequest;
  index: number;
}

export class MicroBatcher implements RewardModel {
  private queue: Entry[] = [];
  private running = false;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    readonly inner: RewardModel,
    private readonly config: BatcherConfig,
    private readonly observer: BatchObserver = {},
  ) {}

  get name(): string {
    return this.inner.name;
  }

  get heads(): string[] {
    return this.inner.heads;
  }

  get maxLength(): number {
    return this.inner.maxLength;
  }

  /** Items waiting for a session run. */
  get queueDepth(): number {
    return this.queue.length;
  }

  score(items: ScoreItem[], opts: ScoreOptions = {}): Promise<Float32Array[]> {
    if (items.length === 0) return Promise.resolve([]);
    return new Promise((resolve, reject) => {
      const request: PendingRequest = { results: new Array(items.length), remaining: items.length, settled: false, resolve, reject };
      const truncate = opts.truncate ?? false;
      items.forEach((item, index) => this.queue.push({ item, truncate, request, index }));
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.running || this.queue.length === 0) return;
    if (this.queue.length >= this.config.maxBatch) {
      void this.dispatch();
      return;
    }
    this.timer ??= setTimeout(() => void this.dispatch(), this.config.windowMs);
  }

  /** The next batch: the oldest items sharing the oldest item's options, at most maxBatch. */
  private takeBatch(): Entry[] {
    this.queue = this.queue.filter((e) => !e.request.settled);
    const first = this.queue[0];
    if (!first) return [];
    const batch: Entry[] = [];
    const rest: Entry[] = [];
    for (const e of this.queue) (batch.length < this.config.maxBatch && e.truncate === first.truncate ? batch : rest).push(e);
    this.queue = rest;
    return batch;
  }

  private async dispatch(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.running) return;
    const batch = this.takeBatch();
    if (batch.length === 0) return;
    this.running = true;
    try {
      await this.run(batch);
    } finally {
      this.running = false;
      // Whatever queued during the run has waited at least that long: run it now, no new window.
      if (this.queue.length > 0) void this.dispatch();
    }
  }

  private async run(batch: Entry[]): Promise<void> {
    const requests = new Set(batch.map((e) => e.request));
    const t0 = performance.now();
    try {
      const scores = await this.inner.score(batch.map((e) => e.item), { truncate: batch[0].truncate });
      this.observer.onBatch?.(batch.length, requests.size, performance.now() - t0);
      batch.forEach((e, i) => deliver(e, scores[i]));
    } catch (error) {
      if (requests.size === 1) return fail(batch[0].request, this.relocate(error, batch));
      // Isolate the culprit: one run per request, each request gets its own outcome.
      for (const request of requests) await this.run(batch.filter((e) => e.request === request));
    }
  }

  /**
   * Errors name the failing item by its `row` in the batch; the request knows it by its own index.
   * Also says which model failed, as several may score one request.
   */
  private relocate(error: unknown, batch: Entry[]): unknown {
    if (!isAlignkitError(error)) return error;
    const row = error.details.row;
    const entry = typeof row === 'number' ? batch[row] : undefined;
    const details = { ...error.details, model: this.inner.name, ...(entry && { row: entry.index }) };
    return new AlignkitError(error.code, error.message, details, { cause: error });
  }
}

function deliver(e: Entry, score: Float32Array): void {
  const r = e.request;
  if (r.settled) return;
  r.results[e.index] = score;
  if (--r.remaining === 0) {
    r.settled = true;
    r.resolve(r.results);
  }
}

function fail(r: PendingRequest, error: unknown): void {
  if (r.settled) return;
  r.settled = true;
  r.reject(error);
}
