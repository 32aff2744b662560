// The files a run writes into its output directory besides the exported model: never copied from a
// source model directory into an export (a model trained by an earlier run carries that run's).

export const RUN_FILES = {
  checkpoint: 'checkpoint.safetensors',
  config: 'run-config.json',
  metrics: 'metrics.jsonl',
  curves: 'training-curves.svg',
  card: 'README.md',
  /** A separate PPO critic, trained beside the policy (src/train/rl/critic.ts). */
  critic: 'critic',
} as const;
