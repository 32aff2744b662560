// `alignkit route features|verdicts|fit|select|simulate|eval|pandalm`: hybrid human/AI annotation
// routing from the command line. Each subcommand declares its flags (parseArgs options with their
// defaults) and its usage in one table entry; datasets are read and written with alignkit/datasets
// (JSONL, JSON, Arrow, Parquet by extension).

import fs from 'node:fs';
import path from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { fail } from '../../errors.js';
import { writeRows } from '../../datasets/index.js';
import { loadRewardModelSpec } from '../../eval/model-specs.js';
import type { Command } from '../registry.js';
import {
  activeSelect, addVerdicts, buildPool, collectRows, createTagger, crossValidate, DEFAULT_ACTIVE, DEFAULT_BUDGETED_EVAL, describeBudget, describePrediction,
  devTestSplit, DEFAULT_FEATURE_SET, FEATURE_NAMES, FEATURE_SETS, featureRows, featureSet, fitPpm, loadMixTable, loadPandaLM, openLabelStore, pandalmFiles, parseBudget,
  parsePreference, readGoldFile, readMixTable, readPairFile, resolveBudget, routeTable, simulateMixes, agreementEvaluator, tableFromRows, verdictStats,
  verdictStatsTable, VALIDATION_SET_FILE, budgetedEvalSvg, budgetedEvalTable, budgetedEvaluation, rmAccuracyTracker, DEFAULT_RM_MIX, stat,
  subsetTable, type ActiveOptions, type Budget, type FeatureRow, type FeatureTable, type PpmModel, type Preference, type RoutingPool, type Tagger,
} from '../../routing/index.js';
import { numberFlag } from '../options.js';
import { withProgress } from '../progress.js';
import { TAG_CHUNK, taggedInChunks } from '../work/features.js';

type Options = NonNullable<ParseArgsConfig['options']>;
type Values = Record<string, string | boolean | string[] | undefined>;

/** One subcommand: its usage, the flags it declares (parseArgs options with their defaults) and what it does with them. */
interface Subcommand {
  summary: string;
  usage: string;
  options: Options;
  run(values: Values): Promise<number>;
}

const str = (v: Values, k: string) => v[k] as string | undefined;
const list = (v: Values, k: string) => (str(v, k) ?? '').split(',').map((s) => s.trim()).filter(Boolean);

function need(values: Values, flag: string): string {
  const value = str(values, flag);
  if (!value) throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `missing --${flag}`, { parameter: flag });
  return value;
}

const num = (values: Values, flag: string, fallback: number): number => numberFlag(str(values, flag), flag) ?? fallback;

/**
 * The released mix table is absent from the npm package (allenai/hybrid-preferences, where it comes
 * from, states no license): say so instead of "not found". Returns the file otherwise.
 */
function mixesFile(file: string): string {
  if (file === VALIDATION_SET_FILE && !fs.existsSync(file))
    throw fail('ALIGNKIT_ERR_FILE_NOT_FOUND',
      `the released mix table ${file} is not in the npm package (allenai/hybrid-preferences, where it comes from, states no license; see data/routing/LICENSE.md): ` +
        'pass --mixes FILE, e.g. the mixes `alignkit route simulate` writes, or run from a git checkout of alignkit',
      { file, parameter: 'mixes' });
  return file;
}

function readModel(file: string): PpmModel {
  if (!fs.existsSync(file)) throw fail('ALIGNKIT_ERR_FILE_NOT_FOUND', `PPM model file not found: ${file}`, { file });
  return JSON.parse(fs.readFileSync(file, 'utf8')) as PpmModel;
}

async function readFeatureFile(file: string, extraFeatures: string[]) {
  return tableFromRows((await collectRows(file)) as unknown as FeatureRow[], { extraFeatures, file });
}

// ---- flags shared by several subcommands

