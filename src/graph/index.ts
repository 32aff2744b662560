// Public names of alignkit/graph: the ONNX IR, its file I/O, the builder, the runtime wrapper, the
// autodiff and the graph rewrites (trainable selection, LoRA, log-prob and KL heads, KV-cache stripping).
export * from './dtypes.js';
export * from './ir.js';
export { decodeModel, encodeModel, loadModel, saveModel, type LoadOptions, type SaveOptions } from './onnx-io.js';
export { GraphBuilder, irVersionFor, dtypeOfArray, type Value, type AttrInput, type OpOptions } from './builder.js';
export { Session, toOrt, fromOrt, CUDA_INSTALL_HINT, PROVIDERS, type Provider, type SessionOptions, type Feed } from './runtime.js';
export { releaseResident, readResident } from './resident.js';
export { listAdapters, formatAdapter, noAdapterError, type AdapterInfo, type DeviceInfo, type ListedAdapter } from './webgpu/index.js';
export { encodeSafetensors, decodeSafetensors, saveSafetensors, loadSafetensors, type SafetensorsFile } from './safetensors.js';
export * from './autodiff/index.js';
export * from './rewrites/index.js';
