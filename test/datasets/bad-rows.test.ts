import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CONVENTIONS, loadPreferenceData, openPreferenceStream } from '../../src/datasets/index.js';
import { HH, KTO, PANDALM, ULTRAFEEDBACK, collect, rawRows, tempDir } from './helpers.js';

const dir = tempDir();
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** Real rows with a few deliberately broken ones, written as JSONL. */
function corrupted(source: string, name: string, breakRow: (row: Record<string, unknown>, index: number) => void): string {
  const rows = rawRows(source);
  rows.forEach(breakRow);
  const file = path.join(dir, name);
  fs.writeFileSync(file, rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
  return file;
}

describe('bad rows', () => {
  it('stops at the first bad row with an error naming file, 1-based row and field', async () => {
    const file = corrupted(ULTRAFEEDBACK, 'uf-bad.jsonl', (row, i) => {
      if (i === 16) row.chosen = 7;
    });
    const error = await loadPreferenceData(file).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'ALIGNKIT_ERR_DATASET_ROW', details: { file, row: 17, field: 'chosen' } });
    expect((error as Error).message).toBe(`${file} row 17: field "chosen" must be a string or a list of messages, got number`);
  });

  it('names the nested field of a bad message', async () => {
    const file = corrupted(KTO, 'kto-bad.jsonl', (row, i) => {
      if (i === 4) (row.messages as Record<string, unknown>[])[1]!.content = null;
    });
    await expect(loadPreferenceData(file)).rejects.toMatchObject({ code: 'ALIGNKIT_ERR_DATASET_ROW', details: { row: 5, field: 'messages[1].content' } });
  });

  it('skip mode drops exactly the bad rows and lists each with row and field', async () => {
    const file = corrupted(PANDALM, 'pandalm-bad.jsonl', (row, i) => {
      if (i === 2) row.annotator2 = 3;
      if (i === 50) delete row.response1;
      if (i === 99) row.instruction = ['not', 'a', 'string'];
    });
    fs.appendFileSync(file, '{"instruction": "truncated line\n');
    const data = await loadPreferenceData(file, { onBadRow: 'skip' });
    expect(data.examples).toHaveLength(117);
    expect(data.skipped.map((s) => [s.row, s.field])).toEqual([
      [3, 'annotator2'],
      [51, 'response1'],
      [100, 'instruction'],
      [121, '(row)'],
    ]);
    expect(data.skipped[0]!.message).toContain('must be 0 (tie), 1 or 2, got 3');
    // The surviving examples keep their own ids (PandaLM idx), so nothing shifted.
    expect(data.examples.map((e) => e.id)).not.toContain('2');
    expect(data.examples[2]!.id).toBe('3');
  });

  it('a kind that the file cannot provide is a schema error listing the columns found and the conventions of that kind', async () => {
    const error = await loadPreferenceData(HH, { kind: 'unpaired' }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'ALIGNKIT_ERR_DATASET_SCHEMA', details: { file: HH, columns: ['chosen', 'rejected'] } });
    const unpairedNames = CONVENTIONS.filter((c) => c.kind === 'unpaired').map((c) => c.name);
    expect((error as { details: { conventions: string[] } }).details.conventions).toEqual(unpairedNames);
    for (const name of unpairedNames) expect((error as Error).message).toContain(name);
  });

  it('unknown columns are a schema error listing every known convention from the table', async () => {
    const file = path.join(dir, 'corpus.jsonl');
    fs.writeFileSync(file, '{"text": "Once upon a time"}\n');
    const error = await loadPreferenceData(file).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'ALIGNKIT_ERR_DATASET_SCHEMA', details: { columns: ['text'] } });
    for (const c of CONVENTIONS) expect((error as Error).message).toContain(`${c.name} (${c.kind})`);
  });

  it('a forced convention is used as is; its field errors then name what is missing', async () => {
    await expect(loadPreferenceData(HH, { convention: 'trl-unpaired' })).rejects.toMatchObject({ code: 'ALIGNKIT_ERR_DATASET_ROW', details: { row: 1, field: 'prompt' } });
    const forced = await loadPreferenceData(HH, { convention: 'trl-paired', limit: 3 });
    // TRL's implicit-prompt split cuts at the common prefix instead of at "\n\nAssistant:".
    expect(forced.convention).toBe('trl-paired');
    expect(forced.examples).toHaveLength(3);
    await expect(loadPreferenceData(HH, { convention: 'nope' })).rejects.toMatchObject({ code: 'ALIGNKIT_ERR_UNKNOWN_NAME' });
  });

  it('an empty file is a schema error, bad options are argument errors', async () => {
    const empty = path.join(dir, 'empty.jsonl');
    fs.writeFileSync(empty, '\n');
    await expect(loadPreferenceData(empty)).rejects.toMatchObject({ code: 'ALIGNKIT_ERR_DATASET_SCHEMA' });
    await expect(loadPreferenceData(HH, { limit: -1 })).rejects.toMatchObject({ code: 'ALIGNKIT_ERR_INVALID_ARGUMENT', details: { parameter: 'limit' } });
    await expect(loadPreferenceData(HH, { onBadRow: 'ignore' as 'skip' })).rejects.toMatchObject({ code: 'ALIGNKIT_ERR_INVALID_ARGUMENT' });
  });
});

describe('regressions', () => {
  it('options passed as undefined fall back to their defaults (the CLI passes unset flags as undefined)', async () => {
    const data = await loadPreferenceData(HH, { kind: undefined, onBadRow: undefined, limit: undefined, dropTies: undefined });
    expect(data.convention).toBe('hh-rlhf');
    expect(data.examples).toHaveLength(200);
  });
});

describe('streaming load', () => {
  it('detects the convention up front and yields examples lazily, honouring limit', async () => {
    const stream = await openPreferenceStream(HH, { limit: 5 });
    expect(stream.convention).toBe('hh-rlhf');
    const ids: string[] = [];
    for await (const example of stream) ids.push(example.id);
    expect(ids).toEqual([0, 1, 2, 3, 4].map((i) => `hh_rlhf_harmless_base_test.200.jsonl:${i}`));
    // A stream is single-pass: a second walk would silently see only the rows left.
    await expect(collect(stream)).rejects.toMatchObject({ code: 'ALIGNKIT_ERR_INVALID_ARGUMENT' });
  });

  it('carries generic per-annotator label columns and margin through a TRL pair', async () => {
    const file = path.join(dir, 'annotated.jsonl');
    fs.writeFileSync(file, JSON.stringify({ prompt: 'p', chosen: 'a', rejected: 'b', margin: 0.5, annotator1: 1, annotator2: -1, annotator10: 1, source: 'lab' }) + '\n');
    const data = await loadPreferenceData(file);
    expect(data.examples[0]).toEqual({ id: 'annotated.jsonl:0', prompt: 'p', chosen: 'a', rejected: 'b', margin: 0.5, annotatorLabels: [1, -1, 1], source: 'lab' });
  });
});
