// `alignkit annotate serve|export`: the annotation service without writing a server script.
// `serve` opens the label store (a SQLite file or a postgres:// URL), loads a pool of pairs,
// routes it, labels the AI-routed pairs with the judge, registers the annotators of the key file,
// and serves the annotator page and the routing API on the scoring server (buildServer with the
// routing plugin, the judge served for scoring too). `export` writes the labelled dataset.

import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { FastifyInstance } from 'fastify';
import { readRows, writeRows } from '../../datasets/index.js';
import { fail } from '../../errors.js';
import { loadRewardModelSpec } from '../../eval/index.js';
import { fitPpm, type PpmModel } from '../../routing/ppm/model.js';
import { readMixTable, VALIDATION_SET_FILE } from '../../routing/ppm/mixes.js';
import { rewardScorerJudge } from '../../routing/pipeline.js';
import { STRATEGIES } from '../../routing/select/strategies.js';
import { labelWithJudge, routePool } from '../../routing/server/actions.js';
import { loadKeyFile } from '../../routing/server/key-file.js';
import { routingPlugin } from '../../routing/server/plugin.js';
import { openLabelStore, type LabelStore } from '../../routing/store/index.js';
import type { RoutingPair } from '../../routing/types.js';
import { buildServer, DEFAULT_MODEL, drain } from '../../serve/index.js';
import type { Command, FlagTable } from '../registry.js';
import { numberFlag } from '../options.js';

const DEFAULTS = { port: 8090, host: '127.0.0.1', strategy: 'topk', budget: 0.25, labelsPerPair: 1, leaseMinutes: 30, prefix: '/routing' };

const USAGE = `usage: alignkit annotate <subcommand> [options]

  serve   --store labels.db|postgres://USER@HOST/DB --keys keys.json [--annotators alice,bob]
          [--pairs pairs.jsonl] [--strategy ${DEFAULTS.strategy}] [--budget ${DEFAULTS.budget}] [--model ppm.json]
          [--judge MODEL] [--labels-per-pair ${DEFAULTS.labelsPerPair}] [--lease-minutes ${DEFAULTS.leaseMinutes}]
          [--port ${DEFAULTS.port}] [--host ${DEFAULTS.host}]
  export  --store labels.db|postgres://... --output labelled.parquet [--judge NAME]

serve:
  --store LOCATION      label store: a SQLite file (created if absent) or a PostgreSQL URL, which
                        several annotate servers can share
  --keys FILE           key file with the admin key and one key per annotator; created (mode 0600)
                        if absent. Hand each annotator their key; they type it into the page's key field
  --annotators NAMES    comma-separated annotator names to add to the key file (existing ones are kept)
  --pairs FILE          pairs to add to the pool (.jsonl/.json/.arrow/.parquet; columns id, prompt,
                        response_a, response_b; ids already in the store are kept as they are)
  --strategy NAME       routing strategy when the pool has new pairs: ${Object.keys(STRATEGIES).join(', ')}
  --budget B            share (0..1) or count of pairs for humans (default ${DEFAULTS.budget})
  --model FILE          PPM from 'alignkit route fit --output FILE' (default: fitted on the 26 released mixes)
  --judge MODEL         reward model labelling the AI-routed pairs: a directory or KIND:DIR as in
                        'alignkit eval rm' (default: the shipped ${path.basename(DEFAULT_MODEL.dir)}); also served at /v1/score
  --labels-per-pair N   human labels wanted per human-routed pair (default ${DEFAULTS.labelsPerPair})
  --lease-minutes M     how long a pair handed to an annotator stays theirs (default ${DEFAULTS.leaseMinutes})

export:
  --output FILE         .jsonl/.json/.arrow/.parquet: the human label where present, the AI label
                        elsewhere, with label_source, route, judge, annotators, confidence columns
  --judge NAME          use only this judge's AI labels`;

const SERVE_OPTIONS = {
  store: { type: 'string' }, keys: { type: 'string' }, annotators: { type: 'string' }, pairs: { type: 'string' },
  strategy: { type: 'string' }, budget: { type: 'string' }, model: { type: 'string' }, judge: { type: 'string' },
  'labels-per-pair': { type: 'string' }, 'lease-minutes': { type: 'string' }, port: { type: 'string' }, host: { type: 'string' },
} as const;

