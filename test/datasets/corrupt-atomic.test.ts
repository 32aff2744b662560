// Regressions of issue #12 §4: corrupt Parquet/Arrow files are errors naming the file (not a raw
// third-party stack trace or a silently shorter dataset); `data convert` writes atomically and
// never removes what was at the output path (a killed run: atomic-convert.slow.test.ts); plain
// `data convert` validates rows by default.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isAlignkitError } from '../../src/errors.js';
import { readRows, writeRows } from '../../src/datasets/index.js';
import { runCli } from '../helpers/cli.js';
import { HH, collect, rawRows, tempDir } from './helpers.js';

const dir = tempDir();
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const ROWS = Array.from({ length: 300 }, (_, i) => ({ prompt: `p${i}`, chosen: `c${i}`.repeat(1 + (i % 7)), rejected: `r${i}` }));

/** The damaged variants of a good file's bytes. */
function damaged(good: Buffer): Record<string, Buffer> {
  return {
    empty: Buffer.alloc(0),
    truncated: good.subarray(0, Math.floor(good.length / 2)),
    'bad footer': Buffer.concat([good.subarray(0, good.length - 4), Buffer.from('XXXX')]),
    'bad header': Buffer.concat([Buffer.from('XXXX'), good.subarray(4)]),
    'three bytes': good.subarray(0, 3),
  };
}

describe('corrupt Parquet and Arrow files', () => {
  for (const [ext, format] of [['parquet', 'Parquet'], ['arrow', 'Arrow IPC']] as const) {
    it(`every damaged .${ext} is an ALIGNKIT_ERR_BAD_FORMAT naming the file`, async () => {
      const good = path.join(dir, `good.${ext}`);
      await writeRows(good, ROWS, { batchSize: 50 });
      for (const [what, bytes] of Object.entries(damaged(fs.readFileSync(good)))) {
        const file = path.join(dir, `${what.replace(' ', '-')}.${ext}`);
        fs.writeFileSync(file, bytes);
        const err = await collect(readRows(file)).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(isAlignkitError(err), `${what}: ${String(err)}`).toBe(true);
        expect((err as Error).message, what).toContain(`${file}: not a readable ${format} file`);
        const cli = await runCli('data', 'inspect', file);
        expect(cli.code, what).toBe(1);
        expect(cli.err.split('\n'), what).toHaveLength(1);
        expect(cli.err, what).toMatch(/\[ALIGNKIT_ERR_BAD_FORMAT\]$/);
      }
    });
  }

  it('an Arrow stream cut inside a message names the file', async () => {
    const good = path.join(dir, 'good.arrows');
    await writeRows(good, ROWS, { batchSize: 50 });
    const file = path.join(dir, 'cut.arrows');
    fs.writeFileSync(file, fs.readFileSync(good).subarray(0, 3000));
    await expect(collect(readRows(file))).rejects.toThrow(`${file}: not a readable Arrow IPC file: Expected to read`);
  });
});

describe('data convert is atomic', () => {
  it('a failed convert leaves the file that was at the output path, byte for byte, and no temporary file', async () => {
    const input = path.join(dir, 'bad-at-250.jsonl');
    const rows = ROWS.map((r, i) => (i === 250 ? { ...r, chosen: 42 } : r));
    fs.writeFileSync(input, rows.map((r) => JSON.stringify(r)).join('\n'));
    for (const ext of ['jsonl', 'parquet', 'arrow']) {
      const out = path.join(dir, `keep-me.${ext}`);
      await writeRows(out, ROWS.slice(0, 10));
      const before = fs.readFileSync(out);
      const r = await runCli('data', 'convert', input, out, '--batch-size', '50');
      expect(r.code).toBe(1);
      expect(r.err).toContain(`${input} row 251`);
      expect(fs.readFileSync(out).equals(before), ext).toBe(true);
      expect(fs.readdirSync(dir).filter((f) => f.includes('keep-me') && f.endsWith('.tmp'))).toEqual([]);
    }
  });
});

describe('data convert validates by default', () => {
  it('stops at a bad row naming it, skips it with --skip-bad-rows, copies it with --no-validate', async () => {
    const rows = rawRows(HH);
    rows[4]!.chosen = { not: 'text' };
    const input = path.join(dir, 'hh-bad.jsonl');
    fs.writeFileSync(input, rows.map((r) => JSON.stringify(r)).join('\n'));
    const out = path.join(dir, 'hh-out.jsonl');
    const strict = await runCli('data', 'convert', input, out);
    expect(strict.code).toBe(1);
    expect(strict.err).toContain(`${input} row 5: field "chosen"`);
    expect(fs.existsSync(out)).toBe(false);
    const skipping = await runCli('data', 'convert', input, out, '--skip-bad-rows');
    expect(skipping.out).toBe(`wrote 199 rows to ${out} (1 bad rows skipped)`);
    const copying = await runCli('data', 'convert', input, out, '--no-validate');
    expect(copying.out).toBe(`wrote 200 rows to ${out}`);
    expect((await collect(readRows(out))).map((r) => r.row)).toEqual(rows);
  });
});
