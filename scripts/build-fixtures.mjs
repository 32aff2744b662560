#!/usr/bin/env node
// Rebuild the committed fixtures (data/tokenizers/bpe500, data/models/tiny-*) from the compiled
// library: `npm run build && node scripts/build-fixtures.mjs`.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeFixtures } from '../dist/models/fixtures/index.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
for (const file of writeFixtures(root)) process.stdout.write(`${path.relative(root, file)}\n`);
