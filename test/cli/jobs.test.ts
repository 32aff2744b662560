// `alignkit jobs` (issue #18 §2) on a private Redis: every job kind's assembled output equals, byte
// for byte, what the local command writes in one process; chunks are idempotent; errors name the
// original file's rows. Kill -9 of workers and two worker processes: jobs.slow.test.ts.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Worker } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectionFor, readRunSummary, runChunk, startWorker } from '../../src/cli/jobs/queue.js';
import { chunkDone, chunkOutput, readManifest } from '../../src/cli/jobs/layout.js';
import { loadPandaLM } from '../../src/routing/eval/pandalm.js';
import { runCli } from '../helpers/cli.js';
import { redisInstalled, startRedis, type TestRedis } from '../helpers/redis.js';
import { serviceSkipReason } from '../helpers/services.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ak-jobs-'));
const f = (name: string) => path.join(dir, name);
const GPT2_RM = path.resolve('data/models/tiny-gpt2-rm');
const HH = path.join(dir, 'hh64.jsonl');
let redis: TestRedis;
let worker: Worker;
const SKIP_REASON = serviceSkipReason('redis-server', redisInstalled());

beforeAll(async () => {
  if (SKIP_REASON) return;
  redis = await startRedis();
  worker = startWorker(connectionFor(redis.url), { concurrency: 2, lockMs: 30_000 });
  await worker.waitUntilReady();
  const hh = fs.readFileSync(path.resolve('data/samples/hh_rlhf_harmless_base_test.200.jsonl'), 'utf8').split('\n').slice(0, 64);
  fs.writeFileSync(HH, hh.join('\n'));
  const pairs = loadPandaLM().pairs.slice(0, 40);
  fs.writeFileSync(f('pairs.jsonl'), pairs.map((p) => JSON.stringify({ id: p.id, prompt: p.prompt, response_a: p.responseA, response_b: p.responseB })).join('\n'));
  fs.writeFileSync(f('prompts.jsonl'), ['Once upon a time', 'The dog', 'word '.repeat(200), 'A cat', 'Hello'].map((prompt) => JSON.stringify({ prompt })).join('\n'));
}, 60_000);

