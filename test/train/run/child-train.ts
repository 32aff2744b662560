// `alignkit train` in a child process (the TypeScript sources through src/dev/register-ts.mjs), for
// the slow tests that kill a run with SIGKILL once its metrics.jsonl shows a given step.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { ROOT } from './helpers.js';

const MAIN = path.join(ROOT, 'src/cli/main.ts');
const REGISTER = path.join(ROOT, 'src/dev/register-ts.mjs');

/** Runs `alignkit train ...args` writing to `out`; with `killAtStep`, SIGKILL once `out`/metrics.jsonl has more lines than that. */
export function trainInChild(cwd: string, out: string, args: string[], killAtStep?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', REGISTER, MAIN, 'train', ...args, '--output', out], { cwd, stdio: ['ignore', 'ignore', 'inherit'] });
    const metrics = path.join(out, 'metrics.jsonl');
    const timer = killAtStep === undefined ? undefined : setInterval(() => {
      if (fs.existsSync(metrics) && fs.readFileSync(metrics, 'utf8').split('\n').length > killAtStep) child.kill('SIGKILL');
    }, 5);
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      clearInterval(timer);
      resolve({ code, signal });
    });
  });
}
