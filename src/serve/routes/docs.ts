// The OpenAPI document (built by @fastify/swagger from every route's schemas, including plugins
// registered later) and Swagger UI: /docs, the document at /docs/json.

import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';

/**
 * On the root instance and before any route is added: @fastify/swagger (not encapsulated) collects
 * routes through an onRoute hook as they are registered.
 */
export function registerDocs(app: FastifyInstance, serveUi: boolean): void {
  app.register(swagger, {
    openapi: {
      info: {
        title: 'alignkit scoring server',
        description: 'Reward model scoring with micro-batching, ensembles, and the text-embeddings-inference and OpenRLHF request shapes.',
        version: '0.1.0',
      },
      tags: [
        { name: 'alignkit', description: 'Native scoring API' },
        { name: 'text-embeddings-inference', description: 'TEI compatible /predict' },
        { name: 'OpenRLHF', description: 'OpenRLHF remote reward model' },
        { name: 'operations', description: 'Health and metrics' },
      ],
    },
  });
  if (serveUi) app.register(swaggerUi, { routePrefix: '/docs' });
}
