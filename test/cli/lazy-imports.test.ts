// Issue #13 (start-up under 3 s at GPT-2-small): importing the training entry or starting the CLI
// loaded apache-arrow, hyparquet, transformers.js with sharp, and through the command table Fastify,
// BullMQ, ioredis and the SQLite/PostgreSQL drivers: 1-2 s of imports before a training run built
// anything. Each case runs a real Node.js process (the TypeScript sources through their module hooks)
// and reads what it loaded from a module hook (ES modules) and from require.cache (CommonJS).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { COMMANDS } from '../../src/cli/commands/index.js';
import { REPO_ROOT } from '../helpers/paths.js';

/** Packages a training run on token ids never uses: each is loaded where its work is done. */
const HEAVY = ['apache-arrow', 'hyparquet', 'hyparquet-writer', '@huggingface/transformers', 'sharp', 'fastify', '@fastify/swagger', 'bullmq', 'ioredis', 'better-sqlite3', 'pg', 'prom-client'];

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'alignkit-lazy-imports-'));
const probe = path.join(dir, 'probe.mjs');
// The child: the TypeScript hooks, a hook that logs every ES module it loads, then `import(entry)`
// (and for the CLI entry `main(argv)`), then every file it loaded as JSON on stdout.
fs.writeFileSync(
  probe,
  `import fs from 'node:fs';
import { createRequire, register } from 'node:module';
const [hooks, entry, log, ...argv] = process.argv.slice(2);
register(hooks);
register('data:text/javascript,' + encodeURIComponent(\`import fs from 'node:fs';
export async function load(url, context, next) { fs.appendFileSync(\${JSON.stringify(log)}, url + '\\\\n'); return next(url, context); }\`));
const m = await import(entry);
if (argv.length) await m.main(argv);
const files = [...fs.readFileSync(log, 'utf8').split('\\n'), ...Object.keys(createRequire(import.meta.url).cache)];
process.stdout.write('\\n' + JSON.stringify(files));
`,
);

/** The npm packages a fresh process loads by importing `entry` (a path under src/) and, if given, running `main(argv)`. */
async function packagesLoaded(entry: string, argv: string[] = []): Promise<Set<string>> {
  const log = path.join(dir, `${path.basename(entry)}-${argv.join('-')}-${Math.random().toString(36).slice(2)}.log`);
  fs.writeFileSync(log, '');
  const hooks = pathToFileURL(path.join(REPO_ROOT, 'src/dev/ts-source-hooks.mjs')).href;
  const child = spawn(process.execPath, [probe, hooks, pathToFileURL(path.join(REPO_ROOT, entry)).href, log, ...argv], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (err += d));
  const code = await new Promise((resolve) => child.on('close', resolve));
  expect(code, err).toBe(0);
  const files = JSON.parse(out.slice(out.lastIndexOf('\n') + 1)) as string[];
  return new Set(files.map((f) => /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(f)?.[1]).filter((p): p is string => p !== undefined));
}

const heavyIn = (loaded: Set<string>) => HEAVY.filter((p) => loaded.has(p));

describe('start-up imports only what the work needs', () => {
  it('the training entry (alignkit/train) loads no dataset-format, tokenizer, server or queue package', async () => {
    const loaded = await packagesLoaded('src/train/index.ts');
    expect(loaded.has('onnxruntime-node')).toBe(true);
    expect(heavyIn(loaded)).toEqual([]);
  }, 60_000);

  it('`alignkit train dpo --help` loads the train command alone, none of the other commands\' packages', async () => {
    const loaded = await packagesLoaded('src/cli/main.ts', ['train', 'dpo', '--help']);
    expect(heavyIn(loaded)).toEqual([]);
  }, 60_000);

  it('the probe sees what is loaded: `alignkit serve --help` loads Fastify', async () => {
    const loaded = await packagesLoaded('src/cli/main.ts', ['serve', '--help']);
    expect(loaded.has('fastify')).toBe(true);
  }, 60_000);

  it('each entry of the command table loads the command of its name', async () => {
    for (const entry of COMMANDS) expect((await entry.load()).name).toBe(entry.name);
  });
});
