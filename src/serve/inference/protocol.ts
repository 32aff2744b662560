// Messages between the server's main thread and an inference worker. One worker owns one reward
// model; scores travel back as one flat Float32Array [items * heads] whose buffer is transferred.

import type { DeviceInfo, SessionOptions } from '../../graph/index.js';
import type { ScoreItem } from '../../rewards/index.js';

export interface WorkerInit {
  dir: string;
  name?: string;
  session: SessionOptions;
}

export interface ModelInfo {
  name: string;
  heads: string[];
  maxLength: number;
  /** Where the model's session runs (provider, and the WebGPU adapter). */
  device?: DeviceInfo;
}

/** The RewardModel fields that describe a model, read from the ModelInfo its worker reported. */
export abstract class ReportedModel {
  constructor(readonly info: ModelInfo) {}

  get name(): string {
    return this.info.name;
  }

  get heads(): string[] {
    return this.info.heads;
  }

  get maxLength(): number {
    return this.info.maxLength;
  }
}

export interface SerializedError {
  code: string;
  message: string;
  details: Record<string, unknown>;
}

/**
 * `close` ends the worker in order; `crash` makes it exit with `code` after its current run, as a
 * crash would (drills and tests of the restart path).
 */
export type ToWorker = { type: 'score'; id: number; items: ScoreItem[]; truncate: boolean } | { type: 'close' } | { type: 'crash'; code: number };

export type FromWorker =
  | { type: 'ready'; info: ModelInfo }
  | { type: 'failed'; error: SerializedError }
  | { type: 'scored'; id: number; data: Float32Array; items: number; heads: number }
  | { type: 'error'; id: number; error: SerializedError };
