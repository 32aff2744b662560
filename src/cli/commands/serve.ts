// `alignkit serve`: the reward scoring server on a port, until SIGTERM/SIGINT, which drain it
// (readiness false, in-flight requests answered, then workers closed; see src/serve/shutdown.ts).

import path from 'node:path';
import { parseArgs } from 'node:util';
import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import { fail } from '../../errors.js';
import { Generator } from '../../generate/index.js';
import { COMBINE_METHODS, type CombineMethod } from '../../rewards/index.js';
import { buildServer, DEFAULT_MODEL, DEFAULT_SERVE_CONFIG, drain, type ModelSpec, type ServeConfig } from '../../serve/index.js';
import { DEFAULT_GENERATE_LIMITS, generateRoutes } from '../../serve/routes/generate.js';
import type { Command, FlagTable } from '../registry.js';
import { parseArm } from './generate.js';
import { numberFlag } from '../options.js';
import { DEVICE_FLAGS, deviceSession, formatDevice } from '../device.js';

const d = DEFAULT_SERVE_CONFIG;

const usage = `usage: alignkit serve [--model [NAME=]DIR ...] [options]

Serves reward models over HTTP: POST /v1/score, /v1/compare, GET /v1/models, the
text-embeddings-inference POST /predict, OpenRLHF's POST /get_reward, GET /healthz,
GET /readyz, GET /metrics, and the OpenAPI docs at /docs. SIGTERM or SIGINT drains it:
readiness turns false, in-flight requests are answered, then it exits.

  --model [NAME=]DIR       a sequence-classifier model directory; repeat for an ensemble
                           (default: the shipped reward model data/models/alignkit-rm)
  --port N                 port (default ${d.port}; 0 picks a free one)
  --host H                 address to bind (default ${d.host}; 0.0.0.0 in Docker)
  --max-batch N            most items per session run (default ${d.maxBatch})
  --batch-window MS        micro-batch collection window (default ${d.batchWindowMs})
  --max-client-batch N     items per request, 413 above (default ${d.maxClientBatch})
  --max-concurrent N       requests in flight, 429 above (default ${d.maxConcurrent})
  --payload-limit BYTES    request body limit, 413 above (default ${d.bodyLimit})
  --max-input-chars N      characters per text (default ${d.maxInputChars})
  --auto-truncate          truncate over-long inputs unless a request says otherwise
  --combine METHOD         ${COMBINE_METHODS.join(' | ')} (default ${d.combine.method})
  --lambda X               variance weight of 'uncertainty' (default ${d.combine.lambda})
  --threads N              onnxruntime intra-op threads per model
  --no-docs                do not serve Swagger UI at /docs
  --drain-delay MS         on SIGTERM, keep accepting this long after readiness turns false, for a
                           load balancer polling /readyz to notice (default ${d.drainDelayMs})
  --shutdown-timeout MS    on SIGTERM, longest wait for in-flight requests (default ${d.shutdownTimeoutMs})
  --device D               cpu (default) | webgpu (a GPU through WebGPU; README "GPU") | cuda
  --adapter A              with --device webgpu: adapter index or name (default: the high-performance
                           GPU; a software adapter such as lavapipe only when named)

Generation (adds POST /v1/generate and POST /v1/best-of-n):
  --generate DIR           causal LM directory to generate from
  --arm [NAME=]DIR:ALPHA   autoregressive reward model guiding it (GenARM) with default weight ALPHA; repeatable
  --max-new-tokens N       largest max_tokens a request may ask for (default ${DEFAULT_GENERATE_LIMITS.maxNewTokens})
  --max-n N                largest n of best-of-n (default ${DEFAULT_GENERATE_LIMITS.maxN})`;

