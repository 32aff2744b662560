// Batch jobs on BullMQ (Redis): a run is one BullMQ flow, a parent "assemble" job over one child
// job per chunk. BullMQ runs the parent only when every child has completed, retries failures, and
// moves the chunk of a worker that died (its lock not renewed) back to waiting for another worker:
// that, plus chunk outputs written atomically and idempotently, is why a kill -9 loses nothing.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FlowProducer, Queue, Worker, type ConnectionOptions, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import { writeRows, type Row } from '../../datasets/index.js';
import type { SessionOptions } from '../../graph/index.js';
import { fail } from '../../errors.js';
import { JOB_KINDS, type JobKind } from './kinds.js';
import {
  chunkDone, chunkInput, chunkOutput, chunksDone, manifestPath, newRunId, prepareRunDir, readChunkSummary, readManifest, summaryPath, writeJsonAtomic,
  type ChunkSummary, type Manifest,
} from './layout.js';

export const QUEUE_NAME = 'alignkit-jobs';

export const JOB_DEFAULTS = {
  /** Rows per chunk job (a power of two, so that it is a multiple of any power-of-two --batch-size). */
  chunk: 1024,
  concurrency: 1,
  /** How long a chunk stays locked to a worker that stops renewing the lock (died) before it is re-run. */
  lockMs: 30_000,
  /** Re-runs of a job that failed with an error (a stall is not a failure: it is re-run without limit here). */
  attempts: 3,
} as const;

/** BullMQ connection options for a redis:// URL; commands wait through reconnects instead of failing. */
export function connectionFor(url: string): ConnectionOptions {
  if (!/^rediss?:\/\//.test(url)) throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `--redis must be a redis://HOST:PORT URL, got '${url}'`, { parameter: 'redis' });
  return { url, maxRetriesPerRequest: null };
}

/**
 * Fails fast, naming --redis, when no Redis answers at `url`. The commands' BullMQ connections wait
 * through reconnects (right for a worker riding out a Redis restart), so without this check a
 * mistyped URL or a Redis not started yet meant waiting forever with a stack trace a second.
 */
export async function reachRedis(url: string, timeoutMs = 5000): Promise<void> {
  const client = new Redis(url, { lazyConnect: true, connectTimeout: timeoutMs, maxRetriesPerRequest: 0, enableOfflineQueue: false, retryStrategy: () => null });
  // The socket's error says why (ECONNREFUSED, ENOTFOUND); connect() then rejects with "Connection is closed".
  let cause: Error | undefined;
  client.on('error', (e: Error) => void (cause ??= e));
  try {
    await client.connect();
    await client.ping();
  } catch (e) {
    cause ??= e as Error;
    throw fail('ALIGNKIT_ERR_UNAVAILABLE', `--redis ${url}: cannot reach Redis (${cause.message}); start one (redis-server --port PORT) or give the URL of a running one`, { parameter: 'redis' }, cause);
  } finally {
    client.disconnect();
  }
}

export function jobKind(name: string): JobKind {
  const kind = Object.hasOwn(JOB_KINDS, name) ? JOB_KINDS[name] : undefined;
  if (!kind) throw fail('ALIGNKIT_ERR_UNKNOWN_NAME', `unknown job kind '${name}'; kinds: ${Object.keys(JOB_KINDS).join(', ')}`, { parameter: 'kind' });
  return kind;
}

export interface SubmitOptions {
  kind: string;
  data: string;
  dir: string;
  chunk: number;
  /** Extension of the final output (jsonl, parquet, arrow, json). */
  format: string;
  values: Record<string, string | boolean | string[] | undefined>;
}

/**
 * Cuts the input into chunk files (streaming: memory holds one chunk), writes the manifest, and adds
 * the run's flow. Resolves to the manifest.
 */
export async function submitRun(connection: ConnectionOptions, o: SubmitOptions): Promise<Manifest> {
  const kind = jobKind(o.kind);
  if (!Number.isInteger(o.chunk) || o.chunk < 1) throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `--chunk must be a positive integer, got ${o.chunk}`, { parameter: 'chunk' });
  const data = path.resolve(o.data);
  if (!fs.existsSync(data)) throw fail('ALIGNKIT_ERR_FILE_NOT_FOUND', `--data ${o.data} does not exist`, { file: o.data, parameter: 'data' });
  const settings = await kind.prepare(o.values, data, o.chunk);
  const dir = path.resolve(o.dir);
  prepareRunDir(dir);
  let chunks = 0;
  let rows = 0;
  let buffer: Row[] = [];
  const flush = async () => {
    if (buffer.length === 0) return;
    await writeRows(chunkInput(dir, chunks++), buffer);
    buffer = [];
  };
  for await (const row of kind.rows(data, settings)) {
    buffer.push(row);
    rows++;
    if (buffer.length === o.chunk) await flush();
  }
  await flush();
  const manifest: Manifest = { version: 1, id: newRunId(), kind: kind.name, data, settings, chunkSize: o.chunk, chunks, rows, output: `output.${o.format}`, created: new Date().toISOString() };
  writeJsonAtomic(manifestPath(dir), manifest);
  const flow = new FlowProducer({ connection });
  try {
    const opts = { attempts: JOB_DEFAULTS.attempts, backoff: { type: 'exponential', delay: 1000 } };
    await flow.add({
      name: 'assemble',
      queueName: QUEUE_NAME,
      data: { dir },
      opts: { ...opts, jobId: `${manifest.id}-assemble` },
      children: Array.from({ length: chunks }, (_, chunk) => ({ name: 'chunk', queueName: QUEUE_NAME, data: { dir, chunk }, opts: { ...opts, jobId: `${manifest.id}-${chunk}` } })),
    });
  } finally {
    await flow.close();
  }
  return manifest;
}

