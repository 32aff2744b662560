// Liveness and metrics: /healthz is 200 while every inference worker is alive (503 otherwise, so
// an orchestrator restarts the server), /metrics is the Prometheus text exposition.

import type { FastifyPluginAsync } from 'fastify';
import { errorResponses } from '../schemas.js';

export const healthRoutes: FastifyPluginAsync = async (app) => {
  app.get('/healthz', {
    schema: {
      tags: ['operations'],
      summary: 'Liveness: 200 when every model can score, 503 otherwise',
      response: {
        200: { type: 'object', properties: { status: { type: 'string' }, models: { type: 'array', items: { type: 'string' } } } },
        503: { type: 'object', properties: { status: { type: 'string' }, models: { type: 'array', items: { type: 'string' } } } },
        ...errorResponses,
      },
    },
  }, async (_request, reply) => {
    const healthy = app.scoring.healthy;
    return reply.status(healthy ? 200 : 503).send({ status: healthy ? 'ok' : 'unhealthy', models: app.scoring.models.map((m) => m.name) });
  });

  app.get('/metrics', {
    schema: {
      tags: ['operations'],
      summary: 'Prometheus metrics (text exposition format 0.0.4)',
      produces: ['text/plain'],
      response: { 200: { type: 'string' } },
    },
  }, async (_request, reply) => reply.type('text/plain; version=0.0.4; charset=utf-8').send(app.metrics.render()));
};
