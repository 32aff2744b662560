// The routing routes as one Fastify plugin: submit a pool of pairs, route it, hand the next pair
// to an annotator, record human labels, get AI labels from the configured judge, export the
// labelled dataset, and serve the annotator page. Register it under a prefix, e.g.
// `app.register(routingPlugin({store}), {prefix: '/routing'})`.
//
// The plugin sets the scoring server's strict validation (no type coercion) and error envelope on
// its own scope, so it answers the same way on `buildServer({plugins})` and on a bare `Fastify()`.

import type { FastifyPluginAsync } from 'fastify';
import { fail } from '../../errors.js';
import { errorHandler } from '../../serve/errors.js';
import { useStrictValidation } from '../../serve/validation.js';
import type { LexicalConfig } from '../features/lexical.js';
import type { AiJudge } from '../pipeline.js';
import type { PpmModel } from '../ppm/model.js';
import type { LabelStore } from '../store/label-store.js';
import { annotationPolicy, type AnnotationPolicy } from '../store/records.js';
import type { Tagger } from '../taggers/types.js';
import { labelWithJudge, routePool } from './actions.js';
import { requireAdmin, requireAnnotator } from './auth.js';
import { EXPORT_FORMATS, type ExportFormat } from './export.js';
import { ANNOTATOR_PAGE_HEADERS, annotatorPage } from './page.js';
import {
  aiLabelsSchema, createAnnotatorSchema, deletePairSchema, exportSchema, nextPairSchema, overrideLabelSchema, routeSchema, submitLabelSchema, submitPairsSchema, updateLabelSchema,
} from './schemas.js';

export interface RoutingPluginOptions {
  store: LabelStore;
  /** PPM used by the model-based strategies (topk, simulated, optimal_*). */
  model?: PpmModel;
  /** Tagger for metadata features; the keyword `rules` tagger by default. */
  tagger?: Tagger;
  lexical?: LexicalConfig;
  /** Labeller for AI labels (a judge, an LM endpoint, or `rewardScorerJudge(...)`). */
  judge?: AiJudge;
  /** When set, admin routes require this key; otherwise they are open (put them behind your own auth). */
  adminKey?: string;
  /** Human labels wanted per human-routed pair; no pair is handed out or labelled beyond it. */
  labelsPerPair?: number;
  /** How long a pair handed out by GET /next stays reserved for its annotator (default 30 minutes). */
  leaseMs?: number;
}

type Body<T> = { Body: T };

/** The HTTP API's names for a pair's fields, for error messages. */
const PAIR_FIELDS = { id: 'id', prompt: 'prompt', responseA: 'response_a', responseB: 'response_b', extra: 'extra' };

export function routingPlugin(options: RoutingPluginOptions): FastifyPluginAsync {
  const { store } = options;
  const policy: AnnotationPolicy = annotationPolicy({ labelsPerPair: options.labelsPerPair, leaseMs: options.leaseMs });

  return async (app) => {
    useStrictValidation(app);
    app.setErrorHandler(errorHandler());
    // Unknown paths under the plugin's prefix get the same envelope. Fastify allows one not-found
    // handler per prefix, so without a prefix the host's own handler answers.
    if (app.prefix) {
      app.setNotFoundHandler(async (request) => {
        throw fail('ALIGNKIT_ERR_NOT_FOUND', `no route ${request.method} ${request.url}`);
      });
    }

    app.post<Body<{ pairs: { id: string; prompt: string; response_a: string; response_b: string; extra?: Record<string, unknown> }[] }>>(
      '/pairs',
      { schema: submitPairsSchema },
      async (request) => {
        requireAdmin(options.adminKey, request);
        const pairs = request.body.pairs.map((p) => ({ id: p.id, prompt: p.prompt, responseA: p.response_a, responseB: p.response_b, extra: p.extra }));
        return store.addPairs(pairs, PAIR_FIELDS);
      },
    );

    app.delete<{ Params: { id: string } }>('/pairs/:id', { schema: deletePairSchema }, async (request) => {
      requireAdmin(options.adminKey, request);
      const { id } = request.params;
      if (!(await store.deletePair(id))) throw fail('ALIGNKIT_ERR_UNKNOWN_PAIR', `no pair with id '${id}' in the label store`, { field: 'params.id', pairId: id });
      return { id, deleted: true };
    });

    app.post<Body<{ strategy: string; budget?: number; seed?: number; simulations?: number; epsilon?: number }>>('/route', { schema: routeSchema }, async (request) => {
      requireAdmin(options.adminKey, request);
      return routePool(store, { ...request.body, model: options.model, tagger: options.tagger, lexical: options.lexical });
    });

    app.post<Body<{ pairIds?: string[]; all?: boolean }>>('/ai-labels', { schema: aiLabelsSchema }, async (request) => {
      requireAdmin(options.adminKey, request);
      if (!options.judge) throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', 'no AI judge is configured for this server (routingPlugin({judge}))', { parameter: 'judge' });
      return labelWithJudge(store, options.judge, { pairIds: request.body?.pairIds, all: request.body?.all });
    });

    app.post<Body<{ name: string; id?: string }>>('/annotators', { schema: createAnnotatorSchema }, async (request, reply) => {
      requireAdmin(options.adminKey, request);
      return reply.status(201).send(await store.createAnnotator(request.body.name, request.body.id));
    });

    app.get('/next', { schema: nextPairSchema }, async (request) => {
      const annotator = await requireAnnotator(store, request);
      return { annotator, pair: (await store.nextPairFor(annotator.id, policy)) ?? null };
    });

    app.post<Body<{ pairId: string; scale: number; confidence: number }>>('/labels', { schema: submitLabelSchema }, async (request, reply) => {
      const annotator = await requireAnnotator(store, request);
      const result = await store.submitHumanLabel({ pairId: request.body.pairId, annotatorId: annotator.id, scale: request.body.scale, confidence: request.body.confidence }, policy);
      return reply.status(result.created ? 201 : 200).send(result);
    });

    // An admin's explicit decision: a label for the named annotator, past the routing decision,
    // the hand-out and the quota. The label is marked `override`.
    app.post<Body<{ pairId: string; annotatorId: string; scale: number; confidence: number }>>('/labels/override', { schema: overrideLabelSchema }, async (request, reply) => {
      requireAdmin(options.adminKey, request);
      const result = await store.submitHumanLabel({ ...request.body, override: true }, policy);
      return reply.status(result.created ? 201 : 200).send(result);
    });

    app.put<{ Params: { id: string }; Body: { scale: number; confidence: number } }>('/labels/:id', { schema: updateLabelSchema }, async (request) => {
      const annotator = await requireAnnotator(store, request);
      return { label: await store.updateHumanLabel(Number(request.params.id), annotator.id, request.body, policy) };
    });

    app.get<{ Querystring: { format: ExportFormat; judge?: string } }>('/export', { schema: exportSchema }, async (request, reply) => {
      requireAdmin(options.adminKey, request);
      const format = EXPORT_FORMATS[request.query.format];
      return reply
        .header('content-type', format.contentType)
        .header('content-disposition', `attachment; filename="labelled.${format.extension}"`)
        .send(await format.stream(store.exportLabelled(request.query.judge)));
    });

    app.get<{ Querystring: Record<string, string> }>('/annotate', async (request, reply) => {
      if ('key' in request.query) {
        throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', 'querystring.key: an API key in the URL ends up in browser history and server logs; open the page without it and type the key into its key field', { field: 'querystring.key' });
      }
      return reply.headers(ANNOTATOR_PAGE_HEADERS).send(annotatorPage());
    });
  };
}
