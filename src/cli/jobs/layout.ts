// The directory of one batch job run (`jobs submit --output DIR`), shared by the submitter, every
// worker and `jobs status` (on several machines it is a shared file system):
//
//   DIR/job.json                 the manifest: kind, input, settings, chunk size and count
//   DIR/chunks/000007.in.jsonl   chunk 7's input rows (written by submit)
//   DIR/chunks/000007.out.jsonl  chunk 7's output rows (written by a worker, atomically)
//   DIR/chunks/000007.done.json  chunk 7's summary, written after its output: the chunk is done
//   DIR/output.EXT               the assembled output, in input order
//   DIR/summary.json             the assembly's summary, written after the output: the run is done
//
// Every file is written to a temporary name and renamed, so a worker killed at any point leaves
// either nothing or a whole file, and re-running a chunk (BullMQ's stalled-job recovery) is safe.

import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fail } from '../../errors.js';
import { commitFile, temporaryPathFor } from '../../datasets/index.js';

export interface Manifest {
  version: 1;
  /** Run id: BullMQ job ids are `${id}-${chunk}` and `${id}-assemble`. */
  id: string;
  kind: string;
  /** The input file as given (absolute), for messages. */
  data: string;
  /** Kind-specific settings, JSON. */
  settings: unknown;
  chunkSize: number;
  chunks: number;
  /** Input rows split into chunks. */
  rows: number;
  /** File name of the assembled output inside the run directory. */
  output: string;
  created: string;
}

/** What a worker reports about one chunk (rows written, rows skipped with their reasons). */
export interface ChunkSummary {
  chunk: number;
  firstRow: number;
  rowsIn: number;
  rowsOut: number;
  skipped: { row: number; reason: string }[];
  seconds: number;
}

export const chunkName = (chunk: number): string => String(chunk).padStart(6, '0');
export const manifestPath = (dir: string): string => path.join(dir, 'job.json');
export const chunkInput = (dir: string, chunk: number): string => path.join(dir, 'chunks', `${chunkName(chunk)}.in.jsonl`);
export const chunkOutput = (dir: string, chunk: number): string => path.join(dir, 'chunks', `${chunkName(chunk)}.out.jsonl`);
export const chunkDone = (dir: string, chunk: number): string => path.join(dir, 'chunks', `${chunkName(chunk)}.done.json`);
export const summaryPath = (dir: string): string => path.join(dir, 'summary.json');

export function newRunId(): string {
  return randomBytes(6).toString('hex');
}

/** Writes JSON to a temporary file beside `file` and renames it over `file`. */
export function writeJsonAtomic(file: string, value: unknown): void {
  const tmp = temporaryPathFor(file);
  fs.writeFileSync(tmp, `${JSON.stringify(value, null, 1)}\n`);
  commitFile(tmp, file);
}

export function readManifest(dir: string): Manifest {
  const file = manifestPath(dir);
  if (!fs.existsSync(file)) throw fail('ALIGNKIT_ERR_FILE_NOT_FOUND', `${dir} holds no job run (no job.json): give the --output DIR of a jobs submit`, { file });
  return JSON.parse(fs.readFileSync(file, 'utf8')) as Manifest;
}

/** A run directory must be new or empty: a run never mixes its chunks with another's. */
export function prepareRunDir(dir: string): void {
  if (fs.existsSync(dir) && fs.readdirSync(dir).length > 0)
    throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `--output ${dir} is not empty; a job run needs a new or empty directory`, { parameter: 'output', file: dir });
  fs.mkdirSync(path.join(dir, 'chunks'), { recursive: true });
}

export function readChunkSummary(dir: string, chunk: number): ChunkSummary | undefined {
  const file = chunkDone(dir, chunk);
  return fs.existsSync(file) ? (JSON.parse(fs.readFileSync(file, 'utf8')) as ChunkSummary) : undefined;
}

/** How many chunks are done (their summary written). */
export function chunksDone(dir: string, m: Manifest): number {
  let n = 0;
  for (let c = 0; c < m.chunks; c++) if (fs.existsSync(chunkDone(dir, c))) n++;
  return n;
}
