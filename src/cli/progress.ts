// Progress for the commands' long loops (prompts decoded, rows scored, pairs sampled, training
// steps). On a terminal, a cli-progress bar redrawn in place. Off a terminal (CI logs, redirected
// stderr, a job runner) a redrawn bar would fill the log and silence says nothing, so it writes one
// plain line at most every `intervalMs` (done/total, rate, ETA and any fields such as the loss),
// and a closing line if it wrote any: a run that finishes within the interval stays quiet.

import cliProgress from 'cli-progress';

export type ProgressStream = NodeJS.WritableStream & { isTTY?: boolean };

export interface ProgressOptions {
  /** Items expected; unknown (a stream of rows) gives a count and a rate without ETA. */
  total?: number;
  /** What is counted: 'prompts', 'rows', 'steps'. */
  unit: string;
  /** Line prefix off a terminal, e.g. 'alignkit generate'. */
  label?: string;
  /** Default process.stderr, as cli-progress and tqdm use. */
  stream?: ProgressStream;
  /** Off a terminal: at most one line per this many ms (default: ALIGNKIT_PROGRESS_INTERVAL seconds, else 10 s). */
  intervalMs?: number;
  /** False draws nothing at all (`--no-progress`). */
  enabled?: boolean;
  /** The count already done when starting (a resumed run); the rate counts from here. */
  start?: number;
  /** Clock in ms (injectable for tests). */
  now?: () => number;
}

export type ProgressFields = Record<string, string | number>;

export interface Progress {
  /** Sets the count done so far, with optional fields shown after it (`{loss: '0.6931'}`). */
  update(done: number, fields?: ProgressFields): void;
  /** Adds to the count. */
  increment(by?: number, fields?: ProgressFields): void;
  /** Sets the total once it is known (after reading the input, say). */
  setTotal(total: number): void;
  stop(): void;
  /** 'bar' on a terminal, 'lines' off one, 'off' when disabled. */
  readonly mode: 'bar' | 'lines' | 'off';
}

const DEFAULT_INTERVAL_MS = 10_000;

function defaultInterval(): number {
  const env = Number(process.env.ALIGNKIT_PROGRESS_INTERVAL);
  return Number.isFinite(env) && env >= 0 && process.env.ALIGNKIT_PROGRESS_INTERVAL !== '' ? env * 1000 : DEFAULT_INTERVAL_MS;
}

/** 95 s -> '1m35s', 3725 s -> '1h02m', 4.2 s -> '4s'. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

function formatRate(rate: number): string {
  return rate >= 100 ? rate.toFixed(0) : rate >= 1 ? rate.toFixed(1) : rate.toPrecision(2);
}

const fieldText = (fields: ProgressFields): string =>
  Object.entries(fields)
    .map(([k, v]) => ` | ${k} ${v}`)
    .join('');

/** The periodic-line progress used off a terminal. */
class LineProgress implements Progress {
  readonly mode = 'lines' as const;
  private readonly now: () => number;
  private total: number | undefined;
  private readonly started: number;
  private readonly first: number;
  private lastLine: number;
  private done: number;
  private fields: ProgressFields = {};
  private wrote = false;
  private stopped = false;

  constructor(
    private readonly opts: ProgressOptions,
    private readonly stream: ProgressStream,
    private readonly interval: number,
  ) {
    this.now = opts.now ?? Date.now;
    this.total = opts.total;
    this.started = this.lastLine = this.now();
    this.first = this.done = opts.start ?? 0;
  }

  private line(final: boolean): string {
    const elapsed = (this.now() - this.started) / 1000;
    const rate = elapsed > 0 ? (this.done - this.first) / elapsed : 0;
    const { unit, label } = this.opts;
    const total = this.total;
    const count = total === undefined ? `${this.done} ${unit}` : `${this.done}/${total} ${unit} (${total > 0 ? ((100 * this.done) / total).toFixed(1) : '100.0'}%)`;
    const tail = final
      ? ` | ${formatRate(rate)} ${unit}/s | done in ${formatDuration(elapsed)}`
      : ` | ${formatRate(rate)} ${unit}/s${total !== undefined && rate > 0 ? ` | ETA ${formatDuration((total - this.done) / rate)}` : ''}`;
    return `${label ? `${label}: ` : ''}${count}${fieldText(this.fields)}${tail}\n`;
  }

  update(done: number, fields?: ProgressFields): void {
    this.done = done;
    if (fields) this.fields = fields;
    const t = this.now();
    if (t - this.lastLine >= this.interval) {
      this.lastLine = t;
      this.wrote = true;
      this.stream.write(this.line(false));
    }
  }

  increment(by = 1, fields?: ProgressFields): void {
    this.update(this.done + by, fields);
  }

  setTotal(total: number): void {
    this.total = total;
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    if (this.wrote) this.stream.write(this.line(true));
  }
}

/** The cli-progress bar drawn on a terminal. */
class BarProgress implements Progress {
  readonly mode = 'bar' as const;
  private readonly bar: cliProgress.SingleBar;
  private done: number;

  constructor(opts: ProgressOptions, stream: ProgressStream) {
    const fields = '{fields}';
    const format = opts.total === undefined ? `{value} ${opts.unit}${fields}` : `{value}/{total} ${opts.unit} |{bar}|${fields} | ETA {eta_formatted}`;
    this.bar = new cliProgress.SingleBar({ format, stream: stream as NodeJS.WriteStream, hideCursor: true, etaBuffer: 50 }, cliProgress.Presets.shades_classic);
    this.done = opts.start ?? 0;
    this.bar.start(opts.total ?? 0, this.done, { fields: '' });
  }

  update(done: number, fields?: ProgressFields): void {
    this.done = done;
    this.bar.update(done, fields ? { fields: fieldText(fields) } : undefined);
  }

  increment(by = 1, fields?: ProgressFields): void {
    this.update(this.done + by, fields);
  }

  setTotal(total: number): void {
    this.bar.setTotal(total);
  }

  stop(): void {
    this.bar.stop();
  }
}

const OFF: Progress = { mode: 'off', update: () => undefined, increment: () => undefined, setTotal: () => undefined, stop: () => undefined };

export function progress(opts: ProgressOptions): Progress {
  if (opts.enabled === false) return OFF;
  const stream = opts.stream ?? process.stderr;
  return stream.isTTY ? new BarProgress(opts, stream) : new LineProgress(opts, stream, opts.intervalMs ?? defaultInterval());
}

/** Runs `work` with a progress display that is stopped however the work ends. */
export async function withProgress<T>(opts: ProgressOptions, work: (p: Progress) => Promise<T>): Promise<T> {
  const p = progress(opts);
  try {
    return await work(p);
  } finally {
    p.stop();
  }
}

/** A count of `total` items (the older two-argument form). */
export function countBar(total: number, unit: string, stream: ProgressStream = process.stderr, label?: string): Progress {
  return progress({ total, unit, stream, label });
}
