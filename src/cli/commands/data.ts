// `alignkit data inspect|convert`: look at a preference dataset (which convention, how many rows,
// which rows are bad, how long prompts and responses are) and convert between file formats.

import { fail } from '../../errors.js';
import {
  FILE_FORMATS,
  exampleToRow,
  lengthStats,
  openPreferenceStream,
  openValidatedRows,
  readRows,
  writeRows,
  type FormatName,
  type LengthSummary,
  type PreferenceExample,
  type PreferenceKind,
  type Row,
} from '../../datasets/index.js';
import { runSubcommand, type Command, type FlagTable } from '../registry.js';
import { numberFlag, parseFlags, usageText } from '../options.js';
import { withProgress } from '../progress.js';

const FORMAT_NAMES = FILE_FORMATS.map((f) => f.name).join('|');

const KINDS = ['paired', 'unpaired', 'rated', 'auto'];

/** Flags both subcommands read the dataset with. */
const READ_FLAGS: FlagTable = {
  kind: { type: 'string', value: KINDS.join('|'), shownDefault: 'auto', help: 'restrict convention detection to one kind of record' },
  convention: { type: 'string', value: 'NAME', help: 'force a column convention instead of detecting it' },
  'skip-bad-rows': { type: 'boolean', help: 'skip rows that fail validation (counted and listed) instead of stopping at the first' },
};

const INSPECT_FLAGS: FlagTable = {
  ...READ_FLAGS,
  format: { type: 'string', value: FORMAT_NAMES, help: 'file format (default: from the extension)' },
  json: { type: 'boolean', help: 'print the report as JSON' },
};

const CONVERT_FLAGS: FlagTable = {
  from: { type: 'string', value: FORMAT_NAMES, help: 'input format (default: from the extension)' },
  to: { type: 'string', value: FORMAT_NAMES, help: 'output format (default: from the extension)' },
  'batch-size': { type: 'string', value: 'N', shownDefault: 1000, help: 'rows per Arrow record batch / Parquet row group' },
  normalize: { type: 'boolean', help: 'write the normalized records (id, prompt, chosen, rejected, ...) instead of the raw rows' },
  ...READ_FLAGS,
  'no-validate': { type: 'boolean', help: 'copy rows without checking them against a preference convention (for files that hold no preference data)' },
  'no-progress': { type: 'boolean', help: 'no progress on standard error' },
};

const INSPECT_USAGE = usageText({
  synopsis: 'alignkit data inspect FILE [flags]',
  description: 'Detects the column convention, validates every row, and prints counts, ties, skipped rows\nand prompt/response length statistics (characters).',
  flags: INSPECT_FLAGS,
});

const CONVERT_USAGE = usageText({
  synopsis: 'alignkit data convert IN OUT [flags]',
  description: `Streams rows from IN to OUT, formats by extension (${FILE_FORMATS.flatMap((f) => f.extensions).join(' ')}).
Rows are validated against the detected preference convention first (a bad row stops the run, or is
skipped with --skip-bad-rows). OUT is written to a temporary file beside it and renamed when
complete: a failed or killed run leaves what was at OUT before.`,
  flags: CONVERT_FLAGS,
});

const USAGE = `usage: alignkit data <subcommand> [flags]

  inspect FILE    convention, counts, ties, bad rows and length statistics of a preference dataset
  convert IN OUT  stream rows between JSONL, JSON, Arrow and Parquet, validating them

alignkit data inspect --help and alignkit data convert --help list their flags.`;


function kindOption(value: string | undefined): PreferenceKind | 'auto' | undefined {
  if (value === undefined) return undefined;
  if (!KINDS.includes(value)) throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `--kind must be one of ${KINDS.join(', ')}, got '${value}'`, { parameter: 'kind' });
  return value as PreferenceKind | 'auto';
}

function formatOption(value: string | undefined, flag: string): FormatName | undefined {
  if (value === undefined) return undefined;
  if (!FILE_FORMATS.some((f) => f.name === value)) throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `--${flag} must be one of ${FORMAT_NAMES}, got '${value}'`, { parameter: flag });
  return value as FormatName;
}

/** Per-kind tallies shown by inspect, keyed like the records themselves. */
const KIND_TALLIES: Record<PreferenceKind, (examples: PreferenceExample[]) => Record<string, number>> = {
  paired: (examples) => {
    const margins = examples.map((e) => ('margin' in e ? e.margin : undefined)).filter((m): m is number => m !== undefined);
    return {
      withMargin: margins.length,
      ...(margins.length > 0 ? { meanMargin: margins.reduce((s, m) => s + m, 0) / margins.length } : {}),
      conversational: examples.filter((e) => Array.isArray(e.prompt)).length,
    };
  },
  unpaired: (examples) => ({
    desirable: examples.filter((e) => 'label' in e && e.label).length,
    undesirable: examples.filter((e) => 'label' in e && !e.label).length,
  }),
  rated: (examples) => {
    const sums: Record<string, number> = {};
    const counts: Record<string, number> = {};
    for (const e of examples) {
      if (!('ratings' in e)) continue;
      for (const [k, v] of Object.entries(e.ratings)) {
        sums[k] = (sums[k] ?? 0) + v;
        counts[k] = (counts[k] ?? 0) + 1;
      }
    }
    return Object.fromEntries(Object.keys(sums).map((k) => [`mean ${k}`, sums[k]! / counts[k]!]));
  },
};