const PAIR_FLAGS: Options = {
  'id-col': { type: 'string', default: 'id' }, 'prompt-col': { type: 'string', default: 'prompt' },
  'a-col': { type: 'string', default: 'response_a' }, 'b-col': { type: 'string', default: 'response_b' },
};
const TAGGER_FLAGS: Options = { tagger: { type: 'string', default: 'rules' }, 'tagger-url': { type: 'string' }, 'tagger-model': { type: 'string' }, rouge: { type: 'string', default: 'rouge1' } };
const POOL_FLAGS: Options = { ...PAIR_FLAGS, ...TAGGER_FLAGS, aggregate: { type: 'string', default: 'majority' }, 'reward-model': { type: 'string', multiple: true }, 'extra-features': { type: 'string' } };
const ACTIVE_FLAGS: Options = {
  'after-pilot': { type: 'string', default: DEFAULT_ACTIVE.strategy }, pilot: { type: 'string', default: String(DEFAULT_ACTIVE.pilotFraction) },
  'pilot-sampling': { type: 'string', default: DEFAULT_ACTIVE.pilotSampling }, rounds: { type: 'string', default: String(DEFAULT_ACTIVE.rounds) },
  'ppm-ridge': { type: 'string', default: String(DEFAULT_ACTIVE.ppm.ridge) }, 'pilot-mixes': { type: 'string', default: String(DEFAULT_ACTIVE.ppm.mixes) },
  'feature-set': { type: 'string', default: DEFAULT_FEATURE_SET },
};

const POOL_USAGE = `[--id-col id] [--prompt-col prompt] [--a-col response_a] [--b-col response_b]
            [--tagger rules|column|http [--tagger-url URL --tagger-model NAME]] [--rouge rouge1|rougeL]
            [--aggregate majority|confidence|judge:NAME] [--reward-model SPEC]... [--extra-features a,b]`;
const ACTIVE_USAGE = `[--after-pilot topk|simulated|optimal_pos|optimal_grad] [--pilot ${DEFAULT_ACTIVE.pilotFraction}] [--pilot-sampling random|stratified]
            [--rounds 1] [--ppm-ridge ${DEFAULT_ACTIVE.ppm.ridge}] [--pilot-mixes ${DEFAULT_ACTIVE.ppm.mixes}|instances] [--feature-set reliability-only|reliability|paper]`;

function activeOptions(values: Values, seed: number): ActiveOptions {
  const mixes = str(values, 'pilot-mixes')!;
  return {
    ...DEFAULT_ACTIVE,
    strategy: str(values, 'after-pilot')!,
    pilotFraction: num(values, 'pilot', DEFAULT_ACTIVE.pilotFraction),
    pilotSampling: str(values, 'pilot-sampling')!,
    rounds: num(values, 'rounds', 1),
    ppm: { ...DEFAULT_ACTIVE.ppm, ridge: num(values, 'ppm-ridge', DEFAULT_ACTIVE.ppm.ridge), mixes: mixes === 'instances' ? 'instances' : num(values, 'pilot-mixes', 200) },
    seed,
    simulations: num(values, 'simulations', DEFAULT_ACTIVE.simulations),
  };
}

/** The pair file's columns as the pair flags name them. */
export const pairColumnsOf = (values: Values) => ({ id: str(values, 'id-col'), prompt: str(values, 'prompt-col'), a: str(values, 'a-col'), b: str(values, 'b-col') });

/** The tagger the tagger flags describe. */
export function taggerFromFlags(values: Values): Tagger {
  const tagger = str(values, 'tagger')!;
  return createTagger(tagger, tagger === 'http' ? { baseUrl: need(values, 'tagger-url'), model: need(values, 'tagger-model') } : {});
}

/**
 * The routing pool of a pair file from the pool flags. `progress` labels progress lines over the
 * pairs tagged (the slow part with an LM tagger); `tagger` replaces the flags' tagger (a `jobs`
 * run hands in the tags its chunk jobs computed).
 */
async function poolFromFlags(values: Values, file: string, progress?: string, tagger?: Tagger): Promise<{ pool: RoutingPool; pairs: Awaited<ReturnType<typeof readPairFile>> }> {
  const pairs = await readPairFile(file, pairColumnsOf(values));
  const rouge = str(values, 'rouge');
  if (rouge !== 'rouge1' && rouge !== 'rougeL') throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `--rouge must be rouge1 or rougeL, got '${rouge}'`, { parameter: 'rouge' });
  const rewardModels = await Promise.all(((values['reward-model'] as string[] | undefined) ?? []).map((spec) => loadRewardModelSpec(spec)));
  const pool = await withProgress({ total: pairs.pairs.length, unit: 'pairs', label: progress, enabled: progress !== undefined }, (bar) =>
    buildPool(pairs, {
      tagger: tagger ?? taggedInChunks(taggerFromFlags(values), TAG_CHUNK, (done) => bar.update(done)),
      lexical: { rouge },
      aggregate: str(values, 'aggregate')!,
      rewardModels,
      extraFeatures: list(values, 'extra-features'),
      file,
    }),
  );
  return { pool, pairs };
}

