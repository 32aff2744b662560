// `alignkit eval rm`: pairwise accuracy of one or more reward models on preference files, overall
// and per subset, next to the length-only and majority baselines (a RewardBench-style table).

import { fail } from '../../errors.js';
import { REWARD_MODEL_KINDS, evaluateRewardModels, formatPairwiseReport, loadRewardModelSpec } from '../../eval/index.js';
import type { RewardModel } from '../../rewards/index.js';
import { runSubcommand, type Command, type FlagTable } from '../registry.js';
import { parseFlags, usageText } from '../options.js';
import { DEVICE_FLAGS, deviceSession } from '../device.js';
import { withProgress } from '../progress.js';
import { evalPolicyCommand } from './eval-policy.js';

const KIND_LINES = Object.entries(REWARD_MODEL_KINDS)
  .map(([kind, k]) => `  ${kind}:${k.argument}`)
  .join('\n');

const RM_FLAGS: FlagTable = {
  model: { type: 'string', multiple: true, value: 'SPEC', help: 'a reward model; repeatable, one accuracy column each (SPEC: see below)' },
  data: { type: 'string', multiple: true, value: 'FILE', help: 'paired preference data in any format alignkit reads; repeatable' },
  limit: { type: 'string', value: 'N', help: 'at most N pairs per file' },
  'batch-size': { type: 'string', value: 'N', shownDefault: 16, help: 'pairs per scoring call' },
  'no-truncate': { type: 'boolean', help: "fail on inputs longer than a model takes (default: cut the prompt's start)" },
  seed: { type: 'string', value: 'S', shownDefault: 0, help: "seed of the majority baseline's A/B order" },
  'skip-bad-rows': { type: 'boolean', help: 'skip rows that fail validation (counted) instead of stopping' },
  json: { type: 'boolean', help: 'print the report as JSON' },
  'no-progress': { type: 'boolean', help: 'no progress on standard error' },
  ...DEVICE_FLAGS,
};

const RM_USAGE = usageText({
  synopsis: 'alignkit eval rm --model SPEC [--model SPEC ...] --data FILE [--data FILE ...] [flags]',
  description: 'Pairwise accuracy (RewardBench rule: correct only when r(chosen) > r(rejected)) per subset and overall,\nnext to the length-only and position-majority baselines. Pairs are grouped by their source field, else\nby file name; ties are dropped.',
  flags: RM_FLAGS,
  notes: `SPEC is a directory (sequence classifier) or KIND:ARG with KIND one of\n${KIND_LINES}`,
});

function intOption(value: string | undefined, flag: string, min: number): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `--${flag} must be an integer of at least ${min}, got '${value}'`, { parameter: flag });
  return n;
}

async function evalRm(argv: string[]): Promise<number> {
  const { values: v } = parseFlags('eval rm', RM_FLAGS, argv);
  const modelSpecs = v.model as string[] | undefined;
  const files = v.data as string[] | undefined;
  if (!modelSpecs?.length) throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', 'eval rm needs at least one --model (alignkit eval rm --help)', { parameter: 'model' });
  if (!files?.length) throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', 'eval rm needs at least one --data FILE (alignkit eval rm --help)', { parameter: 'data' });
  const models: RewardModel[] = [];
  const session = deviceSession(v);
  for (const spec of modelSpecs) models.push(await loadRewardModelSpec(spec, session));
  const result = await withProgress({ unit: 'pairs', label: 'alignkit eval rm', enabled: !v['no-progress'] }, (bar) =>
    evaluateRewardModels(models, files, {
      limit: intOption(v.limit as string | undefined, 'limit', 1),
      batchSize: intOption(v['batch-size'] as string | undefined, 'batch-size', 1),
      truncate: !v['no-truncate'],
      seed: intOption(v.seed as string | undefined, 'seed', 0),
      skipBadRows: v['skip-bad-rows'] as boolean | undefined,
      // The total (pairs x models) is known once the files are read.
      onProgress: (done, total) => {
        bar.setTotal(total);
        bar.update(done);
      },
    }),
  );
  if (v.json) {
    console.log(JSON.stringify(result, null, 2));
    return 0;
  }
  for (const d of result.data) console.log(`${d.file}: ${d.pairs} pairs (${d.convention}), ${d.tiesDropped} ties dropped, ${d.skipped} bad rows skipped`);
  console.log('');
  console.log(formatPairwiseReport(result.report));
  return 0;
}

const SUBCOMMANDS: Record<string, Command> = {
  rm: { name: 'rm', summary: 'pairwise accuracy of reward models per subset, with length and majority baselines', usage: RM_USAGE, flags: RM_FLAGS, run: evalRm },
  policy: evalPolicyCommand,
};

const USAGE = `usage: alignkit eval <subcommand> [flags]

${Object.values(SUBCOMMANDS).map((c) => `  ${c.name.padEnd(7)} ${c.summary}`).join('\n')}

alignkit eval rm --help and alignkit eval policy --help list their flags.`;

export const evalCommand: Command = {
  name: 'eval',
  summary: 'evaluate reward models: pairwise accuracy per subset with length and majority baselines',
  usage: USAGE,
  subcommands: SUBCOMMANDS,
  fieldFlags: { batchSize: 'batch-size', skipBadRows: 'skip-bad-rows' },
  run: runSubcommand('eval', SUBCOMMANDS),
};
