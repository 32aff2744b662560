// The model card (README.md) written next to a trained model: what it was trained from, on what,
// how long, and the measured numbers of the run (Hugging Face model-card layout: YAML front
// matter, then prose and tables).

import path from 'node:path';
import type { RunConfig } from './config.js';

export interface CardFacts {
  config: RunConfig;
  steps: number;
  seconds: number;
  trainExamples: number;
  evalExamples: number;
  skippedRows: number;
  trainableParameters: number;
  finalTrain: Record<string, number>;
  finalEval?: Record<string, number>;
  gradientSpikes: number;
}

const fmt = (v: number) => (Math.abs(v) >= 1e4 || (Math.abs(v) < 1e-3 && v !== 0) ? v.toExponential(3) : v.toFixed(4));

function metricTable(metrics: Record<string, number>): string {
  return ['| metric | value |', '| --- | --- |', ...Object.entries(metrics).map(([k, v]) => `| ${k} | ${fmt(v)} |`)].join('\n');
}

export function modelCard(f: CardFacts): string {
  const c = f.config;
  const lines = [
    '---',
    'library_name: alignkit',
    `base_model: ${path.basename(path.resolve(c.model))}`,
    `tags: [${[...new Set(['alignkit', c.kind, c.loss])].join(', ')}]`,
    '---',
    '',
    `# ${path.basename(path.resolve(c.output))}`,
    '',
    `Trained by \`alignkit train ${c.kind}\` from \`${c.model}\` with the \`${c.loss}\` loss and the \`${c.optimizer}\` optimizer (lr ${c.lr}, ${c.schedule} schedule).`,
    '',
    `- Data: \`${c.data}\`: ${f.trainExamples} training and ${f.evalExamples} held-out examples (eval fraction ${c.evalFraction}, split by id hash with seed ${c.seed}); ${f.skippedRows} bad rows skipped.`,
    `- Trained: ${c.train === 'lora' ? `LoRA rank ${c.lora.rank}, alpha ${c.lora.alpha}, merged into the weights` : c.train} (${f.trainableParameters} trainable values), ${f.steps} steps of ${c.batchSize} examples (micro-batch ${c.microBatchSize}), max length ${c.maxLength}, seed ${c.seed}.`,
    ...(c.head !== 'linear' ? [`- Reward head: \`${c.head}\` ${JSON.stringify(c.headHp)} (see \`alignkit_reward_head\` in config.json).`] : []),
    ...(c.rl ? [`- Online: each step sampled ${c.rl.promptsPerStep} prompts x ${c.rl.samplesPerPrompt} responses of at most ${c.rl.maxNewTokens} tokens, scored by ${c.rl.reward.map((r) => `\`${r}\``).join(', ')}${c.rl.reward.length > 1 ? ` (${c.rl.combine})` : ''}, KL to \`${c.rl.reference ?? c.model}\` (coefficient ${c.rl.klCoef}${c.rl.klTarget !== undefined ? `, adaptive toward ${c.rl.klTarget}` : ''}), ${c.rl.epochs} epoch(s) per batch.`] : []),
    `- Time: ${f.seconds.toFixed(1)} s on this machine's CPU (onnxruntime, ${c.threads} threads). Gradient spikes (norm > ${c.spikeFactor}x its running mean): ${f.gradientSpikes}.`,
    '',
    '## Last training step',
    '',
    metricTable(f.finalTrain),
    '',
  ];
  if (f.finalEval) lines.push('## Held-out evaluation (end of run)', '', metricTable(f.finalEval), '');
  lines.push('The run configuration is in `run-config.json`, every logged step in `metrics.jsonl`, the curves in `training-curves.svg`.', '');
  return lines.join('\n');
}
