// Inference worker thread: loads one reward model and scores the batches the main thread sends.
// onnxruntime-node runs a session synchronously on the calling thread (its `run` only defers to
// setImmediate), and tokenization is synchronous JavaScript too, so both live here, off the event
// loop that answers HTTP requests.

import { parentPort, workerData } from 'node:worker_threads';
import { isAlignkitError } from '../../errors.js';
import { OnnxRewardModel } from '../../rewards/index.js';
import type { FromWorker, SerializedError, ToWorker, WorkerInit } from './protocol.js';

function serialize(e: unknown): SerializedError {
  if (isAlignkitError(e)) return { code: e.code, message: e.message, details: JSON.parse(JSON.stringify(e.details ?? {})) };
  return { code: 'ALIGNKIT_ERR_SESSION', message: e instanceof Error ? e.message : String(e), details: {} };
}

async function main(): Promise<void> {
  const port = parentPort!;
  const init = workerData as WorkerInit;
  const post = (m: FromWorker, transfer: ArrayBuffer[] = []) => port.postMessage(m, transfer);
  let model: OnnxRewardModel;
  try {
    model = await OnnxRewardModel.load(init.dir, { name: init.name, session: init.session });
  } catch (e) {
    post({ type: 'failed', error: serialize(e) });
    return;
  }
  post({ type: 'ready', info: { name: model.name, heads: model.heads, maxLength: model.maxLength, device: model.classifier.session.device } });
  // Messages are handled one after another: a run awaits the session, and a `close` or `crash`
  // arriving meanwhile must not release the session under it.
  let queue = Promise.resolve();
  port.on('message', (m: ToWorker) => {
    queue = queue.then(() => handle(m));
  });

  async function handle(m: ToWorker): Promise<void> {
    if (m.type === 'close') {
      // Release the session and let the thread end by itself: terminating a thread that holds an
      // onnxruntime session aborts the whole process (a Napi::Error thrown during env teardown).
      await model.release();
      port.close();
      return;
    }
    if (m.type === 'crash') {
      // The thread dies with an error code (the parent sees an unexpected exit), between two runs
      // and without a live session, so the drill cannot take the whole process down.
      await model.release();
      process.exit(m.code);
    }
    try {
      const scores = await model.score(m.items, { truncate: m.truncate });
      const heads = model.heads.length;
      const data = new Float32Array(scores.length * heads); // [items, heads]
      scores.forEach((s, i) => data.set(s.subarray(0, heads), i * heads));
      post({ type: 'scored', id: m.id, data, items: scores.length, heads }, [data.buffer]);
    } catch (e) {
      post({ type: 'error', id: m.id, error: serialize(e) });
    }
  }
}

void main();
