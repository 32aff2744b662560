// One line saying why no WebGPU adapter exists, naming what is missing: the Vulkan loader, a Vulkan
// driver, or a driver Dawn refuses (Debian 12's Mesa 22.3 lavapipe lacks the
// shaderUniform*ArrayDynamicIndexing features Dawn requires; Mesa 25 from bookworm-backports works).

import path from 'node:path';
import { fail, type AlignkitError } from '../../errors.js';
import { VULKAN_LOADER, vulkanStatus, type VulkanStatus } from './vulkan.js';

const DRIVERS =
  "a GPU's: NVIDIA's Vulkan ICD, in containers with NVIDIA_DRIVER_CAPABILITIES including graphics; no GPU: Mesa's lavapipe, " +
  'mesa-vulkan-drivers >= 25, on Debian 12 from bookworm-backports: apt-get install -t bookworm-backports mesa-vulkan-drivers';

/** The message for a Linux machine, from what the Vulkan probe saw. */
export function explainNoAdapter(status: VulkanStatus): string {
  if (!status.loader)
    return `no WebGPU adapter: the Vulkan loader ${VULKAN_LOADER} cannot be loaded (${status.loaderError ?? 'dlopen failed'}); install libvulkan1 and a Vulkan driver (${DRIVERS})`;
  if (status.drivers.length === 0)
    return `no WebGPU adapter: the Vulkan loader finds no Vulkan driver (no ICD manifest in ${status.searched.join(', ')}); install one (${DRIVERS})`;
  const names = status.drivers.map((f) => path.basename(f)).join(', ');
  return `no WebGPU adapter: the Vulkan drivers ${names} gave Dawn no device it accepts (a driver that fails to load, or Mesa before 25, such as Debian 12's 22.3 lavapipe, which lacks features WebGPU needs); install a working one (${DRIVERS})`;
}

/** ALIGNKIT_ERR_NO_DEVICE for a process in which Dawn offers no adapter at all. */
export function noAdapterError(env: NodeJS.ProcessEnv = process.env): AlignkitError {
  if (process.platform !== 'linux')
    return fail('ALIGNKIT_ERR_NO_DEVICE', `no WebGPU adapter: Dawn found no ${process.platform === 'darwin' ? 'Metal' : 'Direct3D 12 or Vulkan'} device on this ${process.platform} machine`, { provider: 'webgpu' });
  const status = vulkanStatus(env);
  return fail('ALIGNKIT_ERR_NO_DEVICE', explainNoAdapter(status), { provider: 'webgpu', loader: status.loader, drivers: status.drivers });
}
