// The kinds of batch job: each says which flags it takes, which rows the input is cut into, what a
// worker does with one chunk of them, and how the chunk outputs become the final output. The chunk
// work is the local commands' own code (src/cli/work): `score`'s scoring, `generate`'s decoding,
// `route features`' extraction, routing's reward-model judge. A registry, so a new kind is an entry.

import { readRows, streamPrompts, writeRows, type Row, type RowProblem, type Text } from '../../datasets/index.js';
import { fail, isAlignkitError } from '../../errors.js';
import { DEFAULT_GENERATION, Generator } from '../../generate/index.js';
import { DEFAULT_PAIR_COLUMNS, readPairFile, rewardScorerJudge, type PairColumns, type RoutingPair, type TagRecord } from '../../routing/index.js';
import { combineConfig, DEFAULT_COMBINE, type CombineMethod } from '../../rewards/index.js';
import type { SessionOptions } from '../../graph/index.js';
import type { FlagTable } from '../registry.js';
import { numberFlag } from '../options.js';
import { FLAGS as GENERATE_FLAGS, generateSettings, parseArm } from '../commands/generate.js';
import { SCORING_FLAGS, scoreSettings } from '../commands/score.js';
import { generateRow, promptTokenLimit, type GenerateRowsSettings } from '../work/generate.js';
import { precomputedTagger } from '../work/features.js';
import { featureFileRows, pairColumnsOf, ROUTE_FLAGS, taggerFromFlags } from '../commands/route.js';
import { loadScoringEnsemble, scoreRows, type ScoreSettings } from '../work/score.js';

type Values = Record<string, string | boolean | string[] | undefined>;

/** One chunk as a worker sees it. */
export interface ChunkContext {
  /** The original input file (messages name its rows). */
  data: string;
  settings: unknown;
  input: string;
  output: string;
  /** 0-based row of the input where this chunk starts. */
  firstRow: number;
  /** onnxruntime options of the worker (its --threads) for the sessions the kind opens. */
  session?: SessionOptions;
}

export interface ChunkResult {
  rowsOut: number;
  skipped: { row: number; reason: string }[];
}

export interface JobKind {
  name: string;
  summary: string;
  /** Flags of `jobs submit KIND` beyond the common ones. */
  flags: FlagTable;
  /** The run's settings (JSON) from the flags and the input; `chunk` is the chunk size asked for. */
  prepare(values: Values, data: string, chunk: number): Promise<unknown>;
  /** The rows chunk files hold, streamed from the input in input order. */
  rows(data: string, settings: unknown): AsyncIterable<Row>;
  /** A worker's work on one chunk: reads ctx.input, writes ctx.output (atomically). */
  runChunk(ctx: ChunkContext): Promise<ChunkResult>;
  /** Writes the final output from the chunk outputs (given in order); resolves to the row count. */
  assemble(chunkOutputs: readonly string[], output: string, settings: unknown, data: string): Promise<number>;
}

async function* rowsOf(file: string): AsyncGenerator<Row> {
  for await (const { row } of readRows(file)) yield row;
}

async function* concatenated(files: readonly string[]): AsyncGenerator<Row> {
  for (const f of files) yield* rowsOf(f);
}

/** Most kinds: the final output is the chunk outputs one after the other. */
const concatenate = (chunkOutputs: readonly string[], output: string): Promise<number> => writeRows(output, concatenated(chunkOutputs));

/**
 * A worker keeps what it loaded (models, generators) for the next chunk of the same run; one entry
 * per kind, so memory holds one run's models per kind, not every run's.
 */
const loaded = new Map<string, { key: string; value: Promise<unknown> }>();
function cached<T>(kind: string, key: unknown, load: () => Promise<T>): Promise<T> {
  const k = JSON.stringify(key);
  const hit = loaded.get(kind);
  if (hit?.key === k) return hit.value as Promise<T>;
  const value = load();
  loaded.set(kind, { key: k, value });
  value.catch(() => loaded.delete(kind));
  return value;
}

/** A row problem of a chunk file, said about the original input's row. */
function relocated(p: RowProblem, ctx: ChunkContext): { row: number; reason: string } {
  const row = ctx.firstRow + p.row;
  return { row, reason: p.message.replace(`${ctx.input} row ${p.row}`, `${ctx.data} row ${row}`) };
}

