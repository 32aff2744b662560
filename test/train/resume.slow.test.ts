// A training run killed with SIGKILL mid-run and resumed from its last checkpoint ends with the
// same parameters as an uninterrupted run. Real child processes (TypeScript run through
// src/dev/register-ts.mjs), a real kill.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadSafetensors } from '../../src/graph/index.js';
import { ROOT } from './helpers.js';

const CHILD = path.join(ROOT, 'test/train/resume-child.ts');
const REGISTER = path.join(ROOT, 'src/dev/register-ts.mjs');
const STEPS = 30;

/** Run the child; when `killAfter` is set, SIGKILL it as soon as it reports that step. */
function runChild(ckpt: string, out: string, killAfter?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null; lastStep: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', REGISTER, CHILD, ckpt, out, String(STEPS)], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
    let lastStep = 0;
    let buffer = '';
    child.stdout.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      for (const m of buffer.matchAll(/step (\d+)\n/g)) lastStep = Number(m[1]);
      buffer = buffer.slice(buffer.lastIndexOf('\n') + 1);
      if (killAfter !== undefined && lastStep >= killAfter) child.kill('SIGKILL');
    });
    child.on('error', reject);
    child.on('exit', (code, signal) => resolve({ code, signal, lastStep }));
  });
}

describe('resume after SIGKILL', () => {
  it('reaches the same parameters at step 30 as an uninterrupted run', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'alignkit-resume-'));
    const straight = await runChild(path.join(dir, 'a.ckpt'), path.join(dir, 'a.safetensors'));
    expect(straight.code).toBe(0);

    const ckpt = path.join(dir, 'b.ckpt');
    const out = path.join(dir, 'b.safetensors');
    const killed = await runChild(ckpt, out, 5);
    expect(killed.signal).toBe('SIGKILL');
    expect(fs.existsSync(out)).toBe(false);
    expect(killed.lastStep).toBeLessThan(STEPS);
    const resumed = await runChild(ckpt, out);
    expect(resumed.code).toBe(0);

    const a = loadSafetensors(path.join(dir, 'a.safetensors')).tensors;
    const b = loadSafetensors(out).tensors;
    expect([...b.keys()]).toEqual([...a.keys()]);
    let worst = 0;
    for (const [name, t] of a) {
      const x = t.data as Float32Array;
      const y = b.get(name)!.data as Float32Array;
      for (let i = 0; i < x.length; i++) worst = Math.max(worst, Math.abs(x[i]! - y[i]!));
    }
    expect(worst).toBeLessThanOrEqual(1e-6);
  }, 180_000);
});
