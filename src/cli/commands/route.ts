// `alignkit route features|fit|select|simulate|eval`: hybrid human/AI annotation routing from the
// command line. Datasets are read and written with alignkit/datasets (JSONL, JSON, Arrow, Parquet by extension).

import fs from 'node:fs';
import { parseArgs } from 'node:util';
import { fail } from '../../errors.js';
import { readRows, writeRows } from '../../datasets/index.js';
import type { Command } from '../registry.js';
import {
  createTagger, crossValidate, crossFitEvaluation, evaluateRouting, extractFeatures, featureRows, fitPpm, loadPandaLM, PANDALM_JUDGES, readMixTable,
  routeTable, routingEvalTable, simulateMixes, agreementEvaluator, tableFromRows, VALIDATION_SET_FILE, FEATURE_NAMES,
  type FeatureRow, type PpmModel, type Preference, type RoutingPair,
} from '../../routing/index.js';
import { DEFAULT_RM_MIX, evaluateRoutingRm, rmRoutingTable } from '../../routing/eval/index.js';
import { numberFlag } from '../options.js';
import { withProgress } from '../progress.js';
import { extractFeaturesInChunks, routingPairFromRow } from '../work/features.js';

const USAGE = `usage: alignkit route <subcommand> [options]

  features  --input pairs.jsonl --output features.jsonl [--tagger rules|column|http]
            [--id-col id] [--prompt-col prompt] [--a-col response_a] [--b-col response_b]
            [--tagger-url http://host/v1 --tagger-model NAME] [--rouge rouge1|rougeL]
  fit       [--mixes validation_set.jsonl] [--target Overall|mean4|score] [--kind linear|quadratic]
            [--ridge 0] [--folds 5] [--seed 42] [--output model.json]
  select    --features features.jsonl --strategy topk|simulated|optimal_pos|optimal_grad|random
            [--model model.json] [--budget 0.25|250] [--seed 42] [--simulations 500] --output routed.jsonl
  simulate  --features features.jsonl --labels labels.jsonl --output mixes.jsonl [--mixes 200] [--seed 42]
            (labels rows: {id, human, ai, reference} with values A | B | tie | null)
  eval      PandaLM: routed vs random agreement with the human majority, as a markdown table
            [--judge gpt-3.5-turbo|pandalm-7b] [--seeds 10] [--kind linear] [--ridge 0]
            [--strategies topk,random] [--budgets 0,0.25,0.5,0.75,1]
            [--ppm released|simulated]  released = fitted on the 26 released mixes (default);
            simulated = fitted on agreement-scored knapsack mixes of one half, routing the other half
            [--rm-eval] also train a reward model on every mix and report its held-out accuracy
            (topk with both PPMs vs random; 20% of the pairs held out, never in a mix)
            [--rm-model data/models/alignkit-rm] [--rm-train full|last:N|head] [--rm-steps 100] [--rm-lr 0.0005]
            [--rm-batch 8] [--rm-seeds 2] [--heldout 0.2]

Budgets in [0, 1] are fractions of the pool, larger numbers are counts.`;

async function collect(file: string): Promise<Record<string, unknown>[]> {
  const rows: Record<string, unknown>[] = [];
  for await (const { row } of readRows(file)) rows.push(row);
  return rows;
}

function need(value: string | undefined, flag: string): string {
  if (!value) throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `missing --${flag}\n\n${USAGE}`, { parameter: flag });
  return value;
}

function num(value: string | undefined, flag: string, fallback?: number): number {
  if (value === undefined) {
    if (fallback === undefined) throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `missing --${flag}`, { parameter: flag });
    return fallback;
  }
  return numberFlag(value, flag)!;
}

/**
 * The released mix table, or an error saying why it is absent: allenai/hybrid-preferences states no
 * license, so data/routing/hybrid_preferences is in the repository but not in the npm package.
 */
function releasedMixTable(file: string, target?: string): ReturnType<typeof readMixTable> {
  if (file === VALIDATION_SET_FILE && !fs.existsSync(file))
    throw fail('ALIGNKIT_ERR_FILE_NOT_FOUND',
      `the released mix table ${file} is not in the npm package (allenai/hybrid-preferences, where it comes from, states no license; see data/routing/LICENSE.md): ` +
        'pass --mixes FILE, e.g. the mixes `alignkit route simulate` writes, or run from a git checkout of alignkit',
      { file, parameter: 'mixes' });
  return readMixTable(file, target);
}

