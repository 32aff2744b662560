// `alignkit jobs submit|worker|status`: the batch commands (score, label, features, generate) split
// into chunk jobs on BullMQ (Redis), run by any number of workers on any number of machines that
// share the run directory, and assembled in input order into the output a single process writes.

import path from 'node:path';
import { fail } from '../../errors.js';
import { FILE_FORMATS } from '../../datasets/index.js';
import { runSubcommand, type Command, type FlagTable } from '../registry.js';
import { numberFlag, parseFlags, usageText } from '../options.js';
import { progress } from '../progress.js';
import { JOB_KINDS, type JobKind } from '../jobs/kinds.js';
import { connectionFor, JOB_DEFAULTS, queueCounts, reachRedis, runStatus, startWorker, submitRun } from '../jobs/queue.js';

const REDIS_FLAG: FlagTable = { redis: { type: 'string', value: 'URL', help: 'the Redis BullMQ runs on, redis://HOST:PORT' } };

const OUTPUT_FORMATS = FILE_FORMATS.map((f) => f.name);

const SUBMIT_FLAGS: FlagTable = {
  data: { type: 'string', value: 'FILE', help: 'input rows (JSONL, JSON, Arrow, Parquet)' },
  output: { type: 'string', value: 'DIR', help: 'run directory (new or empty; shared by the workers): chunk files, then output.FORMAT' },
  ...REDIS_FLAG,
  chunk: { type: 'string', value: 'N', shownDefault: JOB_DEFAULTS.chunk, help: 'rows per chunk job' },
  format: { type: 'string', value: OUTPUT_FORMATS.join('|'), default: 'jsonl', help: 'format of the assembled output' },
  'no-wait': { type: 'boolean', help: 'return once the chunks are queued (default: wait for the output, with progress)' },
};

const WORKER_FLAGS: FlagTable = {
  ...REDIS_FLAG,
  concurrency: { type: 'string', value: 'N', shownDefault: JOB_DEFAULTS.concurrency, help: 'chunk jobs this worker runs at once' },
  'lock-ms': { type: 'string', value: 'MS', shownDefault: JOB_DEFAULTS.lockMs, help: 'a chunk whose worker stops renewing its lock (died) for this long is re-run by another' },
  threads: { type: 'string', value: 'N', help: "onnxruntime intra-op threads per model (default: onnxruntime's, all cores); with several workers on one machine, cores / workers" },
};

const STATUS_FLAGS: FlagTable = {
  ...REDIS_FLAG,
  output: { type: 'string', value: 'DIR', help: 'a run directory: its chunks done, output and failures' },
};

type Values = Record<string, string | boolean | string[] | undefined>;

function required(v: Values, flag: string, label: string): string {
  if (!v[flag]) throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `missing --${flag} (alignkit ${label} --help)`, { parameter: flag });
  return v[flag] as string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits for a run's output, drawing progress over its chunks; fails on a job that failed for good. */
async function waitForRun(redis: string, dir: string, chunks: number): Promise<number> {
  const connection = connectionFor(redis);
  const bar = progress({ total: chunks, unit: 'chunks', label: 'alignkit jobs' });
  try {
    for (;;) {
      const s = await runStatus(connection, dir);
      bar.update(s.chunksDone);
      if (s.failed.length) throw fail('ALIGNKIT_ERR_STATE', `run ${s.manifest.id} failed:\n  ${s.failed.join('\n  ')}`, { file: dir });
      if (s.summary) {
        bar.stop();
        console.log(`run ${s.summary.id} (${s.summary.kind}): ${s.summary.rowsOut} rows written to ${s.summary.output}${s.summary.skipped.length ? `; ${s.summary.skipped.length} rows skipped (see summary.json)` : ''}`);
        return 0;
      }
      await sleep(500);
    }
  } finally {
    bar.stop();
  }
}

function submitCommand(kind: JobKind): Command {
  const flags: FlagTable = { ...SUBMIT_FLAGS, ...kind.flags };
  const label = `jobs submit ${kind.name}`;
  return {
    name: kind.name,
    summary: kind.summary,
    usage: usageText({
      synopsis: `alignkit ${label} --data FILE --output DIR --redis URL [--chunk N] [flags]`,
      description: `Splits FILE into chunk jobs on BullMQ: ${kind.summary}.\nWorkers (alignkit jobs worker) run them; the chunk outputs are assembled in input order into\nDIR/output.FORMAT, equal to what one process writes.`,
      flags,
    }),
    flags,
    async run(argv) {
      const { values: v } = parseFlags(label, flags, argv);
      const redis = required(v, 'redis', label);
      const dir = required(v, 'output', label);
      const format = v.format as string;
      if (!OUTPUT_FORMATS.includes(format)) throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `--format must be one of ${OUTPUT_FORMATS.join(', ')}, got '${format}'`, { parameter: 'format' });
      const connection = connectionFor(redis);
      await reachRedis(redis);
      const m = await submitRun(connection, {
        kind: kind.name,
        data: required(v, 'data', label),
        dir,
        chunk: numberFlag(v.chunk as string | undefined, 'chunk') ?? JOB_DEFAULTS.chunk,
        format,
        values: v,
      });
      console.log(`run ${m.id} (${m.kind}): ${m.rows} rows in ${m.chunks} chunks queued on ${redis}; output: ${path.join(path.resolve(dir), m.output)}`);
      if (v['no-wait']) return 0;
      console.error(`alignkit jobs: waiting for workers (alignkit jobs worker --redis ${redis}); Ctrl-C stops waiting, not the run (alignkit jobs status --output ${dir})`);
      return waitForRun(redis, dir, m.chunks);
    },
  };
}

