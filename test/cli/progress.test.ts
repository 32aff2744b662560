// Regression of issue #12 §3/§5: off a terminal, the commands' progress was silent (eval rm with FLR
// ran 11 minutes without a line). Off a TTY, progress is now one plain line per interval.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { formatDuration, progress, type ProgressStream } from '../../src/cli/progress.js';
import { runCli } from '../helpers/cli.js';

function sink(isTTY = false): ProgressStream & { text: string } {
  const s = { text: '', isTTY, write: (chunk: string) => ((s.text += chunk), true) };
  return s as unknown as ProgressStream & { text: string };
}

describe('progress off a terminal', () => {
  it('writes one line per interval with count, rate, ETA and fields, and a closing line', () => {
    let now = 0;
    const stream = sink();
    const p = progress({ total: 100, unit: 'steps', label: 'alignkit train', stream, intervalMs: 10_000, now: () => now });
    expect(p.mode).toBe('lines');
    now = 5_000;
    p.update(10);
    expect(stream.text).toBe(''); // within the first interval
    now = 10_000;
    p.update(20, { loss: '0.6931' });
    now = 15_000;
    p.update(30);
    now = 20_000;
    p.update(40, { loss: '0.5000' });
    p.stop();
    expect(stream.text.split('\n')).toEqual([
      'alignkit train: 20/100 steps (20.0%) | loss 0.6931 | 2.0 steps/s | ETA 40s',
      'alignkit train: 40/100 steps (40.0%) | loss 0.5000 | 2.0 steps/s | ETA 30s',
      'alignkit train: 40/100 steps (40.0%) | loss 0.5000 | 2.0 steps/s | done in 20s',
      '',
    ]);
  });

  it('stays silent for a run shorter than the interval, and counts without a total', () => {
    let now = 0;
    const quiet = sink();
    const p = progress({ total: 3, unit: 'rows', stream: quiet, intervalMs: 10_000, now: () => now });
    p.increment();
    p.increment();
    p.stop();
    expect(quiet.text).toBe('');
    const open = sink();
    const q = progress({ unit: 'rows', stream: open, intervalMs: 1000, now: () => now, start: 100 });
    now = 2000;
    q.update(1100);
    expect(open.text).toBe('1100 rows | 500 rows/s\n');
  });

  it('is off with enabled: false, and a bar on a terminal', () => {
    expect(progress({ unit: 'x', enabled: false, stream: sink() }).mode).toBe('off');
    const tty = progress({ total: 2, unit: 'x', stream: sink(true) });
    expect(tty.mode).toBe('bar');
    tty.stop();
  });

  it('formats durations', () => {
    expect([4.2, 95, 3725].map(formatDuration)).toEqual(['4s', '1m35s', '1h02m']);
  });
});

describe('commands print progress lines off a terminal', () => {
  afterEach(() => {
    vi.unstubAllEnvs();
    vi.restoreAllMocks();
  });

  it('eval rm reports pairs scored on standard error', async () => {
    vi.stubEnv('ALIGNKIT_PROGRESS_INTERVAL', '0');
    const tty = Object.getOwnPropertyDescriptor(process.stderr, 'isTTY');
    Object.defineProperty(process.stderr, 'isTTY', { value: false, configurable: true });
    const written: string[] = [];
    vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => (written.push(String(chunk)), true));
    try {
      const r = await runCli('eval', 'rm', '--model', 'data/models/tiny-gpt2-rm', '--data', 'data/samples/ultrafeedback_binarized_sample_train.60.jsonl', '--batch-size', '20', '--limit', '40');
      expect(r.code, r.err).toBe(0);
    } finally {
      if (tty) Object.defineProperty(process.stderr, 'isTTY', tty);
      else delete (process.stderr as { isTTY?: boolean }).isTTY;
    }
    const lines = written.join('').split('\n').filter((l) => l.startsWith('alignkit eval rm: '));
    expect(lines[0]).toMatch(/^alignkit eval rm: 20\/40 pairs \(50\.0%\) \| [\d.]+ pairs\/s \| ETA \d+s$/);
    expect(lines.at(-1)).toMatch(/^alignkit eval rm: 40\/40 pairs \(100\.0%\) \| [\d.]+ pairs\/s \| done in \d+s$/);
  });
});
