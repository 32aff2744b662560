// A Session on onnxruntime-web's WebGPU provider: the same surface as the onnxruntime-node session
// (named feeds in, alignkit Tensors out), plus outputs kept on the GPU (`residentOutputs`, as
// onnxruntime-web's preferredOutputLocation 'gpu-buffer') that the next run takes back as feeds
// without a copy through wasm memory.

import fs from 'node:fs';
import path from 'node:path';
import type ortNode from 'onnxruntime-node';
import { fail } from '../../errors.js';
import { numel } from '../dtypes.js';
import type { Model, Tensor } from '../ir.js';
import { encodeModel } from '../onnx-io.js';
import { fromOrt, Session, type Feed, type SessionOptions } from '../runtime.js';
import { decomposeForWebGpu } from './decompose.js';
import { formatAdapter, processAdapter, type DeviceInfo, type Selected } from './adapter.js';
import { exclusive } from './exclusive.js';
import { loadOrtWeb, withoutEagerTierUp, type OrtWeb } from './ort-web.js';

type WebTensor = InstanceType<OrtWeb['Tensor']>;
type AnyTensor = { type: string; dims: readonly number[]; data: unknown; location?: string };

function isOrtTensor(v: Feed): v is ortNode.Tensor {
  return typeof (v as AnyTensor).type === 'string' && 'location' in (v as object);
}

/**
 * A model file's bytes: onnxruntime-web takes a path for a URL to fetch ("Failed to parse URL"). The
 * external-data file optimum writes beside large models (model.onnx_data) goes along by name.
 */
function readModelFile(file: string): { bytes: Uint8Array; externalData?: { path: string; data: Uint8Array }[] } {
  try {
    const data = `${file}_data`;
    return { bytes: fs.readFileSync(file), ...(fs.existsSync(data) && { externalData: [{ path: path.basename(data), data: fs.readFileSync(data) }] }) };
  } catch (e) {
    throw fail('ALIGNKIT_ERR_FILE_NOT_FOUND', `could not read ${file}: ${(e as Error).message}`, { file }, e);
  }
}

export class WebGpuSession extends Session {
  private constructor(
    private readonly web: import('onnxruntime-web/webgpu').InferenceSession,
    private readonly ortWeb: OrtWeb,
    private readonly selected: Selected,
    source: string,
    opts: SessionOptions,
  ) {
    super(web as unknown as ortNode.InferenceSession, source, opts);
  }

  static async open(src: string | Uint8Array | Model, opts: SessionOptions): Promise<WebGpuSession> {
    const selected = await processAdapter(opts.adapter);
    const ort = await loadOrtWeb(selected);
    const source = typeof src === 'string' ? src : src instanceof Uint8Array ? '<bytes>' : `<model ${src.graph.name}>`;
    const { bytes, externalData } = typeof src === 'string' ? readModelFile(src) : { bytes: src instanceof Uint8Array ? src : encodeModel(decomposeForWebGpu(src)), externalData: undefined };
    const resident = opts.residentOutputs ?? [];
    try {
      const web = await withoutEagerTierUp(() =>
        ort.InferenceSession.create(bytes, {
          executionProviders: ['webgpu'],
          graphOptimizationLevel: opts.graphOptimization ?? 'all',
          logSeverityLevel: 3,
          ...(externalData && { externalData }),
          ...(resident.length > 0 && { preferredOutputLocation: Object.fromEntries(resident.map((n) => [n, 'gpu-buffer' as const])) }),
        }),
      );
      return new WebGpuSession(web, ort, selected, source, opts);
    } catch (e) {
      throw fail('ALIGNKIT_ERR_SESSION', `onnxruntime-web (WebGPU on ${formatAdapter(selected.info)}) could not load ${source}: ${(e as Error).message}`, { source }, e);
    }
  }

  override get device(): DeviceInfo {
    return { provider: 'webgpu', adapter: this.selected.info };
  }

  /** alignkit Tensor or onnxruntime tensor (node's, or this runtime's on the GPU) -> onnxruntime-web tensor. */
  private toWeb(name: string, v: Feed): WebTensor {
    if (v instanceof this.ortWeb.Tensor) return v;
    const t = isOrtTensor(v) ? { dtype: v.type, dims: [...v.dims], data: v.data } : { dtype: (v as Tensor).dtype, dims: (v as Tensor).dims, data: (v as Tensor).data };
    if (t.dtype === 'string') throw fail('ALIGNKIT_ERR_TENSOR', `feed ${name} of ${this.source} is a string tensor, which the WebGPU provider does not take`, { field: name });
    if ((t.data as ArrayLike<unknown>).length !== numel(t.dims)) throw fail('ALIGNKIT_ERR_TENSOR', `feed ${name} has ${(t.data as ArrayLike<unknown>).length} values for dims [${t.dims}]`, { field: name });
    return new this.ortWeb.Tensor(t.dtype as 'float32', t.data as Float32Array, t.dims);
  }

  private async runWeb(feeds: Record<string, Feed>, fetches?: readonly string[]): Promise<Record<string, WebTensor>> {
    const webFeeds: Record<string, WebTensor> = {};
    for (const [k, v] of Object.entries(feeds)) webFeeds[k] = this.toWeb(k, v);
    try {
      return (await exclusive(() => (fetches ? this.web.run(webFeeds, fetches as string[]) : this.web.run(webFeeds)))) as Record<string, WebTensor>;
    } catch (e) {
      throw fail('ALIGNKIT_ERR_SESSION', `run of ${this.source} on WebGPU failed: ${(e as Error).message}`, { source: this.source }, e);
    }
  }

  /** A GPU output downloaded (and its buffer released); CPU outputs as they are. */
  private static async toHost(t: WebTensor): Promise<Tensor> {
    if (t.location === 'gpu-buffer') {
      const data = await exclusive(() => t.getData(true));
      return { dtype: t.type as Tensor['dtype'], dims: [...t.dims], data: data as Tensor['data'] };
    }
    return fromOrt(t as unknown as ortNode.Tensor);
  }

  override async run(feeds: Record<string, Feed>, fetches?: readonly string[]): Promise<Record<string, Tensor>> {
    const out = await this.runWeb(feeds, fetches);
    const result: Record<string, Tensor> = {};
    for (const [k, v] of Object.entries(out)) result[k] = await WebGpuSession.toHost(v);
    return result;
  }

  override async runKeeping(feeds: Record<string, Feed>, fetches?: readonly string[]): Promise<{ outputs: Record<string, Tensor>; resident: Record<string, Feed> }> {
    const out = await this.runWeb(feeds, fetches);
    const outputs: Record<string, Tensor> = {};
    const resident: Record<string, Feed> = {};
    for (const [k, v] of Object.entries(out)) {
      if (v.location === 'gpu-buffer') resident[k] = v as unknown as ortNode.Tensor;
      else outputs[k] = fromOrt(v as unknown as ortNode.Tensor);
    }
    return { outputs, resident };
  }

  override async release(): Promise<void> {
    await exclusive(() => this.web.release());
  }
}
