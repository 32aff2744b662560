// Reference log-probs for DPO-style losses: computed ONCE per (model, dataset, tokenization) with a
// forward-only session of the frozen model (ReferenceLogProbs), summed over each row group's
// response tokens, and cached in the run's cache directory (cache-dir.ts; never next to the
// dataset) as an Arrow IPC file named by the dataset's name and a SHA-256 of the model bytes, the
// dataset bytes and the tokenization settings. The next run with the same key reads the file
// instead of running the reference (TRL's precompute_ref_log_probs, made persistent). apache-arrow
// is imported when a cache file is read or written, not with the run's modules.

import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { SessionOptions } from '../../graph/index.js';
import { ReferenceLogProbs } from '../reference.js';
import type { RowGroup, RunItem } from './segments.js';
import { resolveCacheDir } from './cache-dir.js';
import type { RunStage } from './stages.js';

export interface ReferenceResult {
  /** Reference input name -> summed log-prob per item. */
  values: Map<string, Float64Array>;
  /** The cache file (absent when caching is off). */
  file?: string;
  /** Whether the reference model ran (false: read from the cache). */
  computed: boolean;
}

export interface ReferenceOptions {
  onnxFile: string;
  dataFile: string;
  items: readonly RunItem[];
  groups: readonly RowGroup[];
  padId: number;
  /** Anything else the values depend on (tokenization settings, load options). */
  settings: unknown;
  /** Directory the cache file goes in (resolveCacheDir); undefined: no cache. */
  cacheDir: string | undefined;
  session?: SessionOptions;
  /** Rows per reference forward. */
  chunk?: number;
}

function hashFiles(hash: crypto.Hash, files: string[]): void {
  for (const f of files) {
    hash.update(path.basename(f));
    hash.update(fs.readFileSync(f));
  }
}

/** The model graph and its external-data files (`model.onnx`, `model.onnx_data`, ...). */
function modelFiles(onnxFile: string): string[] {
  const dir = path.dirname(onnxFile);
  const base = path.basename(onnxFile);
  return fs.readdirSync(dir).filter((f) => f.startsWith(base)).sort().map((f) => path.join(dir, f));
}

export function referenceCacheKey(opts: Pick<ReferenceOptions, 'onnxFile' | 'dataFile' | 'groups' | 'settings' | 'padId'>): string {
  const hash = crypto.createHash('sha256');
  hashFiles(hash, modelFiles(opts.onnxFile));
  hashFiles(hash, [opts.dataFile]);
  hash.update(JSON.stringify({ settings: opts.settings, groups: opts.groups.map((g) => g.policy), pad: opts.padId }));
  return hash.digest('hex');
}

/** Sub-directory of the cache directory holding reference log-probs. */
export const REFERENCE_CACHE_SUBDIR = 'reference-logprobs';

/** `<cacheDir>/reference-logprobs/<dataset name>.ref-<key prefix>.arrow`: the dataset's name keeps the file findable by eye. */
export function referenceCacheFile(cacheDir: string, dataFile: string, key: string): string {
  return path.join(cacheDir, REFERENCE_CACHE_SUBDIR, `${path.basename(dataFile)}.ref-${key.slice(0, 16)}.arrow`);
}

async function readCache(file: string, items: readonly RunItem[], names: string[]): Promise<Map<string, Float64Array> | undefined> {
  if (!fs.existsSync(file)) return undefined;
  const { tableFromIPC } = await import('apache-arrow');
  const table = tableFromIPC(fs.readFileSync(file));
  const ids = table.getChild('id');
  if (table.numRows !== items.length || !ids || items.some((it, i) => ids.get(i) !== it.id)) return undefined;
  const values = new Map<string, Float64Array>();
  for (const n of names) {
    const col = table.getChild(n);
    if (!col) return undefined;
    values.set(n, Float64Array.from(col.toArray() as Float64Array));
  }
  return values;
}

async function writeCache(file: string, items: readonly RunItem[], values: Map<string, Float64Array>): Promise<void> {
  const { tableFromArrays, tableToIPC } = await import('apache-arrow');
  const table = tableFromArrays({ id: items.map((it) => it.id), ...Object.fromEntries(values) });
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}`;
  fs.writeFileSync(tmp, tableToIPC(table, 'file'));
  fs.renameSync(tmp, file);
}

/** Summed log-probs of each group's response rows under a frozen model, for every item. */
export async function sequenceSums(onnxFile: string, items: readonly RunItem[], groups: readonly RowGroup[], padId: number, opts: { session?: SessionOptions; chunk?: number } = {}): Promise<Float64Array[]> {
  const ref = await ReferenceLogProbs.create(onnxFile, { session: opts.session });
  const chunk = opts.chunk ?? 8;
  try {
    const out: Float64Array[] = [];
    for (const g of groups) {
      const sums = new Float64Array(items.length);
      for (let start = 0; start < items.length; start += chunk) {
        const rows = [];
        for (let i = start; i < Math.min(items.length, start + chunk); i++) rows.push(g.row(items, i));
        const T = Math.max(...rows.map((r) => r.prompt.length + r.response.length));
        const ids = new Array<number>(rows.length * T).fill(padId);
        const mask = new Array<number>(rows.length * T).fill(0);
        const weights = new Array<number>(rows.length * T).fill(0);
        rows.forEach((r, b) => {
          [...r.prompt, ...r.response].forEach((id, t) => {
            ids[b * T + t] = id;
            mask[b * T + t] = 1;
            if (t >= r.prompt.length) weights[b * T + t] = 1;
          });
        });
        const s = await ref.sequenceLogprobs({ inputIds: ids, attentionMask: mask, dims: [rows.length, T] }, weights);
        sums.set(s, start);
      }
      out.push(sums);
    }
    return out;
  } finally {
    await ref.release();
  }
}

/** Reference sums for every group that has a reference input: from the cache when its key matches, else computed (and cached). */
export async function referenceLogProbs(opts: ReferenceOptions): Promise<ReferenceResult> {
  const groups = opts.groups.filter((g) => g.reference);
  const names = groups.map((g) => g.reference!);
  if (groups.length === 0) return { values: new Map(), computed: false };
  const file = opts.cacheDir !== undefined ? referenceCacheFile(opts.cacheDir, opts.dataFile, referenceCacheKey(opts)) : undefined;
  const cached = file ? await readCache(file, opts.items, names) : undefined;
  if (cached) return { values: cached, file, computed: false };
  const sums = await sequenceSums(opts.onnxFile, opts.items, groups, opts.padId, opts);
  const values = new Map(names.map((n, i) => [n, sums[i]!]));
  if (file) await writeCache(file, opts.items, values);
  return { values, file, computed: true };
}

/** Losses reading summed reference log-probs: one reference pass over the examples, or its cached result. */
export const referenceCacheStage: RunStage = {
  name: 'reference-cache',
  appliesTo: (d) => d.groups.some((g) => g.reference !== undefined),
  async reference(ctx) {
    const { config, data } = ctx;
    ctx.reference = await referenceLogProbs({
      onnxFile: ctx.dir.onnxFile, dataFile: config.data, items: data.items, groups: ctx.groups, padId: ctx.dir.tokenizer.padTokenId,
      cacheDir: config.referenceCache ? resolveCacheDir(config.cacheDir) : undefined,
      settings: { tokenize: data.tokenize, limit: config.limit, onBadRow: config.onBadRow, convention: config.convention, ...ctx.referenceKey },
      session: ctx.session,
    });
  },
};
