// `alignkit generate`: plain or GenARM-guided decoding from the command line, one JSONL line per
// prompt with the text, token counts and per-token log-probs under the base and each ARM.

import fs from 'node:fs';
import { parseArgs } from 'node:util';
import { readPrompts } from '../../datasets/index.js';
import { fail } from '../../errors.js';
import { Generator, type ArmSpec, type GenerationConfig } from '../../generate/index.js';
import type { Text } from '../../models/index.js';
import type { Command } from '../registry.js';
import { numberFlag } from '../options.js';
import { DEVICE_OPTIONS, DEVICE_USAGE, deviceSession, formatDevice } from '../device.js';

const USAGE = `usage: alignkit generate --base DIR [--arm DIR:ALPHA ...] (--prompt TEXT ... | --prompts FILE)
                        [--temperature T] [--top-k K] [--top-p P] [--repetition-penalty R]
                        [--max-tokens N] [--greedy] [--seed S] [--stop STRING ...] [--limit N] [--out FILE]

  --base DIR        causal LM directory (Hugging Face layout with onnx/model.onnx)
  --arm DIR:ALPHA   autoregressive reward model guiding the base with weight ALPHA (GenARM); repeatable
  --prompt TEXT     a prompt; repeatable
  --prompts FILE    prompts from a dataset file (a 'prompt' column, or the prompts of a preference dataset)
  --temperature T   GenARM's T (default 1); --greedy takes the argmax instead of sampling
  --out FILE        JSONL output (default: standard output)
${DEVICE_USAGE}`;

/** `DIR:ALPHA`, split at the last colon so directory names may contain colons. */
export function parseArm(spec: string): ArmSpec {
  const at = spec.lastIndexOf(':');
  const alpha = Number(spec.slice(at + 1));
  if (at <= 0 || !Number.isFinite(alpha)) throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `--arm must be DIR:ALPHA with a numeric ALPHA, got '${spec}'`, { parameter: 'arm' });
  return { dir: spec.slice(0, at), alpha };
}

export const generateCommand: Command = {
  name: 'generate',
  summary: 'decode from a causal LM, optionally guided by autoregressive reward models (GenARM)',
  usage: USAGE,
  async run(argv) {
    const { values } = parseArgs({
      args: argv,
      options: {
        base: { type: 'string' }, arm: { type: 'string', multiple: true }, prompt: { type: 'string', multiple: true }, prompts: { type: 'string' },
        temperature: { type: 'string' }, 'top-k': { type: 'string' }, 'top-p': { type: 'string' }, 'repetition-penalty': { type: 'string' },
        'max-tokens': { type: 'string' }, greedy: { type: 'boolean' }, seed: { type: 'string' }, stop: { type: 'string', multiple: true },
        limit: { type: 'string' }, out: { type: 'string' }, ...DEVICE_OPTIONS,
      },
    });
    if (!values.base) throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `--base DIR is required\n${USAGE}`, { parameter: 'base' });
    if (!values.prompt?.length && !values.prompts) throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `give --prompt TEXT or --prompts FILE\n${USAGE}`, { parameter: 'prompt' });
    const limit = numberFlag(values.limit, 'limit') ?? Infinity;
    const prompts: Text[] = values.prompt?.length ? values.prompt : await readPrompts(values.prompts!, limit);
    const session = deviceSession(values);
    const gen = await Generator.load(values.base, (values.arm ?? []).map(parseArm), session);
    if (session.provider) console.error(`alignkit generate: ${formatDevice(gen.base.session.device)}`);
    const cfg: Partial<GenerationConfig> = {
      sampler: values.greedy ? 'greedy' : 'sample',
      temperature: numberFlag(values.temperature, 'temperature'),
      topK: numberFlag(values['top-k'], 'top-k'),
      topP: numberFlag(values['top-p'], 'top-p'),
      repetitionPenalty: numberFlag(values['repetition-penalty'], 'repetition-penalty'),
      maxNewTokens: numberFlag(values['max-tokens'], 'max-tokens'),
      seed: numberFlag(values.seed, 'seed'),
      stop: values.stop,
    };
    for (const k of Object.keys(cfg) as (keyof GenerationConfig)[]) if (cfg[k] === undefined) delete cfg[k];
    const out = values.out ? fs.createWriteStream(values.out) : process.stdout;
    // One prompt at a time keeps each line's output independent of its batch-mates' lengths.
    for (const prompt of prompts) {
      const [r] = await gen.generate([prompt], cfg);
      const line = {
        prompt,
        text: r!.text,
        numTokens: r!.tokens.length,
        tokens: r!.tokens,
        finishReason: r!.finishReason,
        baseLogprobs: r!.baseLogprobs,
        armLogprobs: Object.fromEntries(gen.arms.map((a, i) => [a.name, r!.armLogprobs[i]])),
      };
      out.write(`${JSON.stringify(line)}\n`);
    }
    if (values.out) await new Promise<void>((resolve) => (out as fs.WriteStream).end(resolve));
    return 0;
  },
};
