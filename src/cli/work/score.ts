// Batch scoring of a dataset file with one reward model or an ensemble: the work `alignkit score`
// does over a whole file and a `jobs` worker does over one chunk of it. Rows stream through in
// batches (memory holds one batch), and the output keeps each input row's columns and adds the
// combined reward, each model's reward and, for an ensemble, the members' variance.
//
// Batches are cut by input position (rows [kB, (k+1)B) of the file), not by count of valid rows: a
// chunk of the file that starts at a multiple of B then scores exactly the batches a whole-file run
// scores, so chunked and single-process outputs agree to the bit.

import { fail, isAlignkitError } from '../../errors.js';
import { openPreferenceRecords, readRows, type Row, type RowProblem, type Text } from '../../datasets/index.js';
import { loadRewardModelSpec } from '../../eval/index.js';
import type { SessionOptions } from '../../graph/index.js';
import { RewardEnsemble, type CombineConfig, type RewardModel, type ScoreItem } from '../../rewards/index.js';

/** What the rows of an input hold: a response per row, or a preference pair (both sides scored). */
export type ScoreInput = { mode: 'response'; promptCol: string; responseCol: string } | { mode: 'pair'; convention: string };

export interface ScoreSettings {
  /** `[NAME=]SPEC` per model, SPEC as in `eval rm` (a classifier directory, flr:DIR, dpo-implied:...). */
  models: string[];
  combine: CombineConfig;
  /** Input rows per scoring call. */
  batchSize: number;
  /** Cut over-long inputs (the prompt's start) instead of failing. */
  truncate: boolean;
  onBadRow: 'error' | 'skip';
  input: ScoreInput;
}

export const SCORE_DEFAULTS = { batchSize: 32, promptCol: 'prompt', responseCol: 'response' } as const;

/** A model under another name (`NAME=SPEC`), so two seeds of one model can sit in one ensemble. */
function renamed(model: RewardModel, name: string): RewardModel {
  return { name, heads: model.heads, maxLength: model.maxLength, score: (items, opts) => model.score(items, opts) };
}

/** The models of `--model [NAME=]SPEC ...` as one ensemble (a single model is an ensemble of one). */
export async function loadScoringEnsemble(specs: readonly string[], combine: CombineConfig, session?: SessionOptions): Promise<RewardEnsemble> {
  if (specs.length === 0) throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', 'scoring needs at least one model', { field: 'models' });
  const models: RewardModel[] = [];
  for (const spec of specs) {
    const eq = spec.indexOf('=');
    const model = await loadRewardModelSpec(eq > 0 ? spec.slice(eq + 1) : spec, session);
    models.push(eq > 0 ? renamed(model, spec.slice(0, eq)) : model);
  }
  return new RewardEnsemble(models, combine);
}

const isText = (v: unknown): v is Text => typeof v === 'string' || Array.isArray(v);

/** Response rows when the first row has the response column; otherwise a preference dataset. */
export async function detectScoreInput(file: string, columns: { promptCol?: string; responseCol?: string } = {}): Promise<ScoreInput> {
  const promptCol = columns.promptCol ?? SCORE_DEFAULTS.promptCol;
  const responseCol = columns.responseCol ?? SCORE_DEFAULTS.responseCol;
  const rows = readRows(file);
  const first = await rows.next();
  await rows.return(undefined);
  if (first.done) throw fail('ALIGNKIT_ERR_DATASET_SCHEMA', `${file}: has no rows to score`, { file });
  if (responseCol in first.value.row) return { mode: 'response', promptCol, responseCol };
  const records = await openPreferenceRecords(file, { kind: 'paired' }).catch((e: unknown) => {
    if (isAlignkitError(e) && e.code === 'ALIGNKIT_ERR_DATASET_SCHEMA')
      throw fail('ALIGNKIT_ERR_DATASET_SCHEMA', `${file}: rows have no "${responseCol}" column and are no preference pairs either: ${e.message}`, { file, field: responseCol }, e);
    throw e;
  });
  return { mode: 'pair', convention: records.convention };
}

/** One input row to score: its position, raw columns and the 1 (response) or 2 (chosen, rejected) items. */
interface Unit {
  index: number;
  row: Row;
  items: ScoreItem[];
}

