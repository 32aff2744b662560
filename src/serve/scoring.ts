// The server's reward models: one inference worker per model directory (plus any in-process models
// a library user hands in), each behind its own micro-batcher, and per-request ensembles over the
// models a request names.

import fs from 'node:fs';
import { fail, isAlignkitError } from '../errors.js';
import { RewardEnsemble, headWeights, type CombineConfig, type EnsembleScores, type RewardModel, type ScoreItem } from '../rewards/index.js';
import { MicroBatcher } from './batcher.js';
import type { ServeConfig } from './config.js';
import type { DeviceInfo } from '../graph/index.js';
import { WorkerRewardModel } from './inference/worker-model.js';
import { Counter, Gauge, Histogram, type MetricsRegistry } from './metrics.js';

export interface ServedModel {
  name: string;
  batcher: MicroBatcher;
  headWeights: Record<string, number>;
  fixture: boolean;
  /** The worker behind the batcher, when the model runs in one. */
  worker?: WorkerRewardModel;
  /** Where its session runs, when the server knows (its worker reports it). */
  device?: DeviceInfo;
}

export interface ScoreRequest {
  models?: string[];
  truncate?: boolean;
  combine?: CombineConfig;
}

export class ScoringService {
  private readonly byName = new Map<string, ServedModel>();
  private readonly itemsScored: Counter;
  private readonly batches: Counter;
  private readonly batchSize: Histogram;
  private readonly batchSeconds: Histogram;

  private constructor(
    readonly config: ServeConfig,
    metrics: MetricsRegistry,
  ) {
    this.itemsScored = metrics.register(new Counter('alignkit_items_scored_total', 'Items scored, by model.'));
    this.batches = metrics.register(new Counter('alignkit_batches_total', 'Batched session runs, by model.'));
    this.batchSize = metrics.register(new Histogram('alignkit_batch_size', 'Items per session run.', [1, 2, 4, 8, 16, 32, 64, 128]));
    this.batchSeconds = metrics.register(new Histogram('alignkit_batch_duration_seconds', 'Wall time of one batched session run.', [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5]));
    metrics.register(new Gauge('alignkit_queue_items', 'Items waiting for a session run, by model.', () => this.models.map((m) => [{ model: m.name }, m.batcher.queueDepth])));
  }

  /** Loads every configured model directory in its own worker thread, concurrently. */
  static async start(config: ServeConfig, metrics: MetricsRegistry, inProcess: RewardModel[] = []): Promise<ScoringService> {
    config.models.forEach((spec, i) => {
      // Checked here so a typo fails at once instead of after a worker thread has started.
      if (!fs.existsSync(spec.dir)) throw fail('ALIGNKIT_ERR_FILE_NOT_FOUND', `model directory ${spec.dir} does not exist`, { file: spec.dir, field: `models[${i}]` });
    });
    const service = new ScoringService(config, metrics);
    const workers = await Promise.allSettled(config.models.map((spec) => WorkerRewardModel.spawn({ dir: spec.dir, name: spec.name, session: config.session })));
    const failed = workers.find((w): w is PromiseRejectedResult => w.status === 'rejected');
    if (failed) {
      await Promise.all(workers.map((w) => (w.status === 'fulfilled' ? w.value.close() : undefined)));
      throw failed.reason;
    }
    workers.forEach((w, i) => {
      const worker = (w as PromiseFulfilledResult<WorkerRewardModel>).value;
      const spec = config.models[i];
      service.add(worker, spec.headWeights ?? {}, spec.fixture ?? false, worker);
    });
    for (const model of inProcess) service.add(model, {}, false);
    if (service.byName.size === 0) throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', 'the server has no reward model to serve', { field: 'models' });
    return service;
  }

  private add(model: RewardModel, weights: Record<string, number>, fixture: boolean, worker?: WorkerRewardModel): void {
    if (this.byName.has(model.name))
      throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `two served models are named ${model.name}; give one another name (--model NAME=DIR)`, { field: 'models', model: model.name });
    headWeights(model.heads, weights, model.name);
    const batcher = new MicroBatcher(model, { windowMs: this.config.batchWindowMs, maxBatch: this.config.maxBatch }, {
      onBatch: (items, _requests, ms) => {
        this.batches.inc({ model: model.name });
        this.itemsScored.inc({ model: model.name }, items);
        this.batchSize.observe({ model: model.name }, items);
        this.batchSeconds.observe({ model: model.name }, ms / 1000);
      },
    });
    this.byName.set(model.name, { name: model.name, batcher, headWeights: weights, fixture, worker, device: worker?.info.device });
  }

  get models(): ServedModel[] {
    return [...this.byName.values()];
  }

  get healthy(): boolean {
    return this.models.every((m) => m.worker?.healthy ?? true);
  }

  /** The served model called `name`; a 404 naming the field and the served names otherwise. */
  model(name: string, field = 'models'): ServedModel {
    const m = this.byName.get(name);
    if (!m) throw fail('ALIGNKIT_ERR_UNKNOWN_MODEL', `${field}: no served model is named '${name}'; served: ${[...this.byName.keys()].join(', ')}`, { field, model: name });
    return m;
  }

  /** An ensemble over the named models (default: all), each member batched with other requests. */
  ensemble(names: string[] | undefined, combine: CombineConfig = this.config.combine): RewardEnsemble {
    const members = names ? names.map((n, i) => this.model(n, `models[${i}]`)) : this.models;
    return new RewardEnsemble(members.map((m) => ({ model: m.batcher, headWeights: m.headWeights })), combine);
  }

  /**
   * Scores with the requested ensemble. `field` is what the client calls the items (`items`,
   * `inputs`, `query`): an item too long for a model is reported as that field and index.
   */
  async score(items: ScoreItem[], req: ScoreRequest = {}, field = 'items'): Promise<EnsembleScores> {
    const ensemble = this.ensemble(req.models, req.combine);
    try {
      return await ensemble.scoreDetailed(items, { truncate: req.truncate ?? this.config.autoTruncate });
    } catch (e) {
      if (!isAlignkitError(e) || e.code !== 'ALIGNKIT_ERR_TOO_LONG' || typeof e.details.row !== 'number') throw e;
      const { row, tokens, limit, model } = e.details;
      const at = `${field}[${row}]`;
      throw fail('ALIGNKIT_ERR_TOO_LONG', `${at} has ${tokens} tokens, more than the ${limit}-token limit of model ${model}; send "truncate": true to cut the prompt's start`, { field: at, row, tokens, limit, model }, e);
    }
  }

  async close(): Promise<void> {
    await Promise.all(this.models.map((m) => m.worker?.close()));
  }
}
