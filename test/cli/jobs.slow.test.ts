// Issue #18 §2 acceptance: a scoring run over two worker processes equals the single-process output
// byte for byte, and killing a worker with SIGKILL in the middle of a chunk changes nothing (BullMQ
// re-runs the chunk once its lock expires; chunk outputs are atomic and idempotent).
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectionFor, QUEUE_NAME, readRunSummary } from '../../src/cli/jobs/queue.js';
import { chunkDone, readManifest } from '../../src/cli/jobs/layout.js';
import { loadPreferenceData } from '../../src/datasets/index.js';
import { runCli } from '../helpers/cli.js';
import { REPO_ROOT } from '../helpers/paths.js';
import { startRedis, type TestRedis } from '../helpers/redis.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ak-jobs-slow-'));
const f = (name: string) => path.join(dir, name);
const RM = path.resolve('data/models/tiny-gpt2-rm');
const ROWS = 3072;
let redis: TestRedis;
const workers = new Map<string, ChildProcess>();

/** A `jobs worker` child process; its BullMQ name (`host:pid`) tells which chunk it runs. */
function spawnWorker(): ChildProcess {
  const child = spawn(process.execPath, ['--import', path.join(REPO_ROOT, 'src/dev/register-ts.mjs'), path.join(REPO_ROOT, 'src/cli/main.ts'), 'jobs', 'worker', '--redis', redis.url, '--lock-ms', '3000', '--threads', '1'], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  workers.set(`${os.hostname()}:${child.pid}`, child);
  return child;
}

beforeAll(async () => {
  redis = await startRedis();
  // Response rows from the HH pairs (each side a row), repeated with a row number to 3072 rows.
  const pairs = (await loadPreferenceData(path.resolve('data/samples/hh_rlhf_harmless_base_test.200.jsonl'), { kind: 'paired' })).examples;
  const rows = Array.from({ length: ROWS }, (_, i) => {
    const p = pairs[Math.floor(i / 2) % pairs.length]!;
    return { id: `r${i}`, prompt: p.prompt, response: `${i % 2 ? p.rejected : p.chosen} (${i})` };
  });
  fs.writeFileSync(f('rows.jsonl'), rows.map((r) => JSON.stringify(r)).join('\n'));
}, 60_000);

afterAll(async () => {
  for (const w of workers.values()) if (w.exitCode === null) w.kill('SIGKILL');
  await redis?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

async function waitFor<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, ms: number): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('jobs over two worker processes, one killed with SIGKILL mid-chunk', () => {
  it('assembles the single-process output byte for byte', async () => {
    const single = await runCli('score', '--data', f('rows.jsonl'), '--output', f('single.jsonl'), '--model', RM, '--batch-size', '32', '--threads', '1', '--no-progress');
    expect(single.code, single.err).toBe(0);

    const [a] = [spawnWorker(), spawnWorker()];
    const submitted = await runCli('jobs', 'submit', 'score', '--data', f('rows.jsonl'), '--output', f('run'), '--chunk', '128', '--batch-size', '32', '--model', RM, '--redis', redis.url, '--no-wait');
    expect(submitted.code, submitted.err).toBe(0);
    const run = f('run');
    const m = readManifest(run);
    expect(m.chunks).toBe(ROWS / 128);

    // Kill worker A while it holds a chunk that is not done, after a few chunks have completed.
    const queue = new Queue(QUEUE_NAME, { connection: connectionFor(redis.url) });
    const aName = `${os.hostname()}:${a!.pid}`;
    const victim = await waitFor(
      'worker A to hold an unfinished chunk',
      async () => {
        if ([...Array(m.chunks).keys()].filter((c) => fs.existsSync(chunkDone(run, c))).length < 3) return undefined;
        const held = (await queue.getActive()).find((j) => j.processedBy === aName && j.name === 'chunk');
        return held && !fs.existsSync(chunkDone(run, held.data.chunk)) ? (held.data.chunk as number) : undefined;
      },
      240_000,
    );
    a!.kill('SIGKILL');
    await new Promise((r) => a!.once('exit', r));
    expect(fs.existsSync(chunkDone(run, victim))).toBe(false);

    const summary = await waitFor('the assembled output', () => readRunSummary(run), 300_000);
    await queue.close();
    expect(summary.rowsOut).toBe(ROWS);
    expect(fs.existsSync(chunkDone(run, victim))).toBe(true);
    expect(fs.readFileSync(path.join(run, 'output.jsonl')).equals(fs.readFileSync(f('single.jsonl')))).toBe(true);
  });
});
