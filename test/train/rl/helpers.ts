// A seconds-long online run on the fixture models: tiny-gpt2 as the policy (and, for RTO, as its
// own DPO policy), tiny-gpt2-rm as the reward, the prompts of the hh-rlhf sample (their last 24
// tokens: most are longer), and a run stopped and resumed beside an uninterrupted one.
import path from 'node:path';
import { expect } from 'vitest';
import { resolveRunConfig, runTraining, RUN_FILES, type RunConfig, type TrainKind } from '../../../src/train/run/index.js';
import type { RlSettings } from '../../../src/train/rl/index.js';
import { copySample, readJsonl, TINY_LM, TINY_RM } from '../run/helpers.js';

export const PROMPTS = 'hh_rlhf_harmless_base_test.200.jsonl';

export function onlineConfig(kind: TrainKind, dir: string, over: Partial<Omit<RunConfig, 'rl'>> & { rl?: Partial<RlSettings> } = {}): RunConfig {
  const { rl, ...rest } = over;
  return resolveRunConfig({
    kind,
    model: TINY_LM,
    data: copySample(dir, PROMPTS),
    output: path.join(dir, `out-${kind}`),
    limit: 24,
    evalFraction: 0.25,
    batchSize: 4,
    microBatchSize: 2,
    maxLength: 48,
    maxPromptLength: 24,
    steps: 3,
    lr: 1e-3,
    progress: false,
    threads: 1,
    cacheDir: path.join(dir, 'cache'),
    rl: { reward: [TINY_RM], onLongPrompt: 'truncate', promptsPerStep: 4, maxNewTokens: 8, evalPrompts: 4, ...(kind === 'rto' && { dpoModel: TINY_LM }), ...rl } as RlSettings,
    ...rest,
  });
}

/** A metrics line without its wall-clock rates and phase times. */
export const untimed = (r: Record<string, unknown>) => Object.fromEntries(Object.entries(r).filter(([k]) => !k.startsWith('time/') && !k.endsWith('_per_s')));

/** The run straight to its end (OUTPUT/a), and stopped after `stopAfter` rollout batches then resumed (OUTPUT/b): both results and metrics. */
export async function stopAndResume(config: RunConfig, stopAfter: number) {
  const straight = await runTraining({ ...config, output: path.join(config.output, 'a') });
  let done = 0;
  const b = { ...config, output: path.join(config.output, 'b') };
  const stopped = await runTraining(b, { onStep: (s) => (done = s), shouldStop: () => done >= stopAfter });
  expect(stopped.interrupted).toBe(true);
  const resumed = await runTraining({ ...b, resume: true });
  return { straight, resumed, a: readJsonl(path.join(config.output, 'a', RUN_FILES.metrics)), b: readJsonl(path.join(b.output, RUN_FILES.metrics)) };
}
