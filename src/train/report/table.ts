// Plain-text tables for the terminal: the end-of-run summary of a training run and the
// RewardBench-style accuracy table of `alignkit eval rm` both print through here.

export interface TableColumn {
  header: string;
  /** Numbers and the header align right (the default for numeric columns), text left. */
  align?: 'left' | 'right';
}

export type Cell = string | number | undefined;

export interface FormatOptions {
  /** Digits after the decimal point for non-integer numbers (default 4). */
  digits?: number;
  /** Row indices after which a rule is drawn (e.g. before a total row). */
  rulesAfter?: number[];
}

function cellText(cell: Cell, digits: number): string {
  if (cell === undefined) return '';
  if (typeof cell === 'string') return cell;
  if (!Number.isFinite(cell)) return String(cell);
  return Number.isInteger(cell) ? String(cell) : cell.toFixed(digits);
}

/** Renders `rows` under `columns` with a header rule, columns padded to their widest cell. */
export function formatTable(columns: readonly TableColumn[], rows: readonly Cell[][], opts: FormatOptions = {}): string {
  const digits = opts.digits ?? 4;
  const texts = rows.map((row) => columns.map((_, c) => cellText(row[c], digits)));
  const numeric = columns.map((_, c) => rows.length > 0 && rows.every((row) => row[c] === undefined || typeof row[c] === 'number'));
  const widths = columns.map((col, c) => Math.max(col.header.length, ...texts.map((t) => t[c]!.length)));
  const align = (text: string, c: number): string => ((columns[c]!.align ?? (numeric[c] ? 'right' : 'left')) === 'right' ? text.padStart(widths[c]!) : text.padEnd(widths[c]!));
  const line = (cells: string[]): string => cells.map(align).join('  ').trimEnd();
  const rule = widths.map((w) => '-'.repeat(w)).join('  ');
  const rulesAfter = new Set(opts.rulesAfter ?? []);
  const body = texts.flatMap((t, i) => (rulesAfter.has(i) ? [line(t), rule] : [line(t)]));
  return [line(columns.map((c) => c.header)), rule, ...body].join('\n');
}
