// onnxruntime-web's WebGPU build (the `onnxruntime-web/webgpu` entry: its native WebGPU execution
// provider compiled to WebAssembly with asyncify) in Node, pointed at the adapter alignkit chose.

import v8 from 'node:v8';
import { isMainThread } from 'node:worker_threads';
import { fail } from '../../errors.js';
import { WEBGPU_INSTALL_HINT } from './dawn.js';
import type { Selected } from './adapter.js';

export type OrtWeb = typeof import('onnxruntime-web/webgpu');

let loaded: Promise<OrtWeb> | undefined;
let instantiated = false;

/**
 * V8 gives each WebAssembly function a tier-up budget of bytes executed (--wasm-tiering-budget,
 * 1800000 in V8 11-13); a function that exhausts it is recompiled by TurboFan. onnxruntime-web's
 * asyncify build holds two functions of 1.5 and 1.3 MB that run once while the runtime starts, which
 * exhausts their budgets at once: TurboFan then spent 141 and 211 s on them (--trace-wasm-compilation-times,
 * 2 cores), and the main thread waited on it, so the event loop stalled for minutes (seen as the next
 * onnxruntime-node session taking 30-180 s to create). `node --liftoff-only` avoids it for every wasm
 * module in the process, including alignkit's optimizer kernels, which need TurboFan's SIMD code.
 * Instead the budget is raised only while onnxruntime-web's module is instantiated (each instance
 * takes its functions' budgets from the flag at that moment), then put back, so modules compiled
 * later tier up as usual and onnxruntime-web's own code stays in Liftoff (its work is on the GPU).
 */
const NO_TIER_UP_BUDGET = 2_000_000_000;
const V8_DEFAULT_BUDGET = 1_800_000;

/** The budget the process runs with: the user's own --wasm-tiering-budget if given, else V8's default. */
function processBudget(): number {
  const args = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/)];
  for (const a of args) {
    const m = /^--wasm[-_]tiering[-_]budget=(\d+)$/.exec(a);
    if (m) return Number(m[1]);
  }
  return V8_DEFAULT_BUDGET;
}

/** Run `create` (whose first call instantiates onnxruntime-web's wasm) without eager TurboFan tier-up. */
export async function withoutEagerTierUp<T>(create: () => Promise<T>): Promise<T> {
  if (instantiated) return create();
  v8.setFlagsFromString(`--wasm-tiering-budget=${NO_TIER_UP_BUDGET}`);
  try {
    const result = await create();
    instantiated = true;
    return result;
  } finally {
    // V8 flags are per process; a worker thread (the server's inference workers) leaves the budget
    // raised, since another worker may be instantiating at the same moment.
    if (isMainThread) v8.setFlagsFromString(`--wasm-tiering-budget=${processBudget()}`);
  }
}

/** onnxruntime-web configured for `selected`: one wasm thread (the GPU does the work), quiet logs. */
export function loadOrtWeb(selected: Selected): Promise<OrtWeb> {
  loaded ??= (async () => {
    let ort: OrtWeb;
    try {
      ort = await import('onnxruntime-web/webgpu');
    } catch (e) {
      throw fail('ALIGNKIT_ERR_PROVIDER_MISSING', `--device webgpu needs onnxruntime-web, which could not be loaded (${(e as Error).message.split('\n')[0]}): ${WEBGPU_INSTALL_HINT}`, { package: 'onnxruntime-web' }, e);
    }
    // The wasm threads would only run the few shape ops onnxruntime keeps on the CPU, and each is a
    // worker with its own copy of the 26 MB module.
    ort.env.wasm.numThreads = 1;
    ort.env.wasm.proxy = false;
    // Warnings such as "some nodes were not assigned to the preferred execution providers" (shape
    // ops, which onnxruntime places on the CPU on purpose) would print on every session.
    ort.env.logLevel = 'error';
    ort.env.webgpu.adapter = selected.adapter;
    // onnxruntime-web checks for navigator.gpu before it takes the adapter set above; Node 20 has no
    // navigator, and Node 21+ has one without gpu.
    const nav = ((globalThis as { navigator?: object }).navigator ??= {}) as { gpu?: GPU };
    if (!nav.gpu) Object.defineProperty(nav, 'gpu', { value: selected.gpu, configurable: true, writable: true });
    return ort;
  })();
  loaded.catch(() => {
    loaded = undefined;
  });
  return loaded;
}
