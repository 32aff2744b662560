import { create, globals } from 'webgpu';
import fs from 'node:fs';
import ortNode from 'onnxruntime-node';
Object.assign(globalThis, globals);
globalThis.navigator ??= {};
Object.defineProperty(globalThis.navigator, 'gpu', { value: create([]), configurable: true, writable: true });
const mode = process.argv[2];
const bytes = fs.readFileSync('data/models/tiny-gpt2/onnx/model.onnx');
let t0 = Date.now();
if (mode !== 'nogpu') {
const ort = await import('onnxruntime-web/webgpu');
ort.env.wasm.numThreads = 1;
const s = await ort.InferenceSession.create(bytes, { executionProviders: ['webgpu'] });
console.log('web created', Date.now() - t0);
await s.release();
}
t0 = Date.now();
const n = await ortNode.InferenceSession.create(bytes);
console.log('node created', Date.now() - t0);
t0 = Date.now();
const n2 = await ortNode.InferenceSession.create('data/models/alignkit-base/onnx/model.onnx');
console.log('node created 2', Date.now() - t0);
delete globalThis.navigator.gpu;
