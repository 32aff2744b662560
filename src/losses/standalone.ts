// Any loss on its own over given arrays: the same definition the training graph splices, plus its
// backward from the autodiff, in one small onnxruntime session. Returns the loss, metrics, next
// state and the gradient with respect to every policy-side input. This is how each loss is tested
// and how a user evaluates one.

import { Session, type Tensor } from '../graph/index.js';
import { buildTrainingGraph } from '../graph/autodiff/index.js';
import { resolveLoss, type LossEvaluation } from './evaluate.js';
import { buildLossProgram, type LossArrays } from './program.js';
import type { ConfiguredLoss } from './types.js';

export interface LossRun extends LossEvaluation {
  /** d loss / d input for every policy-side input (zeros where the loss does not depend on it, e.g. KTO's detached KL pass). */
  gradients: Record<string, Float32Array>;
}

const scalarOf = (t: Tensor | undefined) => Number((t!.data as Float32Array)[0]);

/** Loss, metrics, state and gradients of a loss (by name with hyperparameters, or configured) over arrays. */
export async function runLoss(nameOrLoss: string | ConfiguredLoss, hp: Record<string, unknown>, arrays: LossArrays): Promise<LossRun> {
  const program = buildLossProgram(resolveLoss(nameOrLoss, hp), arrays, { differentiable: true });
  const outputs = [...Object.values(program.metricOutputs), ...Object.values(program.stateOutputs)];
  const training = buildTrainingGraph({ model: program.model, loss: program.lossOutput, trainable: program.policyInputs, outputs });
  const feeds: Record<string, Tensor> = { ...program.feeds };
  for (const p of program.policyInputs) feeds[p] = program.tensors[p]!;
  const session = await Session.create(training.model, { intraOpThreads: 1 });
  try {
    const out = await session.run(feeds);
    const gradients: Record<string, Float32Array> = {};
    for (const p of program.policyInputs) {
      const name = training.gradients.get(p);
      const size = program.tensors[p]!.data.length;
      gradients[p] = name && out[name] ? Float32Array.from(out[name]!.data as Float32Array) : new Float32Array(size);
    }
    return {
      loss: scalarOf(out[program.lossOutput]),
      metrics: Object.fromEntries(Object.entries(program.metricOutputs).map(([k, v]) => [k, scalarOf(out[v])])),
      state: Object.fromEntries(Object.entries(program.stateOutputs).map(([k, v]) => [k, scalarOf(out[v])])),
      gradients,
    };
  } finally {
    await session.release();
  }
}
