// `alignkit generate`: plain or GenARM-guided decoding from the command line, one JSONL line per
// prompt with the text, token counts and per-token log-probs under the base and each ARM.

import fs from 'node:fs';
import { streamPrompts, type PromptRow } from '../../datasets/index.js';
import { fail } from '../../errors.js';
import { checkLongPromptPolicy, DEFAULT_GENERATION, Generator, type ArmSpec, type GenerationConfig } from '../../generate/index.js';
import type { Command, FlagTable } from '../registry.js';
import { numberFlag, parseFlags, usageText } from '../options.js';
import { DEVICE_FLAGS, deviceSession, formatDevice } from '../device.js';
import { progress } from '../progress.js';
import { generateRow, promptTokenLimit, skippedSummary, type GenerateRowsSettings } from '../work/generate.js';

/** Sampling flags shared with the commands that decode (pairs, jobs submit generate). */
export const SAMPLING_FLAGS: FlagTable = {
  temperature: { type: 'string', value: 'T', shownDefault: DEFAULT_GENERATION.temperature, help: "sampling temperature; with ARMs, GenARM's T" },
  'top-k': { type: 'string', value: 'K', help: 'keep the K most likely tokens' },
  'top-p': { type: 'string', value: 'P', help: 'keep the smallest set of tokens with probability mass P' },
  'repetition-penalty': { type: 'string', value: 'R', help: 'divide the scores of tokens already in the text by R' },
  'max-tokens': { type: 'string', value: 'N', shownDefault: DEFAULT_GENERATION.maxNewTokens, help: 'new tokens at most per prompt' },
  greedy: { type: 'boolean', help: 'take the most likely token instead of sampling' },
  seed: { type: 'string', value: 'S', shownDefault: DEFAULT_GENERATION.seed, help: 'row i samples with a seed derived from (S, i): rows differ, a rerun repeats them' },
  stop: { type: 'string', multiple: true, value: 'STRING', help: 'stop a row when its text contains STRING (cut off)' },
};

export const FLAGS: FlagTable = {
  base: { type: 'string', value: 'DIR', help: 'causal LM directory (Hugging Face layout with onnx/model.onnx)' },
  arm: { type: 'string', multiple: true, value: 'DIR:ALPHA', help: 'autoregressive reward model guiding the base with weight ALPHA (GenARM); repeatable' },
  prompt: { type: 'string', multiple: true, value: 'TEXT', help: 'a prompt; repeatable' },
  prompts: { type: 'string', value: 'FILE', help: "prompts from a dataset file (a 'prompt' column, or the prompts of a preference dataset)" },
  ...SAMPLING_FLAGS,
  'max-prompt-tokens': { type: 'string', value: 'N', help: "longest prompt in tokens (default and upper bound: the model's positions less --max-tokens)" },
  'on-long-prompt': { type: 'string', value: 'fail|skip|truncate', default: 'fail', help: 'a longer prompt stops the run naming its row, is skipped (listed at the end), or keeps its last N tokens' },
  limit: { type: 'string', value: 'N', help: 'read at most N prompts from --prompts' },
  out: { type: 'string', value: 'FILE', help: 'JSONL output (default: standard output)' },
  ...DEVICE_FLAGS,
  'no-progress': { type: 'boolean', help: 'no progress bar / progress lines on standard error' },
};

/** Library names that errors may mention, as the flags that set them. */
export const GENERATION_FIELD_FLAGS = { maxNewTokens: 'max-tokens', maxPromptTokens: 'max-prompt-tokens', onLongPrompt: 'on-long-prompt', topK: 'top-k', topP: 'top-p', repetitionPenalty: 'repetition-penalty' };

const USAGE = usageText({
  synopsis: 'alignkit generate --base DIR [--arm DIR:ALPHA ...] (--prompt TEXT ... | --prompts FILE) [flags]',
  description: 'Decodes each prompt alone and writes one JSONL line per prompt: {row, prompt, text, numTokens, tokens,\nfinishReason, baseLogprobs, armLogprobs}.',
  flags: FLAGS,
});

/** `DIR:ALPHA`, split at the last colon so directory names may contain colons. */
export function parseArm(spec: string): ArmSpec {
  const at = spec.lastIndexOf(':');
  const alpha = Number(spec.slice(at + 1));
  if (at <= 0 || !Number.isFinite(alpha)) throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `--arm must be DIR:ALPHA with a numeric ALPHA, got '${spec}'`, { parameter: 'arm' });
  return { dir: spec.slice(0, at), alpha };
}