/** What `route features` writes for a pair file (and a `jobs` features run assembles). */
export async function featureFileRows(values: Values, file: string, progress?: string, tagger?: Tagger): Promise<{ rows: FeatureRow[]; table: FeatureTable }> {
  const { pool } = await poolFromFlags(values, file, progress, tagger);
  return { rows: featureRows(pool.table, pool.ai), table: pool.table };
}

// ---- subcommands

const features: Subcommand = {
  summary: "the paper's 90 features, AI label and reliability signals of a pair file",
  usage: `features  --input pairs.jsonl --output features.jsonl
            ${POOL_USAGE}
      The paper's 90 features of each pair; with verdict columns, the AI label (--aggregate) and the
      judge-reliability signals; with --reward-model (an rm DIR, flr:DIR or dpo-implied:POLICY,REF),
      the reward margin signals; with --extra-features, those numeric columns of the pair file.`,
  options: { input: { type: 'string' }, output: { type: 'string' }, ...POOL_FLAGS },
  async run(values) {
    const { rows, table } = await featureFileRows(values, need(values, 'input'), 'alignkit route features');
    const n = await writeRows(need(values, 'output'), rows as unknown as Record<string, unknown>[]);
    const extra = table.names.length - FEATURE_NAMES.length;
    console.log(`wrote ${n} feature rows (${FEATURE_NAMES.length} paper features${extra ? ` + ${extra} from ${(table.numeric ?? []).map((c) => c.name).join(', ')}` : ''}) to ${values.output}`);
    return 0;
  },
};

const verdicts: Subcommand = {
  summary: 'agreement statistics of the AI judges; their verdicts into a label store',
  usage: `verdicts  --pairs pairs.jsonl [--aggregate majority|confidence|judge:NAME] [--gold gold.jsonl]
            [--output labels.jsonl] [--store labels.sqlite]
            [--id-col id] [--prompt-col prompt] [--a-col response_a] [--b-col response_b]
      Agreement statistics of the judges and of the aggregate (with gold labels when given); the AI
      labels as {id, ai_label} rows; the pairs and verdicts into a label store.`,
  options: { pairs: { type: 'string' }, aggregate: { type: 'string', default: 'majority' }, gold: { type: 'string' }, output: { type: 'string' }, store: { type: 'string' }, ...PAIR_FLAGS },
  async run(values) {
    const file = need(values, 'pairs');
    const pairs = await readPairFile(file, { id: str(values, 'id-col'), prompt: str(values, 'prompt-col'), a: str(values, 'a-col'), b: str(values, 'b-col') });
    const { aggregate } = await buildPool(pairs, { tagger: createTagger('rules'), aggregate: str(values, 'aggregate')! });
    if (!aggregate) throw fail('ALIGNKIT_ERR_DATASET_ROW', `${file} has no verdicts (a 'verdicts' list or verdict:JUDGE columns)`, { file, field: 'verdicts' });
    const gold = values.gold ? (await readGoldFile(str(values, 'gold')!, pairs.pairs.map((p) => p.id))).gold : undefined;
    console.log(verdictStatsTable(verdictStats(pairs.verdicts, aggregate, gold)));
    if (values.output) await writeRows(str(values, 'output')!, pairs.pairs.map((p, i) => ({ id: p.id, ai_label: aggregate.labels[i] })));
    if (values.store) {
      const store = await openLabelStore({ path: str(values, 'store')! });
      try {
        await store.addPairs(pairs.pairs);
        await addVerdicts(store, pairs.pairs.flatMap((p, i) => pairs.verdicts[i]!.map((v) => ({ ...v, pairId: p.id }))));
      } finally {
        await store.close();
      }
      console.log(`stored ${pairs.pairs.length} pairs and their verdicts in ${values.store}`);
    }
    return 0;
  },
};

