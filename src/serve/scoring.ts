// The server's reward models: one inference worker per model directory (plus any in-process models
// a library user hands in), each behind its own micro-batcher, and per-request ensembles over the
// models a request names.

import fs from 'node:fs';
import { fail, isAlignkitError } from '../errors.js';
import { RewardEnsemble, headWeights, type CombineConfig, type EnsembleScores, type RewardModel, type ScoreItem } from '../rewards/index.js';
import { MicroBatcher } from './batcher.js';
import type { ServeConfig } from './config.js';
import type { DeviceInfo } from '../graph/index.js';
import { SupervisedWorker } from './inference/supervisor.js';
import { scoringMetrics, type MetricsRegistry, type ScoringMetrics } from './metrics.js';

export interface ServedModel {
  name: string;
  batcher: MicroBatcher;
  headWeights: Record<string, number>;
  fixture: boolean;
  /** The (supervised, restarted when it dies) worker behind the batcher, when the model runs in one. */
  worker?: SupervisedWorker;
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
  readonly metrics: ScoringMetrics;

  private constructor(
    readonly config: ServeConfig,
    registry: MetricsRegistry,
  ) {
    this.metrics = scoringMetrics(registry, {
      queue: () => this.models.map((m) => [{ model: m.name }, m.batcher.queueDepth]),
      workersUp: () => this.models.filter((m) => m.worker).map((m) => [{ model: m.name }, m.worker!.healthy ? 1 : 0]),
    });
  }

  /**
   * Loads every configured model directory in its own supervised worker thread, concurrently.
   * `log` hears of workers that died and were restarted.
   */
  static async start(config: ServeConfig, metrics: MetricsRegistry, inProcess: RewardModel[] = [], log: (line: string) => void = () => {}): Promise<ScoringService> {
    config.models.forEach((spec, i) => {
      // Checked here so a typo fails at once instead of after a worker thread has started.
      if (!fs.existsSync(spec.dir)) throw fail('ALIGNKIT_ERR_FILE_NOT_FOUND', `model directory ${spec.dir} does not exist`, { file: spec.dir, field: `models[${i}]` });
    });
    const service = new ScoringService(config, metrics);
    const hooks = {
      onDeath: (model: string, reason: Error) => log(`inference worker of ${model} died (${reason.message}); restarting it`),
      onRestart: (model: string) => {
        service.metrics.workerRestarts.inc({ model });
        log(`inference worker of ${model} restarted`);
      },
    };
    const workers = await Promise.allSettled(config.models.map((spec) => SupervisedWorker.start({ dir: spec.dir, name: spec.name, session: config.session }, hooks)));
    const failed = workers.find((w): w is PromiseRejectedResult => w.status === 'rejected');
    if (failed) {
      await Promise.all(workers.map((w) => (w.status === 'fulfilled' ? w.value.close() : undefined)));
      throw failed.reason;
    }
    workers.forEach((w, i) => {
      const worker = (w as PromiseFulfilledResult<SupervisedWorker>).value;
      const spec = config.models[i];
      service.add(worker, spec.headWeights ?? {}, spec.fixture ?? false, worker);
    });
    for (const model of inProcess) service.add(model, {}, false);
    if (service.byName.size === 0) throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', 'the server has no reward model to serve', { field: 'models' });
    return service;
  }

  private add(model: RewardModel, weights: Record<string, number>, fixture: boolean, worker?: SupervisedWorker): void {
    if (this.byName.has(model.name))
      throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `two served models are named ${model.name}; give one another name (--model NAME=DIR)`, { field: 'models', model: model.name });
    headWeights(model.heads, weights, model.name);
    const batcher = new MicroBatcher(model, { windowMs: this.config.batchWindowMs, maxBatch: this.config.maxBatch }, {
      onBatch: (items, _requests, ms) => {
        const labels = { model: model.name };
        this.metrics.batches.inc(labels);
        this.metrics.itemsScored.inc(labels, items);
        this.metrics.batchSize.observe(labels, items);
        this.metrics.batchSeconds.observe(labels, ms / 1000);
      },
    });
    this.byName.set(model.name, { name: model.name, batcher, headWeights: weights, fixture, worker, device: worker?.info.device });
  }

  get models(): ServedModel[] {
    return [...this.byName.values()];
  }

  /** Every model can score now (no worker down or restarting). */
  get healthy(): boolean {
    return this.models.every((m) => m.worker?.healthy ?? true);
  }

  /** Models whose worker could not be restarted (liveness fails on these). */
  get dead(): string[] {
    return this.models.filter((m) => m.worker?.dead).map((m) => m.name);
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
