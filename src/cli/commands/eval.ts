// `alignkit eval rm`: pairwise accuracy of one or more reward models on preference files, overall
// and per subset, next to the length-only and majority baselines (a RewardBench-style table).

import { parseArgs } from 'node:util';
import { fail } from '../../errors.js';
import { REWARD_MODEL_KINDS, evaluateRewardModels, formatPairwiseReport, loadRewardModelSpec } from '../../eval/index.js';
import type { Command } from '../registry.js';
import { evalPolicy } from './eval-policy.js';
import { DEVICE_OPTIONS, DEVICE_USAGE, deviceSession } from '../device.js';

const KIND_LINES = Object.entries(REWARD_MODEL_KINDS)
  .map(([kind, k]) => `                    ${kind}:${k.argument}`)
  .join('\n');

const USAGE = `usage: alignkit eval rm --model SPEC [--model SPEC ...] --data FILE [--data FILE ...]
                       [--limit N] [--batch-size N] [--no-truncate] [--seed S] [--skip-bad-rows] [--json]

  --model SPEC      a reward model; repeatable, one accuracy column each. SPEC is a directory
                    (sequence classifier) or KIND:ARG with KIND one of
${KIND_LINES}
  --data FILE       paired preference data in any format alignkit reads; repeatable. Pairs are grouped
                    by their source field, else by file name; ties are dropped.
  --limit N         at most N pairs per file
  --no-truncate     fail on inputs longer than a model takes (default: cut the prompt's start)
  --seed S          seed of the majority baseline's A/B order (default 0)
  --json            print the report as JSON
${DEVICE_USAGE}`;

function intOption(value: string | undefined, flag: string, min: number): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `--${flag} must be an integer of at least ${min}, got '${value}'`, { parameter: flag });
  return n;
}

async function evalRm(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      model: { type: 'string', multiple: true },
      data: { type: 'string', multiple: true },
      limit: { type: 'string' },
      'batch-size': { type: 'string' },
      'no-truncate': { type: 'boolean', default: false },
      seed: { type: 'string' },
      'skip-bad-rows': { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      ...DEVICE_OPTIONS,
    },
  });
  if (!values.model?.length) throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `eval rm needs at least one --model\n\n${USAGE}`, { parameter: 'model' });
  if (!values.data?.length) throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `eval rm needs at least one --data FILE\n\n${USAGE}`, { parameter: 'data' });
  const models = [];
  const session = deviceSession(values);
  for (const spec of values.model) models.push(await loadRewardModelSpec(spec, session));
  const result = await evaluateRewardModels(models, values.data, {
    limit: intOption(values.limit, 'limit', 1),
    batchSize: intOption(values['batch-size'], 'batch-size', 1),
    truncate: !values['no-truncate'],
    seed: intOption(values.seed, 'seed', 0),
    skipBadRows: values['skip-bad-rows'],
  });
  if (values.json) {
    console.log(JSON.stringify(result, null, 2));
    return 0;
  }
  for (const d of result.data) console.log(`${d.file}: ${d.pairs} pairs (${d.convention}), ${d.tiesDropped} ties dropped, ${d.skipped} bad rows skipped`);
  console.log('');
  console.log(formatPairwiseReport(result.report));
  return 0;
}

const SUBCOMMANDS: Record<string, (argv: string[]) => Promise<number>> = { rm: evalRm, policy: evalPolicy };

export const evalCommand: Command = {
  name: 'eval',
  summary: 'evaluate reward models: pairwise accuracy per subset with length and majority baselines',
  usage: USAGE,
  async run(argv) {
    const [sub, ...rest] = argv;
    const handler = sub === undefined ? undefined : SUBCOMMANDS[sub];
    if (!handler) throw fail('ALIGNKIT_ERR_UNKNOWN_NAME', `eval subcommand must be one of ${Object.keys(SUBCOMMANDS).join(', ')}, got '${sub ?? ''}'\n\n${USAGE}`, { parameter: 'subcommand' });
    return handler(rest);
  },
};
