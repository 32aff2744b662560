// Copies the non-TypeScript files the compiled library reads at run time from src/ into dist/
// (tsc copies only what it compiles): the optimizer kernels' WebAssembly modules. Run by `npm run
// build` after tsc, so `dist/` is complete for the npm package ("files" ships dist, not src).
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const ASSETS = ['optim/kernels/optim_kernels.wasm', 'optim/kernels/optim_kernels.threads.wasm'];

for (const asset of ASSETS) {
  const to = path.join(root, 'dist', asset);
  fs.mkdirSync(path.dirname(to), { recursive: true });
  fs.copyFileSync(path.join(root, 'src', asset), to);
}
