// Training progress where there is no terminal (issue #12 §3): CI logs and `> log 2>&1` used to
// get nothing until the run ended. Off a TTY the command now prints one line with step, loss,
// rate and ETA at the first step, every --progress-interval seconds, and at the end.

import path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { trainCommand } from '../../../src/cli/commands/train.js';
import { formatDuration, lineProgress } from '../../../src/cli/progress.js';
import { copySample, tempDir, TINY_LM } from './helpers.js';

function sink() {
  const lines: string[] = [];
  return { lines, stream: { write: (s: string) => void lines.push(...s.trimEnd().split('\n')) } as unknown as NodeJS.WritableStream };
}

describe('lineProgress', () => {
  it('prints at the first update, then at most once per interval, at the last unit, and once more at stop if the last state was not printed', () => {
    let t = 0;
    const { lines, stream } = sink();
    const p = lineProgress(100, 'step', { stream, intervalMs: 10_000, now: () => t, start: 20 });
    t = 1000;
    p.update(21, { loss: '0.6931' });
    expect(lines).toEqual(['step 21/100 (21%) | loss 0.6931 | 1.0 step/s | ETA 1m19s']);
    t = 9000;
    p.update(29, { loss: '0.5' });
    expect(lines).toHaveLength(1);
    t = 11_000;
    p.update(31, { loss: '0.4' });
    // 11 steps since the start at step 20, in 11 s.
    expect(lines[1]).toBe('step 31/100 (31%) | loss 0.4 | 1.0 step/s | ETA 1m09s');
    t = 12_000;
    p.update(32, { loss: '0.3' });
    p.stop();
    expect(lines[2]).toBe('step 32/100 (32%) | loss 0.3 | 1.0 step/s | ETA 1m08s');
    p.stop();
    expect(lines).toHaveLength(3);
    t = 13_000;
    p.update(100);
    expect(lines[3]).toBe('step 100/100 (100%) | 6.2 step/s | ETA 0s');
  });

  it('formats durations as h/m/s', () => {
    expect([formatDuration(5), formatDuration(75), formatDuration(4000), formatDuration(NaN)]).toEqual(['5s', '1m15s', '1h06m40s', '-']);
  });
});

/** Runs the train command in-process with everything it writes to stderr (a pipe under vitest, not a TTY) captured. */
async function trainCaptured(args: string[]): Promise<{ code: number; stderr: string; stdout: string }> {
  expect(process.stderr.isTTY).toBeFalsy();
  const err: string[] = [];
  const out: string[] = [];
  const write = vi.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => (err.push(String(s)), true));
  const log = vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void out.push(a.join(' ')));
  try {
    return { code: (await trainCommand.run(args)) ?? 0, stderr: err.join(''), stdout: out.join('\n') };
  } finally {
    write.mockRestore();
    log.mockRestore();
  }
}

describe('alignkit train off a terminal', () => {
  it('regression: prints one progress line per interval with step, loss, lr, rate and ETA', async () => {
    const dir = tempDir('progress');
    const data = copySample(dir, 'ultrafeedback_binarized_sample_train.60.jsonl');
    const base = ['dpo', '--model', TINY_LM, '--data', data, '--limit', '12', '--steps', '6', '--max-length', '48', '--max-prompt-length', '24', '--threads', '1', '--cache-dir', path.join(dir, 'cache')];
    const every = await trainCaptured([...base, '--output', path.join(dir, 'a'), '--progress-interval', '0']);
    expect(every.code).toBe(0);
    const lines = every.stderr.split('\n').filter((l) => l.startsWith('step '));
    expect(lines.map((l) => l.split(' ')[1])).toEqual(['1/6', '2/6', '3/6', '4/6', '5/6', '6/6']);
    for (const l of lines) expect(l).toMatch(/^step \d\/6 \(\d+%\) \| loss \d+\.\d{4} \| lr 5\.00e-4 \| tok\/s \d+ \| [\d.]+ step\/s \| ETA \d+s$/);
    // The default interval (10 s) on a run of a second or two: the first step and the last.
    const quiet = await trainCaptured([...base, '--output', path.join(dir, 'b')]);
    expect(quiet.code).toBe(0);
    expect(quiet.stderr.split('\n').filter((l) => l.startsWith('step ')).map((l) => l.split(' ')[1])).toEqual(['1/6', '6/6']);
    expect(quiet.stdout).toContain('dpo dpo: 6 steps');
  }, 60_000);
});