afterAll(async () => {
  await worker?.close();
  await redis?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

/** `jobs submit` (waiting for the output) and the local command; both must succeed. */
async function both(submit: string[], local: string[]): Promise<void> {
  const j = await runCli('jobs', 'submit', ...submit, '--redis', redis.url);
  expect(j.code, j.err).toBe(0);
  const l = await runCli(...local);
  expect(l.code, l.err).toBe(0);
}

// Each test runs a command twice across processes' worth of work: generous limits for a loaded machine.
describe.skipIf(SKIP_REASON !== '')(`jobs on BullMQ give the single-process output, byte for byte${SKIP_REASON}`, { timeout: 120_000 }, () => {
  it('score: preference pairs, chunks of 24 rows in batches of 8', async () => {
    await both(
      ['score', '--data', HH, '--output', f('score-run'), '--chunk', '24', '--batch-size', '8', '--model', GPT2_RM, '--format', 'parquet'],
      ['score', '--data', HH, '--output', f('score.parquet'), '--batch-size', '8', '--model', GPT2_RM],
    );
    expect(fs.readFileSync(f('score-run/output.parquet')).equals(fs.readFileSync(f('score.parquet')))).toBe(true);
    expect(readManifest(f('score-run'))).toMatchObject({ kind: 'score', rows: 64, chunks: 3, chunkSize: 24 });
  });

  it('generate: prompt rows with a skipped long prompt, chunks of 2', async () => {
    const flags = ['--base', 'data/models/tiny-gpt2', '--max-tokens', '8', '--on-long-prompt', 'skip', '--seed', '3'];
    await both(['generate', '--data', f('prompts.jsonl'), '--output', f('gen-run'), '--chunk', '2', ...flags], ['generate', '--prompts', f('prompts.jsonl'), '--out', f('gen.jsonl'), ...flags]);
    expect(fs.readFileSync(f('gen-run/output.jsonl'), 'utf8')).toBe(fs.readFileSync(f('gen.jsonl'), 'utf8'));
    expect(readRunSummary(f('gen-run'))!.skipped).toEqual([{ row: 3, reason: expect.stringMatching(/^prompt has \d+ tokens, more than the 120 allowed \(--max-prompt-tokens/) }]);
  });

  it('features: bins cut over the whole pool, chunks of 7', async () => {
    await both(['features', '--data', f('pairs.jsonl'), '--output', f('feat-run'), '--chunk', '7'], ['route', 'features', '--input', f('pairs.jsonl'), '--output', f('feat.jsonl')]);
    expect(fs.readFileSync(f('feat-run/output.jsonl'), 'utf8')).toBe(fs.readFileSync(f('feat.jsonl'), 'utf8'));
  });

  it('label: routing\'s reward-model judge, chunks of 15', async () => {
    const j = await runCli('jobs', 'submit', 'label', '--data', f('pairs.jsonl'), '--output', f('label-run'), '--chunk', '15', '--judge', GPT2_RM, '--redis', redis.url);
    expect(j.code, j.err).toBe(0);
    const rows = fs.readFileSync(f('label-run/output.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { id: string; label: string; score_a: number; score_b: number });
    expect(rows).toHaveLength(40);
    const { OnnxRewardModel } = await import('../../src/rewards/index.js');
    const rm = await OnnxRewardModel.load(GPT2_RM);
    const pair = loadPandaLM().pairs[9]!;
    const [a, b] = await rm.score([{ prompt: pair.prompt, response: pair.responseA }, { prompt: pair.prompt, response: pair.responseB }], { truncate: true });
    expect(rows[9]!.id).toBe(pair.id);
    expect(rows[9]!.score_a).toBeCloseTo(a![0]!, 5);
    expect(rows[9]!.label).toBe(a![0]! === b![0]! ? 'tie' : a![0]! > b![0]! ? 'A' : 'B');
  });
});

describe.skipIf(SKIP_REASON !== '')(`chunks${SKIP_REASON}`, { timeout: 120_000 }, () => {
  it('a chunk run again (a re-delivered job) keeps its output', async () => {
    const run = f('score-run');
    const before = fs.readFileSync(chunkOutput(run, 2));
    const doneAt = fs.statSync(chunkDone(run, 2)).mtimeMs;
    expect((await runChunk(run, 2)).rowsOut).toBe(16);
    expect(fs.readFileSync(chunkOutput(run, 2)).equals(before)).toBe(true);
    expect(fs.statSync(chunkDone(run, 2)).mtimeMs).toBe(doneAt);
  });

  it('a bad row stops the run with an error naming the original file and row, not the chunk file', async () => {
    const bad = f('bad.jsonl');
    fs.writeFileSync(bad, Array.from({ length: 30 }, (_, i) => JSON.stringify({ prompt: `q${i}`, response: i === 21 ? 5 : `a${i}` })).join('\n'));
    const r = await runCli('jobs', 'submit', 'score', '--data', bad, '--output', f('bad-run'), '--chunk', '8', '--batch-size', '4', '--model', GPT2_RM, '--redis', redis.url);
    expect(r.code).toBe(1);
    expect(r.err).toContain(`${bad} row 22: field "response" must be a string or a list of messages, got number`);
  });

  it('refuses a chunk size that would cut batches differently from one process', async () => {
    const r = await runCli('jobs', 'submit', 'score', '--data', HH, '--output', f('odd-run'), '--chunk', '20', '--batch-size', '8', '--model', GPT2_RM, '--redis', redis.url);
    expect(r.code).toBe(1);
    expect(r.err).toContain('--chunk 20 must be a multiple of --batch-size 8');
  });

  it('refuses a run directory that is not empty', async () => {
    const r = await runCli('jobs', 'submit', 'score', '--data', HH, '--output', f('score-run'), '--model', GPT2_RM, '--redis', redis.url);
    expect(r.code).toBe(1);
    expect(r.err).toContain('is not empty; a job run needs a new or empty directory');
  });

  it('jobs status reports a finished run', async () => {
    const r = await runCli('jobs', 'status', '--redis', redis.url, '--output', f('score-run'));
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/^run \w+ \(score\) of .*: 3\/3 chunks done \(64 rows, 24 per chunk\)\noutput: .*output\.parquet \(64 rows\)$/);
  });
});
