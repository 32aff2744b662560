// Regression of issue #12 §4: a `data convert` killed with SIGKILL mid-write left a half-written
// output that `data inspect` then read as complete (and had already replaced the previous file).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { writeRows } from '../../src/datasets/index.js';
import { runCli } from '../helpers/cli.js';
import { REPO_ROOT } from '../helpers/paths.js';
import { tempDir } from './helpers.js';

const dir = tempDir();
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('data convert killed mid-write', () => {
  it('a convert killed with SIGKILL mid-write leaves the previous output whole', async () => {
    const input = path.join(dir, 'big.jsonl');
    const line = (i: number) => JSON.stringify({ prompt: `prompt ${i} ${'x'.repeat(200)}`, chosen: `chosen ${i}`, rejected: `rejected ${i}` });
    fs.writeFileSync(input, Array.from({ length: 60_000 }, (_, i) => line(i)).join('\n'));
    const out = path.join(dir, 'killed.parquet');
    await writeRows(out, Array.from({ length: 5 }, (_, i) => ({ prompt: `p${i}`, chosen: 'c', rejected: 'r' })));
    const before = fs.readFileSync(out);
    const child = spawn(process.execPath, ['--import', path.join(REPO_ROOT, 'src/dev/register-ts.mjs'), path.join(REPO_ROOT, 'src/cli/main.ts'), 'data', 'convert', input, out, '--batch-size', '500'], {
      cwd: REPO_ROOT,
      stdio: 'ignore',
    });
    const exited = new Promise((resolve) => child.on('exit', resolve));
    // Kill once the temporary file has data in it: the run is mid-write.
    const tmp = () => fs.readdirSync(dir).find((f) => f.startsWith('.killed.parquet.') && f.endsWith('.tmp'));
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline && !(tmp() && fs.statSync(path.join(dir, tmp()!)).size > 0)) await new Promise((r) => setTimeout(r, 20));
    expect(tmp(), 'the convert never started writing').toBeDefined();
    child.kill('SIGKILL');
    await exited;
    expect(fs.readFileSync(out).equals(before)).toBe(true);
    const inspect = await runCli('data', 'inspect', out);
    expect(inspect.out).toContain('examples: 5');
  });
});
