// `alignkit eval policy`: implicit-reward accuracy and KL of a trained policy against its reference
// on held-out pairs (src/train/run/eval-policy.ts), registered as a subcommand of `alignkit eval`.

import { parseArgs } from 'node:util';
import { fail } from '../../errors.js';
import { evaluatePolicy } from '../../train/run/index.js';
import { numberFlag } from '../options.js';
import { DEVICE_OPTIONS, DEVICE_USAGE, deviceSession } from '../device.js';

export const EVAL_POLICY_USAGE = `usage: alignkit eval policy --model DIR --reference DIR --data FILE
                           [--eval-fraction F --seed S] [--beta B] [--max-length N] [--max-prompt-length N]
                           [--limit N] [--skip-bad-rows] [--json]

  --model DIR        the trained policy (Hugging Face layout)
  --reference DIR    the model it was trained from
  --data FILE        paired preference data
  --eval-fraction F  evaluate only the held-out split of a run with this eval fraction and --seed
${DEVICE_USAGE}`;

export async function evalPolicy(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      model: { type: 'string' },
      reference: { type: 'string' },
      data: { type: 'string' },
      'eval-fraction': { type: 'string' },
      seed: { type: 'string' },
      beta: { type: 'string' },
      'max-length': { type: 'string' },
      'max-prompt-length': { type: 'string' },
      limit: { type: 'string' },
      'skip-bad-rows': { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      ...DEVICE_OPTIONS,
    },
  });
  for (const k of ['model', 'reference', 'data'] as const)
    if (!values[k]) throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `eval policy needs --${k}\n\n${EVAL_POLICY_USAGE}`, { parameter: k });
  const r = await evaluatePolicy({
    model: values.model!,
    reference: values.reference!,
    data: values.data!,
    evalFraction: numberFlag(values['eval-fraction'], 'eval-fraction'),
    seed: numberFlag(values.seed, 'seed'),
    beta: numberFlag(values.beta, 'beta'),
    maxLength: numberFlag(values['max-length'], 'max-length'),
    maxPromptLength: numberFlag(values['max-prompt-length'], 'max-prompt-length'),
    limit: numberFlag(values.limit, 'limit'),
    onBadRow: values['skip-bad-rows'] ? 'skip' : 'error',
    session: deviceSession(values),
  });
  if (values.json) console.log(JSON.stringify(r, null, 2));
  else
    console.log(
      `${r.pairs} pairs (${r.skipped} bad rows skipped): implicit-reward accuracy ${(100 * r.rewardAccuracy).toFixed(1)}%, ` +
        `margin ${r.rewardMargin.toFixed(4)} (beta ${r.beta}), KL estimate ${r.kl.toFixed(4)} nats/sequence (${r.klPerToken.toFixed(4)} per token)`,
    );
  return 0;
}
