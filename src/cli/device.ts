// `--device` and `--adapter`, shared by the commands that open sessions (generate, serve, eval rm,
// eval policy; train maps them through its run config): declared once, parsed into SessionOptions.

import { fail } from '../errors.js';
import { PROVIDERS, formatAdapter, type DeviceInfo, type Provider, type SessionOptions } from '../graph/index.js';
import type { FlagTable } from './registry.js';

export const DEVICE_FLAGS = {
  device: { type: 'string', value: 'cpu|webgpu|cuda', shownDefault: 'cpu', help: 'where the models run; webgpu: a GPU through WebGPU, installed from npm (README "GPU through WebGPU")' },
  adapter: { type: 'string', value: 'N|NAME', help: 'with --device webgpu: the adapter\'s index or name (default: the high-performance GPU; a software one such as lavapipe only when named)' },
} as const satisfies FlagTable;

/** Session options from the flags (empty for the CPU default, so other settings stay as they are). */
export function deviceSession(values: { readonly [flag: string]: unknown }): SessionOptions {
  const device = (values.device as string | undefined) ?? 'cpu';
  const adapter = values.adapter as string | undefined;
  if (!(PROVIDERS as readonly string[]).includes(device))
    throw fail('ALIGNKIT_ERR_UNKNOWN_NAME', `--device must be one of ${PROVIDERS.join(', ')}, got '${device}'`, { parameter: 'device', field: 'device' });
  if (adapter !== undefined && device !== 'webgpu')
    throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `--adapter ${adapter} chooses a WebGPU adapter: it needs --device webgpu`, { parameter: 'adapter', field: 'adapter' });
  if (device === 'cpu') return {};
  return { provider: device as Provider, ...(adapter !== undefined && { adapter }) };
}

/** `webgpu on llvmpipe (LLVM 15.0.6, 256 bits) [vulkan, software]`, `cpu`. */
export function formatDevice(d: DeviceInfo): string {
  return d.adapter ? `${d.provider} on ${formatAdapter(d.adapter)}` : d.provider;
}