const fit: Subcommand = {
  summary: 'fit a PPM on mixes with measured scores (the released 26 by default)',
  usage: `fit       [--mixes validation_set.jsonl] [--target Overall|mean4|score] [--kind linear|quadratic]
            [--ridge 0] [--folds 5] [--seed 42] [--output model.json]`,
  options: {
    mixes: { type: 'string', default: VALIDATION_SET_FILE }, target: { type: 'string', default: 'Overall' }, kind: { type: 'string', default: 'linear' },
    ridge: { type: 'string', default: '0' }, folds: { type: 'string', default: '5' }, seed: { type: 'string', default: '42' }, output: { type: 'string' },
  },
  async run(values) {
    const file = str(values, 'mixes')!;
    const mixes = await loadMixTable(mixesFile(file), str(values, 'target'));
    const fitOptions = { kind: str(values, 'kind') as 'linear' | 'quadratic', ridge: num(values, 'ridge', 0) };
    const report = crossValidate(mixes.data, fitOptions, { folds: num(values, 'folds', 5), seed: num(values, 'seed', 42) });
    const model = fitPpm(mixes.data, fitOptions);
    if (values.output) fs.writeFileSync(str(values, 'output')!, JSON.stringify(model, null, 1));
    console.log(`PPM ${report.kind} (ridge ${report.ridge}) on ${report.n} mixes from ${file} (${mixes.mappedColumns.length} feature columns; ${mixes.missingFeatures.length} of ${FEATURE_NAMES.length} features absent${mixes.extraFeatures.length ? `; ${mixes.extraFeatures.length} more: ${mixes.extraFeatures.join(', ')}` : ''}), target ${values.target}`);
    console.log(`| metric | RMSE |\n| --- | --- |\n| ${report.folds}-fold CV | ${report.cvRmse.toFixed(4)} |\n| mean-predictor baseline (same folds) | ${report.baselineRmse.toFixed(4)} |\n| train (all mixes) | ${report.trainRmse.toFixed(4)} |`);
    console.log(`\nlearning curve (share of each training part -> CV RMSE):\n| share | mixes | CV RMSE |\n| --- | --- | --- |`);
    for (const c of report.learningCurve) console.log(`| ${c.fraction} | ${c.trainSize} | ${c.cvRmse.toFixed(4)} |`);
    if (model.kind === 'linear') {
      // Coefficients are per unit share of the pool: x 0.01 = predicted change when 1% of the pool with that feature goes to humans.
      const ranked = model.features.map((f, j) => [f, model.coef[j]!] as const).filter(([, c]) => c !== 0).sort((a, b) => b[1] - a[1]);
      console.log(`\nlargest coefficients (score change per unit share routed to humans):\n| feature | coefficient |\n| --- | --- |`);
      for (const [f, c] of [...ranked.slice(0, 5), ...ranked.slice(-5)]) console.log(`| ${f} | ${c.toFixed(4)} |`);
    }
    if (values.output) console.log(`\nmodel written to ${values.output}`);
    return 0;
  },
};

/** Human labels gathered so far: rows {id, label} (A / B / tie or 1 / 2 / 0). */
async function readHumanLabels(file: string | undefined): Promise<Map<string, Preference | null>> {
  if (!file) return new Map();
  return new Map((await collectRows(file)).map((r, i) => [String(r.id), parsePreference(r.label, { file, row: i + 1, field: 'label' })]));
}

async function activeRoute(values: Values, table: FeatureTable, ai: (Preference | null)[], budget: Budget, seed: number) {
  const labels = await readHumanLabels(str(values, 'human-labels'));
  const options = activeOptions(values, seed);
  const result = await activeSelect(featureSet(str(values, 'feature-set')!, table), ai, resolveBudget(budget, table.ids.length), (rows) => {
    const ids = rows.map((r) => table.ids[r]!);
    return ids.every((id) => labels.has(id)) ? ids.map((id) => labels.get(id)!) : undefined;
  }, options);
  const stepOf = new Map(result.steps.flatMap((s, k) => s.rows.map((r) => [r, k === 0 ? 'pilot' : `round ${k}`] as const)));
  const pending = new Set(result.pending);
  const decisions = table.ids.map((pairId, i) => ({ pairId, route: stepOf.has(i) ? 'human' : 'ai', step: stepOf.get(i) ?? null, pending: pending.has(i) }));
  const sizes = result.steps.map((s, k) => `${k === 0 ? `pilot ${s.rows.length} (${options.pilotSampling})` : `round ${k}: ${s.rows.length} (${options.strategy})`}`).join(', ');
  const message = result.complete
    ? `active: ${result.human.length} of ${table.ids.length} pairs to humans (${sizes}), budget ${describeBudget(budget)}`
    : `active: ${pending.size} pairs wait for human labels (${sizes}); label the rows with pending=true, add them to --human-labels (rows {id, label}) and run the same command again`;
  return { decisions, message };
}

