// How a training run (src/train/run) picks its trainer: the CPU Trainer (optimizer in TypeScript or
// WebAssembly over host arrays), or on `device: webgpu` the DeviceTrainer, whose graph ends in the
// optimizer update so parameters and state never leave the GPU between steps.

import type { SessionOptions } from '../../graph/index.js';
import { formatAdapter } from '../../graph/index.js';
import type { ChainOptimizer } from '../../optim/index.js';
import { Trainer, type TrainingGraphLike } from '../trainer.js';
import type { GradNormProbe } from '../run/grad-norm.js';
import type { Model } from '../../graph/index.js';
import { DeviceTrainer } from './device-trainer.js';

export type RunTrainer = Trainer | DeviceTrainer;

/** Session options of every session a run opens (reference pass, embeddings, training). */
export function runSession(config: { threads: number; device?: SessionOptions['provider']; adapter?: string }): SessionOptions {
  return { intraOpThreads: config.threads, provider: config.device ?? 'cpu', ...(config.adapter !== undefined && { adapter: config.adapter }) };
}

export interface RunTrainerSpec {
  training: TrainingGraphLike;
  source: Model;
  /** The run's spike probe around the optimizer createOptimizer made. */
  probe: GradNormProbe;
  metrics: string[];
  session: SessionOptions;
}

export async function createRunTrainer(spec: RunTrainerSpec): Promise<RunTrainer> {
  const { training, source, probe, metrics, session } = spec;
  if (session.provider !== 'webgpu') return Trainer.create({ training, source, optimizer: probe, metrics, session });
  return DeviceTrainer.create({ training, source, optimizer: probe.inner as ChainOptimizer, metrics, session, onGradNorm: (n) => probe.observe(n) });
}

/** Bring the trainer's host arrays up to date (a no-op on the CPU, where they are the live ones). */
export async function syncTrainer(t: RunTrainer): Promise<void> {
  if (t instanceof DeviceTrainer) await t.sync();
}

/** The startup line of a device run: where it trains and what runs there. */
export function deviceLine(t: RunTrainer, optimizer: string): string | undefined {
  if (!(t instanceof DeviceTrainer)) return undefined;
  const d = t.device;
  return `training on ${d.provider}${d.adapter ? ` (${formatAdapter(d.adapter)})` : ''}: forward, loss, backward and the ${optimizer} update in one graph, parameters and optimizer state on the device`;
}
