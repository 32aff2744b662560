// dawn.node, Dawn's WebGPU for Node (the `webgpu` npm package), loaded on first use: its classes as
// globals (onnxruntime-web's WebGPU backend reads GPUBufferUsage, GPUMapMode and friends from the
// global scope) and one workaround the pairing needs. Nothing here runs for `--device cpu`.

import { fail } from '../../errors.js';

export interface Dawn {
  /** A Dawn instance; `options` are dawn.node's (`adapter=NAME`, `backend=vulkan`, Dawn toggles). */
  create(options: string[]): GPU;
  globals: Record<string, unknown>;
}

/** What `npm install` needs for `--device webgpu` (both are optional dependencies of alignkit). */
export const WEBGPU_INSTALL_HINT = 'npm install webgpu@0.6.2 onnxruntime-web@1.30.0 (optional dependencies of alignkit, skipped by --omit=optional)';

let loaded: Promise<Dawn> | undefined;

/**
 * dawn.node rejects views of a SharedArrayBuffer in `GPUQueue.writeBuffer` ("Invalid argument"), and
 * onnxruntime-web's wasm heap is always a shared WebAssembly.Memory, so every upload it makes is such
 * a view. Copy those into an ordinary buffer first; other calls pass through untouched.
 */
function acceptSharedViews(globals: Record<string, unknown>): void {
  const queue = (globals.GPUQueue as { prototype: GPUQueue }).prototype;
  const writeBuffer = queue.writeBuffer;
  queue.writeBuffer = function (this: GPUQueue, buffer: GPUBuffer, offset: number, data: BufferSource | SharedArrayBuffer, dataOffset = 0, size?: number) {
    if (ArrayBuffer.isView(data) && data.buffer instanceof SharedArrayBuffer) {
      // dataOffset and size count elements of a typed array (bytes of a DataView).
      const unit = 'BYTES_PER_ELEMENT' in data ? (data as unknown as { BYTES_PER_ELEMENT: number }).BYTES_PER_ELEMENT : 1;
      const count = size ?? data.byteLength / unit - dataOffset;
      const copy = new Uint8Array(data.buffer, data.byteOffset + dataOffset * unit, count * unit).slice();
      return writeBuffer.call(this, buffer, offset, copy, 0, copy.byteLength);
    }
    return writeBuffer.call(this, buffer, offset, data as BufferSource, dataOffset, size);
  } as GPUQueue['writeBuffer'];
}

/** dawn.node, with its globals installed; a one-line error naming the package when it is missing. */
export function loadDawn(): Promise<Dawn> {
  loaded ??= (async () => {
    let mod: Dawn;
    try {
      mod = (await import('webgpu')) as unknown as Dawn;
    } catch (e) {
      throw fail('ALIGNKIT_ERR_PROVIDER_MISSING', `--device webgpu needs the webgpu package (Dawn for Node), which could not be loaded (${(e as Error).message.split('\n')[0]}): ${WEBGPU_INSTALL_HINT}`, { package: 'webgpu' }, e);
    }
    for (const [k, v] of Object.entries(mod.globals)) if (!(k in globalThis)) (globalThis as Record<string, unknown>)[k] = v;
    acceptSharedViews(mod.globals);
    return mod;
  })();
  loaded.catch(() => {
    loaded = undefined;
  });
  return loaded;
}
