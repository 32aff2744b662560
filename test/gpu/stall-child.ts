// Child process of the TurboFan-stall regression test (errors.slow.test.ts): open and run a WebGPU
// session (instantiating onnxruntime-web's wasm), then time the next onnxruntime-node session's
// creation and the longest event-loop gap around it. Prints one JSON line.
import path from 'node:path';
import { Session } from '../../src/graph/index.js';
import { stepCase } from './helpers.js';

const [adapter] = process.argv.slice(2);
const onnx = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../../data/models/tiny-gpt2/onnx/model.onnx');
const c = stepCase('dpo');
const gpu = await Session.create(c.graph.training.model, { provider: 'webgpu', adapter });
await gpu.run({ ...c.batches[0]!, ...Object.fromEntries([...c.graph.training.gradients.keys()].map((k) => [k, c.forward.graph.initializers.get(k)!])) }, [c.graph.training.lossOutput]);
let last = performance.now();
let gap = 0;
const tick = setInterval(() => {
  const now = performance.now();
  gap = Math.max(gap, now - last);
  last = now;
}, 20);
const t0 = performance.now();
const cpu = await Session.create(onnx);
const createMs = performance.now() - t0;
await new Promise((r) => setTimeout(r, 3000));
clearInterval(tick);
console.log(JSON.stringify({ createMs, gapMs: gap }));
await Promise.all([gpu.release(), cpu.release()]);
