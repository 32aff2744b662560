// Locates alignkit's bundled `data/` folder from source (src/routing), a build (dist/routing) or
// a bundle, by walking up from this module to the package root.

import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

let cachedRoot: string | undefined;

function packageRoot(): string {
  if (cachedRoot) return cachedRoot;
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = path.join(dir, 'package.json');
    if (fs.existsSync(pkg) && JSON.parse(fs.readFileSync(pkg, 'utf8')).name === 'alignkit') return (cachedRoot = dir);
    const parent = path.dirname(dir);
    if (parent === dir) return (cachedRoot = process.cwd());
    dir = parent;
  }
}

/** Absolute path of a file under alignkit's `data/routing/`. */
export function routingDataPath(...parts: string[]): string {
  return path.join(packageRoot(), 'data', 'routing', ...parts);
}
