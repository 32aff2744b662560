// Checkpoints: parameters, optimizer state, the step counter and the caller's resumable state (data
// position, RNG state) in ONE safetensors file, written to a temporary name and renamed (by
// saveSafetensors), so a run killed at any moment leaves either the previous checkpoint or the new
// one, never half of one. Resuming restores every bit the next step depends on, so a resumed run
// reproduces an uninterrupted one.

import fs from 'node:fs';
import { fail } from '../errors.js';
import { loadSafetensors, saveSafetensors, type Tensor } from '../graph/index.js';
import type { StepOptimizer, TrainParam } from './trainer.js';

/** What a checkpoint reads and restores (the CPU Trainer and src/train/device's DeviceTrainer after sync()). */
export interface CheckpointTarget {
  readonly params: TrainParam[];
  readonly optimizer: StepOptimizer;
  stepCount: number;
  setParams(values: Map<string, Float32Array>): void;
}

const FORMAT = 'alignkit-checkpoint-v1';
const PARAM = 'param/';
const OPTIM = 'optim/';

/** JSON-serialisable state owned by the caller (data sampler position, RNG state, ...). */
export type ResumeState = Record<string, unknown>;

export function saveCheckpoint(file: string, trainer: CheckpointTarget, resume: ResumeState = {}): void {
  const tensors = new Map<string, Tensor>();
  for (const p of trainer.params) tensors.set(PARAM + p.name, { dtype: 'float32', dims: p.dims, data: p.data });
  for (const [k, t] of trainer.optimizer.state()) tensors.set(OPTIM + k, t);
  saveSafetensors(file, tensors, {
    format: FORMAT,
    step: String(trainer.stepCount),
    optimizerStep: String(trainer.optimizer.stepCount),
    resume: JSON.stringify(resume),
  });
}

export function hasCheckpoint(file: string): boolean {
  return fs.existsSync(file);
}

/** Restore a trainer from `file`; returns the caller's resume state. */
export function loadCheckpoint(file: string, trainer: CheckpointTarget): ResumeState {
  const { tensors, metadata } = loadSafetensors(file);
  if (metadata.format !== FORMAT) throw fail('ALIGNKIT_ERR_STATE', `${file} is not an alignkit checkpoint (format ${metadata.format ?? 'missing'})`, { file });
  const params = new Map<string, Float32Array>();
  const optim = new Map<string, Tensor>();
  for (const [k, t] of tensors) {
    if (k.startsWith(PARAM)) params.set(k.slice(PARAM.length), t.data as Float32Array);
    else if (k.startsWith(OPTIM)) optim.set(k.slice(OPTIM.length), t);
  }
  try {
    trainer.setParams(params);
  } catch (e) {
    throw fail('ALIGNKIT_ERR_STATE', `${file}: ${(e as Error).message}`, { file }, e);
  }
  trainer.optimizer.loadState(optim);
  trainer.stepCount = Number(metadata.step);
  return JSON.parse(metadata.resume ?? '{}') as ResumeState;
}
