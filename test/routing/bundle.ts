// Bundles a TypeScript entry (and the alignkit sources it imports) into one ESM file a plain
// `node` child process can run; packages stay external and resolve from the repo's node_modules.

import fs from 'node:fs';
import path from 'node:path';
import { build } from 'rolldown';

const REPO = path.resolve(import.meta.dirname, '../..');

export async function bundleForNode(entry: string): Promise<string> {
  const outDir = path.join(REPO, 'node_modules', '.cache', 'alignkit-routing-tests');
  fs.mkdirSync(outDir, { recursive: true });
  const file = path.join(outDir, `${path.basename(entry, '.ts')}-${process.pid}.mjs`);
  await build({
    input: entry,
    platform: 'node',
    external: (id) => !id.startsWith('.') && !path.isAbsolute(id),
    output: { file, format: 'esm' },
    logLevel: 'silent',
  });
  return file;
}