async function* responseUnits(file: string, input: Extract<ScoreInput, { mode: 'response' }>, onBadRow: ScoreSettings['onBadRow'], skipped: RowProblem[]): AsyncGenerator<Unit> {
  for await (const { row, index } of readRows(file)) {
    const bad = [input.promptCol, input.responseCol].find((c) => !isText(row[c]));
    if (bad !== undefined) {
      const message = `${file} row ${index + 1}: field "${bad}" must be a string or a list of messages, got ${row[bad] === null ? 'null' : typeof row[bad]}`;
      if (onBadRow === 'skip') {
        skipped.push({ file, row: index + 1, field: bad, message });
        continue;
      }
      throw fail('ALIGNKIT_ERR_DATASET_ROW', message, { file, row: index + 1, field: bad });
    }
    yield { index, row, items: [{ prompt: row[input.promptCol] as Text, response: row[input.responseCol] as Text }] };
  }
}

async function* pairUnits(file: string, input: Extract<ScoreInput, { mode: 'pair' }>, onBadRow: ScoreSettings['onBadRow'], skipped: RowProblem[]): AsyncGenerator<Unit> {
  const records = await openPreferenceRecords(file, { kind: 'paired', convention: input.convention, onBadRow });
  for await (const { example, row, index } of records) {
    yield { index, row, items: [{ prompt: example.prompt, response: example.chosen }, { prompt: example.prompt, response: example.rejected }] };
  }
  skipped.push(...records.skipped);
}

/** Output columns for a unit's k-th item: `reward...` for a response row, `chosen_reward...`/`rejected_reward...` for a pair. */
const SIDES: Record<ScoreInput['mode'], string[]> = { response: [''], pair: ['chosen_', 'rejected_'] };

export interface ScoreRowsHooks {
  /** 0-based position of the file's first row in the whole input (a chunk's offset): batches and messages use it. */
  firstRow?: number;
  /** Called after each batch with the input rows read so far. */
  onProgress?: (rowsRead: number) => void;
  /** Rows skipped as bad (filled as the stream is read). */
  skipped?: RowProblem[];
  /** How rows are named in messages (default: the file). */
  source?: string;
}

/** A model failing on one item, said about the input row and side it came from. */
function atRow(e: unknown, batch: readonly Unit[], settings: ScoreSettings, source: string, firstRow: number): unknown {
  const item = isAlignkitError(e) ? e.details.row : undefined;
  const per = SIDES[settings.input.mode].length;
  if (!isAlignkitError(e) || typeof item !== 'number' || !batch[Math.floor(item / per)]) return e;
  const unit = batch[Math.floor(item / per)]!;
  const side = settings.input.mode === 'pair' ? ` (${item % per === 0 ? 'chosen' : 'rejected'} side)` : '';
  return fail(e.code, `${source} row ${firstRow + unit.index + 1}${side}: ${e.message}`, { ...e.details, row: firstRow + unit.index + 1 }, e);
}

/** Scores the rows of `file` and yields them with their reward columns, in input order. */
export async function* scoreRows(ensemble: RewardEnsemble, file: string, settings: ScoreSettings, hooks: ScoreRowsHooks = {}): AsyncGenerator<Row> {
  const firstRow = hooks.firstRow ?? 0;
  const skipped = hooks.skipped ?? [];
  const source = hooks.source ?? file;
  const units = settings.input.mode === 'response' ? responseUnits(file, settings.input, settings.onBadRow, skipped) : pairUnits(file, settings.input, settings.onBadRow, skipped);
  const prefixes = SIDES[settings.input.mode];
  const names = ensemble.memberNames;
  const score = async function* (batch: Unit[]): AsyncGenerator<Row> {
    if (batch.length === 0) return;
    const items = batch.flatMap((u) => u.items);
    const scored = await ensemble.scoreDetailed(items, { truncate: settings.truncate }).catch((e: unknown) => {
      throw atRow(e, batch, settings, source, firstRow);
    });
    for (const [u, unit] of batch.entries()) {
      const out: Row = { ...unit.row };
      prefixes.forEach((prefix, k) => {
        const i = u * prefixes.length + k;
        out[`${prefix}reward`] = scored.rewards[i]!;
        names.forEach((name, m) => (out[`${prefix}reward_${name}`] = scored.members[m]!.rewards[i]!));
        if (names.length > 1) out[`${prefix}reward_variance`] = scored.variance[i]!;
      });
      yield out;
    }
  };
  let batch: Unit[] = [];
  let batchKey = -1;
  let read = 0;
  for await (const unit of units) {
    const key = Math.floor((firstRow + unit.index) / settings.batchSize);
    if (key !== batchKey) {
      yield* score(batch);
      hooks.onProgress?.(read);
      batch = [];
      batchKey = key;
    }
    batch.push(unit);
    read = unit.index + 1;
  }
  yield* score(batch);
  hooks.onProgress?.(read);
}
