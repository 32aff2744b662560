// `alignkit score`: reward scores for every row of a dataset file, written to another file, without
// a server on a port. One model or an ensemble (mean, min, uncertainty-weighted); rows of
// (prompt, response), or preference pairs with both sides scored.

import { countRows, writeRows, type RowProblem } from '../../datasets/index.js';
import { fail } from '../../errors.js';
import { REWARD_MODEL_KINDS } from '../../eval/index.js';
import { COMBINE_METHODS, DEFAULT_COMBINE, combineConfig, type CombineMethod } from '../../rewards/index.js';
import type { Command, FlagTable } from '../registry.js';
import { numberFlag, parseFlags, usageText } from '../options.js';
import { DEVICE_FLAGS, deviceSession } from '../device.js';
import { withProgress } from '../progress.js';
import { detectScoreInput, loadScoringEnsemble, scoreRows, SCORE_DEFAULTS, type ScoreSettings } from '../work/score.js';

/** Flags that say how to score, shared with `jobs submit score`. */
export const SCORING_FLAGS: FlagTable = {
  model: { type: 'string', multiple: true, value: '[NAME=]SPEC', help: 'a reward model; repeat for an ensemble. SPEC: a classifier directory, flr:DIR or dpo-implied:POLICY,REFERENCE[,BETA]; NAME names its reward column' },
  combine: { type: 'string', value: COMBINE_METHODS.join('|'), default: DEFAULT_COMBINE.method, help: 'how an ensemble combines its members\' rewards' },
  lambda: { type: 'string', value: 'X', shownDefault: DEFAULT_COMBINE.lambda, help: "variance weight of 'uncertainty' (mean - lambda * variance)" },
  'batch-size': { type: 'string', value: 'N', shownDefault: SCORE_DEFAULTS.batchSize, help: 'input rows per scoring call' },
  'no-truncate': { type: 'boolean', help: "fail on inputs longer than a model takes (default: cut the prompt's start)" },
  'prompt-col': { type: 'string', value: 'NAME', default: SCORE_DEFAULTS.promptCol, help: 'prompt column of response rows' },
  'response-col': { type: 'string', value: 'NAME', default: SCORE_DEFAULTS.responseCol, help: 'response column; without it in the first row the file is read as preference pairs' },
  'skip-bad-rows': { type: 'boolean', help: 'skip rows that fail validation (counted, not written) instead of stopping' },
};

const FLAGS: FlagTable = {
  ...SCORING_FLAGS,
  threads: { type: 'string', value: 'N', help: 'onnxruntime intra-op threads per model (default: onnxruntime\'s, all cores)' },
  ...DEVICE_FLAGS,
  data: { type: 'string', value: 'FILE', help: 'input rows (JSONL, JSON, Arrow, Parquet)' },
  output: { type: 'string', value: 'FILE', help: 'output rows, format by extension; written to a temporary file and renamed when complete' },
  'no-progress': { type: 'boolean', help: 'no progress on standard error' },
};

const REWARD_MODEL_KINDS_HELP = Object.entries(REWARD_MODEL_KINDS)
  .map(([kind, k]) => `  ${kind}:${k.argument}`)
  .join('\n');

const USAGE = usageText({
  synopsis: 'alignkit score --model [NAME=]SPEC [--model ...] --data FILE --output FILE [flags]',
  description: `Scores every row and writes it with its rewards: for rows with a response column, "reward" (the
combined reward), "reward_NAME" per model and, with several models, "reward_variance"; for preference
pairs (any convention alignkit reads), the same columns for each side as "chosen_reward..." and
"rejected_reward...". Rows keep their input columns and order.`,
  flags: FLAGS,
  notes: `SPEC is a directory (sequence classifier) or KIND:ARG with KIND one of\n${REWARD_MODEL_KINDS_HELP}`,
});

type Values = Record<string, string | boolean | string[] | undefined>;

/** ScoreSettings from the scoring flags, for a given input file (its kind of rows is detected). */
export async function scoreSettings(v: Values, data: string): Promise<ScoreSettings> {
  const models = v.model as string[] | undefined;
  if (!models?.length) throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', 'missing --model (alignkit score --help)', { parameter: 'model' });
  const batchSize = numberFlag(v['batch-size'] as string | undefined, 'batch-size') ?? SCORE_DEFAULTS.batchSize;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `--batch-size must be a positive integer, got ${batchSize}`, { parameter: 'batch-size' });
  return {
    models,
    combine: combineConfig({ method: v.combine as CombineMethod, lambda: numberFlag(v.lambda as string | undefined, 'lambda') ?? DEFAULT_COMBINE.lambda }, 'combine'),
    batchSize,
    truncate: !v['no-truncate'],
    onBadRow: v['skip-bad-rows'] ? 'skip' : 'error',
    input: await detectScoreInput(data, { promptCol: v['prompt-col'] as string, responseCol: v['response-col'] as string }),
  };
}

async function run(argv: string[]): Promise<number> {
  const { values: v } = parseFlags('score', FLAGS, argv);
  for (const k of ['data', 'output'] as const) if (!v[k]) throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `missing --${k} (alignkit score --help)`, { parameter: k });
  const data = v.data as string;
  const output = v.output as string;
  const settings = await scoreSettings(v, data);
  const threads = numberFlag(v.threads as string | undefined, 'threads');
  const ensemble = await loadScoringEnsemble(settings.models, settings.combine, { ...(threads !== undefined && { intraOpThreads: threads }), ...deviceSession(v) });
  const skipped: RowProblem[] = [];
  const written = await withProgress({ total: await countRows(data), unit: 'rows', label: 'alignkit score', enabled: !v['no-progress'] }, (bar) =>
    writeRows(output, scoreRows(ensemble, data, settings, { skipped, onProgress: (n) => bar.update(n) })),
  );
  const what = settings.input.mode === 'pair' ? `preference pairs (${settings.input.convention}; both sides)` : 'rows';
  console.log(`${written} ${what} scored by ${ensemble.memberNames.join(', ')}${ensemble.memberNames.length > 1 ? ` (${settings.combine.method})` : ''} -> ${output}${skipped.length ? `; ${skipped.length} bad rows skipped` : ''}`);
  return 0;
}

export const scoreCommand: Command = {
  name: 'score',
  summary: 'score every row of a dataset file with reward models (an ensemble combined), rewards per row and model',
  usage: USAGE,
  flags: FLAGS,
  fieldFlags: { batchSize: 'batch-size', onBadRow: 'skip-bad-rows' },
  run,
};
