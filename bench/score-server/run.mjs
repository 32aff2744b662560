// Scoring throughput of the alignkit server under concurrent HTTP load, against the raw batched
// onnxruntime session on the same model and the same items, in the same run.
//
//   npm run build && node bench/score-server/run.mjs [--model DIR] [--duration S] [--connections 1,8,32,64]
//                                                    [--items-per-request K] [--max-batch N] [--items N]
//
// Items are real prompt/response pairs (UltraFeedback sample, prompt + chosen response), truncated
// to the model's maximum length on both sides. The raw baseline is OnnxRewardModel.score on batches
// of --max-batch items (tokenization + one session run per batch, what the server's worker does);
// the server runs in this process with its inference worker, driven by autocannon's programmatic API
// on an ephemeral port. Throughput is scored items per second; each connection level is compared
// with a raw run taken just before it. bench/score-server/direct.mjs compares the scoring itself
// with transformers.js.

import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { OnnxRewardModel } from '../../dist/rewards/index.js';
import { DEFAULT_MODEL, buildServer } from '../../dist/serve/index.js';
import { describeMachine, loadLine } from '../machine.mjs';

const root = fileURLToPath(new URL('../../', import.meta.url));
const { values } = parseArgs({
  options: {
    model: { type: 'string', default: DEFAULT_MODEL.dir },
    duration: { type: 'string', default: '5' },
    connections: { type: 'string', default: '1,8,32,64' },
    'items-per-request': { type: 'string', default: '1' },
    'max-batch': { type: 'string', default: '32' },
    items: { type: 'string', default: '256' },
    data: { type: 'string', default: path.join(root, '..', 'shared', 'datasets', 'preference_pairs', 'ultrafeedback_binarized_sample_train.jsonl') },
  },
});
const duration = Number(values.duration);
const perRequest = Number(values['items-per-request']);
const maxBatch = Number(values['max-batch']);
const connectionLevels = values.connections.split(',').map(Number);

function loadItems(file, n) {
  const lines = fs.readFileSync(file, 'utf8').split('\n').filter(Boolean).slice(0, n);
  return lines.map((l) => {
    const r = JSON.parse(l);
    return { prompt: r.prompt, response: r.chosen };
  });
}

async function rawThroughput(model, items) {
  const batches = [];
  for (let i = 0; i < items.length; i += maxBatch) batches.push(items.slice(i, i + maxBatch));
  await model.score(batches[0], { truncate: true }); // warm-up
  let scored = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < duration * 1000) {
    for (const b of batches) {
      await model.score(b, { truncate: true });
      scored += b.length;
    }
  }
  return scored / ((performance.now() - t0) / 1000);
}

async function serverThroughput(url, items, connections, run = { duration }) {
  const bodies = [];
  for (let i = 0; i + perRequest <= items.length; i += perRequest) bodies.push(JSON.stringify({ items: items.slice(i, i + perRequest), truncate: true }));
  // One round robin over the items shared by all connections, so the server scores the same mix
  // of items as the raw baseline (each connection starting at item 0 would favour the first few).
  let next = 0;
  const result = await autocannon({
    url,
    connections,
    ...run,
    requests: [{
      method: 'POST',
      path: '/v1/score',
      headers: { 'content-type': 'application/json' },
      setupRequest: (request) => ({ ...request, body: bodies[next++ % bodies.length] }),
    }],
  });
  if (result.non2xx || result.errors) throw new Error(`server answered ${result.non2xx} non-2xx responses and ${result.errors} errors`);
  return { itemsPerSecond: (result['2xx'] * perRequest) / result.duration, p50: result.latency.p50, p99: result.latency.p99 };
}

const items = loadItems(values.data, Number(values.items));
console.log(`model ${values.model}; ${items.length} UltraFeedback items; max batch ${maxBatch}; ${perRequest} item(s) per request; ${duration}s per run`);

console.log(describeMachine());
const raw = await OnnxRewardModel.load(values.model);
const app = buildServer({ config: { models: [{ dir: values.model }], maxBatch, maxConcurrent: 4096, maxClientBatch: Math.max(32, perRequest), docs: false } });
const address = await app.listen({ port: 0, host: '127.0.0.1' });
// Each connection level against a raw run taken right before it (drift cancels pairwise): every
// level's own ratio, not the best level against an average.
const server = [];
for (const connections of connectionLevels) {
  const rawRate = await rawThroughput(raw, items);
  await serverThroughput(address, items, connections, { amount: Math.max(4 * connections, 64) }); // warm-up
  const r = await serverThroughput(address, items, connections);
  server.push({ connections, raw: rawRate, ...r });
  console.log(`${String(connections).padStart(3)} connections: server ${r.itemsPerSecond.toFixed(1)} items/s (latency p50 ${r.p50} ms, p99 ${r.p99} ms), raw batched session just before ${rawRate.toFixed(1)} items/s: ${((100 * r.itemsPerSecond) / rawRate).toFixed(1)}%; ${loadLine()}`);
}
await app.close();
console.log(`server / raw by connections: ${server.map((s) => `${s.connections}: ${((100 * s.itemsPerSecond) / s.raw).toFixed(1)}%`).join(', ')} (target >= 80%)`);
