// The scoring server: a Fastify instance with the reward models loaded in worker threads behind
// micro-batchers, one error handler, a concurrency cap, metrics, OpenAPI docs, and the route
// groups as plugins. Other areas add their routes with `plugins` (they see `app.scoring`,
// `app.serveConfig` and `app.metrics`, and get docs, limits and error handling for free).

import { randomUUID } from 'node:crypto';
import Fastify, { type FastifyInstance, type FastifyPluginAsync, type FastifyServerOptions } from 'fastify';
import type { RewardModel } from '../rewards/index.js';
import { serveConfig, type ServeConfig } from './config.js';
import { errorHandler } from './errors.js';
import { ConcurrencyLimiter, installLimiter } from './limiter.js';
import { Counter, Gauge, Histogram, MetricsRegistry } from './metrics.js';
import { registerDocs } from './routes/docs.js';
import { healthRoutes } from './routes/health.js';
import { openrlhfRoutes } from './routes/openrlhf.js';
import { teiRoutes } from './routes/tei.js';
import { v1Routes } from './routes/v1.js';
import { ScoringService } from './scoring.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** The served reward models; available once the app is ready. */
    scoring: ScoringService;
    serveConfig: ServeConfig;
    metrics: MetricsRegistry;
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
    // Strict validation: no type coercion (a number is not a string) and unknown fields are
    // reported, not silently dropped; `verbose` gives errors their schema, whose description the
    // error handler quotes for values that fit no branch of a oneOf.
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false, allErrors: false, verbose: true } },
  });
  const metrics = new MetricsRegistry();
  const limiter = new ConcurrencyLimiter(config.maxConcurrent);
  app.decorate('serveConfig', config);
  app.decorate('metrics', metrics);
  app.decorate('scoring', undefined as unknown as ScoringService);

  app.setErrorHandler(errorHandler(config.bodyLimit));
  app.setNotFoundHandler((request, reply) =>
    reply.status(404).send({ error: `no route ${request.method} ${request.url}`, error_type: 'validation', code: 'ALIGNKIT_ERR_NOT_FOUND', statusCode: 404, requestId: request.id }),
  );
  installLimiter(app, limiter);
  installRequestMetrics(app, metrics, limiter);
  app.addHook('onSend', async (request, reply) => {
    reply.header('x-request-id', request.id);
  });

  registerDocs(app, config.docs);
  for (const group of [...ROUTE_GROUPS, ...(opts.plugins ?? [])]) app.register(group);

  app.addHook('onReady', async () => {
    app.scoring = await ScoringService.start(config, metrics, opts.rewardModels ?? []);
    const fixtures = app.scoring.models.filter((m) => m.fixture).map((m) => m.name);
    if (fixtures.length) app.log.warn(`serving the untrained fixture classifier ${fixtures.join(', ')}; its scores are not meaningful`);
  });
  app.addHook('onClose', async () => {
    await app.scoring?.close();
  });
  return app;
}

function installRequestMetrics(app: FastifyInstance, metrics: MetricsRegistry, limiter: ConcurrencyLimiter): void {
  const requests = metrics.register(new Counter('alignkit_http_requests_total', 'HTTP requests, by route and status.'));
  const seconds = metrics.register(new Histogram('alignkit_http_request_duration_seconds', 'HTTP request latency, by route.', [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5]));
  metrics.register(new Gauge('alignkit_requests_in_flight', 'Requests counted against the concurrency cap.', () => [[{}, limiter.inFlight]]));
  metrics.register(new Gauge('alignkit_max_concurrent_requests', 'The concurrency cap.', () => [[{}, limiter.max]]));
  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched';
    requests.inc({ method: request.method, route, status: reply.statusCode });
    seconds.observe({ route }, reply.elapsedTime / 1000);
  });
}