const fmt = (n: number): string => (Number.isInteger(n) ? String(n) : n.toFixed(2));
const lengthLine = (name: string, s: LengthSummary): string => `  ${name.padEnd(9)} n=${s.count} min=${s.min} median=${s.median} mean=${fmt(s.mean)} p95=${s.p95} max=${s.max}`;

async function inspect(argv: string[]): Promise<number> {
  const { values, positionals } = parseFlags('data inspect', INSPECT_FLAGS, argv, ['FILE']);
  const file = positionals[0];
  if (!file) throw fail('ALIGNKIT_ERR_USAGE', 'data inspect takes a FILE (alignkit data inspect --help)', { parameter: 'FILE' });
  const stream = await openPreferenceStream(file, {
    kind: kindOption(values.kind as string | undefined),
    convention: values.convention as string | undefined,
    onBadRow: values['skip-bad-rows'] ? 'skip' : 'error',
    format: formatOption(values.format as string | undefined, 'format'),
  });
  const examples: PreferenceExample[] = [];
  for await (const example of stream) examples.push(example);
  const report = {
    file,
    convention: stream.convention,
    kind: stream.kind,
    examples: examples.length,
    skipped: stream.skipped.length,
    // Ties only exist for pairs (PandaLM majority ties, UltraFeedback equal scores).
    ...(stream.kind === 'paired' ? { ties: stream.ties } : {}),
    ...KIND_TALLIES[stream.kind](examples),
  };
  const lengths = lengthStats(examples);
  if (values.json) {
    console.log(JSON.stringify({ ...report, promptChars: lengths.prompt, responseChars: lengths.response, skippedRows: stream.skipped }, null, 2));
    return 0;
  }
  for (const [k, v] of Object.entries(report)) console.log(`${k}: ${typeof v === 'number' ? fmt(v) : v}`);
  console.log('length (characters):');
  console.log(lengthLine('prompt', lengths.prompt));
  console.log(lengthLine('response', lengths.response));
  const shown = stream.skipped.slice(0, 20);
  if (shown.length > 0) {
    console.log('skipped rows:');
    for (const p of shown) console.log(`  ${p.message}`);
    if (stream.skipped.length > shown.length) console.log(`  ... and ${stream.skipped.length - shown.length} more`);
  }
  return 0;
}

async function* rawRowsOf(file: string, format: FormatName | undefined): AsyncGenerator<Row> {
  for await (const { row } of readRows(file, { format })) yield row;
}

/** Counts rows on their way to the writer, for the progress lines. */
async function* counted<T>(rows: AsyncIterable<T>, tick: () => void): AsyncGenerator<T> {
  for await (const row of rows) {
    tick();
    yield row;
  }
}

async function convert(argv: string[]): Promise<number> {
  const { values, positionals } = parseFlags('data convert', CONVERT_FLAGS, argv, ['IN', 'OUT']);
  const [input, output] = positionals;
  if (!input || !output) throw fail('ALIGNKIT_ERR_USAGE', 'data convert takes IN and OUT (alignkit data convert --help)', { parameter: 'IN OUT' });
  if (values.normalize && values['no-validate']) throw fail('ALIGNKIT_ERR_USAGE', '--normalize needs validation: it cannot be combined with --no-validate', { parameter: 'no-validate' });
  const batchSize = numberFlag(values['batch-size'] as string | undefined, 'batch-size');
  const from = formatOption(values.from as string | undefined, 'from');
  const load = { kind: kindOption(values.kind as string | undefined), convention: values.convention as string | undefined, onBadRow: values['skip-bad-rows'] ? ('skip' as const) : ('error' as const), format: from };
  let rows: AsyncIterable<Row>;
  let skipped: { length: number } = { length: 0 };
  if (values['no-validate']) rows = rawRowsOf(input, from);
  else if (values.normalize) {
    const stream = await openPreferenceStream(input, load);
    rows = (async function* () {
      for await (const example of stream) yield exampleToRow(stream.kind, example);
    })();
    skipped = stream.skipped;
  } else {
    const stream = await openValidatedRows(input, load);
    rows = stream;
    skipped = stream.skipped;
  }
  let done = 0;
  const written = await withProgress({ unit: 'rows', label: 'alignkit data convert', enabled: !values['no-progress'] }, (bar) =>
    writeRows(output, counted(rows, () => bar.update(++done)), { format: formatOption(values.to as string | undefined, 'to'), batchSize }),
  );
  console.log(`wrote ${written} rows to ${output}${skipped.length > 0 ? ` (${skipped.length} bad rows skipped)` : ''}`);
  return 0;
}

const SUBCOMMANDS: Record<string, Command> = {
  inspect: { name: 'inspect', summary: 'convention, counts, ties, bad rows and lengths of a preference dataset', usage: INSPECT_USAGE, flags: INSPECT_FLAGS, positionals: ['FILE'], run: inspect },
  convert: { name: 'convert', summary: 'stream rows between JSONL, JSON, Arrow and Parquet, validating them', usage: CONVERT_USAGE, flags: CONVERT_FLAGS, positionals: ['IN', 'OUT'], run: convert },
};

export const dataCommand: Command = {
  name: 'data',
  summary: 'inspect preference datasets and convert between JSONL, JSON, Arrow and Parquet',
  usage: USAGE,
  subcommands: SUBCOMMANDS,
  fieldFlags: { onBadRow: 'skip-bad-rows', batchSize: 'batch-size' },
  run: runSubcommand('data', SUBCOMMANDS),
};
