// The training progress bar: step / total, loss, learning rate, tokens per second and ETA, drawn by
// cli-progress on a terminal. When the stream is not a TTY (CI logs, redirected output) it stays
// silent: the JSONL metrics file is the record there, and a redrawn bar would only fill the log.

import cliProgress from 'cli-progress';

export interface ProgressOptions {
  totalSteps: number;
  /** Default process.stderr, as cli-progress and tqdm use. */
  stream?: NodeJS.WritableStream & { isTTY?: boolean };
  /** Clock in ms (injectable for tests). */
  now?: () => number;
}

export interface StepUpdate {
  step: number;
  loss?: number;
  lr?: number;
  /** Tokens processed in this update (summed for the rate). */
  tokens?: number;
}

const FORMAT = 'step {value}/{total} |{bar}| loss {loss} | lr {lr} | {tps} tok/s | ETA {eta_formatted}';

function fmt(x: number | undefined, style: 'loss' | 'lr'): string {
  if (x === undefined) return '-';
  if (!Number.isFinite(x)) return String(x);
  return style === 'lr' ? x.toExponential(2) : x.toFixed(4);
}

/** What a run reports its steps to: this file's terminal bar, or a caller's own (the CLI's line mode off a terminal). */
export interface StepProgress {
  start(firstStep?: number): void;
  update(u: StepUpdate): void;
  stop(): void;
}

export class TrainingProgress implements StepProgress {
  private readonly bar: cliProgress.SingleBar | undefined;
  private readonly now: () => number;
  private started: number | undefined;
  private tokens = 0;

  constructor(readonly opts: ProgressOptions) {
    const stream = opts.stream ?? process.stderr;
    this.now = opts.now ?? Date.now;
    this.bar = (stream as { isTTY?: boolean }).isTTY
      ? new cliProgress.SingleBar({ format: FORMAT, stream, hideCursor: true, clearOnComplete: false, etaBuffer: 50 }, cliProgress.Presets.shades_classic)
      : undefined;
  }

  /** Whether anything is drawn (false off a terminal). */
  get visible(): boolean {
    return this.bar !== undefined;
  }

  start(firstStep = 0): void {
    this.started = this.now();
    this.bar?.start(this.opts.totalSteps, firstStep, { loss: '-', lr: '-', tps: '-' });
  }

  /** Tokens per second since `start`. */
  get tokensPerSecond(): number {
    const elapsed = this.started === undefined ? 0 : (this.now() - this.started) / 1000;
    return elapsed > 0 ? this.tokens / elapsed : 0;
  }

  update(u: StepUpdate): void {
    this.tokens += u.tokens ?? 0;
    this.bar?.update(u.step, { loss: fmt(u.loss, 'loss'), lr: fmt(u.lr, 'lr'), tps: Math.round(this.tokensPerSecond) });
  }

  stop(): void {
    this.bar?.stop();
  }
}
