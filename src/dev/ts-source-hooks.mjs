// Node module hooks used ONLY when alignkit runs from its TypeScript sources: the server's inference
// worker thread under vitest (a fresh Node.js context that vitest's transform does not reach),
// benchmarks and test child processes (through register-ts.mjs). They transpile each .ts file on load with
// TypeScript's own `transpileModule` and map the NodeNext `./x.js` specifiers to `./x.ts`. The built
// package (`dist/`) runs the compiled worker and never loads this file; it is plain JavaScript because
// a hook module must be loadable before any TypeScript support exists. Transpiled files are cached
// in the OS temp dir by path, size and mtime, since every worker of every test would redo them.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const CACHE = path.join(os.tmpdir(), 'alignkit-ts-worker-cache');
let ts;

export async function resolve(specifier, context, nextResolve) {
  const parent = context.parentURL;
  if (parent && parent.endsWith('.ts') && specifier.startsWith('.') && specifier.endsWith('.js')) {
    const tsUrl = new URL(specifier.slice(0, -3) + '.ts', parent);
    if (!fs.existsSync(fileURLToPath(new URL(specifier, parent))) && fs.existsSync(fileURLToPath(tsUrl)))
      return { url: tsUrl.href, shortCircuit: true, format: 'module' };
  }
  return nextResolve(specifier, context);
}

export async function load(url, context, nextLoad) {
  if (!url.endsWith('.ts')) return nextLoad(url, context);
  const file = fileURLToPath(url);
  const stat = fs.statSync(file);
  const cached = path.join(CACHE, createHash('sha1').update(`${file}:${stat.size}:${stat.mtimeMs}`).digest('hex') + '.js');
  if (fs.existsSync(cached)) return { format: 'module', source: fs.readFileSync(cached, 'utf8'), shortCircuit: true };
  ts ??= (await import('typescript')).default;
  const out = ts.transpileModule(fs.readFileSync(file, 'utf8'), {
    fileName: file,
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, inlineSourceMap: true },
  });
  fs.mkdirSync(CACHE, { recursive: true });
  const tmp = `${cached}.${process.pid}.${Math.random().toString(36).slice(2)}`;
  fs.writeFileSync(tmp, out.outputText);
  fs.renameSync(tmp, cached);
  return { format: 'module', source: out.outputText, shortCircuit: true };
}