function relocatedError(e: unknown, ctx: ChunkContext): unknown {
  if (!isAlignkitError(e) || e.details.file !== ctx.input || typeof e.details.row !== 'number') return e;
  const row = ctx.firstRow + e.details.row;
  return fail(e.code, e.message.replace(`${ctx.input} row ${e.details.row}`, `${ctx.data} row ${row}`), { ...e.details, file: ctx.data, row }, e);
}

const score: JobKind = {
  name: 'score',
  summary: 'reward scores of every row, as alignkit score writes them',
  flags: SCORING_FLAGS,
  async prepare(values, data, chunk) {
    const settings = await scoreSettings(values, data);
    // Batches start at multiples of the batch size in the whole input: chunks must too, to score the same batches.
    if (chunk % settings.batchSize !== 0)
      throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `--chunk ${chunk} must be a multiple of --batch-size ${settings.batchSize}, so that chunks score the batches one process scores`, { parameter: 'chunk' });
    return settings;
  },
  rows: (data) => rowsOf(data),
  async runChunk(ctx) {
    const settings = ctx.settings as ScoreSettings;
    const ensemble = await cached('score', [settings.models, settings.combine, ctx.session], () => loadScoringEnsemble(settings.models, settings.combine, ctx.session));
    const skipped: RowProblem[] = [];
    try {
      const rowsOut = await writeRows(ctx.output, scoreRows(ensemble, ctx.input, settings, { firstRow: ctx.firstRow, skipped, source: ctx.data }));
      return { rowsOut, skipped: skipped.map((p) => relocated(p, ctx)) };
    } catch (e) {
      throw relocatedError(e, ctx);
    }
  },
  assemble: concatenate,
};

interface GenerateJobSettings extends GenerateRowsSettings {
  base: string;
  arms: string[];
}

const { base: _b, arm: _a, prompt: _p, prompts: _ps, limit: _l, out: _o, 'no-progress': _np, ...GENERATE_JOB_FLAGS } = GENERATE_FLAGS;

const generateKind: JobKind = {
  name: 'generate',
  summary: 'one generation per prompt row, as alignkit generate --prompts writes them',
  flags: { base: GENERATE_FLAGS.base!, arm: GENERATE_FLAGS.arm!, ...GENERATE_JOB_FLAGS },
  async prepare(values, data): Promise<GenerateJobSettings> {
    if (!values.base) throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', 'jobs submit generate needs --base DIR', { parameter: 'base' });
    return { ...generateSettings(values), source: data, base: values.base as string, arms: (values.arm as string[] | undefined) ?? [] };
  },
  rows: async function* (data) {
    for await (const { prompt, row } of streamPrompts(data)) yield { row, prompt };
  },
  async runChunk(ctx) {
    const s = ctx.settings as GenerateJobSettings;
    const gen = await cached('generate', [s.base, s.arms, ctx.session], () => Generator.load(s.base, s.arms.map(parseArm), ctx.session));
    const limit = promptTokenLimit(gen, s.config.maxNewTokens ?? DEFAULT_GENERATION.maxNewTokens, s.maxPromptTokens);
    const skipped: ChunkResult['skipped'] = [];
    const records = async function* () {
      for await (const r of rowsOf(ctx.input)) {
        const outcome = await generateRow(gen, { prompt: r.prompt as Text, row: r.row as number }, s, limit);
        if ('skipped' in outcome) skipped.push(outcome.skipped);
        else yield outcome.record as unknown as Row;
      }
    };
    return { rowsOut: await writeRows(ctx.output, records()), skipped };
  },
  assemble: concatenate,
};

/** `route features`' flags for a pair file (`--input`/`--output` are the run's `--data`/`--output`). */
const { input: _in, output: _out, ...FEATURE_FLAGS } = ROUTE_FLAGS.features!;

/** The tags of one chunk's pairs, one row each, in order. */
async function chunkPairs(ctx: ChunkContext, cols: Partial<PairColumns>): Promise<RoutingPair[]> {
  try {
    return (await readPairFile(ctx.input, cols)).pairs;
  } catch (e) {
    throw relocatedError(e, ctx);
  }
}

