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
const EXTRA = 'extra/';

/** JSON-serialisable state owned by the caller (data sampler position, RNG state, ...). */
export type ResumeState = Record<string, unknown>;

/** A trainer's parameters and optimizer state as named tensors (the checkpoint's layout, also used for a second trainer's, a separate critic's, under a prefix). */
export function trainerTensors(trainer: CheckpointTarget): Map<string, Tensor> {
  const tensors = new Map<string, Tensor>();
  for (const p of trainer.params) tensors.set(PARAM + p.name, { dtype: 'float32', dims: p.dims, data: p.data });
  for (const [k, t] of trainer.optimizer.state()) tensors.set(OPTIM + k, t);
  return tensors;
}

/** Restore what trainerTensors saved (the step counter is the caller's); `where` names the file in errors. */
export function restoreTrainer(trainer: CheckpointTarget, tensors: ReadonlyMap<string, Tensor>, where: string): void {
  const params = new Map<string, Float32Array>();
  const optim = new Map<string, Tensor>();
  for (const [k, t] of tensors) {
    if (k.startsWith(PARAM)) params.set(k.slice(PARAM.length), t.data as Float32Array);
    else if (k.startsWith(OPTIM)) optim.set(k.slice(OPTIM.length), t);
  }
  try {
    trainer.setParams(params);
  } catch (e) {
    throw fail('ALIGNKIT_ERR_STATE', `${where}: ${(e as Error).message}`, { file: where }, e);
  }
  trainer.optimizer.loadState(optim);
}

/** `extra`: tensors of the run's other trained state (a separate critic's parameters and optimizer state), saved under `extra/`. */
export function saveCheckpoint(file: string, trainer: CheckpointTarget, resume: ResumeState = {}, extra: ReadonlyMap<string, Tensor> = new Map()): void {
  const tensors = trainerTensors(trainer);
  for (const [k, t] of extra) tensors.set(EXTRA + k, t);
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

/** Restore a trainer from `file`; returns the caller's resume state, and hands the `extra` tensors saveCheckpoint was given to `extra`. */
export function loadCheckpoint(file: string, trainer: CheckpointTarget, extra?: (tensors: Map<string, Tensor>) => void): ResumeState {
  const { tensors, metadata } = loadSafetensors(file);
  if (metadata.format !== FORMAT) throw fail('ALIGNKIT_ERR_STATE', `${file} is not an alignkit checkpoint (format ${metadata.format ?? 'missing'})`, { file });
  restoreTrainer(trainer, tensors, file);
  trainer.stepCount = Number(metadata.step);
  extra?.(new Map([...tensors].filter(([k]) => k.startsWith(EXTRA)).map(([k, t]) => [k.slice(EXTRA.length), t])));
  return JSON.parse(metadata.resume ?? '{}') as ResumeState;
}
