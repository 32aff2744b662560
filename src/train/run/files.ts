// The files a run writes into its output directory besides the exported model.

/** Files every run writes. */
export const RUN_FILES = {
  checkpoint: 'checkpoint.safetensors',
  config: 'run-config.json',
  metrics: 'metrics.jsonl',
  curves: 'training-curves.svg',
  card: 'README.md',
} as const;

/** A separate PPO critic's directory, written by the runs that have one (src/train/rl/critic.ts). */
export const CRITIC_DIR = 'critic';

/** What an export never copies from its source directory: a model trained by an earlier run carries that run's outputs. */
export const RUN_OUTPUTS: readonly string[] = [...Object.values(RUN_FILES), CRITIC_DIR];