const OPTIONS = {
  model: { type: 'string', multiple: true },
  port: { type: 'string' },
  host: { type: 'string' },
  'max-batch': { type: 'string' },
  'batch-window': { type: 'string' },
  'max-client-batch': { type: 'string' },
  'max-concurrent': { type: 'string' },
  'payload-limit': { type: 'string' },
  'max-input-chars': { type: 'string' },
  'auto-truncate': { type: 'boolean' },
  combine: { type: 'string' },
  lambda: { type: 'string' },
  threads: { type: 'string' },
  'no-docs': { type: 'boolean' },
  'drain-delay': { type: 'string' },
  'shutdown-timeout': { type: 'string' },
  generate: { type: 'string' },
  arm: { type: 'string', multiple: true },
  'max-new-tokens': { type: 'string' },
  'max-n': { type: 'string' },
  ...DEVICE_FLAGS,
} as const;

/** `DIR` or `NAME=DIR` (a name tells apart two seeds of one model). */
function modelSpec(arg: string): ModelSpec {
  const eq = arg.indexOf('=');
  const [name, dir] = eq > 0 ? [arg.slice(0, eq), arg.slice(eq + 1)] : [undefined, arg];
  return { dir: path.resolve(dir), ...(name && { name }) };
}

export function parseServeArgs(argv: string[]): Partial<ServeConfig> {
  const { values: v } = parseArgs({ args: argv, options: OPTIONS, strict: true, allowPositionals: false });
  const combine = v.combine ?? d.combine.method;
  if (!COMBINE_METHODS.includes(combine as CombineMethod))
    throw fail('ALIGNKIT_ERR_UNKNOWN_NAME', `--combine: unknown combination '${combine}'; known: ${COMBINE_METHODS.join(', ')}`, { field: 'combine' });
  const entries: Partial<ServeConfig> = {
    models: v.model?.map(modelSpec),
    port: numberFlag(v.port, 'port'),
    host: v.host,
    maxBatch: numberFlag(v['max-batch'], 'max-batch'),
    batchWindowMs: numberFlag(v['batch-window'], 'batch-window'),
    maxClientBatch: numberFlag(v['max-client-batch'], 'max-client-batch'),
    maxConcurrent: numberFlag(v['max-concurrent'], 'max-concurrent'),
    bodyLimit: numberFlag(v['payload-limit'], 'payload-limit'),
    maxInputChars: numberFlag(v['max-input-chars'], 'max-input-chars'),
    autoTruncate: v['auto-truncate'],
    combine: { method: combine as CombineMethod, lambda: numberFlag(v.lambda, 'lambda') ?? d.combine.lambda },
    session: { ...(v.threads === undefined ? {} : { intraOpThreads: numberFlag(v.threads, 'threads') }), ...deviceSession(v) },
    docs: v['no-docs'] ? false : undefined,
    drainDelayMs: numberFlag(v['drain-delay'], 'drain-delay'),
    shutdownTimeoutMs: numberFlag(v['shutdown-timeout'], 'shutdown-timeout'),
  };
  return Object.fromEntries(Object.entries(entries).filter(([, x]) => x !== undefined)) as Partial<ServeConfig>;
}

/** The generation routes, when `--generate DIR` is given. */
async function generationPlugins(argv: string[], log: (line: string) => void): Promise<FastifyPluginAsync[]> {
  const { values: v } = parseArgs({ args: argv, options: OPTIONS, strict: true, allowPositionals: false });
  if (!v.generate) {
    if (v.arm?.length) throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', '--arm needs --generate DIR (the base model the ARMs guide)', { field: 'arm' });
    return [];
  }
  const arms = (v.arm ?? []).map((spec) => {
    const eq = spec.indexOf('=');
    const arm = parseArm(eq > 0 ? spec.slice(eq + 1) : spec);
    return eq > 0 ? { ...arm, name: spec.slice(0, eq) } : arm;
  });
  const generator = await Generator.load(path.resolve(v.generate), arms.map((a) => ({ ...a, dir: path.resolve(a.dir) })), deviceSession(v));
  const limits = {
    maxNewTokens: numberFlag(v['max-new-tokens'], 'max-new-tokens') ?? DEFAULT_GENERATE_LIMITS.maxNewTokens,
    maxN: numberFlag(v['max-n'], 'max-n') ?? DEFAULT_GENERATE_LIMITS.maxN,
  };
  log(`alignkit serve: generating from ${generator.base.dir.name}${generator.arms.map((a) => `, guided by ${a.name} (alpha ${a.alpha})`).join('')}${generator.base.session.device.provider === 'cpu' ? '' : ` on ${formatDevice(generator.base.session.device)}`}`);
  return [generateRoutes(generator, limits)];
}

