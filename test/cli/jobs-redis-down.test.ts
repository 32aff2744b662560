// Regression: with no Redis at the --redis URL, `jobs status` and `jobs worker` waited forever,
// printing a raw `Error: connect ECONNREFUSED` stack trace every second, and `jobs submit` cut the
// input into chunk files, then hung silently. Each now checks the URL first and stops with one
// line naming --redis (exit 1), before writing anything.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { freePort } from '../helpers/ports.js';

describe('alignkit jobs with no Redis at --redis', () => {
  it.each([
    ['status', []],
    ['worker', []],
    ['submit score', ['--data', 'data/samples/hh_rlhf_harmless_base_test.200.jsonl', '--model', 'data/models/tiny-gpt2-rm']],
  ] as const)('jobs %s stops at once with one line naming --redis, writing nothing', async (sub, extra) => {
    const url = `redis://127.0.0.1:${await freePort()}`;
    const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'ak-jobs-down-')), 'run');
    const t0 = Date.now();
    const r = await runCli('jobs', ...sub.split(' '), '--redis', url, ...(sub === 'submit score' ? ['--output', out] : []), ...extra);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(new RegExp(`^alignkit jobs ${sub}: --redis ${url}: cannot reach Redis \\(.*ECONNREFUSED.*\\)`));
    expect(r.err.split('\n')).toHaveLength(1);
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect(fs.existsSync(out)).toBe(false);
  }, 20_000);
});
