// APO, "Accelerated Preference Optimization" (He, Huang and Gu, 2024, Algorithm 1), offline:
// iterative DPO where round t trains from, and against, the reference pi_{theta_t}, then
// extrapolates with Nesterov momentum,
//   theta_hat_{t+1} = argmin_theta L_DPO(theta; reference pi_{theta_t})        (one runTraining)
//   theta_{t+1}     = theta_hat_{t+1} + alpha (theta_hat_{t+1} - theta_hat_t),   theta_hat_0 = theta_0,
// and returns pi_{theta_{R}}. Each round's reference is a new model, so the reference cache computes
// it once per round. Round r writes OUTPUT/round-r (the DPO result) and the extrapolated model goes
// to OUTPUT/round-r-extrapolated, which the next round starts from; the last one is exported to
// OUTPUT itself. With --resume, rounds whose directory is complete are not run again.
// Online (run config `regenerate`): before each round, new pairs are sampled from the round's
// starting policy and ranked by a reward model (online-pairs.ts); the round trains on them.

import fs from 'node:fs';
import path from 'node:path';
import { fail } from '../../errors.js';
import { loadModel, type Model } from '../../graph/index.js';
import { findOnnxFile } from '../../models/index.js';
import { exportHfDirectory } from '../export.js';
import type { RunConfig } from './config.js';
import { regeneratePairs } from './online-pairs.js';
import { runTraining, RUN_FILES, type RunHooks, type RunResult } from './run.js';

export interface ApoOptions {
  rounds: number;
  /** Nesterov extrapolation coefficient alpha (0: plain iterative DPO). */
  momentum: number;
}

export interface ApoResult {
  rounds: RunResult[];
  outDir: string;
  /** Online rounds: the pairs file of each round run here, with its pair and tie counts. */
  regenerated: { file: string; pairs: number; ties: number }[];
}

/** theta_hat + alpha (theta_hat - previous) for every float32 initializer (graph constants cancel out). */
export function extrapolate(current: Model, previous: Model, alpha: number): Map<string, Float32Array> {
  const out = new Map<string, Float32Array>();
  for (const [name, t] of current.graph.initializers) {
    if (t.dtype !== 'float32') continue;
    const prev = previous.graph.initializers.get(name);
    if (!prev || prev.data.length !== t.data.length) throw fail('ALIGNKIT_ERR_STATE', `APO: initializer ${name} differs in shape between rounds`, { field: name });
    const a = t.data as Float32Array;
    const b = prev.data as Float32Array;
    out.set(name, Float32Array.from(a, (v, i) => v + alpha * (v - b[i]!)));
  }
  return out;
}

export async function runApo(config: RunConfig, opts: ApoOptions, hooks: RunHooks = {}): Promise<ApoResult> {
  if (!Number.isInteger(opts.rounds) || opts.rounds < 1) throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `rounds must be a positive integer, got ${opts.rounds}`, { field: 'rounds' });
  if (!(opts.momentum >= 0 && opts.momentum < 1)) throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `momentum must be in [0, 1), got ${opts.momentum}`, { field: 'momentum' });
  if (config.kind !== 'dpo') throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `APO rounds are iterative DPO: train dpo only, not ${config.kind}`, { field: 'rounds' });
  const results: RunResult[] = [];
  const regenerated: ApoResult['regenerated'] = [];
  let start = config.model;
  let previousHat = config.model;
  for (let r = 1; r <= opts.rounds; r++) {
    const hatDir = path.join(config.output, `round-${r}`);
    const nextDir = r === opts.rounds ? config.output : path.join(config.output, `round-${r}-extrapolated`);
    const done = config.resume && fs.existsSync(path.join(hatDir, RUN_FILES.card)) && fs.existsSync(path.join(nextDir, 'onnx', 'model.onnx'));
    if (!done) {
      let data = config.data;
      if (config.regenerate) {
        data = path.join(config.output, `round-${r}-pairs.jsonl`);
        if (!(config.resume && fs.existsSync(data))) {
          fs.mkdirSync(config.output, { recursive: true });
          const fresh = await regeneratePairs(start, config, r, data);
          regenerated.push({ file: data, pairs: fresh.pairs.length, ties: fresh.ties });
        }
      }
      const result = await runTraining({ ...config, model: start, output: hatDir, data }, hooks);
      results.push(result);
      if (result.interrupted) return { rounds: results, outDir: hatDir, regenerated };
      const hat = loadModel(findOnnxFile(hatDir));
      exportHfDirectory({ model: hat, values: extrapolate(hat, loadModel(findOnnxFile(previousHat)), opts.momentum), outDir: nextDir, sourceDir: hatDir });
    }
    previousHat = hatDir;
    start = nextDir;
  }
  return { rounds: results, outDir: config.output, regenerated };
}