const features: JobKind = {
  name: 'features',
  summary: 'routing features of every pair, as alignkit route features writes them (chunks tag the pairs)',
  flags: FEATURE_FLAGS as FlagTable,
  async prepare(values) {
    taggerFromFlags(values); // fails here, at submit, on an unknown tagger or missing http settings
    return values;
  },
  rows: (data) => rowsOf(data),
  // Tagging is the per-pair work (an LM endpoint with the http tagger); the rest needs the whole pool.
  async runChunk(ctx) {
    const values = ctx.settings as Values;
    const tags = await taggerFromFlags(values).tag(await chunkPairs(ctx, pairColumnsOf(values)));
    return { rowsOut: await writeRows(ctx.output, tags.map((t) => ({ tags: t }))), skipped: [] };
  },
  // Lexical scores are ranked and binned over the whole pool, verdicts aggregated per pair: routing's
  // own pool building, over the whole input, with the chunks' tags.
  async assemble(chunkOutputs, output, settings, data) {
    const tags: TagRecord[] = [];
    for await (const row of concatenated(chunkOutputs)) tags.push(row.tags as TagRecord);
    const values = settings as Values;
    const { rows } = await featureFileRows(values, data, undefined, precomputedTagger(str(values, 'tagger') ?? 'rules', tags));
    return writeRows(output, rows as unknown as Row[]);
  },
};

interface LabelJobSettings {
  cols: Partial<PairColumns>;
  judges: string[];
  combine: ScoreSettings['combine'];
  tieMargin: number;
  truncate: boolean;
}

const str = (v: Values, k: string) => v[k] as string | undefined;

const label: JobKind = {
  name: 'label',
  summary: 'an AI label (A, B or tie) for every pair from reward-model judges (routing\'s rewardScorerJudge)',
  flags: {
    'id-col': { type: 'string', value: 'NAME', default: DEFAULT_PAIR_COLUMNS.id, help: 'pair id column (default: the row number)' },
    'prompt-col': { type: 'string', value: 'NAME', default: DEFAULT_PAIR_COLUMNS.prompt, help: 'prompt column' },
    'a-col': { type: 'string', value: 'NAME', default: DEFAULT_PAIR_COLUMNS.a, help: 'first response column' },
    'b-col': { type: 'string', value: 'NAME', default: DEFAULT_PAIR_COLUMNS.b, help: 'second response column' },
    judge: { type: 'string', multiple: true, value: '[NAME=]SPEC', help: 'reward model judging the pairs (SPEC as in alignkit score); repeat for an ensemble' },
    combine: SCORING_FLAGS.combine!,
    lambda: SCORING_FLAGS.lambda!,
    'tie-margin': { type: 'string', value: 'X', shownDefault: 0, help: 'rewards within X of each other are a tie' },
    'no-truncate': SCORING_FLAGS['no-truncate']!,
  },
  async prepare(values): Promise<LabelJobSettings> {
    const judges = values.judge as string[] | undefined;
    if (!judges?.length) throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', 'jobs submit label needs --judge SPEC', { parameter: 'judge' });
    const combine = combineConfig({ method: values.combine as CombineMethod, lambda: numberFlag(str(values, 'lambda'), 'lambda') ?? DEFAULT_COMBINE.lambda }, 'combine');
    return { cols: pairColumnsOf(values), judges, combine, tieMargin: numberFlag(str(values, 'tie-margin'), 'tie-margin') ?? 0, truncate: !values['no-truncate'] };
  },
  rows: (data) => rowsOf(data),
  async runChunk(ctx) {
    const s = ctx.settings as LabelJobSettings;
    const ensemble = await cached('label', [s.judges, s.combine, ctx.session], () => loadScoringEnsemble(s.judges, s.combine, ctx.session));
    const judge = rewardScorerJudge(s.judges.join('+'), async (prompt, response) => (await ensemble.score([{ prompt, response }], { truncate: s.truncate }))[0]![0]!, s.tieMargin);
    const pairs = await chunkPairs(ctx, s.cols);
    const verdicts = await judge.judge(pairs);
    // A pair without an id column is named by its row in the whole input, as one process names it.
    const idCol = s.cols.id ?? DEFAULT_PAIR_COLUMNS.id;
    const rows = pairs.map((p, k) => ({ id: p.extra && idCol in p.extra ? p.id : String(ctx.firstRow + k), label: verdicts[k]!.preference, score_a: verdicts[k]!.scoreA ?? null, score_b: verdicts[k]!.scoreB ?? null }));
    return { rowsOut: await writeRows(ctx.output, rows), skipped: [] };
  },
  assemble: concatenate,
};

export const JOB_KINDS: Record<string, JobKind> = { score, label, features, generate: generateKind };
