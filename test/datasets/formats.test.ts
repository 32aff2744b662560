import fs from 'node:fs';
import path from 'node:path';
import { tableFromIPC } from 'apache-arrow';
import { parquetMetadata } from 'hyparquet';
import { afterAll, describe, expect, it } from 'vitest';
import { readRows, writeRows } from '../../src/datasets/index.js';
import { JsonArraySplitter } from '../../src/datasets/formats/json-array.js';
import { HH, KTO, PANDALM, SHAREGPT_DPO, ULTRAFEEDBACK, collect, rawRows, tempDir } from './helpers.js';

const dir = tempDir();
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const rowsOf = async (file: string, options = {}): Promise<Record<string, unknown>[]> => (await collect(readRows(file, options))).map((r) => r.row);

describe('text readers on real data', () => {
  it('reads HH-RLHF JSONL row for row like JSON.parse of each line', async () => {
    const got = await collect(readRows(HH));
    expect(got).toHaveLength(200);
    expect(got.map((r) => r.row)).toEqual(rawRows(HH));
    expect(got.map((r) => r.index)).toEqual([...Array(200).keys()]);
  });

  it('streams JSONL in chunks much smaller than a line (multi-byte characters cut across chunks)', async () => {
    // The HH rows hold curly quotes (3 bytes in UTF-8); 509-byte reads (a prime, so boundaries wander)
    // split lines (about 1.3 kB each) and characters alike.
    const small = await rowsOf(HH, { chunkSize: 509 });
    expect(fs.statSync(HH).size).toBeGreaterThan(509 * 500);
    expect(small).toEqual(rawRows(HH));
  });

  it('reads JSON arrays (ShareGPT DPO, KTO, PandaLM) incrementally, equal to parsing the whole file', async () => {
    for (const file of [SHAREGPT_DPO, KTO, PANDALM]) {
      expect(await rowsOf(file, { chunkSize: 1021 })).toEqual(rawRows(file));
    }
  });

  it('splits a JSON array whose strings hold brackets, commas and escaped quotes', () => {
    const splitter = new JsonArraySplitter('inline.json');
    const text = '[ {"a": "x], {y\\" ,"}, {"b": [1, [2, 3]]} ,{"c":"\\\\"}]';
    const parts: string[] = [];
    for (let i = 0; i < text.length; i += 5) parts.push(...splitter.push(text.slice(i, i + 5)));
    splitter.finish();
    expect(parts.map((p) => JSON.parse(p))).toEqual([{ a: 'x], {y" ,' }, { b: [1, [2, 3]] }, { c: '\\' }]);
  });

  it('names file and row of a line that is not JSON, or skips and reports it on request', async () => {
    const file = path.join(dir, 'broken.jsonl');
    fs.writeFileSync(file, '{"prompt": "a", "chosen": "b", "rejected": "c"}\n{"prompt": "a", oops}\n\n{"prompt": "d", "chosen": "e", "rejected": "f"}\n');
    await expect(rowsOf(file)).rejects.toMatchObject({ code: 'ALIGNKIT_ERR_DATASET_ROW', details: { file, row: 2 } });
    const problems: unknown[] = [];
    const rows = await collect(readRows(file, { onMalformed: (p) => problems.push(p) }));
    expect(rows.map((r) => r.index)).toEqual([0, 2]);
    expect(problems).toEqual([expect.objectContaining({ file, row: 2, field: '(row)' })]);
  });

  it('reports a missing file and an unknown extension with their names', async () => {
    await expect(rowsOf(path.join(dir, 'nope.jsonl'))).rejects.toMatchObject({ code: 'ALIGNKIT_ERR_FILE_NOT_FOUND' });
    await expect(rowsOf(path.join(dir, 'data.csv'))).rejects.toMatchObject({ code: 'ALIGNKIT_ERR_BAD_FORMAT', details: { file: path.join(dir, 'data.csv') } });
  });
});

describe('columnar round trips on real data', () => {
  const cases = [
    { name: 'HH-RLHF (strings)', file: HH },
    { name: 'UltraFeedback (nested metadata)', file: ULTRAFEEDBACK },
    { name: 'KTO (message lists, booleans)', file: KTO },
    { name: 'ShareGPT DPO (lists of {from, value}, objects)', file: SHAREGPT_DPO },
    { name: 'PandaLM (numbers)', file: PANDALM },
  ];
  for (const { name, file } of cases) {
    for (const ext of ['.arrow', '.arrows', '.parquet']) {
      it(`${name} -> ${ext} -> rows equal the source`, async () => {
        const source = rawRows(file);
        const out = path.join(dir, path.basename(file) + ext);
        expect(await writeRows(out, source, { batchSize: 16 })).toBe(source.length);
        const back = await collect(readRows(out));
        expect(back.map((r) => r.row)).toEqual(source);
        expect(back.map((r) => r.index)).toEqual([...source.keys()]);
      });
    }
  }

  it('writes Arrow that apache-arrow reads as a table, with message lists as List<Struct> and batches of the asked size', async () => {
    const out = path.join(dir, 'kto-check.arrow');
    await writeRows(out, rawRows(KTO), { batchSize: 16 });
    const table = tableFromIPC(fs.readFileSync(out));
    expect(table.numRows).toBe(50);
    expect(table.batches.map((b) => b.numRows)).toEqual([16, 16, 16, 2]);
    expect(String(table.schema.fields.find((f) => f.name === 'messages')?.type)).toBe('List<Struct<{role:Utf8, content:Utf8}>>');
    expect(String(table.schema.fields.find((f) => f.name === 'label')?.type)).toBe('Bool');
  });

  it('writes one Parquet row group per batch (what makes reading stream by row group)', async () => {
    const out = path.join(dir, 'hh-groups.parquet');
    await writeRows(out, rawRows(HH), { batchSize: 64 });
    const metadata = parquetMetadata(fs.readFileSync(out));
    expect(metadata.row_groups.map((g) => Number(g.num_rows))).toEqual([64, 64, 64, 8]);
  });

  it('streams rows from an async source into Parquet and JSONL', async () => {
    async function* generated(): AsyncGenerator<Record<string, unknown>> {
      for (let i = 0; i < 2500; i++) yield { id: `r${i}`, score: i / 4, ok: i % 3 === 0 };
    }
    for (const ext of ['.parquet', '.jsonl', '.json']) {
      const out = path.join(dir, `gen${ext}`);
      expect(await writeRows(out, generated(), { batchSize: 1000 })).toBe(2500);
      const back = await rowsOf(out);
      expect(back).toHaveLength(2500);
      // 2499 = 3 * 833, so ok is true; 2499 / 4 = 624.75.
      expect(back[2499]).toEqual({ id: 'r2499', score: 624.75, ok: true });
      expect(back[2498]).toEqual({ id: 'r2498', score: 624.5, ok: false });
    }
  });

  it('rejects a row whose column breaks the schema fixed by the first batch, naming row and column', async () => {
    const rows = [{ a: 'x', n: 1 }, { a: 'y', n: 2 }, { a: 'z', n: 'three' }];
    for (const ext of ['.arrow', '.parquet']) {
      const out = path.join(dir, `bad${ext}`);
      await expect(writeRows(out, rows, { batchSize: 2 })).rejects.toMatchObject({ code: 'ALIGNKIT_ERR_BAD_FORMAT', details: { row: 3, field: 'n' } });
      expect(fs.existsSync(out)).toBe(false);
    }
  });
});
