// Liveness, readiness and metrics, the split orchestrators and load balancers expect:
// - GET /healthz (liveness): 200 while the process can serve, which includes a model worker being
//   restarted; 503 once a worker could not be restarted, so the orchestrator replaces the process.
// - GET /readyz (readiness): 200 only when this replica should get traffic now: every model worker
//   up, a concurrency permit free, and not shutting down; 503 otherwise, saying which.
// - GET /metrics: Prometheus text exposition (prom-client).

import type { FastifyPluginAsync } from 'fastify';
import { errorResponses } from '../schemas.js';

const liveness = { type: 'object', properties: { status: { type: 'string' }, models: { type: 'array', items: { type: 'string' } }, dead: { type: 'array', items: { type: 'string' } } } };

const readiness = {
  type: 'object',
  properties: {
    status: { type: 'string', description: 'ready, or not ready' },
    draining: { type: 'boolean', description: 'The server is shutting down.' },
    models: {
      type: 'array',
      items: { type: 'object', properties: { name: { type: 'string' }, alive: { type: 'boolean' }, restarts: { type: 'integer' } } },
    },
    permits: { type: 'object', properties: { inFlight: { type: 'integer' }, max: { type: 'integer' }, free: { type: 'integer' } } },
  },
};

export const healthRoutes: FastifyPluginAsync = async (app) => {
  app.get('/healthz', {
    schema: {
      tags: ['operations'],
      summary: 'Liveness: 200 while the process can serve (a worker being restarted included), 503 once a model worker cannot be restarted',
      response: { 200: liveness, 503: liveness, ...errorResponses },
    },
  }, async (_request, reply) => {
    const dead = app.scoring.dead;
    return reply.status(dead.length ? 503 : 200).send({ status: dead.length ? 'unhealthy' : 'ok', models: app.scoring.models.map((m) => m.name), ...(dead.length && { dead }) });
  });

  app.get('/readyz', {
    schema: {
      tags: ['operations'],
      summary: 'Readiness: 200 when every model worker is up, a concurrency permit is free and the server is not draining; 503 otherwise',
      response: { 200: readiness, 503: readiness, ...errorResponses },
    },
  }, async (_request, reply) => {
    const models = app.scoring.models.map((m) => ({ name: m.name, alive: m.worker?.healthy ?? true, restarts: m.worker?.restarts ?? 0 }));
    const { limiter } = app;
    const ready = !app.draining && limiter.free > 0 && models.every((m) => m.alive);
    return reply.status(ready ? 200 : 503).send({
      status: ready ? 'ready' : 'not ready',
      draining: app.draining,
      models,
      permits: { inFlight: limiter.inFlight, max: limiter.max, free: limiter.free },
    });
  });

  app.get('/metrics', {
    schema: {
      tags: ['operations'],
      summary: 'Prometheus metrics (text exposition format 0.0.4): alignkit metrics and the default process metrics',
      produces: ['text/plain'],
      response: { 200: { type: 'string' } },
    },
  }, async (_request, reply) => reply.type(app.metrics.contentType).send(await app.metrics.metrics()));
};
