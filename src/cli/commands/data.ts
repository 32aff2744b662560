// `alignkit data inspect|convert`: look at a preference dataset (which convention, how many rows,
// which rows are bad, how long prompts and responses are) and convert between file formats.

import { parseArgs } from 'node:util';
import { fail } from '../../errors.js';
import {
  FILE_FORMATS,
  exampleToRow,
  lengthStats,
  openPreferenceStream,
  readRows,
  writeRows,
  type FormatName,
  type LengthSummary,
  type PreferenceExample,
  type PreferenceKind,
  type Row,
} from '../../datasets/index.js';
import type { Command } from '../registry.js';

const FORMAT_NAMES = FILE_FORMATS.map((f) => f.name).join('|');

const USAGE = `usage: alignkit data <subcommand> [options]

  inspect FILE [--kind paired|unpaired|rated] [--convention NAME] [--skip-bad-rows]
               [--format ${FORMAT_NAMES}] [--json]
      Detects the column convention, validates every row, and prints counts, ties, skipped rows
      and prompt/response length statistics (characters).
  convert IN OUT [--from FORMAT] [--to FORMAT] [--batch-size 1000]
               [--normalize [--kind K] [--convention NAME] [--skip-bad-rows]]
      Streams rows from IN to OUT, formats by extension (${FILE_FORMATS.flatMap((f) => f.extensions).join(' ')}).
      With --normalize, writes the normalized records (id, prompt, chosen, rejected, ...) instead of raw rows.`;

const KINDS = ['paired', 'unpaired', 'rated', 'auto'];

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
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      kind: { type: 'string' },
      convention: { type: 'string' },
      'skip-bad-rows': { type: 'boolean', default: false },
      format: { type: 'string' },
      json: { type: 'boolean', default: false },
    },
  });
  const file = positionals[0];
  if (!file || positionals.length > 1) throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `data inspect takes one FILE\n\n${USAGE}`, { parameter: 'FILE' });
  const stream = await openPreferenceStream(file, {
    kind: kindOption(values.kind),
    convention: values.convention,
    onBadRow: values['skip-bad-rows'] ? 'skip' : 'error',
    format: formatOption(values.format, 'format'),
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

async function convert(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      from: { type: 'string' },
      to: { type: 'string' },
      'batch-size': { type: 'string' },
      normalize: { type: 'boolean', default: false },
      kind: { type: 'string' },
      convention: { type: 'string' },
      'skip-bad-rows': { type: 'boolean', default: false },
    },
  });
  const [input, output] = positionals;
  if (!input || !output || positionals.length > 2) throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `data convert takes IN and OUT\n\n${USAGE}`, { parameter: 'IN OUT' });
  const batchSize = values['batch-size'] === undefined ? undefined : Number(values['batch-size']);
  const from = formatOption(values.from, 'from');
  let rows: AsyncIterable<Row>;
  let skipped: { length: number } = { length: 0 };
  if (values.normalize) {
    const stream = await openPreferenceStream(input, { kind: kindOption(values.kind), convention: values.convention, onBadRow: values['skip-bad-rows'] ? 'skip' : 'error', format: from });
    rows = (async function* () {
      for await (const example of stream) yield exampleToRow(stream.kind, example);
    })();
    skipped = stream.skipped;
  } else {
    rows = rawRowsOf(input, from);
  }
  const written = await writeRows(output, rows, { format: formatOption(values.to, 'to'), batchSize });
  console.log(`wrote ${written} rows to ${output}${skipped.length > 0 ? ` (${skipped.length} bad rows skipped)` : ''}`);
  return 0;
}

const SUBCOMMANDS: Record<string, (argv: string[]) => Promise<number>> = { inspect, convert };

export const dataCommand: Command = {
  name: 'data',
  summary: 'inspect preference datasets and convert between JSONL, JSON, Arrow and Parquet',
  usage: USAGE,
  async run(argv) {
    const [sub, ...rest] = argv;
    const handler = sub === undefined ? undefined : SUBCOMMANDS[sub];
    if (!handler) throw fail('ALIGNKIT_ERR_UNKNOWN_NAME', `unknown data subcommand '${sub ?? ''}'; known: ${Object.keys(SUBCOMMANDS).join(', ')}\n\n${USAGE}`, { parameter: 'subcommand' });
    return handler(rest);
  },
};
