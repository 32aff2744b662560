// Choosing the WebGPU adapter. `auto` asks Dawn for its high-performance adapter and refuses a
// software one (Mesa's lavapipe, SwiftShader: the GPU path then runs on the CPU, about 70x slower
// than `--device cpu`, measured on lavapipe), so `--device webgpu` never silently becomes the slow
// path; naming an adapter (a name as Dawn matches it, or an index into `listAdapters()`) takes it
// even when it is software, which is how tests and CI run on lavapipe. onnxruntime-web runs one
// WebGPU device per process, so the first choice holds for the process.

import { fail } from '../../errors.js';
import { loadDawn } from './dawn.js';
import { noAdapterError } from './diagnose.js';

export interface AdapterInfo {
  /** The name Dawn lists and matches with `--adapter NAME`. */
  name: string;
  /** Dawn's backend: vulkan, metal, d3d12, ... */
  backend: string;
  vendor: string;
  architecture: string;
  description: string;
  /** A CPU implementation (lavapipe, SwiftShader): WebGPU's isFallbackAdapter. */
  software: boolean;
}

/** What a session runs on, for /v1/models and startup lines. */
export interface DeviceInfo {
  provider: string;
  adapter?: AdapterInfo;
}

export interface ListedAdapter {
  index: number;
  name: string;
  backend: string;
}

export interface Selected {
  /** The Dawn instance the adapter belongs to: it must outlive every device made from the adapter. */
  gpu: GPU;
  adapter: GPUAdapter;
  info: AdapterInfo;
  /** The selector it was chosen by ('auto' when none was given). */
  selector: string;
}

// dawn.node lists its adapters in the error it throws when `adapter=NAME` matches none (its README
// documents this as the way to see them): " * backend: 'vulkan', name: 'llvmpipe (LLVM 15.0.6, 256 bits)'".
const LISTED = /^\s*\*\s*backend:\s*'([^']*)',\s*name:\s*'(.*)'\s*$/;
const NO_MATCH = '\u0001alignkit-list-adapters';

/** Every adapter Dawn can open here, in Dawn's order (index = `--adapter N`). */
export async function listAdapters(): Promise<ListedAdapter[]> {
  const dawn = await loadDawn();
  try {
    await dawn.create([`adapter=${NO_MATCH}`]).requestAdapter();
    return [];
  } catch (e) {
    const lines = String((e as Error).message).split('\n');
    return lines.flatMap((l) => {
      const m = LISTED.exec(l);
      return m ? [{ backend: m[1]!, name: m[2]! }] : [];
    }).map((a, index) => ({ index, ...a }));
  }
}

/** Dawn's GPUAdapterInfo.device is the listed name with every run of other characters turned into '-'. */
const slug = (s: string) => s.toLowerCase().replace(/[^a-z0-9]+/g, '-');

function describe(adapter: GPUAdapter, listed: ListedAdapter | undefined): AdapterInfo {
  const i = adapter.info as GPUAdapterInfo & { isFallbackAdapter?: boolean };
  return {
    name: listed?.name ?? (i.description || i.device || 'unknown'),
    backend: listed?.backend ?? 'unknown',
    vendor: i.vendor,
    architecture: i.architecture,
    description: i.description,
    software: Boolean(i.isFallbackAdapter) || i.architecture === 'software',
  };
}

/** One line for logs: `llvmpipe (LLVM 15.0.6, 256 bits) [vulkan, software]`. */
export function formatAdapter(info: AdapterInfo): string {
  return `${info.name} [${info.backend}${info.software ? ', software' : ''}]`;
}

async function select(selector: string): Promise<Selected> {
  const dawn = await loadDawn();
  const listed = await listAdapters();
  if (listed.length === 0) throw noAdapterError();
  const byIndex = /^\d+$/.test(selector) ? listed[Number(selector)] : undefined;
  if (/^\d+$/.test(selector) && !byIndex)
    throw fail('ALIGNKIT_ERR_NO_DEVICE', `--adapter ${selector}: there is no WebGPU adapter ${selector}; adapters: ${listed.map((a) => `${a.index}: ${a.name} [${a.backend}]`).join('; ')}`, { field: 'adapter', value: selector });
  const auto = selector === 'auto';
  const name = byIndex?.name ?? (auto ? undefined : selector);
  if (name !== undefined && !listed.some((a) => a.name.includes(name)))
    throw fail('ALIGNKIT_ERR_NO_DEVICE', `--adapter ${selector}: no WebGPU adapter has "${name}" in its name; adapters: ${listed.map((a) => `${a.index}: ${a.name} [${a.backend}]`).join('; ')}`, { field: 'adapter', value: selector });
  const gpu = dawn.create(name === undefined ? [] : [`adapter=${name}`]);
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter) throw noAdapterError();
  const info = describe(adapter, listed.find((a) => (name === undefined ? slug(a.name) === slug(adapter.info.device) : a.name.includes(name))) ?? (listed.length === 1 ? listed[0] : undefined));
  if (auto && info.software)
    throw fail('ALIGNKIT_ERR_NO_DEVICE',
      `no GPU adapter: the only WebGPU adapter is the software renderer ${formatAdapter(info)}, which runs on the CPU far slower than --device cpu; use --device cpu, or name it to use it anyway (--adapter 0 or --adapter "${info.name}")`,
      { provider: 'webgpu', adapter: info.name });
  return { gpu, adapter, info, selector };
}

let chosen: Promise<Selected> | undefined;
let chosenSelector: string | undefined;

/**
 * The process's adapter, chosen on first call. `selector`: 'auto' (default), an index into
 * listAdapters(), or a name (a part of it, as Dawn matches). A later call may repeat the selector or
 * leave it out; a different one is an error, since the device already exists.
 */
export async function processAdapter(selector: string | undefined): Promise<Selected> {
  const wanted = selector ?? 'auto';
  if (chosen && wanted !== chosenSelector && wanted !== 'auto') {
    const current = await chosen;
    throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT',
      `--adapter ${wanted}: this process already runs WebGPU on ${formatAdapter(current.info)} (selected by ${current.selector}); onnxruntime-web uses one WebGPU device per process`,
      { field: 'adapter', value: wanted });
  }
  if (!chosen) {
    chosenSelector = wanted;
    chosen = select(wanted);
    chosen.catch(() => {
      chosen = undefined;
      chosenSelector = undefined;
    });
  }
  return chosen;
}