const select: Subcommand = {
  summary: 'route pairs to humans under a budget (topk, ..., random, active)',
  usage: `select    --features features.jsonl --strategy topk|simulated|optimal_pos|optimal_grad|random|active
            --budget 0.25|25%|221 --output routed.jsonl [--model model.json] [--seed 42] [--simulations 500]
            [--extra-features a,b]
      --budget is a fraction with a decimal point or %, a count as an integer (1 = one pair, 1.0 = all);
      optimal_pos / optimal_grad take it as a cap.
      active: a pilot (--pilot share of the budget), a PPM fitted on the pilot's human labels, the
      rest by --after-pilot; human labels come from --human-labels (rows {id, label}); until the
      pilot (or a round) is labelled the output lists the pairs waiting for labels.
            [--human-labels labels.jsonl] ${ACTIVE_USAGE}`,
  options: {
    features: { type: 'string' }, model: { type: 'string' }, strategy: { type: 'string', default: 'topk' }, budget: { type: 'string' },
    seed: { type: 'string', default: '42' }, simulations: { type: 'string', default: '500' }, output: { type: 'string' }, 'extra-features': { type: 'string' },
    'human-labels': { type: 'string' }, ...ACTIVE_FLAGS,
  },
  async run(values) {
    const file = need(values, 'features');
    const rows = (await collectRows(file)) as unknown as FeatureRow[];
    const table = tableFromRows(rows, { extraFeatures: list(values, 'extra-features'), file });
    const budget = values.budget === undefined ? undefined : parseBudget(str(values, 'budget')!);
    const seed = num(values, 'seed', 42);
    const output = need(values, 'output');
    if (values.strategy === 'active') {
      if (!budget) throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', 'strategy active needs --budget', { parameter: 'budget' });
      if (!rows.some((r) => 'ai_label' in r)) throw fail('ALIGNKIT_ERR_DATASET_ROW', `${file} has no ai_label column: write it with route features from a pair file with verdicts`, { file, field: 'ai_label' });
      const ai = rows.map((r, i) => parsePreference(r.ai_label, { file, row: i + 1, field: 'ai_label' }));
      const { decisions, message } = await activeRoute(values, table, ai, budget, seed);
      await writeRows(output, decisions);
      console.log(`${message}; decisions in ${output}`);
      return 0;
    }
    const model = values.model ? readModel(str(values, 'model')!) : undefined;
    const { selection, decisions } = routeTable(table, { strategy: str(values, 'strategy')!, budget, model, seed, simulations: num(values, 'simulations', 500) });
    await writeRows(output, decisions as unknown as Record<string, unknown>[]);
    const predicted = selection.predicted === undefined || !model ? '' : `; ${describePrediction(model, selection.predicted)}`;
    console.log(`${values.strategy}: ${selection.human.length} of ${decisions.length} pairs to humans${predicted}; decisions in ${output}`);
    return 0;
  },
};