function readModel(file: string): PpmModel {
  if (!fs.existsSync(file)) throw fail('ALIGNKIT_ERR_FILE_NOT_FOUND', `PPM model file not found: ${file}`, { file });
  return JSON.parse(fs.readFileSync(file, 'utf8')) as PpmModel;
}

async function features(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      input: { type: 'string' }, output: { type: 'string' }, tagger: { type: 'string', default: 'rules' },
      'id-col': { type: 'string', default: 'id' }, 'prompt-col': { type: 'string', default: 'prompt' },
      'a-col': { type: 'string', default: 'response_a' }, 'b-col': { type: 'string', default: 'response_b' },
      'tagger-url': { type: 'string' }, 'tagger-model': { type: 'string' }, rouge: { type: 'string', default: 'rouge1' },
    },
  });
  const input = need(values.input, 'input');
  const cols = { id: values['id-col']!, prompt: values['prompt-col']!, a: values['a-col']!, b: values['b-col']! };
  const pairs: RoutingPair[] = (await collect(input)).map((row, i) => routingPairFromRow(row, i, cols, input));
  const taggerConfig = values.tagger === 'http' ? { baseUrl: need(values['tagger-url'], 'tagger-url'), model: need(values['tagger-model'], 'tagger-model') } : {};
  const rouge = values.rouge;
  if (rouge !== 'rouge1' && rouge !== 'rougeL') throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `--rouge must be rouge1 or rougeL, got '${rouge}'`, { parameter: 'rouge' });
  const table = await withProgress({ total: pairs.length, unit: 'pairs', label: 'alignkit route features' }, (bar) =>
    extractFeaturesInChunks(pairs, { tagger: createTagger(values.tagger!, taggerConfig), lexical: { rouge } }, 1000, (done) => bar.update(done)),
  );
  const n = await writeRows(need(values.output, 'output'), featureRows(table) as unknown as Record<string, unknown>[]);
  console.log(`wrote ${n} feature rows (${FEATURE_NAMES.length} binary features each) to ${values.output}`);
  return 0;
}

async function fit(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      mixes: { type: 'string', default: VALIDATION_SET_FILE }, target: { type: 'string', default: 'Overall' },
      kind: { type: 'string', default: 'linear' }, ridge: { type: 'string' }, folds: { type: 'string' }, seed: { type: 'string' }, output: { type: 'string' },
    },
  });
  const mixes = releasedMixTable(values.mixes!, values.target);
  const fitOptions = { kind: values.kind as 'linear' | 'quadratic', ridge: num(values.ridge, 'ridge', 0) };
  const report = crossValidate(mixes.data, fitOptions, { folds: num(values.folds, 'folds', 5), seed: num(values.seed, 'seed', 42) });
  const model = fitPpm(mixes.data, fitOptions);
  if (values.output) fs.writeFileSync(values.output, JSON.stringify(model, null, 1));
  console.log(`PPM ${report.kind} (ridge ${report.ridge}) on ${report.n} mixes from ${values.mixes} (${mixes.mappedColumns.length} feature columns; ${mixes.missingFeatures.length} of ${FEATURE_NAMES.length} features absent), target ${values.target}`);
  console.log(`| metric | RMSE |\n| --- | --- |\n| ${report.folds}-fold CV | ${report.cvRmse.toFixed(4)} |\n| mean-predictor baseline (same folds) | ${report.baselineRmse.toFixed(4)} |\n| train (all mixes) | ${report.trainRmse.toFixed(4)} |`);
  console.log(`\nlearning curve (share of each training part -> CV RMSE):\n| share | mixes | CV RMSE |\n| --- | --- | --- |`);
  for (const c of report.learningCurve) console.log(`| ${c.fraction} | ${c.trainSize} | ${c.cvRmse.toFixed(4)} |`);
  if (model.kind === 'linear') {
    // Coefficients are per unit share of the pool: x 0.01 = predicted change when 1% of the pool with that feature goes to humans.
    const ranked = model.features.map((f, j) => [f, model.coef[j]] as const).filter(([, c]) => c !== 0).sort((a, b) => b[1] - a[1]);
    console.log(`\nlargest coefficients (score change per unit share routed to humans):\n| feature | coefficient |\n| --- | --- |`);
    for (const [f, c] of [...ranked.slice(0, 5), ...ranked.slice(-5)]) console.log(`| ${f} | ${c.toFixed(4)} |`);
  }
  if (values.output) console.log(`\nmodel written to ${values.output}`);
  return 0;
}

