// Child process of resume.slow.test.ts (run with `node --import src/dev/register-ts.mjs`):
// trains the tiny GPT-2 for `steps` steps, resuming from `ckpt` when it exists, checkpointing
// after every step and printing `step N` once that checkpoint is on disk; at the end it writes the
// parameters to `out`. Usage: resume-child.ts <ckpt> <out> <steps>
import { loadModel, saveSafetensors } from '../../src/graph/index.js';
import { createOptimizer } from '../../src/optim/index.js';
import { hasCheckpoint, loadCheckpoint, prepareCausalLmTraining, saveCheckpoint, TokenWindowSampler, Trainer, type SamplerPosition } from '../../src/train/index.js';
import { shakespeareTokens, TINY_GPT2_ONNX } from './helpers.js';

const [ckpt, out, stepsArg] = process.argv.slice(2);
const steps = Number(stepsArg);
const prep = prepareCausalLmTraining(loadModel(TINY_GPT2_ONNX), { loss: 'next-token' });
const trainer = await Trainer.create({ training: prep.training, source: prep.forward, optimizer: createOptimizer('adamw', { lr: 3e-3, weightDecay: 0.01 }), session: { intraOpThreads: 1 } });
const sampler = new TokenWindowSampler(await shakespeareTokens(8000), { batch: 4, sequence: 32, seed: 11 });
if (hasCheckpoint(ckpt!)) sampler.restore(loadCheckpoint(ckpt!, trainer).sampler as SamplerPosition);
while (trainer.stepCount < steps) {
  await trainer.step([sampler.next(), sampler.next()]);
  saveCheckpoint(ckpt!, trainer, { sampler: sampler.position });
  process.stdout.write(`step ${trainer.stepCount}\n`);
}
saveSafetensors(out!, new Map(trainer.params.map((p) => [p.name, { dtype: 'float32' as const, dims: p.dims, data: p.data }])));
await trainer.release();