const simulate: Subcommand = {
  summary: 'knapsack mixes scored by agreement, a PPM training table',
  usage: `simulate  --features features.jsonl --labels labels.jsonl --output mixes.jsonl|.parquet [--mixes 200] [--seed 42]
            [--extra-features a,b]
      labels rows: {id, human, ai, reference}, each A | B | tie (or 1 | 2 | 0) or null.`,
  options: { features: { type: 'string' }, labels: { type: 'string' }, output: { type: 'string' }, mixes: { type: 'string', default: '200' }, seed: { type: 'string', default: '42' }, 'extra-features': { type: 'string' } },
  async run(values) {
    const table = await readFeatureFile(need(values, 'features'), list(values, 'extra-features'));
    const labelFile = need(values, 'labels');
    const byId = new Map((await collectRows(labelFile)).map((r, i) => [String(r.id), { r, row: i + 1 }]));
    const pick = (field: string) =>
      table.ids.map((id, i) => {
        const hit = byId.get(id);
        if (!hit) throw fail('ALIGNKIT_ERR_DATASET_ROW', `${labelFile}: no labels for pair '${id}' (feature row ${i + 1})`, { file: labelFile, field: 'id', row: i + 1 });
        return parsePreference(hit.r[field], { file: labelFile, row: hit.row, field });
      });
    const evaluate = agreementEvaluator(pick('human'), pick('ai'), pick('reference'));
    const { data, mixes } = await simulateMixes(table, evaluate, { mixes: num(values, 'mixes', 200), seed: num(values, 'seed', 42) });
    const rows = mixes.map((mix, m) => ({
      budget: mix.budget,
      num_swaps: mix.human.length,
      ...Object.fromEntries(data.features.map((f, j) => [f, data.x[m * data.features.length + j]])),
      score: data.y[m],
    }));
    const output = need(values, 'output');
    await writeRows(output, rows);
    console.log(`wrote ${rows.length} simulated mixes (score = agreement with the reference labels) to ${output}; fit them with: alignkit route fit --mixes ${output} --target score`);
    return 0;
  },
};