const SUBMIT_SUBCOMMANDS: Record<string, Command> = Object.fromEntries(Object.values(JOB_KINDS).map((k) => [k.name, submitCommand(k)]));

const submit: Command = {
  name: 'submit',
  summary: 'split a dataset into chunk jobs of one kind on BullMQ',
  usage: `usage: alignkit jobs submit ${Object.keys(JOB_KINDS).join('|')} --data FILE --output DIR --redis URL [--chunk N] [flags]

${Object.values(JOB_KINDS).map((k) => `  ${k.name.padEnd(9)} ${k.summary}`).join('\n')}

alignkit jobs submit KIND --help lists the flags of one kind.`,
  subcommands: SUBMIT_SUBCOMMANDS,
  run: runSubcommand('jobs submit', SUBMIT_SUBCOMMANDS),
};

const worker: Command = {
  name: 'worker',
  summary: 'run chunk jobs until SIGTERM/SIGINT (then finish the running ones)',
  usage: usageText({
    synopsis: 'alignkit jobs worker --redis URL [--concurrency N]',
    description: 'Runs chunk and assembly jobs of every kind. Needs the run directories at the paths jobs submit gave\n(a shared file system across machines). A chunk of a worker that dies is re-run by another after --lock-ms.',
    flags: WORKER_FLAGS,
  }),
  flags: WORKER_FLAGS,
  async run(argv) {
    const { values: v } = parseFlags('jobs worker', WORKER_FLAGS, argv);
    const redis = required(v, 'redis', 'jobs worker');
    const connection = connectionFor(redis);
    await reachRedis(redis);
    const w = startWorker(connection, {
      concurrency: numberFlag(v.concurrency as string | undefined, 'concurrency') ?? JOB_DEFAULTS.concurrency,
      lockMs: numberFlag(v['lock-ms'] as string | undefined, 'lock-ms') ?? JOB_DEFAULTS.lockMs,
      threads: numberFlag(v.threads as string | undefined, 'threads'),
      log: (line) => console.log(`alignkit jobs worker: ${line}`),
    });
    w.on('failed', (job, e) => console.error(`alignkit jobs worker: ${job?.name} ${job?.id} failed: ${e.message}`));
    await w.waitUntilReady();
    console.log(`alignkit jobs worker: pid ${process.pid}, waiting for jobs on ${redis}`);
    await new Promise<void>((resolve) => {
      const stop = (signal: string) => {
        console.log(`alignkit jobs worker: ${signal}, finishing the running jobs`);
        process.off('SIGTERM', stop).off('SIGINT', stop);
        void w.close().then(resolve);
      };
      process.on('SIGTERM', stop).on('SIGINT', stop);
    });
    return 0;
  },
};

const status: Command = {
  name: 'status',
  summary: "a run's progress (chunks done, output, failures) or the queue's job counts",
  usage: usageText({ synopsis: 'alignkit jobs status --redis URL [--output DIR]', flags: STATUS_FLAGS }),
  flags: STATUS_FLAGS,
  async run(argv) {
    const { values: v } = parseFlags('jobs status', STATUS_FLAGS, argv);
    const redis = required(v, 'redis', 'jobs status');
    const connection = connectionFor(redis);
    await reachRedis(redis);
    if (v.output) {
      const s = await runStatus(connection, v.output as string);
      const m = s.manifest;
      console.log(`run ${m.id} (${m.kind}) of ${m.data}: ${s.chunksDone}/${m.chunks} chunks done (${m.rows} rows, ${m.chunkSize} per chunk)`);
      console.log(s.summary ? `output: ${s.summary.output} (${s.summary.rowsOut} rows${s.summary.skipped.length ? `, ${s.summary.skipped.length} skipped` : ''})` : 'output: not assembled yet');
      for (const f of s.failed) console.log(`failed: ${f}`);
      return s.failed.length ? 1 : 0;
    }
    const counts = await queueCounts(connection);
    console.log(Object.entries(counts).map(([k, n]) => `${k} ${n}`).join(', '));
    return 0;
  },
};

const SUBCOMMANDS: Record<string, Command> = { submit, worker, status };

export const jobsCommand: Command = {
  name: 'jobs',
  summary: 'score, label, features or generate over a dataset as chunk jobs on BullMQ workers (Redis)',
  usage: `usage: alignkit jobs <subcommand> [flags]

  submit KIND   split a dataset into chunk jobs (${Object.keys(JOB_KINDS).join(', ')}) and wait for the output
  worker        run chunk jobs (any number of workers, on any machine sharing the run directory)
  status        a run's progress, or the queue's job counts

alignkit jobs SUBCOMMAND --help lists its flags.`,
  subcommands: SUBCOMMANDS,
  fieldFlags: { maxNewTokens: 'max-tokens', maxPromptTokens: 'max-prompt-tokens', onLongPrompt: 'on-long-prompt', batchSize: 'batch-size', onBadRow: 'skip-bad-rows' },
  run: runSubcommand('jobs', SUBCOMMANDS),
};