async function select(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      features: { type: 'string' }, model: { type: 'string' }, strategy: { type: 'string', default: 'topk' }, budget: { type: 'string' },
      seed: { type: 'string' }, simulations: { type: 'string' }, output: { type: 'string' },
    },
  });
  const table = tableFromRows((await collect(need(values.features, 'features'))) as unknown as FeatureRow[]);
  const { selection, decisions } = routeTable(table, {
    strategy: values.strategy!,
    budget: values.budget === undefined ? undefined : num(values.budget, 'budget'),
    model: values.model ? readModel(values.model) : undefined,
    seed: num(values.seed, 'seed', 42),
    simulations: num(values.simulations, 'simulations', 500),
  });
  await writeRows(need(values.output, 'output'), decisions as unknown as Record<string, unknown>[]);
  const predicted = selection.predicted === undefined ? '' : `, predicted score ${selection.predicted.toFixed(4)}`;
  console.log(`${values.strategy}: ${selection.human.length} of ${decisions.length} pairs to humans${predicted}; decisions in ${values.output}`);
  return 0;
}

const asPreference = (v: unknown): Preference | null => (v === 'A' || v === 'B' || v === 'tie' ? v : null);

async function simulate(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: { features: { type: 'string' }, labels: { type: 'string' }, output: { type: 'string' }, mixes: { type: 'string' }, seed: { type: 'string' } },
  });
  const table = tableFromRows((await collect(need(values.features, 'features'))) as unknown as FeatureRow[]);
  const labelFile = need(values.labels, 'labels');
  const byId = new Map((await collect(labelFile)).map((r) => [String(r.id), r]));
  const pick = (field: string) => table.ids.map((id, i) => {
    const r = byId.get(id);
    if (!r) throw fail('ALIGNKIT_ERR_DATASET_ROW', `${labelFile}: no labels for pair '${id}' (feature row ${i + 1})`, { file: labelFile, field: 'id', row: i + 1 });
    return asPreference(r[field]);
  });
  const evaluate = agreementEvaluator(pick('human'), pick('ai'), pick('reference'));
  const { data, mixes } = await simulateMixes(table, evaluate, { mixes: num(values.mixes, 'mixes', 200), seed: num(values.seed, 'seed', 42) });
  const rows = mixes.map((mix, m) => ({
    budget: mix.budget,
    num_swaps: mix.human.length,
    ...Object.fromEntries(data.features.map((f, j) => [f, data.x[m * data.features.length + j]])),
    score: data.y[m],
  }));
  await writeRows(need(values.output, 'output'), rows);
  console.log(`wrote ${rows.length} simulated mixes (score = agreement with the reference labels) to ${values.output}; fit them with: alignkit route fit --mixes ${values.output} --target score`);
  return 0;
}

async function evaluate(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      judge: { type: 'string', default: 'gpt-3.5-turbo' }, seeds: { type: 'string' }, kind: { type: 'string', default: 'linear' }, ridge: { type: 'string' },
      strategies: { type: 'string', default: 'topk,random' }, budgets: { type: 'string', default: '0,0.25,0.5,0.75,1' }, 'pandalm-dir': { type: 'string' },
      ppm: { type: 'string', default: 'released' }, mixes: { type: 'string' },
      'rm-eval': { type: 'boolean', default: false }, 'rm-model': { type: 'string' }, 'rm-train': { type: 'string' }, 'rm-steps': { type: 'string' },
      'rm-lr': { type: 'string' }, 'rm-batch': { type: 'string' }, 'rm-seeds': { type: 'string' }, heldout: { type: 'string' },
    },
  });
  if (!PANDALM_JUDGES[values.judge!]) throw fail('ALIGNKIT_ERR_UNKNOWN_NAME', `unknown judge '${values.judge}'; known: ${Object.keys(PANDALM_JUDGES).join(', ')}`, { parameter: 'judge' });
  const data = loadPandaLM(values['pandalm-dir']);
  const table = await extractFeatures(data.pairs, { tagger: createTagger('rules') });
  const strategies = values.strategies!.split(',');
  const evalOptions = { seeds: num(values.seeds, 'seeds', 10), strategies, budgets: values.budgets!.split(',').map((b) => num(b, 'budgets')) };
  const input = { table, annotators: data.annotators, reference: data.majority, ai: data.judges[values.judge!] };
  if (values['rm-eval']) return rmEvaluate(values, data, table);
  const header = `PandaLM (${data.pairs.length} pairs), AI judge ${values.judge}, rules tagger; agreement with the 3-annotator majority, human label = one annotator drawn per pair and seed, ${evalOptions.seeds} seeds`;
  if (values.ppm === 'simulated') {
    const ridge = num(values.ridge, 'ridge', 0.01);
    const rows = await crossFitEvaluation(input, evalOptions, { ridge, mixes: num(values.mixes, 'mixes', 200) });
    console.log(`${header}; PPM linear ridge ${ridge} fitted on simulated mixes of one half (agreement evaluator), routing the other half (pair counts summed over both halves)`);
    console.log(routingEvalTable(rows, strategies));
    return 0;
  }
  if (values.ppm !== 'released') throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `--ppm must be released or simulated, got '${values.ppm}'`, { parameter: 'ppm' });
  const model = fitPpm(releasedMixTable(VALIDATION_SET_FILE).data, { kind: values.kind as 'linear' | 'quadratic', ridge: num(values.ridge, 'ridge', 0) });
  const rows = evaluateRouting({ ...input, model }, evalOptions);
  console.log(`${header}; PPM ${model.kind} ridge ${model.ridge} fitted on the 26 released mixes`);
  console.log(routingEvalTable(rows, strategies));
  return 0;
}