type Values = Record<string, string | boolean | string[] | undefined>;
const str = (v: Values, k: string) => v[k] as string | undefined;

/** The GenerationConfig the sampling flags describe (absent flags left to the library defaults). */
export function samplingConfig(v: Values): Partial<GenerationConfig> {
  const cfg: Partial<GenerationConfig> = {
    sampler: v.greedy ? 'greedy' : 'sample',
    temperature: numberFlag(str(v, 'temperature'), 'temperature'),
    topK: numberFlag(str(v, 'top-k'), 'top-k'),
    topP: numberFlag(str(v, 'top-p'), 'top-p'),
    repetitionPenalty: numberFlag(str(v, 'repetition-penalty'), 'repetition-penalty'),
    maxNewTokens: numberFlag(str(v, 'max-tokens'), 'max-tokens'),
    seed: numberFlag(str(v, 'seed'), 'seed'),
    stop: v.stop as string[] | undefined,
  };
  for (const k of Object.keys(cfg) as (keyof GenerationConfig)[]) if (cfg[k] === undefined) delete cfg[k];
  return cfg;
}

/** The decoding settings of `generate` (and `jobs submit generate`) from its flags. */
export function generateSettings(v: Values): Omit<GenerateRowsSettings, 'source'> {
  return {
    config: samplingConfig(v),
    maxPromptTokens: numberFlag(str(v, 'max-prompt-tokens'), 'max-prompt-tokens'),
    onLongPrompt: checkLongPromptPolicy(str(v, 'on-long-prompt') ?? 'fail'),
  };
}

async function run(argv: string[]): Promise<number> {
  const { values } = parseFlags('generate', FLAGS, argv);
  const v = values;
  if (!v.base) throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', 'missing --base DIR (alignkit generate --help)', { parameter: 'base' });
  const given = v.prompt as string[] | undefined;
  if (!given?.length && !v.prompts) throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', 'give --prompt TEXT or --prompts FILE (alignkit generate --help)', { parameter: 'prompt' });
  if (given?.length && v.prompts) throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', 'give --prompt TEXT or --prompts FILE, not both', { parameter: 'prompts' });
  const limit = numberFlag(str(v, 'limit'), 'limit') ?? Infinity;
  const settings: GenerateRowsSettings = { ...generateSettings(v), source: (v.prompts as string | undefined) ?? '--prompt' };
  const prompts: PromptRow[] = [];
  if (given?.length) given.forEach((prompt, row) => prompts.push({ prompt, row }));
  else for await (const p of streamPrompts(v.prompts as string, { to: limit })) prompts.push(p);
  const session = deviceSession(v);
  const gen = await Generator.load(v.base as string, ((v.arm as string[] | undefined) ?? []).map(parseArm), session);
  if (session.provider) console.error(`alignkit generate: ${formatDevice(gen.base.session.device)}`);
  const tokenLimit = promptTokenLimit(gen, settings.config.maxNewTokens ?? DEFAULT_GENERATION.maxNewTokens, settings.maxPromptTokens);
  const out = v.out ? fs.createWriteStream(v.out as string) : process.stdout;
  const bar = progress({ total: prompts.length, unit: 'prompts', label: 'alignkit generate', enabled: !v['no-progress'] });
  const skipped: { row: number; reason: string }[] = [];
  let written = 0;
  try {
    for (const [i, item] of prompts.entries()) {
      const outcome = await generateRow(gen, item, settings, tokenLimit);
      if ('skipped' in outcome) skipped.push(outcome.skipped);
      else {
        out.write(`${JSON.stringify(outcome.record)}\n`);
        written++;
      }
      bar.update(i + 1);
    }
  } finally {
    bar.stop();
    if (v.out) await new Promise<void>((resolve) => (out as fs.WriteStream).end(resolve));
  }
  const summary = skippedSummary(skipped);
  // With the records on standard output, the summary goes to standard error so the JSONL stays clean.
  if (v.out) console.log(`${written} generations written to ${v.out}${summary ? `; ${summary}` : ''}`);
  else if (summary) console.error(`alignkit generate: ${summary}`);
  return 0;
}

export const generateCommand: Command = {
  name: 'generate',
  summary: 'decode from a causal LM, optionally guided by autoregressive reward models (GenARM)',
  usage: USAGE,
  flags: FLAGS,
  fieldFlags: GENERATION_FIELD_FLAGS,
  run,
};
