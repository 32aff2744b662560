// Paths tests use. CI runs in a fresh clone with the shared data folder beside it (../shared),
// so nothing may point at an absolute /work path.
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const SHARED = path.resolve(REPO_ROOT, '../shared');
export const SHARED_DATASETS = path.join(SHARED, 'datasets');
export const DATA = path.join(REPO_ROOT, 'data');
