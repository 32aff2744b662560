// `--device` and `--adapter`, shared by the commands that open sessions (generate, serve, eval rm;
// train maps them through its run config): parsed once into SessionOptions, checked once.

import { fail } from '../errors.js';
import { PROVIDERS, formatAdapter, type DeviceInfo, type Provider, type SessionOptions } from '../graph/index.js';

export const DEVICE_OPTIONS = {
  device: { type: 'string' },
  adapter: { type: 'string' },
} as const;

export const DEVICE_USAGE = `  --device D        where the models run: cpu (default) | webgpu (a GPU through WebGPU; README "GPU") | cuda
  --adapter A       with --device webgpu: the adapter's index or name (default: the high-performance GPU;
                    a software adapter such as lavapipe is used only when named)`;

/** Session options from the flags (empty for the CPU default, so other settings stay as they are). */
export function deviceSession(values: { device?: string; adapter?: string }): SessionOptions {
  const device = values.device ?? 'cpu';
  if (!(PROVIDERS as readonly string[]).includes(device))
    throw fail('ALIGNKIT_ERR_UNKNOWN_NAME', `--device must be one of ${PROVIDERS.join(', ')}, got '${device}'`, { parameter: 'device', field: 'device' });
  if (values.adapter !== undefined && device !== 'webgpu')
    throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `--adapter ${values.adapter} chooses a WebGPU adapter: it needs --device webgpu`, { parameter: 'adapter', field: 'adapter' });
  if (device === 'cpu') return {};
  return { provider: device as Provider, ...(values.adapter !== undefined && { adapter: values.adapter }) };
}

/** `webgpu on llvmpipe (LLVM 15.0.6, 256 bits) [vulkan, software]`, `cpu`. */
export function formatDevice(d: DeviceInfo): string {
  return d.adapter ? `${d.provider} on ${formatAdapter(d.adapter)}` : d.provider;
}
