// Loading a preference dataset: read rows (streaming), detect the column convention from the first
// row (or take the one the user forces), normalize every row, and either stop at the first bad row
// with an error naming file/row/field or skip it and count it.

import { fail, isAlignkitError } from '../errors.js';
import { CONVENTIONS, conventionByName, detectConvention, type Convention } from './conventions/index.js';
import type { FormatName } from './formats/index.js';
import { readRows } from './rows.js';
import type { ExampleOfKind, PairedExample, PreferenceKind, Row, RowProblem } from './types.js';

export interface LoadOptions<K extends PreferenceKind = PreferenceKind> {
  /** Restrict detection to one kind ('auto' = any, the default). */
  kind?: K | 'auto';
  /** Force one convention by name (see CONVENTIONS), skipping detection. */
  convention?: string;
  /** 'error' (default): the first bad row throws ALIGNKIT_ERR_DATASET_ROW; 'skip': it is skipped and listed in `skipped`. */
  onBadRow?: 'error' | 'skip';
  /** Stop after this many examples. */
  limit?: number;
  /** Drop paired records marked `tie` (PandaLM majority ties, UltraFeedback equal scores). Default false: ties are kept and marked. */
  dropTies?: boolean;
  format?: FormatName;
  chunkSize?: number;
}

const LOAD_DEFAULTS = { kind: 'auto', onBadRow: 'error', limit: Infinity, dropTies: false } as const;

/** A streamed dataset: iterate it once for the examples; `skipped` and `ties` fill in as it goes. */
export interface PreferenceStream<K extends PreferenceKind = PreferenceKind, T = ExampleOfKind[K]> extends AsyncIterable<T> {
  file: string;
  kind: K;
  convention: string;
  skipped: RowProblem[];
  /** Paired records marked as ties (counted whether kept or dropped). */
  ties: number;
}

/** The loaded data as a union discriminated by `kind`. */
export type LoadedPreferenceData<K extends PreferenceKind = PreferenceKind> = {
  [P in K]: { file: string; kind: P; convention: string; examples: ExampleOfKind[P][]; skipped: RowProblem[]; ties: number };
}[K];

function validated<K extends PreferenceKind>(options: LoadOptions<K>): Required<Pick<LoadOptions<K>, 'onBadRow' | 'limit' | 'dropTies'>> & { kind: K | 'auto' } {
  const merged = {
    kind: options.kind ?? LOAD_DEFAULTS.kind,
    onBadRow: options.onBadRow ?? LOAD_DEFAULTS.onBadRow,
    limit: options.limit ?? LOAD_DEFAULTS.limit,
    dropTies: options.dropTies ?? LOAD_DEFAULTS.dropTies,
  };
  if (merged.kind !== 'auto' && !CONVENTIONS.some((c) => c.kind === merged.kind)) {
    throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `kind must be auto or one of ${[...new Set(CONVENTIONS.map((c) => c.kind))].join(', ')}, got "${merged.kind}"`, { parameter: 'kind' });
  }
  if (merged.onBadRow !== 'error' && merged.onBadRow !== 'skip') throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `onBadRow must be "error" or "skip", got "${merged.onBadRow}"`, { parameter: 'onBadRow' });
  if (!(merged.limit === Infinity || (Number.isInteger(merged.limit) && merged.limit >= 0))) throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `limit must be a non-negative integer, got ${merged.limit}`, { parameter: 'limit' });
  return merged as Required<Pick<LoadOptions<K>, 'onBadRow' | 'limit' | 'dropTies'>> & { kind: K | 'auto' };
}

/** A validated record: the normalized example, the raw row it came from and its 0-based position in the file. */
export interface ValidatedRecord<K extends PreferenceKind = PreferenceKind> {
  example: ExampleOfKind[K];
  row: Row;
  index: number;
}
type Validated<K extends PreferenceKind> = ValidatedRecord<K>;

