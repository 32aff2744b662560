// `node --import ./src/dev/register-ts.mjs file.ts`: runs alignkit's TypeScript sources with plain
// node (benchmarks, and the child processes of kill-and-resume tests) by installing the module
// hooks of ts-source-hooks.mjs. The built package never loads this folder.
import { register } from 'node:module';

register('./ts-source-hooks.mjs', import.meta.url);
