// `alignkit eval policy`: implicit-reward accuracy and KL of a trained policy against its reference
// on held-out pairs (src/train/run/eval-policy.ts), registered as a subcommand of `alignkit eval`.

import { fail } from '../../errors.js';
import { evaluatePolicy } from '../../train/run/index.js';
import type { Command, FlagTable } from '../registry.js';
import { numberFlag, parseFlags, usageText } from '../options.js';
import { DEVICE_FLAGS, deviceSession } from '../device.js';

const FLAGS: FlagTable = {
  model: { type: 'string', value: 'DIR', help: 'the trained policy (Hugging Face layout)' },
  reference: { type: 'string', value: 'DIR', help: 'the model it was trained from' },
  data: { type: 'string', value: 'FILE', help: 'paired preference data' },
  'eval-fraction': { type: 'string', value: 'F', help: 'evaluate only the held-out split of a run with this eval fraction and --seed' },
  seed: { type: 'string', value: 'S', help: 'seed of that run (with --eval-fraction)' },
  beta: { type: 'string', value: 'B', shownDefault: 0.1, help: 'beta of the implicit reward' },
  'max-length': { type: 'string', value: 'N', help: 'longest prompt + response (tokens)' },
  'max-prompt-length': { type: 'string', value: 'N', help: 'longest prompt kept when cutting' },
  limit: { type: 'string', value: 'N', help: 'read at most N pairs' },
  'skip-bad-rows': { type: 'boolean', help: 'skip rows that fail validation (counted) instead of stopping' },
  json: { type: 'boolean', help: 'print the result as JSON' },
  ...DEVICE_FLAGS,
};

export const EVAL_POLICY_USAGE = usageText({
  synopsis: 'alignkit eval policy --model DIR --reference DIR --data FILE [flags]',
  description: 'Implicit-reward accuracy and KL of a trained policy against its reference on held-out pairs.',
  flags: FLAGS,
});

export async function evalPolicy(argv: string[]): Promise<number> {
  const { values } = parseFlags('eval policy', FLAGS, argv);
  const str = (k: string) => values[k] as string | undefined;
  for (const k of ['model', 'reference', 'data'] as const)
    if (!values[k]) throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `eval policy needs --${k} (alignkit eval policy --help)`, { parameter: k });
  const r = await evaluatePolicy({
    model: str('model')!,
    reference: str('reference')!,
    data: str('data')!,
    evalFraction: numberFlag(str('eval-fraction'), 'eval-fraction'),
    seed: numberFlag(str('seed'), 'seed'),
    beta: numberFlag(str('beta'), 'beta'),
    maxLength: numberFlag(str('max-length'), 'max-length'),
    maxPromptLength: numberFlag(str('max-prompt-length'), 'max-prompt-length'),
    limit: numberFlag(str('limit'), 'limit'),
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

export const evalPolicyCommand: Command = {
  name: 'policy',
  summary: 'implicit-reward accuracy and KL of a trained policy against its reference',
  usage: EVAL_POLICY_USAGE,
  flags: FLAGS,
  fieldFlags: { evalFraction: 'eval-fraction', maxLength: 'max-length', maxPromptLength: 'max-prompt-length', onBadRow: 'skip-bad-rows' },
  run: evalPolicy,
};
