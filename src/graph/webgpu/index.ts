// alignkit's WebGPU device: Dawn for Node + onnxruntime-web's WebGPU provider (see README "GPU").
export { listAdapters, processAdapter, formatAdapter, type AdapterInfo, type DeviceInfo, type ListedAdapter } from './adapter.js';
export { explainNoAdapter, noAdapterError } from './diagnose.js';
export { vulkanStatus, VULKAN_LOADER, type VulkanStatus } from './vulkan.js';
export { WEBGPU_INSTALL_HINT } from './dawn.js';