const evaluate: Subcommand = {
  summary: 'every strategy at several budgets against random and the oracle, on gold labels',
  usage: `eval      --pairs pairs.jsonl --gold gold.jsonl [--features features.jsonl]
            ${POOL_USAGE}
            [--budgets 0,0.1,0.25,0.5,0.75,1.0] [--selections 20] [--strategies ${DEFAULT_BUDGETED_EVAL.strategies.join(',')}]
            [--feature-sets ${Object.keys(FEATURE_SETS).join(',')}] [--seed 42] [--simulations 200]
            ${ACTIVE_USAGE.replace(/ \[--feature-set[^\]]*\]/, '')}
            [--plot agreement.svg] [--json results.json]
            [--rm-eval [--heldout 0.2] [--rm-selections 2] [--rm-model DIR] [--rm-train full] [--rm-steps 100] [--rm-lr 0.0005] [--rm-batch 8]]
      Under the strict protocol (human labels revealed only for pairs routed to humans), every
      strategy at every budget against >= 20 random selections and the oracle bound: agreement of the
      hybrid labels with gold, and with --rm-eval the held-out accuracy of a reward model trained on
      them. gold rows: {id, gold, annotators?}; a routed pair's human label is one of its annotators
      (drawn per selection), or gold without them.`,
  options: {
    pairs: { type: 'string' }, gold: { type: 'string' }, features: { type: 'string' }, ...POOL_FLAGS, ...ACTIVE_FLAGS,
    budgets: { type: 'string', default: '0,0.1,0.25,0.5,0.75,1.0' }, selections: { type: 'string', default: String(DEFAULT_BUDGETED_EVAL.selections) },
    strategies: { type: 'string', default: DEFAULT_BUDGETED_EVAL.strategies.join(',') }, 'feature-sets': { type: 'string', default: Object.keys(FEATURE_SETS).join(',') },
    seed: { type: 'string', default: '42' }, simulations: { type: 'string', default: '200' }, plot: { type: 'string' }, json: { type: 'string' },
    'rm-eval': { type: 'boolean', default: false }, heldout: { type: 'string', default: '0.2' }, 'rm-selections': { type: 'string', default: '2' },
    'rm-model': { type: 'string' }, 'rm-train': { type: 'string' }, 'rm-steps': { type: 'string' }, 'rm-lr': { type: 'string' }, 'rm-batch': { type: 'string' },
  },
  async run(values) {
    const pairFile = need(values, 'pairs');
    const goldFile = need(values, 'gold');
    const { pool, pairs } = await poolFromFlags(values, pairFile);
    if (!pool.aggregate) throw fail('ALIGNKIT_ERR_DATASET_ROW', `${pairFile} has no verdicts: the AI labels to route come from them`, { file: pairFile, field: 'verdicts' });
    const ids = pairs.pairs.map((p) => p.id);
    let table = pool.table;
    if (values.features) {
      const given = await readFeatureFile(str(values, 'features')!, list(values, 'extra-features'));
      if (given.ids.join('\u0000') !== ids.join('\u0000')) throw fail('ALIGNKIT_ERR_DATASET_ROW', `${values.features} does not list the pairs of ${pairFile} in the same order`, { file: str(values, 'features'), field: 'id' });
      table = given;
    }
    const gold = await readGoldFile(goldFile, ids);
    console.log(`${pairFile}: ${ids.length} pairs, judges ${pool.aggregate.judges.join(', ')}, AI label = ${pool.aggregate.name}\n`);
    console.log(verdictStatsTable(verdictStats(pairs.verdicts, pool.aggregate, gold.gold)));
    const seed = num(values, 'seed', 42);
    const budgets = list(values, 'budgets').map((b) => parseBudget(b, 'budgets'));
    const featureSets = list(values, 'feature-sets');
    const strategies = list(values, 'strategies');
    const released = strategies.includes('released:topk') ? fitPpm(readMixTable(mixesFile(VALIDATION_SET_FILE)).data, { kind: 'linear', ridge: 0 }) : undefined;
    const active = activeOptions(values, seed);

    // With --rm-eval a held-out part never enters the routed pool; the reward models are scored on it.
    const heldFraction = values['rm-eval'] ? num(values, 'heldout', 0.2) : 0;
    const split = heldFraction > 0 ? devTestSplit(ids.length, 1 - heldFraction, seed) : { dev: ids.map((_, i) => i), test: [] as number[] };
    const rows = split.dev;
    // The routed part is a pool of its own: percentile bins recomputed within it.
    const routed = { table: rows.length === ids.length ? table : subsetTable(table, rows), ai: rows.map((i) => pool.ai![i]!), gold: rows.map((i) => gold.gold[i]!), humans: rows.map((i) => gold.humans[i]!) };
    const tracker = values['rm-eval']
      ? rmAccuracyTracker(
          { pool: rows.map((i) => pairs.pairs[i]!), heldOut: split.test.map((i) => pairs.pairs[i]!), heldOutMajority: split.test.map((i) => gold.gold[i]!) },
          num(values, 'rm-selections', 2),
          {
            model: str(values, 'rm-model') ?? DEFAULT_RM_MIX.model, train: str(values, 'rm-train') ?? DEFAULT_RM_MIX.train, steps: num(values, 'rm-steps', DEFAULT_RM_MIX.steps),
            lr: num(values, 'rm-lr', DEFAULT_RM_MIX.lr), batchSize: num(values, 'rm-batch', DEFAULT_RM_MIX.batchSize),
          },
          (line) => console.error(line),
        )
      : undefined;
    const started = performance.now();
    const results = await budgetedEvaluation(routed, { budgets, strategies, featureSets, selections: num(values, 'selections', 20), active, released }, tracker?.onSelection);
    const n = rows.length;
    console.log(
      `\nagreement of the hybrid labels with gold on ${n} pairs${heldFraction ? ` (${split.test.length} held out for the reward models)` : ''}, strict protocol, ${results[0]?.results.random?.n ?? num(values, 'selections', 20)} selections per strategy and budget; ` +
        `active: pilot ${active.pilotFraction} of the budget (${active.pilotSampling}), PPM linear ridge ${active.ppm.ridge} on ${active.ppm.mixes} mixes of the labelled pairs, ${active.rounds} round(s); ${((performance.now() - started) / 1000).toFixed(0)} s\n`,
    );
    console.log(budgetedEvalTable(results, n));
    if (tracker) {
      console.log(`\nheld-out pairwise accuracy (%) of ${str(values, 'rm-model') ?? 'alignkit-rm'} fine-tuned on each selection's labels (first ${num(values, 'rm-selections', 2)} selections):\n`);
      console.log(budgetedEvalTable(results, n, 'reward-model accuracy, %', 'random', (run, b) => {
        const xs = tracker.accuracies(run, results[b]!.budget);
        return xs.length === 0 ? undefined : stat(xs);
      }));
    }
    if (values.plot) {
      const file = str(values, 'plot')!;
      fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
      fs.writeFileSync(file, budgetedEvalSvg(results, n, `${path.basename(pairFile)}: agreement with gold against the human budget`));
      console.log(`\nplot written to ${file}`);
    }
    if (values.json) fs.writeFileSync(str(values, 'json')!, JSON.stringify({ pairs: n, active, results }, null, 1));
    return 0;
  },
};

