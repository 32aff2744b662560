// A count progress bar for the commands' long loops (prompts decoded, rows scored). Drawn by
// cli-progress on a terminal only: off a TTY (CI logs, redirected stderr) a redrawn bar would
// just fill the log, and each command prints its own summary line at the end.

import cliProgress from 'cli-progress';

export interface CountBar {
  update(done: number): void;
  stop(): void;
}

export function countBar(total: number, unit: string, stream: NodeJS.WriteStream = process.stderr): CountBar {
  if (!stream.isTTY) return { update: () => undefined, stop: () => undefined };
  const bar = new cliProgress.SingleBar({ format: `{value}/{total} ${unit} |{bar}| ETA {eta_formatted}`, stream, hideCursor: true }, cliProgress.Presets.shades_classic);
  bar.start(total, 0);
  return { update: (done) => bar.update(done), stop: () => bar.stop() };
}

export interface LineProgressOptions {
  /** Default process.stderr. */
  stream?: NodeJS.WritableStream;
  /** Least time between two lines (tqdm's mininterval for files is much the same idea). */
  intervalMs?: number;
  /** Clock in ms (injectable for tests). */
  now?: () => number;
  /** Units already done when the progress starts (a resumed run): the rate counts from here. */
  start?: number;
}

export interface LineProgress {
  /** Progress at `done` of `total`, with extra `name value` fields for the line (loss, lr, ...). */
  update(done: number, fields?: Record<string, string>): void;
  /** Print the last state once more (if it was not the last line printed). */
  stop(): void;
}

/** 75 -> "1m15s", 4000 -> "1h06m40s". */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '-';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = String(s % 60).padStart(2, '0');
  if (h > 0) return `${h}h${String(m).padStart(2, '0')}m${sec}s`;
  return m > 0 ? `${m}m${sec}s` : `${s % 60}s`;
}

/**
 * Progress off a terminal (CI logs, `> file`, pipes), where a redrawn bar would fill the log:
 * one self-contained line at the first update, then at most one every `intervalMs`, and a last
 * one at stop: `<unit> done/total (pct%) | fields | rate/s | ETA`. The rate counts only the units
 * done since the progress was created (from `start`: a resumed run starts mid-way).
 */
export function lineProgress(total: number, unit: string, opts: LineProgressOptions = {}): LineProgress {
  const stream = opts.stream ?? process.stderr;
  const interval = opts.intervalMs ?? 10_000;
  const now = opts.now ?? Date.now;
  const first = { at: now(), done: opts.start ?? 0 };
  let lastPrinted = -Infinity;
  let last: { done: number; fields: Record<string, string> } | undefined;
  let printedLast = false;
  const print = () => {
    const { done, fields } = last!;
    const seconds = (now() - first.at) / 1000;
    const rate = seconds > 0 ? (done - first.done) / seconds : NaN;
    const eta = rate > 0 ? (total - done) / rate : NaN;
    const parts = [`${unit} ${done}/${total} (${Math.floor((100 * done) / Math.max(total, 1))}%)`, ...Object.entries(fields).map(([k, v]) => `${k} ${v}`)];
    if (Number.isFinite(rate)) parts.push(`${rate >= 10 ? rate.toFixed(0) : rate.toPrecision(2)} ${unit}/s`);
    parts.push(`ETA ${done >= total ? '0s' : formatDuration(eta)}`);
    stream.write(`${parts.join(' | ')}\n`);
    lastPrinted = now();
    printedLast = true;
  };
  return {
    update(done, fields = {}) {
      last = { done, fields };
      printedLast = false;
      if (now() - lastPrinted >= interval || done >= total) print();
    },
    stop() {
      if (last && !printedLast) print();
    },
  };
}
