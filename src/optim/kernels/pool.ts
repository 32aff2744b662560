// The worker threads of a multi-threaded arena: each runs its own instance of the shared-memory
// kernel module (optim_kernels.threads.wasm) over the arena's shared memory, with a stack of its own
// in the arena's reserved bytes, and waits on a control block there for one call at a time. The
// calling thread posts a call with Atomics.notify, runs its own part, and waits for the workers'
// parts with Atomics.wait (both allowed on Node's main thread); no message passing per call.
// Workers are unref'd (they never keep the process alive) and terminated by WasmArena.close().

import { Worker } from 'node:worker_threads';
import { fail } from '../../errors.js';
import { ARENA_RESERVED_BYTES, MAX_ARENA_THREADS, type WasmArena } from '../arena.js';

/** Reserved-bytes layout per worker w (1-based): a 64 KiB stack at [w * 128 KiB, w * 128 KiB + 64 KiB), then its control block. */
const SLOT = 128 << 10;
const STACK = 64 << 10;
/** Control block: Int32 [job sequence, done sequence, function index, argument count, error flag], then float64 arguments. */
const ARGS_AT = 32;
const MAX_ARGS = 28;
/** A worker that has not started in this long is a broken environment, not a slow one. */
const START_TIMEOUT_MS = 10_000;

// Plain JavaScript run by `new Worker(..., { eval: true })`: no file to resolve from src/ or dist/,
// no TypeScript loader needed in the worker. Spins briefly before sleeping: an optimizer step posts
// its calls back to back, and a futex wake-up costs more than the spin.
const WORKER_SOURCE = `
const { workerData } = require('node:worker_threads');
const { module, memory, stackTop, control, names, argsAt } = workerData;
const x = new WebAssembly.Instance(module, { env: { memory } }).exports;
x.__stack_pointer.value = stackTop;
const fns = names.map((n) => x[n]);
const ctl = new Int32Array(memory.buffer, control, 8);
const args = new Float64Array(memory.buffer, control + argsAt, ${MAX_ARGS});
let seen = Atomics.load(ctl, 0);
Atomics.store(ctl, 1, seen);
Atomics.notify(ctl, 1);
for (;;) {
  for (let spin = 0; spin < 20000 && Atomics.load(ctl, 0) === seen; spin++);
  Atomics.wait(ctl, 0, seen);
  const job = Atomics.load(ctl, 0);
  if (job === seen) continue;
  seen = job;
  try {
    fns[ctl[2]](...args.subarray(0, ctl[3]));
  } catch (e) {
    Atomics.store(ctl, 4, 1);
  }
  Atomics.store(ctl, 1, seen);
  Atomics.notify(ctl, 1);
}`;

/** An arena dropped without close(): its workers go when it is collected (they hold the memory, not the arena). */
const dropped = new FinalizationRegistry<Worker[]>((workers) => {
  for (const w of workers) void w.terminate();
});

interface PoolWorker {
  worker: Worker;
  ctl: Int32Array;
  args: Float64Array;
}

export class KernelPool {
  private readonly workers: PoolWorker[] = [];
  private readonly index: Map<string, number>;

  /** @param names the kernel exports a worker may be asked to run */
  constructor(readonly arena: WasmArena, module: WebAssembly.Module, heapBase: number, readonly names: string[]) {
    if (heapBase > SLOT) throw fail('ALIGNKIT_ERR_INTERNAL', `kernel module's static data and stack end at ${heapBase}, past the first worker stack at ${SLOT}`, {});
    if (MAX_ARENA_THREADS * SLOT > ARENA_RESERVED_BYTES) throw fail('ALIGNKIT_ERR_INTERNAL', 'arena reserved bytes too small for the worker stacks', {});
    this.index = new Map(names.map((n, i) => [n, i]));
    const shared = arena.memory.buffer;
    for (let w = 1; w < arena.threads; w++) {
      const control = w * SLOT + STACK;
      const ctl = new Int32Array(shared, control, 8);
      ctl.fill(0);
      ctl[1] = -1;
      // execArgv []: the process's flags (`--input-type=module` would parse this CommonJS source as a module) are not the worker's.
      const worker = new Worker(WORKER_SOURCE, { eval: true, execArgv: [], workerData: { module, memory: arena.memory, stackTop: control, control, names, argsAt: ARGS_AT } });
      worker.unref();
      this.workers.push({ worker, ctl, args: new Float64Array(shared, control + ARGS_AT, MAX_ARGS) });
    }
    for (const [w, { ctl }] of this.workers.entries())
      if (Atomics.wait(ctl, 1, -1, START_TIMEOUT_MS) === 'timed-out') {
        this.close();
        throw fail('ALIGNKIT_ERR_INTERNAL', `optimizer worker thread ${w + 1} did not start in ${START_TIMEOUT_MS / 1000} s`, {});
      }
    arena.onClose(() => this.close());
    dropped.register(arena, this.workers.map((w) => w.worker), this);
  }

  get size(): number {
    return this.workers.length;
  }

  /** Start `name(...args)` on worker w (0-based) without waiting. */
  post(w: number, name: string, args: number[]): void {
    const { ctl, args: slots } = this.workers[w]!;
    slots.set(args);
    ctl[2] = this.index.get(name)!;
    ctl[3] = args.length;
    Atomics.add(ctl, 0, 1);
    Atomics.notify(ctl, 0);
  }

  /** Wait until worker w has finished its last posted call. */
  join(w: number): void {
    const { ctl } = this.workers[w]!;
    const job = Atomics.load(ctl, 0);
    for (let done = Atomics.load(ctl, 1); done !== job; done = Atomics.load(ctl, 1)) Atomics.wait(ctl, 1, done);
    if (ctl[4]) {
      ctl[4] = 0;
      throw fail('ALIGNKIT_ERR_INTERNAL', `optimizer kernel ${this.names[ctl[2]!]} failed on worker thread ${w + 1}`, {});
    }
  }

  close(): void {
    dropped.unregister(this);
    for (const { worker } of this.workers.splice(0)) void worker.terminate();
  }
}