/** Builds the server, listens, and prints where and what it serves. */
export async function startServer(argv: string[], log: (line: string) => void = console.log): Promise<{ app: FastifyInstance; url: string }> {
  const config = parseServeArgs(argv);
  const app = buildServer({ config, plugins: await generationPlugins(argv, log), logger: { level: 'error' } });
  await app.ready();
  const cfg = app.serveConfig;
  const address = await app.listen({ port: cfg.port, host: cfg.host });
  if (!config.models) log(`alignkit serve: no --model given, serving the shipped default reward model ${path.basename(DEFAULT_MODEL.dir)} (${DEFAULT_MODEL.dir}; see its README.md for what it was trained on and how well it does)`);
  for (const m of app.scoring.models) {
    log(`alignkit serve: model ${m.name} (heads: ${m.batcher.heads.join(', ')}; max length ${m.batcher.maxLength}${m.device && m.device.provider !== 'cpu' ? `; ${formatDevice(m.device)}` : ''})`);
    if (m.fixture) log(`alignkit serve: NOTE ${m.name} is an untrained fixture classifier: its scores are for testing only`);
  }
  log(`alignkit serve: listening on ${address}${cfg.docs ? ` (docs: ${address}/docs)` : ''}`);
  return { app, url: address };
}

/** ServeConfig fields (named by config validation errors) as the flags that set them. */
const SERVE_FIELD_FLAGS: Record<string, string> = {
  maxBatch: 'max-batch', batchWindowMs: 'batch-window', maxClientBatch: 'max-client-batch', maxConcurrent: 'max-concurrent',
  bodyLimit: 'payload-limit', maxInputChars: 'max-input-chars', autoTruncate: 'auto-truncate', intraOpThreads: 'threads', maxNewTokens: 'max-new-tokens', maxN: 'max-n',
  drainDelayMs: 'drain-delay', shutdownTimeoutMs: 'shutdown-timeout',
};

export const serveCommand: Command = {
  name: 'serve',
  summary: 'serve reward models over HTTP (native, TEI /predict and OpenRLHF /get_reward APIs)',
  usage,
  flags: OPTIONS as unknown as FlagTable,
  fieldFlags: SERVE_FIELD_FLAGS,
  async run(argv) {
    const { app } = await startServer(argv);
    const cfg = app.serveConfig;
    await new Promise<void>((resolve) => {
      const stop = (signal: string) => {
        console.log(`alignkit serve: ${signal}, draining: not ready, ${cfg.drainDelayMs ? `accepting for ${cfg.drainDelayMs} ms more, ` : ''}finishing in-flight requests (at most ${cfg.shutdownTimeoutMs} ms), then shutting down`);
        process.off('SIGTERM', stop).off('SIGINT', stop);
        // A second signal cuts the wait short: every connection is closed at once.
        const hurry = () => app.server.closeAllConnections();
        process.once('SIGTERM', hurry).once('SIGINT', hurry);
        void drain(app, cfg).then(() => {
          process.off('SIGTERM', hurry).off('SIGINT', hurry);
          console.log('alignkit serve: shut down');
          resolve();
        });
      };
      process.on('SIGTERM', stop).on('SIGINT', stop);
    });
    return 0;
  },
};
