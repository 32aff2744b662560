// Keeps one model's inference worker alive: a thread that dies (an uncaught error, an out-of-memory
// exit, a crash drill) is started again from the same directory, so a server never sits dead behind
// a 200. While the worker is down its calls fail at once with a 503 that says to retry, instead of
// queueing behind a thread that may not come back. Restarts back off exponentially (100 ms doubling
// to 5 s) so a model that cannot load does not spin; after `GIVE_UP_AFTER` failed attempts in a row
// the model counts as dead and liveness fails, so an orchestrator replaces the process.

import { fail, type AlignkitError } from '../../errors.js';
import type { RewardModel, ScoreItem, ScoreOptions } from '../../rewards/index.js';
import { ReportedModel, type ModelInfo, type WorkerInit } from './protocol.js';
import { WorkerRewardModel } from './worker-model.js';

const FIRST_BACKOFF_MS = 100;
const MAX_BACKOFF_MS = 5000;
const GIVE_UP_AFTER = 3;

export interface SupervisorHooks {
  /** Called each time a dead worker has been started again. */
  onRestart?(model: string): void;
  /** Called when a worker died, with the reason (for the server log). */
  onDeath?(model: string, reason: AlignkitError): void;
}

export class SupervisedWorker extends ReportedModel implements RewardModel {
  /** Workers started again after one died. */
  restarts = 0;
  private current: WorkerRewardModel | undefined;
  private pastRuns = 0;
  private failedAttempts = 0;
  private closed = false;
  private timer: NodeJS.Timeout | undefined;

  private constructor(
    private readonly init: WorkerInit,
    info: ModelInfo,
    private readonly hooks: SupervisorHooks,
  ) {
    super(info);
  }

  /** Starts the first worker; a model that cannot load fails here, before the server listens. */
  static async start(init: WorkerInit, hooks: SupervisorHooks = {}): Promise<SupervisedWorker> {
    const first = await WorkerRewardModel.spawn(init);
    const s = new SupervisedWorker(init, first.info, hooks);
    s.adopt(first);
    return s;
  }

  /** Session runs so far, over every worker this model has had. */
  get runs(): number {
    return this.pastRuns + (this.current?.runs ?? 0);
  }

  /** A worker is running and can score. */
  get healthy(): boolean {
    return this.current?.healthy ?? false;
  }

  /** Restarting has failed GIVE_UP_AFTER times in a row (it goes on trying, with the longest back-off). */
  get dead(): boolean {
    return this.failedAttempts >= GIVE_UP_AFTER;
  }

  score(items: ScoreItem[], opts: ScoreOptions = {}): Promise<Float32Array[]> {
    const worker = this.current;
    if (!worker?.healthy) return Promise.reject(this.unavailable());
    return worker.score(items, opts).catch((e: unknown) => {
      // The thread died under this call: the client may retry on the restarted worker.
      if (!worker.healthy && !this.closed) throw this.unavailable(e);
      throw e;
    });
  }

  /** Makes the current worker thread die as a crash would (drills and tests); it is restarted. */
  async crash(): Promise<void> {
    await this.current?.crash();
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    await this.current?.close();
  }

  private unavailable(cause?: unknown): AlignkitError {
    return fail('ALIGNKIT_ERR_UNAVAILABLE', `the inference worker of model ${this.name} is restarting; retry the request`, { model: this.name }, cause);
  }

  private adopt(worker: WorkerRewardModel): void {
    this.current = worker;
    void worker.exit.then((reason) => {
      if (this.closed || this.current !== worker) return;
      this.pastRuns += worker.runs;
      this.current = undefined;
      this.hooks.onDeath?.(this.name, reason);
      this.schedule(0);
    });
  }

  private schedule(ms: number): void {
    this.timer = setTimeout(() => void this.respawn(), ms);
  }

  private async respawn(): Promise<void> {
    if (this.closed) return;
    let worker: WorkerRewardModel;
    try {
      worker = await WorkerRewardModel.spawn(this.init);
    } catch {
      this.failedAttempts++;
      this.schedule(Math.min(FIRST_BACKOFF_MS * 2 ** (this.failedAttempts - 1), MAX_BACKOFF_MS));
      return;
    }
    if (this.closed) return void (await worker.close());
    this.failedAttempts = 0;
    this.restarts++;
    this.adopt(worker);
    this.hooks.onRestart?.(this.name);
  }
}
