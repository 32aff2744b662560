// Files larger than memory: the datasets module is compiled to plain JS and run in a child Node
// process whose V8 heap is capped far below the file size. Streaming loads must finish there; the
// control (reading the file whole) must run out of memory under the same cap, which shows the cap binds.

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HH, rawRows, tempDir } from './helpers.js';

const HEAP_MB = 48;
const TARGET_BYTES = 128 * 1024 * 1024;
const dir = tempDir();
let jsonl = '';
let jsonArray = '';
let rowsWritten = 0;

beforeAll(() => {
  // Compile src/datasets (and what it imports) with the project's compiler; resolve packages through a symlink.
  const out = path.join(dir, 'build');
  const tsc = spawnSync(process.execPath, [path.resolve('node_modules/typescript/bin/tsc'), '--outDir', out, '--rootDir', path.resolve('.'), '--module', 'nodenext', '--moduleResolution', 'nodenext', '--target', 'es2022', '--skipLibCheck', '--types', 'node', path.resolve('src/datasets/index.ts')], { encoding: 'utf8' });
  expect(fs.existsSync(path.join(out, 'src/datasets/index.js')), tsc.stdout + tsc.stderr).toBe(true);
  fs.symlinkSync(path.resolve('node_modules'), path.join(dir, 'node_modules'));

  const lines = rawRows(HH).map((r) => JSON.stringify(r));
  const block = lines.join('\n') + '\n';
  const repeats = Math.ceil(TARGET_BYTES / Buffer.byteLength(block));
  jsonl = path.join(dir, 'big.jsonl');
  jsonArray = path.join(dir, 'big.json');
  const fdl = fs.openSync(jsonl, 'w');
  const fda = fs.openSync(jsonArray, 'w');
  fs.writeSync(fda, '[\n');
  for (let i = 0; i < repeats; i++) {
    fs.writeSync(fdl, block);
    fs.writeSync(fda, (i === 0 ? '' : ',\n') + lines.join(',\n'));
  }
  fs.writeSync(fda, '\n]\n');
  fs.closeSync(fdl);
  fs.closeSync(fda);
  rowsWritten = repeats * lines.length;
}, 300_000);

afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function runCapped(script: string, file: string): { status: number | null; stdout: string; stderr: string } {
  const scriptFile = path.join(dir, `script-${Math.random().toString(36).slice(2)}.mjs`);
  fs.writeFileSync(scriptFile, script);
  const r = spawnSync(process.execPath, [`--max-old-space-size=${HEAP_MB}`, scriptFile, file], { encoding: 'utf8', cwd: dir });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const STREAM_SCRIPT = `
import { openPreferenceStream } from './build/src/datasets/index.js';
const stream = await openPreferenceStream(process.argv[2]);
let count = 0;
let chars = 0;
for await (const e of stream) { count++; chars += e.prompt.length; }
console.log(JSON.stringify({ count, convention: stream.convention, chars }));
`;

describe('streaming files larger than the heap', () => {
  for (const which of ['jsonl', 'json'] as const) {
    it(`loads a ${TARGET_BYTES >> 20} MB ${which} file with a ${HEAP_MB} MB heap`, () => {
      const file = which === 'jsonl' ? jsonl : jsonArray;
      expect(fs.statSync(file).size).toBeGreaterThan(2 * HEAP_MB * 1024 * 1024); // well past the heap cap
      const r = runCapped(STREAM_SCRIPT, file);
      expect(r.status, r.stderr).toBe(0);
      const report = JSON.parse(r.stdout) as { count: number; convention: string };
      expect(report).toMatchObject({ count: rowsWritten, convention: 'hh-rlhf' });
    });
  }

  it('control: reading the same file whole fails under that heap cap', () => {
    const r = runCapped(`import fs from 'node:fs'; const rows = fs.readFileSync(process.argv[2], 'utf8').split('\\n').map((l) => l && JSON.parse(l)); console.log(rows.length);`, jsonl);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/heap out of memory|Invalid string length|Cannot create a string/i);
  });
});
