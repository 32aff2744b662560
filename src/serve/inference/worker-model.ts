// The main thread's handle on an inference worker: a RewardModel whose `score` posts the batch to
// the worker thread and resolves with its scores, so the event loop stays free while a session runs.

import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { AlignkitError, ERROR_CATALOG, fail, type ErrorCode } from '../../errors.js';
import type { RewardModel, ScoreItem, ScoreOptions } from '../../rewards/index.js';
import { ReportedModel, type FromWorker, type ModelInfo, type SerializedError, type ToWorker, type WorkerInit } from './protocol.js';

function revive(e: SerializedError): AlignkitError {
  const code = (e.code in ERROR_CATALOG ? e.code : 'ALIGNKIT_ERR_SESSION') as ErrorCode;
  return new AlignkitError(code, e.message, e.details);
}

/**
 * The compiled worker next to this file in `dist/`; from the TypeScript sources (tests) the .ts
 * worker, started with module hooks that transpile it (see src/dev/ts-source-hooks.mjs).
 */
function workerEntry(): { url: URL; execArgv: string[] } {
  const js = new URL('./worker.js', import.meta.url);
  if (fs.existsSync(fileURLToPath(js))) return { url: js, execArgv: [] };
  const hooks = new URL('../../dev/ts-source-hooks.mjs', import.meta.url).href;
  const register = `import { register } from 'node:module'; register(${JSON.stringify(hooks)});`;
  return { url: new URL('./worker.ts', import.meta.url), execArgv: ['--import', `data:text/javascript,${encodeURIComponent(register)}`] };
}

export class WorkerRewardModel extends ReportedModel implements RewardModel {
  /** Session runs so far (one per `score` call that reached the worker). */
  runs = 0;
  private nextId = 0;
  private readonly pending = new Map<number, { resolve: (s: Float32Array[]) => void; reject: (e: Error) => void }>();
  private exited: AlignkitError | undefined;
  private markExited!: (e: AlignkitError) => void;
  /** Settles (never rejects) with the reason once the thread has ended, by `close()` or otherwise. */
  readonly exit: Promise<AlignkitError> = new Promise((resolve) => (this.markExited = resolve));

  private constructor(
    private readonly worker: Worker,
    info: ModelInfo,
    readonly dir: string,
  ) {
    super(info);
    worker.on('message', (m: FromWorker) => this.onMessage(m));
    worker.on('error', (e) => this.onExit(fail('ALIGNKIT_ERR_SESSION', `inference worker of ${info.name} crashed: ${e.message}`, { model: info.name }, e)));
    worker.on('exit', (code) => this.onExit(fail('ALIGNKIT_ERR_SESSION', `inference worker of ${info.name} exited (code ${code})`, { model: info.name })));
  }

  /** Starts a worker thread, loads the model directory in it, and resolves once it can score. */
  static async spawn(init: WorkerInit): Promise<WorkerRewardModel> {
    const { url, execArgv } = workerEntry();
    const worker = new Worker(url, { workerData: init, execArgv });
    const info = await new Promise<ModelInfo>((resolve, reject) => {
      const onExit = (code: number) => reject(fail('ALIGNKIT_ERR_SESSION', `inference worker for ${init.dir} exited (code ${code}) while loading`, { file: init.dir }));
      worker.once('error', reject);
      worker.once('exit', onExit);
      worker.once('message', (m: FromWorker) => {
        worker.off('error', reject);
        worker.off('exit', onExit);
        // A worker that failed to load holds no session and ends by itself.
        if (m.type === 'ready') resolve(m.info);
        else reject(m.type === 'failed' ? revive(m.error) : fail('ALIGNKIT_ERR_SESSION', `unexpected first message ${m.type} from the worker for ${init.dir}`));
      });
    });
    return new WorkerRewardModel(worker, info, init.dir);
  }

  get healthy(): boolean {
    return this.exited === undefined;
  }

  score(items: ScoreItem[], opts: ScoreOptions = {}): Promise<Float32Array[]> {
    if (this.exited) return Promise.reject(this.exited);
    const id = this.nextId++;
    this.runs++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      const message: ToWorker = { type: 'score', id, items, truncate: opts.truncate ?? false };
      this.worker.postMessage(message);
    });
  }

  /**
   * Makes the thread exit with an error code after its current run, as a crash would: pending calls
   * are rejected and the model cannot score afterwards. For drills and tests of the restart path;
   * `close()` is the orderly stop. (Not `Worker.terminate()`: interrupting a thread inside a native
   * onnxruntime run aborts the whole process.)
   */
  async crash(): Promise<void> {
    if (this.exited) return;
    const message: ToWorker = { type: 'crash', code: 1 };
    this.worker.postMessage(message);
    await this.exit;
  }

  /**
   * Stops the worker: it releases its session and exits on its own (terminating a thread that
   * holds an onnxruntime session aborts the process). Scoring calls still pending are rejected.
   */
  async close(): Promise<void> {
    if (this.exited) return;
    const exit = new Promise<void>((resolve) => this.worker.once('exit', () => resolve()));
    this.onExit(fail('ALIGNKIT_ERR_SESSION', `model ${this.name} is shut down`, { model: this.name }));
    const message: ToWorker = { type: 'close' };
    this.worker.postMessage(message);
    await exit;
  }

  private onMessage(m: FromWorker): void {
    if (m.type !== 'scored' && m.type !== 'error') return;
    const p = this.pending.get(m.id);
    if (!p) return;
    this.pending.delete(m.id);
    if (m.type === 'error') return p.reject(revive(m.error));
    const out: Float32Array[] = [];
    for (let i = 0; i < m.items; i++) out.push(m.data.subarray(i * m.heads, (i + 1) * m.heads));
    p.resolve(out);
  }

  private onExit(e: AlignkitError): void {
    this.exited ??= e;
    this.markExited(this.exited);
    for (const p of this.pending.values()) p.reject(this.exited);
    this.pending.clear();
  }
}
