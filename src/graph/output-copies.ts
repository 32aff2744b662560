// Releasing the JavaScript copies onnxruntime-node makes of a run's outputs.
//
// onnxruntime-node 1.30 returns every fetched output as a fresh ArrayBuffer copy, also the outputs it
// wrote into pre-allocated tensors (`InferenceSessionWrap::Run` converts each one with
// `OrtValueToNapiValue`, which allocates and memcpy's). A caller that keeps only its own tensors (the
// Trainer's gradients) holds no reference to them, yet they stay resident until V8 collects them,
// which it does late: at GPT-2-small the 475 MB of gradient copies of one step were still live while
// the next step's activations were allocated, and a minor (young generation) collection does not free
// them. Measured there: peak RSS 2,433 -> 2,194 MB for forward + backward, 3,294 -> 3,143 MB with
// AdamW, for 25-60 ms of collection per step.

import v8 from 'node:v8';
import vm from 'node:vm';

let collect: (() => void) | undefined;

/**
 * V8's full collection. `gc` exists only under --expose-gc; the flag applies to contexts created
 * after it is set, so one new context hands out the function (the `expose-gc` package's technique).
 */
export function fullGc(): void {
  if (!collect) {
    const exposed = (globalThis as { gc?: () => void }).gc;
    if (typeof exposed === 'function') collect = exposed;
    else {
      v8.setFlagsFromString('--expose-gc');
      collect = vm.runInNewContext('gc') as () => void;
    }
  }
  collect();
}

/**
 * Collect the output copies of a run that returned `bytes` of them, `baseline` being
 * `process.memoryUsage().arrayBuffers` before it. Copies allocated while V8 was already marking
 * (their own external-memory pressure starts a cycle) are allocated live and survive the collection
 * that finishes that cycle, so a second one runs when they are still counted.
 */
export function releaseOutputCopies(baseline: number, bytes: number): void {
  fullGc();
  if (process.memoryUsage().arrayBuffers > baseline + bytes / 2) fullGc();
}
