// Finite-difference check of a loss's standalone gradients: runLoss (the loss plus the autodiff's
// backward) against central differences of the forward program, coordinate by coordinate over every
// policy-side input, in one session reused for all perturbed runs.

import { Session, type Tensor } from '../../src/graph/index.js';
import { buildLossProgram, createLoss, runLoss, type ConfiguredLoss, type LossArrays } from '../../src/losses/index.js';

export interface FdReport {
  checked: number;
  worst: { input: string; index: number; analytic: number; numeric: number } | undefined;
  failures: { input: string; index: number; analytic: number; numeric: number }[];
  gradients: Record<string, Float32Array>;
}

/** `name`: a registered loss, or a configured one outside the registry (PPO's value loss). `skip`: policy inputs that enter only through a stop-gradient (their analytic gradient is zero by design). */
export async function finiteDifferenceCheck(name: string | ConfiguredLoss, hp: Record<string, unknown>, arrays: LossArrays, opts: { eps?: number; rtol?: number; atol?: number; skip?: string[] } = {}): Promise<FdReport> {
  const eps = opts.eps ?? 1e-3;
  const rtol = opts.rtol ?? 1e-2;
  const atol = opts.atol ?? 3e-4;
  const loss = typeof name === 'string' ? createLoss(name, hp) : name;
  const analytic = await runLoss(loss, {}, arrays);
  const program = buildLossProgram(loss, arrays);
  const session = await Session.create(program.model, { intraOpThreads: 1 });
  const failures: FdReport['failures'] = [];
  let worst: FdReport['worst'];
  let worstRatio = -1;
  let checked = 0;
  try {
    const at = async (feeds: Record<string, Tensor>) => Number(((await session.run(feeds, [program.lossOutput]))[program.lossOutput]!.data as Float32Array)[0]);
    for (const spec of loss.inputs.filter((s) => s.side === 'policy' && !(opts.skip ?? []).includes(s.name))) {
      const base = program.feeds[spec.name]!;
      for (let i = 0; i < base.data.length; i++) {
        const shifted = (delta: number) => {
          const data = Float32Array.from(base.data as Float32Array);
          data[i] = data[i]! + delta;
          return { ...program.feeds, [spec.name]: { ...base, data } };
        };
        const numeric = ((await at(shifted(eps))) - (await at(shifted(-eps)))) / (2 * eps);
        const a = analytic.gradients[spec.name]![i]!;
        const ratio = Math.abs(a - numeric) / (atol + rtol * Math.max(Math.abs(a), Math.abs(numeric)));
        const entry = { input: spec.name, index: i, analytic: a, numeric };
        if (ratio > worstRatio) {
          worstRatio = ratio;
          worst = entry;
        }
        if (ratio > 1) failures.push(entry);
        checked++;
      }
    }
  } finally {
    await session.release();
  }
  return { checked, worst, failures, gradients: analytic.gradients };
}