/** Runs one chunk unless it is already done (a re-delivered job after its output was written). */
export async function runChunk(dir: string, chunk: number, session?: SessionOptions): Promise<ChunkSummary> {
  const done = readChunkSummary(dir, chunk);
  if (done) return done;
  const m = readManifest(dir);
  const started = performance.now();
  const firstRow = chunk * m.chunkSize;
  const result = await jobKind(m.kind).runChunk({ data: m.data, settings: m.settings, input: chunkInput(dir, chunk), output: chunkOutput(dir, chunk), firstRow, session });
  const rowsIn = Math.min(m.chunkSize, m.rows - firstRow);
  const summary: ChunkSummary = { chunk, firstRow, rowsIn, rowsOut: result.rowsOut, skipped: result.skipped, seconds: (performance.now() - started) / 1000 };
  writeJsonAtomic(chunkDone(dir, chunk), summary);
  return summary;
}

export interface RunSummary {
  id: string;
  kind: string;
  output: string;
  rows: number;
  rowsOut: number;
  skipped: { row: number; reason: string }[];
}

/** Writes the final output from every chunk's output, in input order. */
export async function assembleRun(dir: string): Promise<RunSummary> {
  const m = readManifest(dir);
  const chunks = Array.from({ length: m.chunks }, (_, c) => c);
  const missing = chunks.filter((c) => !fs.existsSync(chunkDone(dir, c)));
  if (missing.length) throw fail('ALIGNKIT_ERR_STATE', `run ${m.id} in ${dir}: chunks ${missing.slice(0, 10).join(', ')} are not done`, { file: dir });
  const output = path.join(dir, m.output);
  const rowsOut = await jobKind(m.kind).assemble(chunks.map((c) => chunkOutput(dir, c)), output, m.settings, m.data);
  const skipped = chunks.flatMap((c) => readChunkSummary(dir, c)!.skipped);
  const summary: RunSummary = { id: m.id, kind: m.kind, output, rows: m.rows, rowsOut, skipped };
  writeJsonAtomic(summaryPath(dir), summary);
  return summary;
}

export function readRunSummary(dir: string): RunSummary | undefined {
  const file = summaryPath(dir);
  return fs.existsSync(file) ? (JSON.parse(fs.readFileSync(file, 'utf8')) as RunSummary) : undefined;
}

export interface WorkerOptions {
  concurrency: number;
  lockMs: number;
  /** onnxruntime intra-op threads of the sessions this worker opens (default: onnxruntime's). */
  threads?: number;
  /** One line per finished job. */
  log?: (line: string) => void;
}

/** A BullMQ worker running chunk and assemble jobs of every kind. */
export function startWorker(connection: ConnectionOptions, o: WorkerOptions): Worker {
  const log = o.log ?? (() => undefined);
  const worker = new Worker(
    QUEUE_NAME,
    async (job: Job<{ dir: string; chunk?: number }>) => {
      if (job.name === 'assemble') {
        const s = await assembleRun(job.data.dir);
        log(`run ${s.id} (${s.kind}): ${s.rowsOut} rows assembled into ${s.output}${s.skipped.length ? `; ${s.skipped.length} rows skipped` : ''}`);
        return s;
      }
      const s = await runChunk(job.data.dir, job.data.chunk!, o.threads === undefined ? undefined : { intraOpThreads: o.threads });
      log(`chunk ${s.chunk} of ${job.data.dir}: ${s.rowsIn} rows in, ${s.rowsOut} out, ${s.seconds.toFixed(1)} s`);
      return s.rowsOut;
    },
    {
      connection,
      // Shown as a job's processedBy: which worker runs which chunk.
      name: `${os.hostname()}:${process.pid}`,
      concurrency: o.concurrency,
      lockDuration: o.lockMs,
      stalledInterval: Math.max(1000, Math.floor(o.lockMs / 2)),
      // A chunk whose worker died is re-run however often that happens; chunk work is idempotent.
      maxStalledCount: Number.MAX_SAFE_INTEGER,
    },
  );
  return worker;
}

export interface RunStatus {
  manifest: Manifest;
  chunksDone: number;
  summary: RunSummary | undefined;
  /** Failure reasons of this run's jobs (after their retries). */
  failed: string[];
}

export async function runStatus(connection: ConnectionOptions | undefined, dir: string): Promise<RunStatus> {
  const manifest = readManifest(dir);
  const failed: string[] = [];
  if (connection) {
    const queue = new Queue(QUEUE_NAME, { connection });
    try {
      for (const job of await queue.getFailed(0, -1)) if (job.id?.startsWith(`${manifest.id}-`)) failed.push(`${job.name} ${job.id}: ${job.failedReason}`);
    } finally {
      await queue.close();
    }
  }
  return { manifest, chunksDone: chunksDone(dir, manifest), summary: readRunSummary(dir), failed };
}

export async function queueCounts(connection: ConnectionOptions): Promise<Record<string, number>> {
  const queue = new Queue(QUEUE_NAME, { connection });
  try {
    return await queue.getJobCounts('waiting', 'active', 'waiting-children', 'delayed', 'completed', 'failed');
  } finally {
    await queue.close();
  }
}
