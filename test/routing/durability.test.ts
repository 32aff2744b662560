import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { afterAll, describe, expect, it } from 'vitest';
import { openLabelStore } from '../../src/routing/store/label-store.js';

let child: ChildProcess | undefined;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'alignkit-durability-'));

afterAll(() => {
  if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('label durability', () => {
  it('every acknowledged label survives a kill -9 of the server', async () => {
    const script = path.join(import.meta.dirname, 'durability-server.ts');
    const register = path.resolve(import.meta.dirname, '../../src/dev/register-ts.mjs');
    const file = path.join(dir, 'labels.sqlite');
    child = spawn(process.execPath, ['--import', register, script, file, '120'], { stdio: ['ignore', 'pipe', 'inherit'] });
    const first = await new Promise<string>((resolve, reject) => {
      readline.createInterface({ input: child!.stdout! }).once('line', resolve);
      child!.once('exit', (code) => reject(new Error(`server exited early with ${code}`)));
    });
    const { address, apiKey, pairIds } = JSON.parse(first) as { address: string; apiKey: string; pairIds: string[] };

    const acknowledged: { pairId: string; scale: number }[] = [];
    const post = async (pairId: string, scale: number) => {
      const res = await fetch(`${address}/routing/labels`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-api-key': apiKey },
        body: JSON.stringify({ pairId, scale, confidence: 1 }),
      });
      if (res.status === 201) acknowledged.push({ pairId, scale });
    };
    // 20 labels one after another, then a concurrent burst cut short by kill -9.
    for (const [i, id] of pairIds.slice(0, 20).entries()) await post(id, (i % 5) - 2);
    const burst = pairIds.slice(20).map((id, i) => post(id, (i % 5) - 2).catch(() => undefined));
    while (acknowledged.length < 30) await new Promise((r) => setTimeout(r, 1));
    child.kill('SIGKILL');
    await Promise.all(burst);
    await new Promise<void>((resolve) => (child!.exitCode !== null || child!.signalCode !== null ? resolve() : child!.once('exit', () => resolve())));
    expect(child.signalCode).toBe('SIGKILL');

    const store = openLabelStore({ path: file });
    const stored = new Map(store.humanLabels().map((l) => [l.pairId, l.scale]));
    store.close();
    expect(acknowledged.length).toBeGreaterThanOrEqual(30);
    for (const ack of acknowledged) expect(stored.get(ack.pairId)).toBe(ack.scale);
  });
});