const EXPORT_OPTIONS = { store: { type: 'string' }, output: { type: 'string' }, judge: { type: 'string' } } as const;

function need(value: string | undefined, flag: string): string {
  if (!value) throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `missing --${flag}\n\n${USAGE}`, { parameter: flag, field: flag });
  return value;
}

/** Pairs of a dataset file, each row checked for the four columns. */
async function readPairs(file: string): Promise<RoutingPair[]> {
  const pairs: RoutingPair[] = [];
  for await (const { row, index } of readRows(file)) {
    for (const column of ['id', 'prompt', 'response_a', 'response_b']) {
      const v = row[column];
      if (typeof v !== 'string' && !(column === 'id' && typeof v === 'number')) {
        throw fail('ALIGNKIT_ERR_DATASET_ROW', `${file}: row ${index + 1} has no string column '${column}'`, { file, row: index + 1, field: column });
      }
    }
    const { id, prompt, response_a, response_b, ...extra } = row;
    pairs.push({ id: String(id), prompt: prompt as string, responseA: response_a as string, responseB: response_b as string, extra });
  }
  return pairs;
}

function ppmModel(file: string | undefined, strategy: string, log: (line: string) => void): PpmModel | undefined {
  if (file) {
    if (!fs.existsSync(file)) throw fail('ALIGNKIT_ERR_FILE_NOT_FOUND', `--model: PPM file ${file} does not exist`, { file, field: 'model' });
    return JSON.parse(fs.readFileSync(file, 'utf8')) as PpmModel;
  }
  if (!STRATEGIES[strategy]?.needsModel) return undefined;
  if (!fs.existsSync(VALIDATION_SET_FILE)) {
    throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `--strategy ${strategy} needs a PPM: pass --model FILE (alignkit route fit --mixes ... --output FILE) or --strategy random`, { field: 'model' });
  }
  log(`alignkit annotate: routing with a PPM fitted on the released mixes (${VALIDATION_SET_FILE}, ridge 1)`);
  return fitPpm(readMixTable(VALIDATION_SET_FILE).data, { ridge: 1 });
}

/** Pool, routing and AI labels, before the server starts. */
async function prepareStore(store: LabelStore, v: Record<string, string | undefined>, judge: ReturnType<typeof rewardScorerJudge>, log: (line: string) => void): Promise<void> {
  let inserted = 0;
  if (v.pairs) {
    const added = await store.addPairs(await readPairs(v.pairs));
    inserted = added.inserted;
    log(`alignkit annotate: ${v.pairs}: ${added.inserted} new pairs, ${added.existing} already in the store`);
  }
  if (inserted > 0 || !(await store.latestRun())) {
    if ((await store.countPairs()) === 0) {
      log('alignkit annotate: the store holds no pairs yet; add them with --pairs FILE or POST /routing/pairs, then POST /routing/route');
      return;
    }
    const strategy = v.strategy ?? DEFAULTS.strategy;
    const routed = await routePool(store, { strategy, budget: numberFlag(v.budget, 'budget') ?? DEFAULTS.budget, model: ppmModel(v.model, strategy, log) });
    log(`alignkit annotate: routing run ${routed.runId} (${strategy}): ${routed.human} pairs to annotators, ${routed.ai} to the judge`);
  }
  const labelled = await labelWithJudge(store, judge, { onlyMissing: true });
  if (labelled.labelled) log(`alignkit annotate: judge ${judge.name} labelled ${labelled.labelled} AI-routed pairs`);
}

