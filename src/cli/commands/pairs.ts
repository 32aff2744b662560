// `alignkit pairs`: on-policy preference pairs. Samples n responses per prompt from a causal LM
// (optionally GenARM-guided), scores them with a reward model and writes the best and the worst as
// a JSONL preference dataset (prompt, chosen, rejected, their scores), ready for `alignkit train`.

import fs from 'node:fs';
import { parseArgs } from 'node:util';
import { readPrompts } from '../../datasets/index.js';
import { fail } from '../../errors.js';
import { loadRewardModelSpec } from '../../eval/index.js';
import { Generator, sampleRankedPairs, type GenerationConfig } from '../../generate/index.js';
import type { Command } from '../registry.js';
import { numberFlag } from '../options.js';
import { countBar } from '../progress.js';
import { parseArm } from './generate.js';

const USAGE = `usage: alignkit pairs --base DIR --judge MODEL --prompts FILE --out FILE
                     [--n 4] [--arm DIR:ALPHA ...] [--temperature T] [--top-k K] [--top-p P]
                     [--max-tokens N] [--max-prompt-tokens N] [--seed S] [--batch B] [--limit N]

  --base DIR       causal LM that writes the candidates (Hugging Face layout)
  --judge MODEL    reward model ranking them: a directory, or KIND:DIR as in 'alignkit eval rm' (flr:DIR, ...)
  --prompts FILE   prompts from a dataset file (a 'prompt' column, or the prompts of a preference dataset)
  --max-prompt-tokens N  keep the last N prompt tokens when decoding (the judge scores the whole prompt)
  --n N            candidates per prompt (default 4); the best and the worst form the pair, ties are dropped
  --out FILE       JSONL output: prompt, chosen, rejected, chosen_score, rejected_score, chosen_finish, rejected_finish`;

export const pairsCommand: Command = {
  name: 'pairs',
  summary: 'sample n responses per prompt, rank them with a reward model, write best-vs-worst preference pairs',
  usage: USAGE,
  async run(argv) {
    const { values } = parseArgs({
      args: argv,
      options: {
        base: { type: 'string' }, judge: { type: 'string' }, prompts: { type: 'string' }, out: { type: 'string' }, n: { type: 'string' },
        arm: { type: 'string', multiple: true }, temperature: { type: 'string' }, 'top-k': { type: 'string' }, 'top-p': { type: 'string' },
        'max-tokens': { type: 'string' }, 'max-prompt-tokens': { type: 'string' }, seed: { type: 'string' }, batch: { type: 'string' }, limit: { type: 'string' },
      },
    });
    for (const flag of ['base', 'judge', 'prompts', 'out'] as const)
      if (!values[flag]) throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `--${flag} is required\n${USAGE}`, { parameter: flag });
    const prompts = await readPrompts(values.prompts!, numberFlag(values.limit, 'limit') ?? Infinity);
    const gen = await Generator.load(values.base!, (values.arm ?? []).map(parseArm));
    const judge = await loadRewardModelSpec(values.judge!);
    const config: Partial<GenerationConfig> = {
      temperature: numberFlag(values.temperature, 'temperature') ?? 1,
      topK: numberFlag(values['top-k'], 'top-k'),
      topP: numberFlag(values['top-p'], 'top-p'),
      maxNewTokens: numberFlag(values['max-tokens'], 'max-tokens'),
      seed: numberFlag(values.seed, 'seed') ?? 0,
    };
    for (const k of Object.keys(config) as (keyof GenerationConfig)[]) if (config[k] === undefined) delete config[k];
    const bar = countBar(prompts.length, 'prompts');
    const { pairs, ties } = await sampleRankedPairs(gen, prompts, async (items) => (await judge.score(items, { truncate: true })).map((s) => s[0]!), {
      n: numberFlag(values.n, 'n') ?? 4,
      batchSize: numberFlag(values.batch, 'batch'),
      maxPromptTokens: numberFlag(values['max-prompt-tokens'], 'max-prompt-tokens'),
      config,
      onProgress: (done) => bar.update(done),
    });
    bar.stop();
    fs.writeFileSync(values.out!, pairs.map((p) => `${JSON.stringify(p)}\n`).join(''));
    console.log(`${pairs.length} pairs from ${prompts.length} prompts written to ${values.out} (${ties} prompts dropped: every candidate scored the same)`);
    return 0;
  },
};
