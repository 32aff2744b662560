// `alignkit pairs`: on-policy preference pairs. Samples n responses per prompt from a causal LM
// (optionally GenARM-guided), scores them with a reward model and writes the best and the worst as
// a JSONL preference dataset (prompt, chosen, rejected, their scores), ready for `alignkit train`.

import fs from 'node:fs';
import { readPrompts } from '../../datasets/index.js';
import { fail } from '../../errors.js';
import { loadRewardModelSpec } from '../../eval/index.js';
import { Generator, sampleRankedPairs, type GenerationConfig } from '../../generate/index.js';
import type { Command, FlagTable } from '../registry.js';
import { numberFlag, parseFlags, usageText } from '../options.js';
import { DEVICE_FLAGS, deviceSession } from '../device.js';
import { withProgress } from '../progress.js';
import { GENERATION_FIELD_FLAGS, parseArm } from './generate.js';

const FLAGS: FlagTable = {
  base: { type: 'string', value: 'DIR', help: 'causal LM that writes the candidates (Hugging Face layout)' },
  judge: { type: 'string', value: 'MODEL', help: "reward model ranking them: a directory, or KIND:DIR as in 'alignkit eval rm' (flr:DIR, ...)" },
  prompts: { type: 'string', value: 'FILE', help: "prompts from a dataset file (a 'prompt' column, or the prompts of a preference dataset)" },
  out: { type: 'string', value: 'FILE', help: 'JSONL output: prompt, chosen, rejected, chosen_score, rejected_score, chosen_finish, rejected_finish' },
  n: { type: 'string', value: 'N', shownDefault: 4, help: 'candidates per prompt; the best and the worst form the pair, ties are dropped' },
  arm: { type: 'string', multiple: true, value: 'DIR:ALPHA', help: 'GenARM guidance of the base; repeatable' },
  temperature: { type: 'string', value: 'T', shownDefault: 1, help: 'sampling temperature' },
  'top-k': { type: 'string', value: 'K', help: 'keep the K most likely tokens' },
  'top-p': { type: 'string', value: 'P', help: 'keep the smallest set of tokens with probability mass P' },
  'max-tokens': { type: 'string', value: 'N', shownDefault: 64, help: 'new tokens at most per candidate' },
  'max-prompt-tokens': { type: 'string', value: 'N', help: 'keep the last N prompt tokens when decoding (the judge scores the whole prompt)' },
  seed: { type: 'string', value: 'S', shownDefault: 0, help: 'candidate j of batch b samples with seed S + b * n + j' },
  batch: { type: 'string', value: 'B', shownDefault: 16, help: 'prompts decoded together' },
  limit: { type: 'string', value: 'N', help: 'read at most N prompts' },
  'no-progress': { type: 'boolean', help: 'no progress on standard error' },
  ...DEVICE_FLAGS,
};

const USAGE = usageText({
  synopsis: 'alignkit pairs --base DIR --judge MODEL --prompts FILE --out FILE [flags]',
  description: 'Samples n responses per prompt, ranks them with a reward model and writes the best and the worst as a\nJSONL preference dataset, ready for alignkit train.',
  flags: FLAGS,
});

export const pairsCommand: Command = {
  name: 'pairs',
  summary: 'sample n responses per prompt, rank them with a reward model, write best-vs-worst preference pairs',
  usage: USAGE,
  flags: FLAGS,
  fieldFlags: GENERATION_FIELD_FLAGS,
  async run(argv) {
    const { values: v } = parseFlags('pairs', FLAGS, argv);
    const values = v as Record<string, string | undefined> & { arm?: string[] };
    for (const flag of ['base', 'judge', 'prompts', 'out'] as const)
      if (!values[flag]) throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `missing --${flag} (alignkit pairs --help)`, { parameter: flag });
    const n = numberFlag(values.n, 'n') ?? 4;
    if (!Number.isInteger(n) || n < 2) throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `--n must be an integer of at least 2 (the best and the worst of n form a pair), got ${values.n}`, { parameter: 'n' });
    const maxPromptTokens = numberFlag(values['max-prompt-tokens'], 'max-prompt-tokens');
    if (maxPromptTokens !== undefined && (!Number.isInteger(maxPromptTokens) || maxPromptTokens < 1))
      throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `--max-prompt-tokens must be a positive integer, got ${values['max-prompt-tokens']}`, { parameter: 'max-prompt-tokens' });
    const prompts = await readPrompts(values.prompts!, numberFlag(values.limit, 'limit') ?? Infinity);
    const session = deviceSession(values);
    const gen = await Generator.load(values.base!, (values.arm ?? []).map(parseArm), session);
    const judge = await loadRewardModelSpec(values.judge!, session);
    const config: Partial<GenerationConfig> = {
      temperature: numberFlag(values.temperature, 'temperature') ?? 1,
      topK: numberFlag(values['top-k'], 'top-k'),
      topP: numberFlag(values['top-p'], 'top-p'),
      maxNewTokens: numberFlag(values['max-tokens'], 'max-tokens'),
      seed: numberFlag(values.seed, 'seed') ?? 0,
    };
    for (const k of Object.keys(config) as (keyof GenerationConfig)[]) if (config[k] === undefined) delete config[k];
    const { pairs, ties } = await withProgress({ total: prompts.length, unit: 'prompts', label: 'alignkit pairs', enabled: !v['no-progress'] }, (bar) =>
      sampleRankedPairs(gen, prompts, async (items) => (await judge.score(items, { truncate: true })).map((s) => s[0]!), {
        n,
        batchSize: numberFlag(values.batch, 'batch'),
        maxPromptTokens,
        config,
        onProgress: (done) => bar.update(done),
      }),
    );
    fs.writeFileSync(values.out!, pairs.map((p) => `${JSON.stringify(p)}\n`).join(''));
    console.log(`${pairs.length} pairs from ${prompts.length} prompts written to ${values.out} (${ties} prompts dropped: every candidate scored the same)`);
    return 0;
  },
};
