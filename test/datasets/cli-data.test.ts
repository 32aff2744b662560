import fs from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { loadPreferenceData, readRows } from '../../src/datasets/index.js';
import { HELPSTEER_SYNTHETIC, HH, KTO, PANDALM, ULTRAFEEDBACK, collect, rawRows, tempDir } from './helpers.js';

const dir = tempDir();
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
afterEach(() => vi.restoreAllMocks());

const run = runCli;

describe('alignkit data', () => {
  it('inspect prints convention, counts and ties of a real file', async () => {
    const { code, out } = await run('data', 'inspect', PANDALM);
    expect(code).toBe(0);
    expect(out).toContain('convention: pandalm');
    expect(out).toContain('examples: 120');
    expect(out).toContain('ties: 3');
    expect(out).toMatch(/prompt {4}n=120 min=\d+/);
  });

  it('inspect --json reports label counts of unpaired data', async () => {
    const { out } = await run('data', 'inspect', KTO, '--json');
    const report = JSON.parse(out) as Record<string, unknown>;
    const labels = rawRows(KTO).map((r) => r.label);
    expect(report).toMatchObject({ convention: 'kto-messages', kind: 'unpaired', examples: 50, desirable: labels.filter((l) => l).length, undesirable: labels.filter((l) => !l).length });
  });

  it('inspect fails on a bad row naming file/row/field, and --skip-bad-rows lists it', async () => {
    const file = path.join(dir, 'uf-bad.jsonl');
    const rows = rawRows(ULTRAFEEDBACK);
    rows[9]!.rejected = { text: 'x' };
    fs.writeFileSync(file, rows.map((r) => JSON.stringify(r)).join('\n'));
    const failed = await run('data', 'inspect', file);
    expect(failed.code).toBe(1);
    expect(failed.err).toContain(`${file} row 10: field "rejected" must be a string or a list of messages, got object [ALIGNKIT_ERR_DATASET_ROW]`);
    const skipped = await run('data', 'inspect', file, '--skip-bad-rows');
    expect(skipped.code).toBe(0);
    expect(skipped.out).toContain('examples: 59');
    expect(skipped.out).toContain('skipped: 1');
    expect(skipped.out).toContain(`${file} row 10: field "rejected"`);
  });

  it('convert streams raw rows between formats by extension', async () => {
    const parquet = path.join(dir, 'hh.parquet');
    const back = path.join(dir, 'hh.jsonl');
    expect((await run('data', 'convert', HH, parquet)).out).toBe(`wrote 200 rows to ${parquet}`);
    await run('data', 'convert', parquet, back);
    expect(rawRows(back)).toEqual(rawRows(HH));
  });

  it('convert --normalize writes normalized records that load as TRL pairs', async () => {
    const out = path.join(dir, 'hh-normalized.arrow');
    await run('data', 'convert', HH, out, '--normalize');
    const rows = (await collect(readRows(out))).map((r) => r.row);
    const reference = await loadPreferenceData(HH);
    // Absent optional fields are written as nulls so every row has the same columns.
    expect(rows[0]).toEqual({ ...reference.examples[0], source: null, margin: null, annotatorLabels: null, tie: null });
    expect(rows.map((r) => r.id)).toEqual(reference.examples.map((e) => e.id));
    const reloaded = await loadPreferenceData(out);
    expect(reloaded.convention).toBe('trl-paired');
    expect(reloaded.examples).toEqual(reference.examples);
  });

  it('normalized PandaLM pairs (ties, annotator labels), KTO and rated records survive Parquet and Arrow, batch by batch', async () => {
    for (const source of [PANDALM, KTO, HELPSTEER_SYNTHETIC]) {
      const reference = await loadPreferenceData(source);
      for (const ext of ['.parquet', '.arrow']) {
        const out = path.join(dir, `normalized-${path.basename(source)}${ext}`);
        // 16-row batches: the first batch of PandaLM has no tie, so the "tie" column's type comes from nulls.
        const result = await run('data', 'convert', source, out, '--normalize', '--batch-size', '16');
        expect(result.code, result.err).toBe(0);
        const reloaded = await loadPreferenceData(out);
        expect(reloaded.examples).toEqual(reference.examples);
        expect(reloaded.ties).toBe(reference.ties);
      }
    }
  });

  it('an unknown subcommand lists the known ones', async () => {
    const { code, err } = await run('data', 'explode');
    expect(code).toBe(2);
    expect(err).toContain('subcommands: inspect, convert');
  });
});