/** The one loop behind openPreferenceStream and openValidatedRows: detect, normalize, skip or stop. */
async function openValidated<K extends PreferenceKind, T>(file: string, options: LoadOptions<K>, pick: (v: Validated<K>) => T): Promise<PreferenceStream<K, T>> {
  const config = validated(options);
  const skipped: RowProblem[] = [];
  const skip = config.onBadRow === 'skip';
  const rows = readRows(file, { format: options.format, chunkSize: options.chunkSize, onMalformed: skip ? (p) => skipped.push(p) : undefined });
  let first: Awaited<ReturnType<typeof rows.next>>;
  let convention: Convention;
  try {
    first = await rows.next();
    if (first.done) throw fail('ALIGNKIT_ERR_DATASET_SCHEMA', `${file}: has no rows, so no convention can be detected`, { file, columns: [] });
    const wantedKind = config.kind === 'auto' ? undefined : config.kind;
    convention = options.convention !== undefined ? conventionByName(options.convention) : detectConvention(file, first.value.row, wantedKind);
    if (wantedKind !== undefined && convention.kind !== wantedKind) {
      throw fail('ALIGNKIT_ERR_DATASET_SCHEMA', `${file}: convention "${convention.name}" gives ${convention.kind} records, but kind "${wantedKind}" was asked for`, { file, convention: convention.name });
    }
  } catch (e) {
    await rows.return(undefined);
    throw e;
  }
  let consumed = false;
  const stream: PreferenceStream<K, T> = {
    file,
    kind: convention.kind as K,
    convention: convention.name,
    skipped,
    ties: 0,
    async *[Symbol.asyncIterator]() {
      if (consumed) throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `the dataset stream of ${file} can be iterated only once; open it again`, { file });
      consumed = true;
      let produced = 0;
      let pending: typeof first | undefined = first;
      try {
        while (produced < config.limit) {
          const next = pending ?? (await rows.next());
          pending = undefined;
          if (next.done) return;
          const { row, index } = next.value;
          let example: ExampleOfKind[K];
          try {
            example = convention.normalize(row, { file, index }) as ExampleOfKind[K];
          } catch (e) {
            if (!skip || !isAlignkitError(e) || e.code !== 'ALIGNKIT_ERR_DATASET_ROW') throw e;
            skipped.push({ file, row: Number(e.details.row), field: String(e.details.field), message: e.message });
            continue;
          }
          if ((example as PairedExample).tie === true) {
            stream.ties++;
            if (config.dropTies) continue;
          }
          produced++;
          yield pick({ example, row, index });
        }
      } finally {
        // Also on an early `break` by the consumer: closes the reader's file handle.
        await rows.return(undefined);
      }
    },
  };
  return stream;
}

/**
 * Opens a dataset for streaming. Resolves once the first row has been read and the convention is
 * known (so schema errors surface here, up front); the examples are produced as they are iterated.
 */
export function openPreferenceStream<K extends PreferenceKind = PreferenceKind>(file: string, options: LoadOptions<K> = {}): Promise<PreferenceStream<K>> {
  return openValidated(file, options, (v) => v.example);
}

/**
 * The raw rows of a preference dataset that pass validation (as `openPreferenceStream` checks
 * them), unchanged: what `data convert` copies when it is not asked to normalize.
 */
export function openValidatedRows<K extends PreferenceKind = PreferenceKind>(file: string, options: LoadOptions<K> = {}): Promise<PreferenceStream<K, Row>> {
  return openValidated(file, options, (v) => v.row);
}

/** Both at once: each valid row's example, raw row and position (for outputs that keep the input's columns). */
export function openPreferenceRecords<K extends PreferenceKind = PreferenceKind>(file: string, options: LoadOptions<K> = {}): Promise<PreferenceStream<K, ValidatedRecord<K>>> {
  return openValidated(file, options, (v) => v);
}

/** Loads a whole dataset into memory; see `openPreferenceStream` for files larger than memory. */
export async function loadPreferenceData<K extends PreferenceKind = PreferenceKind>(file: string, options: LoadOptions<K> = {}): Promise<LoadedPreferenceData<K>> {
  const stream = await openPreferenceStream(file, options);
  const examples: ExampleOfKind[K][] = [];
  for await (const example of stream) examples.push(example);
  return { file, kind: stream.kind, convention: stream.convention, examples, skipped: stream.skipped, ties: stream.ties } as LoadedPreferenceData<K>;
}
