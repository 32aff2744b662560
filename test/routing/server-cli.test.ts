// `alignkit annotate serve` and `alignkit annotate export`: the annotation story in two commands,
// on a real SQLite file, a real key file, a real judge model and real HTTP.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startAnnotationServer } from '../../src/cli/commands/annotate.js';
import { readRows } from '../../src/datasets/index.js';
import { openLabelStore } from '../../src/routing/store/index.js';
import { FIXTURE_MODEL } from '../../src/serve/index.js';
import { runCli } from '../helpers/cli.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'alignkit-annotate-cli-'));
const f = (name: string) => path.join(dir, name);
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const pairs = Array.from({ length: 6 }, (_, i) => ({ id: `r${i}`, prompt: `Question ${i}?`, response_a: `Short ${i}.`, response_b: `A longer answer to question ${i}.`, source: 'cli-test' }));

async function rows(file: string): Promise<Record<string, unknown>[]> {
  const all = [];
  for await (const { row } of readRows(file)) all.push(row);
  return all;
}

describe('alignkit annotate', () => {
  const store = f('labels.db');
  const keys = f('keys.json');
  const args = ['--store', store, '--keys', keys, '--annotators', 'alice,bob', '--pairs', f('pairs.jsonl'), '--strategy', 'random', '--budget', '0.5', '--judge', FIXTURE_MODEL.dir, '--port', '0'];

  it('serve: loads and routes the pool, labels the AI half with the judge, registers the key file\'s annotators, serves the page', async () => {
    fs.writeFileSync(f('pairs.jsonl'), pairs.map((p) => JSON.stringify(p)).join('\n') + '\n');
    const lines: string[] = [];
    const { app, store: labels, url } = await startAnnotationServer(args, (l) => lines.push(l));
    try {
      expect(fs.statSync(keys).mode & 0o777).toBe(0o600);
      const keyFile = JSON.parse(fs.readFileSync(keys, 'utf8'));
      expect(keyFile.annotators.map((a: { id: string }) => a.id)).toEqual(['alice', 'bob']);
      expect(lines.join('\n')).toMatch(/6 new pairs/);
      expect(lines.join('\n')).toMatch(/3 pairs to annotators, 3 to the judge/);
      expect(lines.join('\n')).toContain(`${url}/routing/annotate`);
      expect(lines.join('\n')).not.toContain(keyFile.admin);

      const page = await fetch(`${url}/routing/annotate`);
      expect(page.status).toBe(200);
      expect(page.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
      const alice = { 'content-type': 'application/json', 'x-api-key': keyFile.annotators[0].key };
      const next = await (await fetch(`${url}/routing/next`, { headers: alice })).json();
      expect(next.annotator).toEqual({ id: 'alice', name: 'alice' });
      const label = await fetch(`${url}/routing/labels`, { method: 'POST', headers: alice, body: JSON.stringify({ pairId: next.pair.id, scale: 2 }) });
      expect(label.status).toBe(201);
      expect((await fetch(`${url}/routing/export`, { headers: alice })).status).toBe(403);
      expect((await fetch(`${url}/routing/export`, { headers: { 'x-api-key': keyFile.admin } })).status).toBe(200);
      // The judge is served for scoring too.
      expect((await fetch(`${url}/v1/score`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ items: [{ prompt: 'q', response: 'a' }] }) })).status).toBe(200);
      expect(await labels.aiLabels()).toHaveLength(3);
    } finally {
      await app.close();
      await labels.close();
    }
  });

  it('serve again: the key file, the routing run and the AI labels are kept; a new annotator gets a key', async () => {
    const before = JSON.parse(fs.readFileSync(keys, 'utf8'));
    const lines: string[] = [];
    const { app, store: labels } = await startAnnotationServer([...args.map((a) => (a === 'alice,bob' ? 'alice,bob,carol' : a))], (l) => lines.push(l));
    try {
      const after = JSON.parse(fs.readFileSync(keys, 'utf8'));
      expect(after.admin).toBe(before.admin);
      expect(after.annotators.slice(0, 2)).toEqual(before.annotators);
      expect(after.annotators[2].id).toBe('carol');
      expect(lines.join('\n')).toMatch(/added keys for carol/);
      expect(lines.join('\n')).not.toMatch(/routing run|labelled/);
      expect((await labels.latestRun())!.id).toBe(1);
      expect(await labels.annotatorByKey(after.annotators[2].key)).toEqual({ id: 'carol', name: 'carol' });
    } finally {
      await app.close();
      await labels.close();
    }
  });

  it('export: writes the labelled dataset with provenance', async () => {
    const { code, out } = await runCli('annotate', 'export', '--store', store, '--output', f('labelled.parquet'));
    expect(code).toBe(0);
    expect(out).toMatch(/wrote 6 labelled pairs/);
    const exported = await rows(f('labelled.parquet'));
    expect(exported.map((r) => r.id)).toEqual(pairs.map((p) => p.id));
    expect(exported.filter((r) => r.label_source === 'human')).toHaveLength(1);
    expect(exported.filter((r) => r.label_source === 'ai')).toHaveLength(3);
    const check = await openLabelStore(store);
    expect((await check.getPair('r0'))!.extra).toEqual({ source: 'cli-test' });
    await check.close();
  });

  it('names the missing flag and the bad row', async () => {
    expect((await runCli('annotate', 'serve', '--store', store)).err).toMatch(/missing --keys/);
    fs.writeFileSync(f('bad.jsonl'), `${JSON.stringify(pairs[0])}\n${JSON.stringify({ id: 'x', prompt: 'p', response_a: 'a' })}\n`);
    const bad = await runCli('annotate', 'serve', '--store', f('other.db'), '--keys', keys, '--pairs', f('bad.jsonl'), '--judge', FIXTURE_MODEL.dir);
    expect(bad.code).toBe(1);
    expect(bad.err).toMatch(/bad\.jsonl: row 2 has no string column 'response_b'/);
    expect((await runCli('annotate', 'nope')).code).toBe(2);
  });
});