/** Opens everything, listens, and prints where annotators go; the caller closes `app` and `store`. */
export async function startAnnotationServer(argv: string[], log: (line: string) => void = console.log): Promise<{ app: FastifyInstance; store: LabelStore; url: string }> {
  const { values: v } = parseArgs({ args: argv, options: SERVE_OPTIONS, strict: true, allowPositionals: false });
  const keyFile = need(v.keys, 'keys');
  const policy = {
    labelsPerPair: numberFlag(v['labels-per-pair'], 'labels-per-pair') ?? DEFAULTS.labelsPerPair,
    leaseMs: (numberFlag(v['lease-minutes'], 'lease-minutes') ?? DEFAULTS.leaseMinutes) * 60_000,
  };
  const judgeModel = await loadRewardModelSpec(v.judge ?? DEFAULT_MODEL.dir);
  const judge = rewardScorerJudge(judgeModel.name, async (prompt, response) => (await judgeModel.score([{ prompt, response }], { truncate: true }))[0][0]);
  const store = await openLabelStore(need(v.store, 'store'));
  try {
    const { keys, added, created } = loadKeyFile(keyFile, v.annotators ? v.annotators.split(',').map((s) => s.trim()).filter(Boolean) : []);
    for (const a of keys.annotators) await store.putAnnotator({ id: a.id, name: a.name, apiKey: a.key });
    if (created) log(`alignkit annotate: created key file ${keyFile} (admin key and annotator keys; keep it private)`);
    if (added.length) log(`alignkit annotate: added keys for ${added.join(', ')} to ${keyFile}`);
    await prepareStore(store, v, judge, log);
    const app = buildServer({
      rewardModels: [judgeModel],
      config: { port: numberFlag(v.port, 'port') ?? DEFAULTS.port, host: v.host ?? DEFAULTS.host },
      plugins: [async (root) => root.register(routingPlugin({ store, judge, adminKey: keys.admin, ...policy }), { prefix: DEFAULTS.prefix })],
      logger: { level: 'error' },
    });
    await app.ready();
    const url = await app.listen({ port: app.serveConfig.port, host: app.serveConfig.host });
    log(`alignkit annotate: label store ${store.location}; ${keys.annotators.length} annotators in ${keyFile}`);
    log(`alignkit annotate: annotator page ${url}${DEFAULTS.prefix}/annotate (each annotator types their key from ${keyFile} into the key field)`);
    log(`alignkit annotate: routing API ${url}${DEFAULTS.prefix} (admin routes: x-api-key = "admin" of ${keyFile}); judge ${judge.name} scores at ${url}/v1/score`);
    return { app, store, url };
  } catch (e) {
    await store.close();
    throw e;
  }
}

async function serve(argv: string[]): Promise<number> {
  const { app, store } = await startAnnotationServer(argv);
  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      console.log(`alignkit annotate: ${signal}, draining (not ready, in-flight requests answered), then shutting down`);
      process.off('SIGTERM', stop).off('SIGINT', stop);
      void drain(app, app.serveConfig).then(() => store.close()).then(resolve);
    };
    process.on('SIGTERM', stop).on('SIGINT', stop);
  });
  return 0;
}

async function exportLabels(argv: string[]): Promise<number> {
  const { values: v } = parseArgs({ args: argv, options: EXPORT_OPTIONS, strict: true, allowPositionals: false });
  const output = need(v.output, 'output');
  const store = await openLabelStore(need(v.store, 'store'));
  try {
    const rows = store.exportLabelled(v.judge) as AsyncIterable<unknown> as AsyncIterable<Record<string, unknown>>;
    const n = await writeRows(output, rows);
    console.log(`alignkit annotate: wrote ${n} labelled pairs from ${store.location} to ${output}`);
  } finally {
    await store.close();
  }
  return 0;
}

const SUBCOMMANDS: Record<string, (argv: string[]) => Promise<number>> = { serve, export: exportLabels };

export const annotateCommand: Command = {
  name: 'annotate',
  summary: 'the annotation service: serve the annotator page on a label store (SQLite or PostgreSQL), export the labels',
  usage: USAGE,
  // Subcommands with their flags for main.ts's --help and flag checks; each still parses its own.
  subcommands: {
    serve: { name: 'serve', summary: 'serve the annotator page on a label store', usage: USAGE, flags: SERVE_OPTIONS as FlagTable, run: serve },
    export: { name: 'export', summary: 'export the labelled pairs of a label store', usage: USAGE, flags: EXPORT_OPTIONS as FlagTable, run: exportLabels },
  },
  async run(argv) {
    const [sub, ...rest] = argv;
    const fn = sub ? SUBCOMMANDS[sub] : undefined;
    if (!fn) {
      console.error(sub ? `alignkit annotate: unknown subcommand '${sub}'. Subcommands: ${Object.keys(SUBCOMMANDS).join(', ')}\n\n${USAGE}` : USAGE);
      return 2;
    }
    return fn(rest);
  },
};
