// onnxruntime-web's asyncify build suspends its wasm stack while it waits for the GPU; a second call
// into the module meanwhile (another session's run, a download) would resume on the wrong stack.
// Every call into it goes through this one queue (the GPU's own queue orders the work anyway).

let tail: Promise<unknown> = Promise.resolve();

export function exclusive<T>(fn: () => Promise<T>): Promise<T> {
  const next = tail.then(fn, fn);
  tail = next.catch(() => undefined);
  return next;
}
