// Shared set-up of the device tests: the DPO and reward-model training graphs of the fixture models
// over hand-made items, the adapter the GPU tests run on (or the reason none can exist here), and
// float32 comparisons.

import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { listAdapters, loadModel, noAdapterError, type Feed, type ListedAdapter, type Model } from '../../src/graph/index.js';
import { createLoss } from '../../src/losses/index.js';
import { createOptimizer, type ChainOptimizer } from '../../src/optim/index.js';
import { buildBatch, buildRunGraph, rowGroupsFor, RUN_DEFAULTS, type RunGraph, type RunItem } from '../../src/train/run/index.js';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const MODELS = path.join(ROOT, 'data/models');

const ITEMS: RunItem[] = [
  { id: 'a', prompt: [12, 87, 301], responses: [[5, 44, 199, 7, 0], [61, 9, 0]] },
  { id: 'b', prompt: [450, 3], responses: [[220, 9, 31, 0], [88, 17, 140, 2, 0]] },
  { id: 'c', prompt: [7, 7, 90, 1], responses: [[33, 0], [301, 87, 12, 0]] },
];

export interface StepCase {
  name: string;
  graph: RunGraph;
  forward: Model;
  /** One micro-batch per item (rows = 1). */
  batches: Record<string, Feed>[];
}

/** DPO on tiny-gpt2 (reference sums fed as data) or a Bradley-Terry reward model on tiny-gpt2-rm. */
export function stepCase(kind: 'dpo' | 'rm'): StepCase {
  const spec = kind === 'dpo' ? { role: 'causal-lm' as const, dir: 'tiny-gpt2', loss: 'dpo' } : { role: 'classifier' as const, dir: 'tiny-gpt2-rm', loss: 'bradley_terry' };
  const source = loadModel(path.join(MODELS, spec.dir, 'onnx/model.onnx'));
  const loss = createLoss(spec.loss);
  const groups = rowGroupsFor(loss, spec.role);
  const graph = buildRunGraph(source, { role: spec.role, loss, groups, rows: 1, train: 'full', lora: RUN_DEFAULTS.lora, seed: 1 });
  const reference = new Map(groups.filter((g) => g.reference).map((g, i) => [g.reference!, Float64Array.of(-20 - i, -25 + i, -18)]));
  const ctx = { forward: graph.forward, items: ITEMS, groups, loss, fed: graph.fedInputs, reference, padId: 0 };
  return { name: `${spec.loss} on ${spec.dir}`, graph, forward: graph.forward, batches: ITEMS.map((_, i) => buildBatch(ctx, [i], {}).feeds) };
}

export const newOptimizer = (name: string, hyper: Record<string, unknown> = {}) =>
  createOptimizer(name, { lr: 1e-2, ...hyper }, { schedule: { type: 'linear', warmupSteps: 1, totalSteps: 10 } }) as ChainOptimizer;

/** Largest |a - b| over two equally long arrays. */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Infinity;
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

export function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]!));
  return m;
}

/** Tensors that differ by more than atol + rtol * (the tensor's largest magnitude), by name. */
export function mismatches(want: ReadonlyMap<string, ArrayLike<number>>, got: ReadonlyMap<string, ArrayLike<number>>, atol: number, rtol: number): string[] {
  const bad: string[] = [];
  for (const [name, w] of want) {
    const g = got.get(name);
    const d = g ? maxAbsDiff(w, g) : Infinity;
    if (!(d <= atol + rtol * maxAbs(w))) bad.push(`${name}: ${d}`);
  }
  return bad;
}

export interface GpuHere {
  /** The adapter the tests name (so a software one such as lavapipe is taken). */
  adapter?: ListedAdapter;
  /** Why no adapter can exist here (the message alignkit gives users). */
  reason?: string;
}

/**
 * The first adapter Dawn lists, or why there is none. With ALIGNKIT_REQUIRE_GPU=1 (CI, where Mesa's
 * lavapipe is installed) a missing adapter is a failure instead of a skip. A skip prints its reason:
 * vitest's reporter lists a skipped file as a count, without the describe titles that carry it.
 */
export async function gpuHere(): Promise<GpuHere> {
  let adapters: ListedAdapter[];
  let reason: string;
  try {
    adapters = await listAdapters();
    if (adapters.length > 0) return { adapter: adapters[0] };
    reason = noAdapterError().message;
  } catch (e) {
    reason = (e as Error).message;
  }
  if (process.env.ALIGNKIT_REQUIRE_GPU === '1') throw new Error(`ALIGNKIT_REQUIRE_GPU=1 but ${reason}`);
  console.warn(`test/gpu: the WebGPU tests of this file are SKIPPED: ${reason} (ALIGNKIT_REQUIRE_GPU=1 makes this a failure)`);
  return { reason };
}

/** A describe title that shows, in the test list, what the block runs on or why it is skipped. */
export function gpuTitle(what: string, here: GpuHere): string {
  return here.adapter ? `${what} (WebGPU on ${here.adapter.name})` : `${what}: SKIPPED, ${here.reason}`;
}
