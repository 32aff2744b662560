// Training metrics as JSON Lines: one object per logged step, appended and written through with a
// synchronous write per line, so a killed run keeps every line it logged and `--resume` appends to
// the same file (the layout TRL/transformers' `log_history` and Weights & Biases' offline logs share).

import fs from 'node:fs';
import path from 'node:path';
import { fail } from '../../errors.js';

/** One logged line: `step` plus any numeric metrics (loss, lr, tokens_per_s, eval/...). */
export interface MetricsRecord {
  step: number;
  [metric: string]: number | string | undefined;
}

export class JsonlMetricsLogger {
  private fd: number | undefined;

  /** Opens `file` for appending (created with its folder); `truncate` starts it empty instead. */
  constructor(readonly file: string, opts: { truncate?: boolean } = {}) {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    this.fd = fs.openSync(file, opts.truncate ? 'w' : 'a');
  }

  log(record: MetricsRecord): void {
    if (this.fd === undefined) throw fail('ALIGNKIT_ERR_STATE', `metrics log ${this.file} is closed`, { file: this.file });
    if (!Number.isFinite(record.step)) throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `a metrics record needs a finite step, got ${record.step}`, { file: this.file, field: 'step' });
    // JSON has no NaN/Infinity: write them as strings so the line stays valid and the value visible.
    const line = JSON.stringify(record, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v));
    fs.writeSync(this.fd, `${line}\n`);
  }

  close(): void {
    if (this.fd !== undefined) fs.closeSync(this.fd);
    this.fd = undefined;
  }
}

/** Reads a metrics file back; a torn last line (a crash mid-write) is ignored, any other bad line names its row. */
export function readMetrics(file: string): MetricsRecord[] {
  if (!fs.existsSync(file)) throw fail('ALIGNKIT_ERR_FILE_NOT_FOUND', `metrics file ${file} does not exist`, { file });
  const lines = fs.readFileSync(file, 'utf8').split('\n');
  const records: MetricsRecord[] = [];
  lines.forEach((line, i) => {
    if (line.trim() === '') return;
    try {
      const value = JSON.parse(line, (_k, v: unknown) => (v === 'NaN' ? NaN : v === 'Infinity' ? Infinity : v === '-Infinity' ? -Infinity : v)) as MetricsRecord;
      records.push(value);
    } catch (e) {
      if (i === lines.length - 1) return;
      throw fail('ALIGNKIT_ERR_BAD_FORMAT', `${file} row ${i + 1} is not valid JSON: ${(e as Error).message}`, { file, row: i + 1 }, e);
    }
  });
  return records;
}

/** `[step, value]` points of one metric, skipping records without it. */
export function metricSeries(records: readonly MetricsRecord[], metric: string, x = 'step'): [number, number][] {
  const points: [number, number][] = [];
  for (const r of records) {
    const xv = r[x];
    const yv = r[metric];
    if (typeof xv === 'number' && typeof yv === 'number') points.push([xv, yv]);
  }
  return points;
}
