// One line saying why no WebGPU adapter exists, naming what is missing: the Vulkan loader, a Vulkan
// driver, or a driver Dawn refuses (Debian 12's Mesa 22.3 lavapipe lacks the
// shaderUniform*ArrayDynamicIndexing features Dawn requires; Mesa 25 from bookworm-backports works).

import path from 'node:path';
import { fail, type AlignkitError } from '../../errors.js';
import { VULKAN_LOADER, vulkanStatus, type VulkanStatus } from './vulkan.js';

const GPU_DRIVERS = 'a GPU\'s Vulkan driver (NVIDIA: the driver\'s Vulkan ICD; in containers NVIDIA_DRIVER_CAPABILITIES must include graphics)';
const LAVAPIPE = 'for a CPU-only machine Mesa\'s lavapipe from mesa-vulkan-drivers >= 25 (Debian 12: add bookworm-backports and apt-get install -t bookworm-backports mesa-vulkan-drivers)';

/** The message for a Linux machine, from what the Vulkan probe saw. */
export function explainNoAdapter(status: VulkanStatus): string {
  if (!status.loader)
    return `no WebGPU adapter: the Vulkan loader ${VULKAN_LOADER} is not installed (${status.loaderError ?? 'dlopen failed'}); install libvulkan1 and ${GPU_DRIVERS}, or ${LAVAPIPE}`;
  if (status.drivers.length === 0)
    return `no WebGPU adapter: the Vulkan loader is installed but finds no Vulkan driver (no ICD manifest in ${status.searched.join(', ')}); install ${GPU_DRIVERS}, or ${LAVAPIPE}`;
  const names = status.drivers.map((f) => path.basename(f)).join(', ');
  return `no WebGPU adapter: Dawn refused every device of the installed Vulkan drivers (${names}); Mesa before 25 (Debian 12's 22.3) lacks features WebGPU needs: install ${LAVAPIPE}; for a GPU, ${GPU_DRIVERS}`;
}

/** ALIGNKIT_ERR_NO_DEVICE for a process in which Dawn offers no adapter at all. */
export function noAdapterError(env: NodeJS.ProcessEnv = process.env): AlignkitError {
  if (process.platform !== 'linux')
    return fail('ALIGNKIT_ERR_NO_DEVICE', `no WebGPU adapter: Dawn found no ${process.platform === 'darwin' ? 'Metal' : 'Direct3D 12 or Vulkan'} device on this ${process.platform} machine`, { provider: 'webgpu' });
  const status = vulkanStatus(env);
  return fail('ALIGNKIT_ERR_NO_DEVICE', explainNoAdapter(status), { provider: 'webgpu', loader: status.loader, drivers: status.drivers });
}
