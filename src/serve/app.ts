// The scoring server: a Fastify instance with the reward models loaded in supervised worker threads
// behind micro-batchers, one error handler, strict validation, a concurrency cap, Prometheus
// metrics, graceful shutdown, OpenAPI docs, and the route groups as plugins. Other areas add their
// routes with `plugins` (they see `app.scoring`, `app.serveConfig`, `app.metrics` and
// `app.limiter`, and get docs, limits and error handling for free).

import { randomUUID } from 'node:crypto';
import Fastify, { type FastifyInstance, type FastifyPluginAsync, type FastifyServerOptions } from 'fastify';
import type { RewardModel } from '../rewards/index.js';
import { serveConfig, type ServeConfig } from './config.js';
import { errorEnvelope, errorHandler, sendError } from './errors.js';
import { ConcurrencyLimiter, installLimiter } from './limiter.js';
import { createMetricsRegistry, httpMetrics, type MetricsRegistry } from './metrics.js';
import { registerDocs } from './routes/docs.js';
import { healthRoutes } from './routes/health.js';
import { openrlhfRoutes } from './routes/openrlhf.js';
import { teiRoutes } from './routes/tei.js';
import { v1Routes } from './routes/v1.js';
import { ScoringService } from './scoring.js';
import { installGracefulClose } from './shutdown.js';
import { useStrictValidation } from './validation.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** The served reward models; available once the app is ready. */
    scoring: ScoringService;
    serveConfig: ServeConfig;
    metrics: MetricsRegistry;
    limiter: ConcurrencyLimiter;
  }
}

export interface BuildServerOptions {
  config?: Partial<ServeConfig>;
  /**
   * Reward models already in this process, served besides `config.models` (they run on the main
   * thread, so they should be light). With these and no `config.models`, no default model loads.
   */
  rewardModels?: RewardModel[];
  /** Route plugins registered after alignkit's own, e.g. routing or generation endpoints. */
  plugins?: FastifyPluginAsync[];
  logger?: FastifyServerOptions['logger'];
}

const ROUTE_GROUPS: FastifyPluginAsync[] = [v1Routes, teiRoutes, openrlhfRoutes, healthRoutes];

export function buildServer(opts: BuildServerOptions = {}): FastifyInstance {
  const onlyInProcess = opts.rewardModels?.length && !opts.config?.models;
  const config = serveConfig({ ...opts.config, ...(onlyInProcess && { models: [] }) });
  const app = Fastify({
    logger: opts.logger ?? false,
    bodyLimit: config.bodyLimit,
    genReqId: () => randomUUID(),
    requestIdHeader: 'x-request-id',
    // Loading models (in onReady) can take long for large ones: no plugin/ready timeout.
    pluginTimeout: 0,
    // Requests arriving on an open keep-alive connection while the server closes are answered
    // (with Connection: close), not refused with fastify's 503: see shutdown.ts.
    return503OnClosing: false,
    // A URL that does not percent-decode (or a route parameter over the router's length limit) is
    // refused before any route or error handler: without this, fastify answers with a body of its
    // own, outside the envelope and without the request id.
    frameworkErrors: (err, _request, reply) => sendError(reply, err, config.bodyLimit),
    // Path parameters carry ids clients chose (a routing pair id, percent-encoded): the router's
    // default of 100 characters made a pair with a longer id impossible to delete. Node's 16 KiB
    // header limit bounds the URL anyway.
    routerOptions: { maxParamLength: 8192 },
  });
  const metrics = createMetricsRegistry();
  const limiter = new ConcurrencyLimiter(config.maxConcurrent);
  app.decorate('serveConfig', config);
  app.decorate('metrics', metrics);
  app.decorate('limiter', limiter);
  app.decorate('scoring', undefined as unknown as ScoringService);

  useStrictValidation(app);
  app.setErrorHandler(errorHandler(config.bodyLimit));
  app.setNotFoundHandler((request, reply) =>
    reply.status(404).send(errorEnvelope(request, { status: 404, code: 'ALIGNKIT_ERR_NOT_FOUND', message: `no route ${request.method} ${request.url.slice(0, 200)}` })),
  );
  installGracefulClose(app, config);
  installLimiter(app, limiter);
  installRequestMetrics(app, metrics, limiter);
  app.addHook('onSend', async (request, reply) => {
    reply.header('x-request-id', request.id);
  });

  registerDocs(app, config.docs);
  for (const group of [...ROUTE_GROUPS, ...(opts.plugins ?? [])]) app.register(group);

  app.addHook('onReady', async () => {
    app.scoring = await ScoringService.start(config, metrics, opts.rewardModels ?? [], (line) => app.log.warn(line));
    const fixtures = app.scoring.models.filter((m) => m.fixture).map((m) => m.name);
    if (fixtures.length) app.log.warn(`serving the untrained fixture classifier ${fixtures.join(', ')}; its scores are not meaningful`);
  });
  app.addHook('onClose', async () => {
    await app.scoring?.close();
  });
  return app;
}

function installRequestMetrics(app: FastifyInstance, metrics: MetricsRegistry, limiter: ConcurrencyLimiter): void {
  const { requests, seconds } = httpMetrics(metrics, { inFlight: () => limiter.inFlight, maxConcurrent: () => limiter.max });
  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched';
    requests.inc({ method: request.method, route, status: reply.statusCode });
    seconds.observe({ route }, reply.elapsedTime / 1000);
  });
}
