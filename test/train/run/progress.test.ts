// Training progress where there is no terminal (issue #12 §3): CI logs and `> log 2>&1` used to
// get nothing until the run ended. Off a TTY the command now prints one line with step, loss,
// rate and ETA every --progress-interval seconds and a closing line (src/cli/progress.ts's line
// mode, whose timing and format test/cli/progress.test.ts checks).

import path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { trainCommand } from '../../../src/cli/commands/train.js';
import { copySample, tempDir, TINY_LM } from './helpers.js';

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
    const lines = every.stderr.split('\n').filter((l) => l.startsWith('alignkit train: '));
    expect(lines.map((l) => l.split(' ')[2])).toEqual(['1/6', '2/6', '3/6', '4/6', '5/6', '6/6', '6/6']);
    for (const l of lines.slice(0, 6)) expect(l).toMatch(/^alignkit train: \d\/6 steps \([\d.]+%\) \| loss \d+\.\d{4} \| lr 5\.00e-4 \| tok\/s \d+ \| [\d.]+ steps\/s \| ETA \d+s$/);
    expect(lines[6]).toMatch(/\| done in \d+s$/);
    // The default interval (10 s) on a run of a second or two: nothing to report.
    const quiet = await trainCaptured([...base, '--output', path.join(dir, 'b')]);
    expect(quiet.code).toBe(0);
    expect(quiet.stderr).not.toContain('alignkit train: ');
    expect(quiet.stdout).toContain('dpo dpo: 6 steps');
  }, 60_000);
});