const pandalm: Subcommand = {
  summary: 'the shipped PandaLM set as pair and gold files',
  usage: `pandalm   --output DIR [--split 0.5] [--split-seed 7] [--pandalm-dir DIR]
      The shipped PandaLM set (999 pairs, 3 annotators, 2 AI judges) as a pair file with verdict
      columns and a gold file (majority, annotators): DIR/pairs.jsonl, DIR/gold.jsonl, and with
      --split a development / test split of both (DIR/dev-*.jsonl, DIR/test-*.jsonl).`,
  options: { output: { type: 'string' }, split: { type: 'string' }, 'split-seed': { type: 'string', default: '7' }, 'pandalm-dir': { type: 'string' } },
  async run(values) {
    const dir = need(values, 'output');
    const files = pandalmFiles(loadPandaLM(str(values, 'pandalm-dir')));
    fs.mkdirSync(dir, { recursive: true });
    await writeRows(path.join(dir, 'pairs.jsonl'), files.pairs);
    await writeRows(path.join(dir, 'gold.jsonl'), files.gold);
    let note = '';
    if (values.split) {
      const split = devTestSplit(files.pairs.length, num(values, 'split', 0.5), num(values, 'split-seed', 7));
      for (const [name, rows] of Object.entries(split)) {
        await writeRows(path.join(dir, `${name}-pairs.jsonl`), rows.map((i) => files.pairs[i]!));
        await writeRows(path.join(dir, `${name}-gold.jsonl`), rows.map((i) => files.gold[i]!));
      }
      note = `; dev ${split.dev.length} / test ${split.test.length} pairs (split seed ${values['split-seed']})`;
    }
    console.log(`wrote ${files.pairs.length} PandaLM pairs and gold labels to ${dir}${note}`);
    return 0;
  },
};

const SUBCOMMAND_TABLE: Record<string, Subcommand> = { features, verdicts, fit, select, simulate, eval: evaluate, pandalm };

/** The flags each subcommand declares, by name (parseArgs options with their defaults). */
export const ROUTE_FLAGS: Record<string, Options> = Object.fromEntries(Object.entries(SUBCOMMAND_TABLE).map(([name, sub]) => [name, sub.options]));

const USAGE = `usage: alignkit route <subcommand> [options]   (alignkit route <subcommand> --help for one)

${Object.values(SUBCOMMAND_TABLE).map((s) => `  ${s.usage}`).join('\n\n')}

Any file can be .jsonl, .json, .arrow or .parquet.`;

/** Parses a subcommand's argv against its declared flags; `--help` prints its usage. */
function subcommand(name: string, sub: Subcommand): Command {
  const usage = `usage: alignkit route ${sub.usage}`;
  return {
    name,
    summary: sub.summary,
    usage,
    flags: sub.options,
    async run(argv) {
      if (argv.includes('--help') || argv.includes('-h')) {
        console.log(usage);
        return 0;
      }
      let values: Values;
      try {
        values = parseArgs({ args: argv, options: sub.options, strict: true, allowPositionals: false }).values as Values;
      } catch (e) {
        if (!(e as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) throw e;
        throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `route ${name}: ${(e as Error).message}\n\n${usage}`, { parameter: name }, e);
      }
      return sub.run(values);
    },
  };
}

export const ROUTE_SUBCOMMANDS: Record<string, Command> = Object.fromEntries(Object.entries(SUBCOMMAND_TABLE).map(([name, sub]) => [name, subcommand(name, sub)]));

export const routeCommand: Command = {
  name: 'route',
  summary: 'hybrid human/AI annotation routing: features, verdicts, PPM fit, selection (budgeted active protocol), simulation, evaluation on gold labels',
  usage: USAGE,
  subcommands: ROUTE_SUBCOMMANDS,
  async run(argv) {
    const [name, ...rest] = argv;
    if (name === '--help' || name === '-h' || name === 'help') {
      console.log(USAGE);
      return 0;
    }
    const sub = name && Object.hasOwn(ROUTE_SUBCOMMANDS, name) ? ROUTE_SUBCOMMANDS[name] : undefined;
    if (!sub) {
      console.error(name ? `alignkit route: unknown subcommand '${name}'. Subcommands: ${Object.keys(ROUTE_SUBCOMMANDS).join(', ')}\n\n${USAGE}` : USAGE);
      return 2;
    }
    return (await sub.run(rest)) ?? 0;
  },
};
