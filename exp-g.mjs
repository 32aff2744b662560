import { create, globals } from 'webgpu';
import fs from 'node:fs';
import v8 from 'node:v8';
Object.assign(globalThis, globals);
const orig = globals.GPUQueue.prototype.writeBuffer;
globals.GPUQueue.prototype.writeBuffer = function (buffer, offset, data, dataOffset = 0, size) {
  if (ArrayBuffer.isView(data) && data.buffer instanceof SharedArrayBuffer) {
    const bpe = data.BYTES_PER_ELEMENT ?? 1;
    const n = size ?? (data.byteLength / bpe - dataOffset);
    const copy = new Uint8Array(data.buffer, data.byteOffset + dataOffset * bpe, n * bpe).slice();
    return orig.call(this, buffer, offset, copy, 0, copy.byteLength);
  }
  return orig.call(this, buffer, offset, data, dataOffset, size);
};
globalThis.navigator ??= {};
Object.defineProperty(globalThis.navigator, 'gpu', { value: create([]), configurable: true, writable: true });
const mode = process.argv[2];
const bytes = fs.readFileSync('data/models/tiny-gpt2/onnx/model.onnx');
const ort = await import('onnxruntime-web/webgpu');
ort.env.wasm.numThreads = 1;
ort.env.logLevel = 'error';
v8.setFlagsFromString('--wasm-tiering-budget=2000000000');
const s = await ort.InferenceSession.create(bytes, { executionProviders: ['webgpu'] });
v8.setFlagsFromString('--wasm-tiering-budget=1800000');
if (mode === 'early') delete globalThis.navigator.gpu;
const feeds = { input_ids: new ort.Tensor('int64', new BigInt64Array([1n,2n,3n,4n]), [1,4]), attention_mask: new ort.Tensor('int64', new BigInt64Array([1n,1n,1n,1n]), [1,4]), position_ids: new ort.Tensor('int64', new BigInt64Array([0n,1n,2n,3n]), [1,4]) };
for (const n of s.inputNames) if (!feeds[n]) feeds[n] = new ort.Tensor('float32', new Float32Array(0), [1,4,0,8]);
let k = 0;
for (let i = 0; i < 20; i++) { await s.run(feeds); k++; }
console.log('runs done', k);
if (mode === 'release') { await s.release(); }
if (mode === 'release' || mode === 'end') delete globalThis.navigator.gpu;
console.log('end of script', mode);
