// Over-long prompts in the online kinds are treated as `alignkit generate --on-long-prompt` treats
// them (one helper, src/generate/long-prompt.ts): by default the run stops before training naming
// the file and row; `skip` leaves the row out, lists it, and still trains on the rest. Before the
// flag the online kinds silently kept the last --max-prompt-length tokens (now `truncate`).

import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runTraining, RUN_FILES } from '../../../src/train/run/index.js';
import { runCli } from '../../helpers/cli.js';
import { readJsonl, TINY_LM, TINY_RM, tempDir } from '../run/helpers.js';
import { onlineConfig } from './helpers.js';

/** Eight short prompts and, at file row 3, one far over the 24 tokens the runs allow. */
function promptsWithLongRow(dir: string): string {
  const rows = Array.from({ length: 8 }, (_, i) => ({ prompt: `Human: tell me fact ${i}\n\nAssistant:` }));
  rows.splice(2, 0, { prompt: `Human: ${'please explain this at length '.repeat(12)}\n\nAssistant:` });
  const file = path.join(dir, 'prompts.jsonl');
  fs.writeFileSync(file, rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
  return file;
}

describe('online kinds: over-long prompts as generate --on-long-prompt', () => {
  it('default fail: the run stops naming the file and row, before writing anything', async () => {
    const dir = tempDir('long-fail');
    const data = promptsWithLongRow(dir);
    const config = onlineConfig('ppo', dir, { data, rl: { onLongPrompt: 'fail' } });
    await expect(runTraining(config)).rejects.toMatchObject({
      code: 'ALIGNKIT_ERR_TOO_LONG',
      message: expect.stringMatching(new RegExp(`^${data.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} row 3: prompt has \\d+ tokens, more than the 24 allowed \\(--max-prompt-length\\); skip such rows or keep their last tokens with --on-long-prompt skip\\|truncate`)),
    });
    expect(fs.existsSync(path.join(config.output, RUN_FILES.metrics))).toBe(false);
  }, 60_000);

  it('skip: the row is left out and listed, and the run trains on the others', async () => {
    const dir = tempDir('long-skip');
    const data = promptsWithLongRow(dir);
    const config = onlineConfig('grpo', dir, { data, steps: 2, rl: { onLongPrompt: 'skip', samplesPerPrompt: 2, promptsPerStep: 2 } });
    const r = await runTraining(config);
    expect(r.steps).toBe(2);
    expect(r.skipped).toEqual([{ file: data, row: 3, field: 'prompt', message: expect.stringMatching(/^prompt has \d+ tokens, more than the 24 allowed \(--max-prompt-length\)$/) }]);
    const metrics = readJsonl(path.join(config.output, RUN_FILES.metrics));
    expect(metrics.map((m) => m.step)).toEqual([1, 2]);
    for (const m of metrics) expect(Number.isFinite(m['reward/mean'])).toBe(true);
  }, 60_000);

  it('skip: a run stopped after one rollout batch and resumed ends bit for bit where the uninterrupted one does', async () => {
    const dir = tempDir('long-resume');
    const data = promptsWithLongRow(dir);
    const config = onlineConfig('ppo', dir, { data, steps: 3, rl: { onLongPrompt: 'skip' } });
    const straight = await runTraining({ ...config, output: path.join(config.output, 'a') });
    let done = 0;
    const b = { ...config, output: path.join(config.output, 'b') };
    expect((await runTraining(b, { onStep: (s) => (done = s), shouldStop: () => done >= 1 })).interrupted).toBe(true);
    const resumed = await runTraining({ ...b, resume: true });
    for (const [name, v] of straight.values) expect(resumed.values.get(name), name).toEqual(v);
    const rewards = (out: string) => readJsonl(path.join(out, RUN_FILES.metrics)).map((m) => m['reward/mean']);
    expect(rewards(b.output)).toEqual(rewards(path.join(config.output, 'a')));
  }, 90_000);

  it('the CLI: fail by default (as generate), --on-long-prompt skip lists the row after the run, other values are refused', async () => {
    const dir = tempDir('long-cli');
    const data = promptsWithLongRow(dir);
    const common = ['--model', TINY_LM, '--prompts', data, '--reward', TINY_RM, '--max-length', '48', '--max-prompt-length', '24', '--max-new-tokens', '4', '--prompts-per-step', '4', '--batch-size', '4', '--steps', '1', '--threads', '1', '--no-progress'];
    const failed = await runCli('train', 'rloo', ...common, '--output', path.join(dir, 'a'));
    expect(failed.code).not.toBe(0);
    expect(failed.err).toContain(`${data} row 3: prompt has`);
    const skipped = await runCli('train', 'rloo', ...common, '--on-long-prompt', 'skip', '--output', path.join(dir, 'b'));
    expect(skipped.code).toBe(0);
    expect(skipped.out).toMatch(new RegExp(`skipped .*prompts\\.jsonl row 3 \\(prompt\\): prompt has \\d+ tokens`));
    const bad = await runCli('train', 'rloo', ...common, '--on-long-prompt', 'cut', '--output', path.join(dir, 'c'));
    expect(bad.err).toContain('rl.onLongPrompt: must be one of fail, skip, truncate');
  }, 60_000);
});