/** `route eval --rm-eval`: agreement AND held-out reward-model accuracy per budget, routed vs random. */
async function rmEvaluate(values: Record<string, string | boolean | undefined>, data: ReturnType<typeof loadPandaLM>, table: Awaited<ReturnType<typeof extractFeatures>>): Promise<number> {
  const str = (k: string) => values[k] as string | undefined;
  const rm = {
    model: str('rm-model') ?? DEFAULT_RM_MIX.model,
    train: str('rm-train') ?? DEFAULT_RM_MIX.train,
    steps: num(str('rm-steps'), 'rm-steps', DEFAULT_RM_MIX.steps),
    lr: num(str('rm-lr'), 'rm-lr', DEFAULT_RM_MIX.lr),
    batchSize: num(str('rm-batch'), 'rm-batch', DEFAULT_RM_MIX.batchSize),
  };
  const options = {
    budgets: str('budgets')!.split(',').map((b) => num(b, 'budgets')),
    seeds: num(str('rm-seeds'), 'rm-seeds', 2),
    heldOutFraction: num(str('heldout'), 'heldout', 0.2),
    ridge: num(str('ridge'), 'ridge', 0.01),
    simulatedMixes: num(str('mixes'), 'mixes', 200),
    rm,
  };
  const releasedModel = fitPpm(releasedMixTable(VALIDATION_SET_FILE).data, { kind: 'linear', ridge: 0 });
  const started = performance.now();
  const rows = await evaluateRoutingRm(
    { pairs: data.pairs, table, annotators: data.annotators, majority: data.majority, ai: data.judges[str('judge')!]!, releasedModel },
    options,
    (line) => console.error(line),
  );
  console.log(
    `PandaLM (${data.pairs.length} pairs; ${Math.round(100 * options.heldOutFraction)}% held out for the reward model, the rest is the pool), AI judge ${str('judge')}, rules tagger, ${options.seeds} seeds; ` +
      `agreement of the pool's mixed labels with the 3-annotator majority, and held-out pairwise accuracy (vs the majority) of ${rm.model} fine-tuned (${rm.train}, Bradley-Terry, ${rm.steps} steps of ${rm.batchSize}, lr ${rm.lr}, seed 0) on each mix; ` +
      `${((performance.now() - started) / 1000).toFixed(0)} s`,
  );
  console.log(rmRoutingTable(rows));
  return 0;
}

const SUBCOMMANDS: Record<string, (argv: string[]) => Promise<number>> = { features, fit, select, simulate, eval: evaluate };

export const routeCommand: Command = {
  name: 'route',
  summary: 'hybrid human/AI annotation routing: features, PPM fit, selection, simulation, PandaLM evaluation',
  usage: USAGE,
  // Subcommands for main.ts's --help and flag checks; each still parses its own flags.
  subcommands: Object.fromEntries(Object.entries(SUBCOMMANDS).map(([name, run]): [string, Command] => [name, { name, summary: `route ${name}`, usage: USAGE, run }])),
  async run(argv) {
    const [sub, ...rest] = argv;
    const fn = sub ? SUBCOMMANDS[sub] : undefined;
    if (!fn) {
      console.error(sub ? `alignkit route: unknown subcommand '${sub}'. Subcommands: ${Object.keys(SUBCOMMANDS).join(', ')}\n\n${USAGE}` : USAGE);
      return 2;
    }
    return fn(rest);
  },
};
